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
