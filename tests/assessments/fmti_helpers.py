"""Shared set-up for the public-evidence tests: a tiny framework, assessments, files."""

from __future__ import annotations

import shutil
from pathlib import Path

from assessments.models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceImport,
    Framework,
    IndicatorDisclosure,
    Pillar,
    Question,
)
from assessments.public_evidence import FmtiFiles, fmti_files_from_folder
from tests.factories import OfferingFactory, VendorFactory

MINI_FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "fmti-mini"
CREDIT = "Foundation Model Transparency Index (Stanford CRFM), December 2025, CC BY 4.0"

YES_NO = [
    {"value": "yes", "label": "Yes", "score": 100, "red_flag": ""},
    {"value": "partly", "label": "Partly", "score": 50, "red_flag": ""},
    {"value": "no", "label": "No", "score": 0, "red_flag": ""},
    {"value": "unknown", "label": "Unknown", "score": 0, "red_flag": ""},
]
BOTH = {"all": "yes", "some": "partly"}

# Question key -> (mapped indicators, public_evidence), matching fmti-mini's scores:
#   Northwind AI discloses objectives, usage data, change log and versioning;
#   Quillstone discloses objectives, stages and change log; Orbital Labs only the
#   change log; nobody discloses whistleblower protection.
TEST_QUESTIONS = {
    "objectives": (["Model objectives", "Usage data used in training"], BOTH),
    "changes": (["Change log", "Versioning protocol"], BOTH),
    "changes_strict": (["Change log", "Versioning protocol"], {"all": "yes"}),
    "stages": (["Model stages"], {"all": "yes"}),
    "whistleblowing": (["Whistleblower protection"], {"all": "yes"}),
    "plain": ([], {}),
}


def make_framework(key: str = "evidence-test") -> Framework:
    framework = Framework.objects.create(
        key=key,
        version=1,
        title="Evidence test",
        checksum="x",
        profiles={"custom": {"label": "Custom", "weights": {"transparency": 1}}},
    )
    pillar = Pillar.objects.create(
        framework=framework, key="transparency", title="Transparency", order=1
    )
    for order, (question_key, (indicators, public)) in enumerate(
        TEST_QUESTIONS.items(), start=1
    ):
        Question.objects.create(
            framework=framework,
            pillar=pillar,
            key=question_key,
            order=order,
            text=f"Question {question_key}?",
            kind=Question.Kind.YES_NO,
            options=YES_NO,
            indicators=indicators,
            public_evidence=public,
        )
    return framework


def make_assessment(
    workspace,
    vendor_name: str,
    framework: Framework,
    *,
    status: str = Assessment.Status.DRAFT,
    offering_archived: bool = False,
) -> Assessment:
    vendor = workspace.vendors.filter(name=vendor_name).first() or VendorFactory(
        workspace=workspace, name=vendor_name
    )
    offering = OfferingFactory(vendor=vendor)
    if offering_archived:
        offering.archived_at = offering.created_at
        offering.save()
    return Assessment.objects.create(
        workspace=workspace,
        offering=offering,
        framework=framework,
        profile="custom",
        status=status,
    )


def answers_by_key(assessment: Assessment) -> dict[str, Answer]:
    return {
        answer.question.key: answer
        for answer in assessment.answers.select_related("question")
    }


def mini_files() -> FmtiFiles:
    return fmti_files_from_folder(MINI_FOLDER)


def copy_mini(tmp_path: Path) -> Path:
    """A writable copy of fmti-mini that a test may break."""
    folder = tmp_path / "fmti-mini"
    shutil.copytree(MINI_FOLDER, folder)
    return folder


def row_counts() -> dict[str, int]:
    return {
        "imports": EvidenceImport.objects.count(),
        "disclosures": IndicatorDisclosure.objects.count(),
        "answers": Answer.objects.count(),
        "revisions": AnswerRevision.objects.count(),
    }


class RescoreRecorder:
    """Stands in for assessments.services.assessment_rescore_request."""

    def __init__(self) -> None:
        self.assessment_ids: list[int] = []

    def __call__(self, assessment: Assessment) -> None:
        self.assessment_ids.append(assessment.pk)


def patch_rescore(monkeypatch) -> RescoreRecorder:
    recorder = RescoreRecorder()
    monkeypatch.setattr(
        "assessments.services.assessment_rescore_request", recorder, raising=True
    )
    return recorder
