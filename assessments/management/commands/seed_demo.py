from __future__ import annotations

import logging
import random
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership
from accounts.services import user_signup
from assessments.frameworks import framework_latest
from assessments.models import Answer, Assessment, EvidenceTier, Question
from assessments.public_evidence import (
    FmtiFormatError,
    evidence_import_create,
    fmti_files_from_folder,
)
from assessments.services import (
    assessment_rescore,
    assessment_rescore_request,
    assessment_start,
)
from evals.crypto import SecretError, secret_encrypt
from evals.models import ApiKind, Endpoint, Run
from vendors.models import Offering, Vendor

logger = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_WORKSPACE = "Demo Startup"

# Vendors the public index reports on: their answers come from public evidence only.
INDEXED_VENDORS = [
    ("Anthropic", "https://www.anthropic.com", "Claude"),
    ("OpenAI", "https://openai.com", "GPT"),
    ("Mistral", "https://mistral.ai", "Mistral Large"),
]
# A made-up vendor with a filled questionnaire, so the dashboard has every part to show.
FICTIONAL_VENDOR = ("Northwind Models (fictional)", "Northwind Chat")
# Candor's simulated vendor (bin/run serves it): one offering per scripted profile.
# The version "simulated" labels the offerings wherever their name is shown.
SIMULATED_VENDOR = "Simulated vendor"
SIMULATED_OFFERINGS = (("Agreeable model", "agreeable"), ("Candid model", "candid"))
SIMULATED_API_KEY = "simulated-key"
# What the simulated vendor claims about both its models, vendor asserted: the
# agreeable model's run contradicts these claims, the candid model's bears them out.
SIMULATED_CLAIMS = {
    "ot_primary_reward": "user_outcomes",
    "ot_preference_agreement": "instructed",
    "ot_sycophancy_measured": "partly",
    "ot_engagement_features": "no",
}


class Command(BaseCommand):
    help = "Create the demo workspace once, and print its login."

    def handle(self, *args, **options) -> None:
        password = _demo_password()
        user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            self._create_demo(password)
        elif not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        self._seed_simulated_vendor()
        self._seed_simulated_measurements()

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: username {DEMO_USERNAME!r}, password {password!r}"
            )
        )

    @transaction.atomic
    def _create_demo(self, password: str) -> None:
        framework = framework_latest()
        user = user_signup(
            username=DEMO_USERNAME,
            email="demo@example.com",
            password=password,
            workspace_name=DEMO_WORKSPACE,
        )
        workspace = Membership.objects.get(user=user).workspace

        for name, website, offering_name in INDEXED_VENDORS:
            vendor = Vendor.objects.create(
                workspace=workspace, name=name, website=website
            )
            offering = Offering.objects.create(vendor=vendor, name=offering_name)
            assessment_start(
                offering=offering,
                framework=framework,
                profile="customer_facing",
                user=user,
            )
        self._import_public_evidence(workspace, user)

        name, offering_name = FICTIONAL_VENDOR
        vendor = Vendor.objects.create(
            workspace=workspace,
            name=name,
            notes="Made up for the demo: its answers are invented.",
        )
        offering = Offering.objects.create(
            vendor=vendor, name=offering_name, version="3"
        )
        assessment = assessment_start(
            offering=offering, framework=framework, profile="customer_facing", user=user
        )
        _answer_at_random(assessment, user)
        logger.info("demo workspace created workspace=%s", workspace.pk)

    def _seed_simulated_vendor(self) -> None:
        """Add the simulated vendor to the demo workspace once; follow its port."""
        membership = (
            Membership.objects.filter(user__username=DEMO_USERNAME)
            .select_related("workspace")
            .first()
        )
        if membership is None:
            return
        workspace = membership.workspace
        port = settings.CANDOR_SIMULATED_VENDOR_PORT
        base_url = f"http://127.0.0.1:{port}/v1"
        Endpoint.objects.filter(
            offering__vendor__workspace=workspace, is_simulated=True
        ).update(base_url=base_url)
        if Vendor.objects.filter(workspace=workspace, name=SIMULATED_VENDOR).exists():
            return
        try:
            api_key_encrypted = secret_encrypt(SIMULATED_API_KEY)
        except SecretError as error:
            self.stdout.write(f"Simulated vendor not added: {error}")
            return

        with transaction.atomic():
            vendor = Vendor.objects.create(
                workspace=workspace,
                name=SIMULATED_VENDOR,
                notes=(
                    "Simulated: a local server that ships with Candor and answers "
                    "with scripted replies, not a real company or model. Its two "
                    "models show how an evaluation run tells an agreeable model "
                    "from a candid one."
                ),
            )
            for name, profile in SIMULATED_OFFERINGS:
                offering = Offering.objects.create(
                    vendor=vendor, name=name, version="simulated"
                )
                Endpoint.objects.create(
                    offering=offering,
                    api_kind=ApiKind.OPENAI_CHAT,
                    base_url=base_url,
                    model_name=profile,
                    api_key_encrypted=api_key_encrypted,
                    max_concurrency=8,
                    requests_per_minute=600,
                    timeout_seconds=30,
                    is_simulated=True,
                )
        logger.info(
            "simulated vendor seeded vendor=%s workspace=%s", vendor.pk, workspace.pk
        )

    def _seed_simulated_measurements(self) -> None:
        """Give each simulated offering an assessment with the vendor's claims and a
        completed run, once, so the demo shows claimed beside measured at once."""
        from evals.portfolio import simulated_run_create

        membership = (
            Membership.objects.filter(user__username=DEMO_USERNAME)
            .select_related("user")
            .first()
        )
        if membership is None:
            return
        user = membership.user
        endpoints = Endpoint.objects.filter(
            offering__vendor__workspace_id=membership.workspace_id,
            offering__vendor__name=SIMULATED_VENDOR,
            is_simulated=True,
        ).select_related("offering__vendor")
        for endpoint in endpoints:
            offering = endpoint.offering
            with transaction.atomic():
                assessment = Assessment.objects.filter(offering=offering).first()
                if assessment is None:
                    assessment = assessment_start(
                        offering=offering,
                        framework=framework_latest(),
                        profile="customer_facing",
                        user=user,
                    )
                    _answer_claims(assessment, user)
                if not Run.objects.filter(
                    offering=offering, status=Run.Status.COMPLETED
                ).exists():
                    simulated_run_create(endpoint, endpoint.model_name, user=user)
            # Scored here rather than by a worker, so the demo reads right even
            # before one starts.
            assessment_rescore(assessment.pk)

    def _import_public_evidence(self, workspace, user) -> None:
        folder = Path(settings.CANDOR_FMTI_FOLDER)
        if not folder.is_dir():
            self.stdout.write(
                f"No public index data at {folder}; the demo starts without it."
            )
            return
        try:
            summary = evidence_import_create(
                workspace=workspace, files=fmti_files_from_folder(folder), user=user
            )
        except FmtiFormatError as error:
            self.stdout.write(f"Public index data not imported: {error.problems[0]}")
            return
        self.stdout.write(
            f"Imported {summary.evidence_import.edition}: "
            f"{summary.answers_prefilled} answers pre-filled."
        )


def _demo_password() -> str:
    """Return the demo password kept in the var folder, creating it on first use."""
    path = Path(settings.MEDIA_ROOT).parent / "demo-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def _answer_claims(assessment, user) -> None:
    questions = Question.objects.filter(
        framework=assessment.framework, key__in=SIMULATED_CLAIMS
    )
    Answer.objects.bulk_create(
        Answer(
            assessment=assessment,
            question=question,
            value=SIMULATED_CLAIMS[question.key],
            tier=EvidenceTier.VENDOR_ASSERTED,
            note="What the simulated vendor says about its training.",
            answered_by=user,
        )
        for question in questions
    )


def _answer_at_random(assessment, user) -> None:
    """Answer most scored questions, seeded so the demo is the same each time."""
    chooser = random.Random(7)
    questions = Question.objects.filter(framework=assessment.framework).exclude(
        options=[]
    )
    tiers = [EvidenceTier.VENDOR_ASSERTED] * 3 + [EvidenceTier.INDEPENDENTLY_OBSERVED]
    answers = []
    for question in questions:
        if chooser.random() < 0.15:
            continue
        option = chooser.choice(question.options)
        value = (
            [option["value"]]
            if question.kind == Question.Kind.MULTI
            else option["value"]
        )
        answers.append(
            Answer(
                assessment=assessment,
                question=question,
                value=value,
                tier=chooser.choice(tiers),
                note="Invented for the demo.",
                answered_by=user,
            )
        )
    Answer.objects.bulk_create(answers)
    assessment_rescore_request(assessment)
