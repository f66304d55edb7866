"""manage.py generate_portfolio: a large made-up workspace for benchmarks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from assessments.models import Answer, AnswerRevision, Assessment, ScoreCard
from assessments.scoring import METHOD_VERSION
from evals import services, tasks
from evals.models import Endpoint, RerunSchedule, Run, Sample
from vendors.models import Offering, Vendor

pytestmark = pytest.mark.django_db

SIZE = {"vendors": 8, "offerings": 14, "assessments": 20, "runs": 6}


def _generate(**options) -> str:
    out = StringIO()
    options = {**SIZE, "password": "a long password", **options}
    call_command("generate_portfolio", stdout=out, **options)
    return out.getvalue()


def test_it_creates_the_counts_asked_for_in_one_workspace(candor_v1):
    output = _generate(username="founder")

    workspace = Membership.objects.get(user__username="founder").workspace
    assert Vendor.objects.filter(workspace=workspace).count() == 8
    assert Offering.objects.filter(vendor__workspace=workspace).count() == 14
    assert Assessment.objects.filter(workspace=workspace).count() == 20
    assert Run.objects.filter(workspace=workspace).count() == 6
    assert "log in as 'founder' with password 'a long password'" in output
    assert "8 vendors, 14 offerings" in output


def test_every_assessment_is_scored_and_answered_with_history(candor_v1):
    _generate(username="founder")

    assert ScoreCard.objects.count() == Assessment.objects.count() == 20
    assert set(ScoreCard.objects.values_list("method_version", flat=True)) == {
        METHOD_VERSION
    }
    assert not Assessment.objects.filter(rescore_pending=True).exists()
    answers = Answer.objects.count()
    assert answers > 20
    assert AnswerRevision.objects.count() >= answers
    tiers = set(Answer.objects.values_list("tier", flat=True))
    assert tiers == {"vendor_asserted", "publicly_disclosed", "independently_observed"}


def test_a_decided_assessment_has_most_of_its_questions_answered(candor_v1):
    _generate(username="founder", assessments=60)

    decided = ScoreCard.objects.filter(assessment__status=Assessment.Status.DECIDED)
    assert decided.exists()
    for data in decided.values_list("data", flat=True):
        assert data["answered"] >= 0.75 * data["applicable"]


def test_runs_hold_their_samples_graded_with_metrics(candor_v1):
    _generate(username="founder")

    for run in Run.objects.all():
        assert Sample.objects.filter(run=run).count() == run.done + run.errored
        if run.status == Run.Status.COMPLETED:
            assert run.done + run.errored == run.total
            assert run.metrics
    graded = Sample.objects.filter(status=Sample.Status.DONE)
    assert graded.exclude(passed=None).exists()
    assert all(sample.grade_reason for sample in graded)


def test_no_generated_run_or_endpoint_is_left_for_a_worker(
    candor_v1, settings, monkeypatch
):
    # Every heartbeat and every queued message counts as stale or lost at once.
    settings.CANDOR_RUN_STALE_SECONDS = 0
    settings.CANDOR_RUN_REQUEUE_AFTER_SECONDS = 0
    sent: list[int] = []
    monkeypatch.setattr(tasks.run_execute, "delay", sent.append)
    monkeypatch.setattr(services, "_run_enqueue", sent.append)
    _generate(username="founder", runs=100)

    resumed = services.runs_resume()
    started = services.reruns_start_due()

    assert resumed == started == sent == []
    in_flight = Run.objects.filter(status__in=[Run.Status.QUEUED, Run.Status.RUNNING])
    assert not in_flight.exists()
    assert not Endpoint.objects.exclude(rerun_schedule=RerunSchedule.OFF).exists()


def test_generated_runs_end_in_every_finished_status(candor_v1):
    _generate(username="founder", runs=100)

    statuses = set(Run.objects.values_list("status", flat=True))
    unstarted = Run.objects.filter(status=Run.Status.CANCELLED, started_at=None)

    assert statuses == {
        Run.Status.COMPLETED,
        Run.Status.INCONCLUSIVE,
        Run.Status.FAILED,
        Run.Status.CANCELLED,
    }
    assert unstarted.exists()
    assert not unstarted.filter(samples__isnull=False).exists()
    assert set(unstarted.values_list("status_reason", flat=True)) == {
        "Cancelled before it started."
    }


def test_runs_are_numbered_in_the_order_they_were_started(candor_v1):
    _generate(username="founder", runs=40)

    dates = list(Run.objects.order_by("pk").values_list("created_at", flat=True))

    assert len(set(dates)) == 40
    assert dates == sorted(dates)


def test_answers_and_their_history_are_dated_within_their_assessment(candor_v1):
    generated_at = timezone.now()
    _generate(username="founder")

    answers = Answer.objects.select_related("assessment")
    for answer in answers:
        assessment = answer.assessment
        assert assessment.created_at <= answer.updated_at <= assessment.updated_at
        history = [
            revision.changed_at
            for revision in answer.revisions.order_by("pk")  # oldest first
        ]
        assert history == sorted(history)
        assert history[-1] == answer.updated_at
        assert history[0] >= assessment.created_at
    # Not all saved while the portfolio was being generated.
    recent = answers.filter(updated_at__gte=generated_at).count()
    assert recent < answers.count() / 10


def test_the_same_seed_gives_the_same_portfolio(candor_v1):
    _generate(username="first", seed=5)
    _generate(username="second", seed=5)

    def vendor_names(username: str) -> list[str]:
        return list(
            Vendor.objects.filter(workspace__memberships__user__username=username)
            .order_by("name")
            .values_list("name", flat=True)
        )

    assert vendor_names("first") == vendor_names("second")


def test_a_generated_dashboard_and_run_page_render(candor_v1):
    _generate(username="founder")
    client = Client()
    client.force_login(get_user_model().objects.get(username="founder"))
    assessment = Assessment.objects.filter(
        offering__runs__status=Run.Status.COMPLETED
    ).first()
    run = Run.objects.filter(status=Run.Status.COMPLETED).first()

    dashboard = client.get(reverse("assessment_dashboard", args=[assessment.pk]))
    run_page = client.get(reverse("run_detail", args=[run.pk]))

    assert dashboard.status_code == 200
    assert dashboard.context["summary"].measured_results is not None
    assert run_page.status_code == 200


def test_scale_shrinks_every_count(candor_v1):
    out = StringIO()

    call_command("generate_portfolio", scale=0.01, username="tiny", stdout=out)

    assert "5 vendors, 10 offerings" in out.getvalue()
    assert Assessment.objects.count() == 20


def test_an_existing_username_is_refused_clearly(candor_v1):
    _generate(username="founder")

    with pytest.raises(CommandError, match="A user 'founder' exists already"):
        _generate(username="founder")


def test_fewer_offerings_than_vendors_is_refused(candor_v1):
    with pytest.raises(CommandError, match="at least as many"):
        call_command("generate_portfolio", vendors=5, offerings=2, username="x")
