"""Rescoring through a real Celery worker process on the real Redis."""

from __future__ import annotations

import pytest

from assessments.models import Answer, Assessment, EvidenceTier, ScoreCard
from assessments.scoring import score_assessment
from assessments.selectors import assessment_scoring_inputs
from assessments.services import assessment_rescore_request, assessment_start
from tests.factories import MembershipFactory, OfferingFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.worker


def _answer_every_question_with_its_best_option(assessment, user) -> None:
    for question in assessment.framework.questions.exclude(options=[]):
        best = max(question.options, key=lambda option: option["score"])
        value = [best["value"]] if question.kind == "multi" else best["value"]
        Answer.objects.create(
            assessment=assessment,
            question=question,
            value=value,
            tier=EvidenceTier.INDEPENDENTLY_OBSERVED,
            answered_by=user,
        )


def test_worker_rescores_a_burst_of_saves_once(celery_worker_process, candor_v1):
    membership = MembershipFactory()
    offering = OfferingFactory(vendor__workspace=membership.workspace)
    assessment = assessment_start(
        offering=offering,
        framework=candor_v1,
        profile="customer_facing",
        user=membership.user,
    )
    wait_until(lambda: ScoreCard.objects.filter(assessment=assessment).exists())

    _answer_every_question_with_its_best_option(assessment, membership.user)
    for _ in range(5):
        assessment_rescore_request(assessment)
    assert Assessment.objects.get(pk=assessment.pk).rescore_pending

    scorecard = wait_until(
        lambda: ScoreCard.objects.filter(assessment=assessment, data__grade="A").first()
    )
    inputs = assessment_scoring_inputs(assessment)
    expected = score_assessment(
        inputs.pillars, inputs.questions, inputs.answers, inputs.profile_weights
    )
    assert scorecard.data["overall"] == expected.overall
    assert not Assessment.objects.get(pk=assessment.pk).rescore_pending
    succeeded = celery_worker_process.tasks_succeeded(
        "assessments.tasks.rescore_assessment"
    )
    assert succeeded == 2, celery_worker_process.log()
