"""Factories for the rows most tests need. Add new ones at the end of the file."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from accounts.models import Membership, Workspace
from vendors.models import Offering, Vendor

TEST_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def saved(user, create, extracted, **kwargs):
        if create:
            user.save()


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Startup {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.OWNER


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Vendor {n}")
    website = "https://vendor.example.com"


class OfferingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offering

    vendor = factory.SubFactory(VendorFactory)
    name = factory.Sequence(lambda n: f"model-{n}")
    version = "2026-01"


def _candor_framework():
    """Return the latest Candor framework, loading the built-in files if needed."""
    from assessments.frameworks import framework_latest, framework_load_builtin

    if framework_latest("candor") is None:
        framework_load_builtin()
    return framework_latest("candor")


class AssessmentFactory(factory.django.DjangoModelFactory):
    """An assessment of a new offering against the latest Candor framework."""

    class Meta:
        model = "assessments.Assessment"

    offering = factory.SubFactory(OfferingFactory)
    workspace = factory.LazyAttribute(
        lambda assessment: assessment.offering.vendor.workspace
    )
    framework = factory.LazyFunction(_candor_framework)
    profile = "customer_facing"


class AnswerFactory(factory.django.DjangoModelFactory):
    """An answer choosing a question's first option (the framework's first question)."""

    class Meta:
        model = "assessments.Answer"

    assessment = factory.SubFactory(AssessmentFactory)
    question = factory.LazyAttribute(
        lambda answer: answer.assessment.framework.questions.order_by(
            "pillar__order", "order"
        ).first()
    )
    value = factory.LazyAttribute(
        lambda answer: (
            answer.question.options[0]["value"] if answer.question.options else "text"
        )
    )
    tier = "vendor_asserted"


class EndpointFactory(factory.django.DjangoModelFactory):
    """An offering's endpoint with an encrypted key (needs CANDOR_ENCRYPTION_KEY)."""

    class Meta:
        model = "evals.Endpoint"

    class Params:
        api_key = "sk-test-0123456789abcdef"

    offering = factory.SubFactory(OfferingFactory)
    api_kind = "openai_chat"
    base_url = "https://api.vendor.example.com/v1"
    model_name = "vendor-chat-2026-01"
    api_key_encrypted = factory.LazyAttribute(
        lambda endpoint: _encrypted(endpoint.api_key)
    )


class JudgeProfileFactory(factory.django.DjangoModelFactory):
    """A workspace's judge with an encrypted key (needs CANDOR_ENCRYPTION_KEY)."""

    class Meta:
        model = "evals.JudgeProfile"

    class Params:
        api_key = "sk-judge-0123456789abcdef"

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Judge {n}")
    api_kind = "openai_chat"
    base_url = "https://api.judge.example.com/v1"
    model_name = "judge-model"
    pinned_version = "2026-01-15"
    api_key_encrypted = factory.LazyAttribute(lambda judge: _encrypted(judge.api_key))


def _encrypted(api_key: str) -> str:
    from evals.crypto import secret_encrypt

    return secret_encrypt(api_key) if api_key else ""
