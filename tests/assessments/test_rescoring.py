"""Background rescoring: a burst of saves coalesces into one stored score."""

from __future__ import annotations

import datetime
import logging
from unittest import mock

import pytest
import yaml
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from assessments.frameworks import BUILTIN_DIR, framework_latest, framework_sync
from assessments.models import Assessment, Question, ScoreCard
from assessments.scoring import METHOD_VERSION
from assessments.selectors import (
    assessment_profile_weights,
    assessment_score_is_pending,
    assessment_scorecard,
    assessment_scoring_inputs,
)
from assessments.services import (
    answer_save,
    assessment_rescore,
    assessment_rescore_request,
    assessment_rescore_sweep,
)
from assessments.tasks import rescore_assessment, rescore_sweep
from tests.factories import AnswerFactory, AssessmentFactory

APPLY_ASYNC = "assessments.tasks.rescore_assessment.apply_async"


@pytest.fixture
def assessment(candor_v1):
    return AssessmentFactory(framework=candor_v1)


def answer_every_question(assessment, pick, tier="vendor_asserted") -> None:
    """Answer every question with options with the value ``pick`` chooses."""
    for question in assessment.framework.questions.all():
        if question.options:
            AnswerFactory(
                assessment=assessment,
                question=question,
                value=pick(question),
                tier=tier,
            )


def best(question) -> str | list[str]:
    """Return the highest-scoring value; for multiple choice, every scoring one."""
    if question.kind == "multi":
        return [option["value"] for option in question.options if option["score"]]
    return max(question.options, key=lambda option: option["score"])["value"]


def worst_flagged(question) -> str:
    options = question.options
    flagged = [option for option in options if option["red_flag"] == "blocker"]
    return (flagged or [min(options, key=lambda option: option["score"])])[0]["value"]


@pytest.fixture
def apply_async():
    """The task's enqueue, replaced so tests can count calls without running it."""
    with mock.patch(APPLY_ASYNC) as patched:
        yield patched


def pending(assessment) -> bool:
    return Assessment.objects.get(pk=assessment.pk).rescore_pending


# --- Requesting a rescoring ------------------------------------------------


def test_burst_of_requests_enqueues_one_rescoring(
    assessment, apply_async, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            assessment_rescore_request(assessment)

    apply_async.assert_called_once_with(
        (assessment.pk,), countdown=settings.CANDOR_RESCORE_DELAY_SECONDS
    )


def test_burst_of_answer_saves_enqueues_one_rescoring(
    assessment, owner, apply_async, django_capture_on_commit_callbacks
):
    questions = assessment.framework.questions.filter(kind="yes_no")[:3]

    with django_capture_on_commit_callbacks(execute=True):
        for question in questions:
            answer_save(
                assessment=assessment,
                question=question,
                expected_version=0,
                user=owner,
                value="yes",
            )

    assert apply_async.call_count == 1


def test_enqueue_waits_for_the_commit(
    assessment, apply_async, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        assessment_rescore_request(assessment)

        assert apply_async.call_count == 0

    for callback in callbacks:
        callback()

    assert apply_async.call_count == 1


def test_pending_flag_is_visible_before_the_task_runs_and_cleared_after(
    assessment, apply_async, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assessment_rescore_request(assessment)

    assert pending(assessment) is True
    assert assessment.rescore_pending is True

    rescore_assessment(assessment.pk)

    assert pending(assessment) is False
    assert ScoreCard.objects.filter(assessment=assessment).exists()


def test_a_request_after_the_rescoring_enqueues_again(
    assessment, apply_async, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assessment_rescore_request(assessment)
    rescore_assessment(assessment.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_rescore_request(assessment)

    assert apply_async.call_count == 2


def test_broker_down_leaves_the_flag_off_so_the_next_save_retries(
    assessment, apply_async, django_capture_on_commit_callbacks, caplog
):
    apply_async.side_effect = BrokerError("connection refused")

    with django_capture_on_commit_callbacks(execute=True):
        assessment_rescore_request(assessment)

    assert pending(assessment) is False
    assert f"rescore not enqueued assessment={assessment.pk}" in caplog.text


# --- The task --------------------------------------------------------------


def test_task_stores_a_scorecard_whose_grade_matches_the_answers(
    assessment, django_capture_on_commit_callbacks
):
    answer_every_question(assessment, best, tier="publicly_disclosed")

    # Celery runs eagerly in tests, so the commit runs the task right away.
    with django_capture_on_commit_callbacks(execute=True):
        assessment_rescore_request(assessment)

    scorecard = ScoreCard.objects.get(assessment=assessment)
    assert scorecard.method_version == METHOD_VERSION
    assert scorecard.data["overall"] == 100
    assert scorecard.data["grade"] == "A"
    assert scorecard.data["recommended_decision"] == "approve"
    assert scorecard.data["unanswered"] == []
    assert scorecard.data["evidence_mix"]["publicly_disclosed"] == 1
    assert scorecard.data["mostly_vendor_asserted"] is False
    assert [p["key"] for p in scorecard.data["pillars"]] == [
        "optimization_target",
        "environment_design",
        "values",
        "transparency",
    ]
    assert pending(assessment) is False


def test_blocker_answers_grade_f_with_blockers_first(assessment):
    answer_every_question(assessment, worst_flagged)

    rescore_assessment(assessment.pk)

    data = assessment_scorecard(assessment)
    assert data["grade"] == "F"
    assert data["recommended_decision"] == "reject"
    assert data["mostly_vendor_asserted"] is False  # no points to rest on
    severities = [flag["severity"] for flag in data["red_flags"]]
    assert severities[0] == "blocker"
    assert severities == sorted(severities, key=lambda s: s != "blocker")
    assert "ot_primary_reward" in [flag["question"] for flag in data["red_flags"]]


def test_rescoring_replaces_the_stored_scorecard(assessment):
    rescore_assessment(assessment.pk)
    first = ScoreCard.objects.get(assessment=assessment)
    answer_every_question(assessment, best)

    rescore_assessment(assessment.pk)

    assert ScoreCard.objects.filter(assessment=assessment).count() == 1
    assert first.data["grade"] is None
    assert assessment_scorecard(assessment)["grade"] == "A"
    assert assessment_scorecard(assessment)["mostly_vendor_asserted"] is True


def test_rescoring_that_was_not_pending_computes_anyway_and_says_so(assessment, caplog):
    caplog.set_level(logging.INFO, logger="assessments")

    scorecard = assessment_rescore(assessment.pk)

    assert scorecard is not None
    assert f"rescore not pending, computing anyway assessment={assessment.pk}" in (
        caplog.text
    )


def test_task_for_a_deleted_assessment_is_logged_and_ignored(assessment, caplog):
    assessment_id = assessment.pk
    assessment.delete()

    rescore_assessment(assessment_id)

    assert f"no such assessment={assessment_id}" in caplog.text
    assert not ScoreCard.objects.exists()


def test_task_logs_the_assessment_id(assessment, caplog):
    caplog.set_level(logging.INFO, logger="assessments")

    rescore_assessment(assessment.pk)

    assert f"rescoring assessment={assessment.pk}" in caplog.text
    assert f"assessment rescored assessment={assessment.pk}" in caplog.text


# --- Selectors -------------------------------------------------------------


def test_scorecard_is_none_before_the_first_scoring(assessment):
    assert assessment_scorecard(assessment) is None


def test_scoring_inputs_take_four_queries_however_many_questions(
    assessment, django_assert_num_queries
):
    answer_every_question(assessment, best)
    assessment = Assessment.objects.select_related("framework").get(pk=assessment.pk)

    # Pillars, questions, answers and the offering's latest completed run.
    with django_assert_num_queries(4):
        inputs = assessment_scoring_inputs(assessment)

    assert len(inputs.questions) == assessment.framework.questions.count()
    assert len(inputs.answers) == len(
        [q for q in assessment.framework.questions.all() if q.options]
    )
    assert inputs.questions[0].key == "ot_primary_reward"
    assert inputs.pillars[0].key == "optimization_target"


def test_scoring_inputs_carry_depends_on_and_red_flags(assessment):
    inputs = assessment_scoring_inputs(assessment)

    by_key = {question.key: question for question in inputs.questions}
    assert by_key["t_notice_days"].depends_on == (
        "t_change_notice",
        ("pinned_with_notice", "notice_only"),
    )
    engagement = next(
        o for o in by_key["ot_primary_reward"].options if o.value == "engagement"
    )
    assert engagement.red_flag == "blocker"


def test_profile_weights_come_from_the_framework_profile(assessment):
    assessment.profile = "coding_agent"

    weights = assessment_profile_weights(assessment)

    assert weights["environment_design"] == 40


def test_custom_profile_uses_the_assessments_own_weights(assessment):
    assessment.profile = "custom"
    assessment.custom_weights = {"values": "3", "transparency": 1, "bad": "x"}

    weights = assessment_profile_weights(assessment)

    assert weights == {"values": 3.0, "transparency": 1.0, "bad": 0.0}


def test_custom_profile_weights_change_the_overall(candor_v1):
    assessment = AssessmentFactory(
        framework=candor_v1, profile="custom", custom_weights={"values": 1}
    )
    for question in candor_v1.questions.exclude(pillar__key="values"):
        if question.options:
            AnswerFactory(
                assessment=assessment, question=question, value=best(question)
            )
    for question in candor_v1.questions.filter(pillar__key="values"):
        if question.options:
            AnswerFactory(assessment=assessment, question=question, value="unknown")

    rescore_assessment(assessment.pk)

    assert assessment_scorecard(assessment)["overall"] == 0


# --- Framework versions ----------------------------------------------------


def test_a_new_framework_version_leaves_an_old_assessments_questions_alone(
    assessment, tmp_path
):
    data = yaml.safe_load((BUILTIN_DIR / "candor-v1.yaml").read_text())
    data["version"] = 2
    first = data["pillars"][0]["questions"][0]
    first["text"] = "Reworded in version 2?"
    first["options"][-2]["red_flag"] = ""  # engagement is no longer a blocker in v2
    path = tmp_path / "candor-v2.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    AnswerFactory(
        assessment=assessment,
        question=assessment.framework.questions.get(key="ot_primary_reward"),
        value="engagement",
    )

    framework_sync(path)
    rescore_assessment(assessment.pk)

    assessment.refresh_from_db()
    assert framework_latest().version == 2
    assert assessment.framework.version == 1
    question = Question.objects.get(framework=assessment.framework, key=first["key"])
    assert question.text == "What does the vendor's post-training primarily reward?"
    flags = assessment_scorecard(assessment)["red_flags"]
    assert [(f["question"], f["severity"]) for f in flags] == [
        ("ot_primary_reward", "blocker")
    ]
    assert flags[0]["text"] == question.text


def test_new_assessments_can_use_the_new_version(assessment, tmp_path):
    data = yaml.safe_load((BUILTIN_DIR / "candor-v1.yaml").read_text())
    data["version"] = 2
    path = tmp_path / "candor-v2.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    framework_sync(path)

    newer = AssessmentFactory()

    assert newer.framework.version == 2
    assert assessment.framework.version == 1


# --- Lost rescorings and pages waiting for the new score -------------------


def _request_minutes_ago(assessment, minutes: int) -> None:
    Assessment.objects.filter(pk=assessment.pk).update(
        rescore_pending=True,
        rescore_requested_at=timezone.now() - datetime.timedelta(minutes=minutes),
    )


def test_sweep_enqueues_a_rescoring_whose_task_was_lost(assessment):
    _request_minutes_ago(assessment, minutes=10)

    with mock.patch("assessments.tasks.rescore_assessment.delay") as delay:
        count = assessment_rescore_sweep()

    assert count == 1
    delay.assert_called_once_with(assessment.pk)


def test_sweep_leaves_a_fresh_request_to_its_own_task(assessment):
    _request_minutes_ago(assessment, minutes=0)

    with mock.patch("assessments.tasks.rescore_assessment.delay") as delay:
        count = assessment_rescore_sweep()

    assert count == 0
    delay.assert_not_called()


def test_sweep_task_brings_a_stuck_assessment_up_to_date(assessment):
    _request_minutes_ago(assessment, minutes=10)

    rescore_sweep()

    assert pending(assessment) is False
    assert ScoreCard.objects.filter(assessment=assessment).exists()


def test_score_stays_pending_between_the_claim_and_the_stored_score(
    assessment, apply_async, django_capture_on_commit_callbacks
):
    assessment_rescore(assessment.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_rescore_request(assessment)
    # A rescoring has claimed the request (flag off) but not stored its score yet.
    Assessment.objects.filter(pk=assessment.pk).update(rescore_pending=False)

    fresh = Assessment.objects.get(pk=assessment.pk)

    assert assessment_score_is_pending(fresh) is True
    assessment_rescore(assessment.pk)
    assert (
        assessment_score_is_pending(Assessment.objects.get(pk=assessment.pk)) is False
    )
