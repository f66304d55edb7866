"""An assessment of the built-in framework, with answers and a scorecard."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings

from assessments.models import Answer, Assessment, Question, ScoreCard
from assessments.services import assessment_rescore
from tests.factories import AssessmentFactory, OfferingFactory, VendorFactory

requires_chromium = pytest.mark.skipif(
    shutil.which(settings.CANDOR_CHROMIUM) is None,
    reason=(
        f"Chromium ({settings.CANDOR_CHROMIUM!r}) is not installed; "
        "apt-get install chromium to print PDF reports"
    ),
)

# Answers on every pillar that raise a warning (listed first) and a blocker,
# in all three evidence tiers; everything else stays unanswered.
ANSWERS = {
    "v_disagrees_with_user": ("defers", "vendor_asserted"),
    "ot_primary_reward": ("engagement", "vendor_asserted"),
    "ot_objectives_published": ("yes", "publicly_disclosed"),
    "ot_sycophancy_measured": ("partly", "vendor_asserted"),
    "ed_stages_published": ("partly", "publicly_disclosed"),
    "ed_post_training_methods": (["sft", "rlhf"], "publicly_disclosed"),
    "v_behaviour_policy": ("yes", "publicly_disclosed"),
    "t_versioning": ("yes", "independently_observed"),
    "t_change_notice": ("notice_only", "vendor_asserted"),
}


def answer_and_score(
    assessment: Assessment, answers: dict[str, tuple[object, str]], **answer_fields
) -> ScoreCard:
    """Save answers to an assessment and score it with the real rescoring service."""
    questions = {
        q.key: q for q in Question.objects.filter(framework=assessment.framework)
    }
    for key, (value, tier) in answers.items():
        Answer.objects.update_or_create(
            assessment=assessment,
            question=questions[key],
            defaults={"value": value, "tier": tier, **answer_fields.get(key, {})},
        )
    return assessment_rescore(assessment.pk)


@pytest.fixture
def assessment(workspace, owner, candor_v1) -> Assessment:
    offering = OfferingFactory(
        vendor=VendorFactory(workspace=workspace, name="Northwind AI"),
        name="nw-chat",
        version="2026-01",
    )
    return AssessmentFactory(offering=offering, framework=candor_v1, owner=owner)


@pytest.fixture
def scored_assessment(assessment) -> Assessment:
    answer_and_score(
        assessment,
        ANSWERS,
        ot_objectives_published={
            "source_url": "https://northwind.example.com/model-spec",
            "note": "Disclosed in the model card. " * 40,
        },
    )
    return assessment


@pytest.fixture
def graded_assessment(assessment) -> Assessment:
    """ANSWERS plus every other scored question at its best: enough for a grade."""
    best = {}
    for question in Question.objects.filter(framework=assessment.framework):
        if not question.options or question.weight <= 0 or question.key in ANSWERS:
            continue
        option = max(question.options, key=lambda option: option["score"])
        value = [option["value"]] if question.kind == "multi" else option["value"]
        best[question.key] = (value, "vendor_asserted")
    answer_and_score(assessment, {**ANSWERS, **best})
    return assessment
