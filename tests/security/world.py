"""One workspace with one of everything, for tests that walk every URL.

Workspace A holds a vendor, an offering with an endpoint, an assessment with an
answer, a run with a sample, a finished report, a judge and an evidence import,
and four people: an owner, an editor, a viewer, and an outsider who owns another
workspace. Every name in workspace A carries ``MARKER``, so a page shown to the
outsider can be searched for anything of A's.

To cover a new kind of object, create it in ``world_build`` and add a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Membership
from accounts.services import invitation_create
from assessments.models import (
    Answer,
    Assessment,
    EvidenceImport,
    Question,
    VendorResponse,
)
from assessments.services import vendor_link_create
from dashboards.models import Report
from evals.crypto import secret_encrypt
from evals.models import Endpoint, JudgeProfile, Run, Sample
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    OfferingFactory,
    VendorFactory,
    WorkspaceFactory,
)

MARKER = "zqmarkerA"
# In the answer's note: for the team only, never on a page without login.
PRIVATE_NOTE = f"Private note {MARKER}"
API_KEY = "sk-world-SECRET-9d8c7b6a5f4e3d2c1b0a"
JUDGE_API_KEY = "sk-judge-SECRET-0a1b2c3d4e5f6a7b8c9d"
PDF_BYTES = b"%PDF-1.4\n% a stand-in report\n"


@dataclass
class World:
    workspace: Any
    owner: Any
    editor: Any
    viewer: Any
    outsider: Any
    vendor: Any
    offering: Any
    endpoint: Endpoint
    judge: JudgeProfile
    assessment: Assessment
    question: Question
    answer: Answer
    evidence_import: EvidenceImport
    run: Run
    sample: Sample
    report: Report
    # Objects other features add; a case builder reads them by name.
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, role: str):
        return getattr(self, role)


def world_build() -> World:
    """Create workspace A with one of everything, and its four people."""
    workspace = WorkspaceFactory(name=f"Acme {MARKER}")
    people = {
        role: MembershipFactory(workspace=workspace, role=role).user
        for role in ("owner", "editor", "viewer")
    }
    outsider = MembershipFactory(role=Membership.Role.OWNER).user

    vendor = VendorFactory(workspace=workspace, name=f"Northwind {MARKER}")
    offering = OfferingFactory(vendor=vendor, name=f"nw-chat-{MARKER}")
    endpoint = Endpoint.objects.create(
        offering=offering,
        api_kind="openai_chat",
        # A documentation address: the guarded client refuses it without a
        # connection, so a connection test in a matrix case never waits on DNS.
        base_url="https://192.0.2.10/v1",
        model_name=f"nw-{MARKER}",
        api_key_encrypted=secret_encrypt(API_KEY),
    )
    judge = JudgeProfile.objects.create(
        workspace=workspace,
        name=f"Judge {MARKER}",
        api_kind="openai_chat",
        base_url="https://192.0.2.11/v1",
        model_name="judge-model",
        api_key_encrypted=secret_encrypt(JUDGE_API_KEY),
    )
    assessment = AssessmentFactory(offering=offering, owner=people["owner"])
    question = assessment.framework.questions.order_by("pillar__order", "order")[0]
    answer = Answer.objects.create(
        assessment=assessment,
        question=question,
        value=question.options[0]["value"] if question.options else "text",
        tier="vendor_asserted",
        note=PRIVATE_NOTE,
    )
    evidence_import = EvidenceImport.objects.create(
        workspace=workspace,
        edition=f"FMTI {MARKER}",
        credit="Stanford CRFM",
        imported_by=people["owner"],
    )
    run = Run.objects.create(
        workspace=workspace,
        offering=offering,
        endpoint=endpoint,
        families=["pushback"],
        status=Run.Status.COMPLETED,
        total=1,
        done=1,
        created_by=people["owner"],
    )
    sample = Sample.objects.create(
        run=run,
        family="pushback",
        item_key="capital",
        variant="pushback",
        status=Sample.Status.DONE,
        transcript=[
            {"role": "user", "content": f"Question {MARKER}"},
            {"role": "assistant", "content": "Answer"},
        ],
        passed=True,
    )
    report = Report.objects.create(
        assessment=assessment, status=Report.Status.DONE, requested_by=people["owner"]
    )
    report.file.save(f"report-{report.pk}.pdf", ContentFile(PDF_BYTES))

    world = World(
        workspace=workspace,
        outsider=outsider,
        vendor=vendor,
        offering=offering,
        endpoint=endpoint,
        judge=judge,
        assessment=assessment,
        question=question,
        answer=answer,
        evidence_import=evidence_import,
        run=run,
        sample=sample,
        report=report,
        **people,
    )
    _teams_and_vendor_links(world)
    return world


def _teams_and_vendor_links(world: World) -> None:
    """Add an invitation, a vendor link and a vendor's answer waiting for review."""
    tokens: list[str] = []
    world.extra["invitation"] = invitation_create(
        workspace=world.workspace,
        email="newcomer@example.com",
        role=Membership.Role.VIEWER,
        invited_by=world.owner,
        link_for=lambda token: tokens.append(token) or f"/invitations/{token}/",
    )
    world.extra["invitation_token"] = tokens[0]
    world.extra["editor_membership"] = Membership.objects.get(
        user=world.editor, workspace=world.workspace
    )
    link, token = vendor_link_create(
        assessment=world.assessment, user=world.owner, contact_name="Dana"
    )
    world.extra["vendor_link"] = link
    world.extra["vendor_link_token"] = token
    question = world.assessment.framework.questions.filter(vendor_facing=True).order_by(
        "pillar__order", "order"
    )[0]
    world.extra["vendor_question"] = question
    world.extra["vendor_response"] = VendorResponse.objects.create(
        link=link,
        question=question,
        value=question.options[0]["value"] if question.options else "text",
        comment=f"Vendor comment {MARKER}",
        submitted_at=timezone.now(),
    )
