"""Scheduled re-runs: set by the owner on the endpoint page, started by beat once
per period."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evals import services
from evals.models import Endpoint, RerunSchedule, Run
from evals.probes import registry
from tests.factories import EndpointFactory, JudgeProfileFactory, OfferingFactory

ALL_FAMILIES = [family.key for family in registry.families()]


def _form(**changes) -> dict:
    data = {
        "api_kind": "openai_chat",
        "base_url": "https://api.northwind.example/v1",
        "model_name": "northwind-chat-3.1",
        "api_key": "",
        "max_concurrency": "8",
        "requests_per_minute": "120",
        "timeout_seconds": "60",
    }
    data.update(changes)
    return data


@pytest.fixture
def offering(workspace):
    return OfferingFactory(vendor__workspace=workspace)


@pytest.fixture
def editor_client(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


def _due_endpoint(offering, schedule=RerunSchedule.DAILY, minutes_ago=1) -> Endpoint:
    return EndpointFactory(
        offering=offering,
        rerun_schedule=schedule,
        rerun_due_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """Run ids whose task would be sent; nothing is sent to a vendor."""
    sent: list[int] = []
    monkeypatch.setattr(services, "_run_enqueue", sent.append)
    return sent


# --- Setting the schedule ----------------------------------------------------------


@pytest.mark.django_db
class TestSchedule:
    def url(self, offering) -> str:
        return reverse("endpoint_edit", args=[offering.pk])

    def test_re_runs_are_off_for_a_new_endpoint(self, owner_client, offering):
        owner_client.post(self.url(offering), _form())

        endpoint = Endpoint.objects.get(offering=offering)
        assert (endpoint.rerun_schedule, endpoint.rerun_due_at) == ("off", None)

    def test_the_owner_sets_a_weekly_re_run_first_due_a_week_later(
        self, owner_client, offering
    ):
        response = owner_client.post(self.url(offering), _form(rerun_schedule="weekly"))

        endpoint = Endpoint.objects.get(offering=offering)
        assert response.status_code == 302
        assert endpoint.rerun_schedule == "weekly"
        expected = timezone.now() + timedelta(weeks=1)
        assert abs(endpoint.rerun_due_at - expected) < timedelta(minutes=1)

    def test_saving_other_settings_keeps_the_due_time(self, owner_client, offering):
        endpoint = _due_endpoint(offering, minutes_ago=-90)
        due_at = endpoint.rerun_due_at

        owner_client.post(
            self.url(offering), _form(rerun_schedule="daily", model_name="nw-3.2")
        )

        endpoint.refresh_from_db()
        assert (endpoint.model_name, endpoint.rerun_due_at) == ("nw-3.2", due_at)

    def test_turning_re_runs_off_clears_the_due_time(self, owner_client, offering):
        endpoint = _due_endpoint(offering, minutes_ago=-90)

        owner_client.post(self.url(offering), _form(rerun_schedule="off"))

        endpoint.refresh_from_db()
        assert (endpoint.rerun_schedule, endpoint.rerun_due_at) == ("off", None)

    def test_the_owner_sees_the_schedule_and_its_next_due_time(
        self, owner_client, offering
    ):
        endpoint = _due_endpoint(offering, minutes_ago=-90)

        page = owner_client.get(self.url(offering)).content.decode()

        assert 'name="rerun_schedule"' in page
        due = timezone.localtime(endpoint.rerun_due_at).strftime("%H:%M")
        assert "Scheduled re-runs: every day, the next one due" in page
        assert due in page

    def test_an_editor_sees_the_schedule_but_cannot_change_it(
        self, editor_client, offering
    ):
        _due_endpoint(offering, schedule=RerunSchedule.WEEKLY, minutes_ago=-90)

        page = editor_client.get(self.url(offering)).content.decode()
        response = editor_client.post(
            self.url(offering), _form(rerun_schedule="off", model_name="nw-3.2")
        )

        endpoint = Endpoint.objects.get(offering=offering)
        assert 'name="rerun_schedule"' not in page
        assert "Only the workspace owner can change this." in page
        assert response.status_code == 302
        assert (endpoint.model_name, endpoint.rerun_schedule) == ("nw-3.2", "weekly")

    def test_an_unknown_schedule_is_refused_and_the_form_kept(
        self, owner_client, offering
    ):
        response = owner_client.post(self.url(offering), _form(rerun_schedule="hourly"))

        page = response.content.decode()
        assert response.status_code == 200
        assert "Select a valid choice" in page
        assert 'value="northwind-chat-3.1"' in page
        assert not Endpoint.objects.filter(offering=offering).exists()


# --- Starting due re-runs ------------------------------------------------------------


@pytest.mark.django_db
class TestDueReruns:
    def test_a_due_re_run_starts_a_fresh_run_of_every_family(
        self, offering, enqueued, django_capture_on_commit_callbacks
    ):
        endpoint = _due_endpoint(offering)
        due_at = endpoint.rerun_due_at

        with django_capture_on_commit_callbacks(execute=True):
            started = services.reruns_start_due()

        run = Run.objects.get(offering=offering)
        assert started == enqueued == [run.pk]
        assert (run.families, run.fresh, run.repeats) == (ALL_FAMILIES, True, 1)
        assert run.created_by is None
        endpoint.refresh_from_db()
        assert endpoint.rerun_due_at == due_at + timedelta(days=1)

    def test_a_re_run_repeats_the_last_run_s_method(self, offering, enqueued):
        _due_endpoint(offering)
        judge = JudgeProfileFactory(workspace=offering.vendor.workspace)
        Run.objects.create(
            workspace=offering.vendor.workspace,
            offering=offering,
            endpoint=offering.endpoint,
            families=["pushback"],
            repeats=3,
            judge=judge,
            status=Run.Status.COMPLETED,
        )

        (run_id,) = services.reruns_start_due()

        run = Run.objects.get(pk=run_id)
        assert (run.repeats, run.judge, run.families) == (3, judge, ALL_FAMILIES)

    def test_a_re_run_starts_once_per_period(self, offering, enqueued):
        _due_endpoint(offering)

        services.reruns_start_due()
        services.reruns_start_due()

        assert Run.objects.filter(offering=offering).count() == 1

    def test_endpoints_not_due_or_off_start_nothing(self, enqueued):
        _due_endpoint(OfferingFactory(), minutes_ago=-5)
        _due_endpoint(OfferingFactory(), schedule=RerunSchedule.OFF)

        assert services.reruns_start_due() == []
        assert not Run.objects.exists()

    def test_a_period_is_skipped_while_a_run_is_in_progress(
        self, offering, enqueued, caplog
    ):
        endpoint = _due_endpoint(offering)
        busy = Run.objects.create(
            workspace=offering.vendor.workspace,
            offering=offering,
            endpoint=endpoint,
            families=["pushback"],
            status=Run.Status.RUNNING,
        )

        with caplog.at_level("INFO", logger="evals.services"):
            started = services.reruns_start_due()

        endpoint.refresh_from_db()
        assert started == []
        assert Run.objects.filter(offering=offering).count() == 1
        assert endpoint.rerun_due_at > timezone.now()
        assert f"skipped this period: run={busy.pk} is still running" in caplog.text

    @pytest.mark.parametrize("archived", ["offering", "vendor"])
    def test_an_archived_offering_or_vendor_is_not_re_run(
        self, offering, enqueued, archived, caplog
    ):
        endpoint = _due_endpoint(offering)
        archived_object = offering if archived == "offering" else offering.vendor
        archived_object.archived_at = timezone.now()
        archived_object.save()

        with caplog.at_level("INFO", logger="evals.services"):
            started = services.reruns_start_due()

        endpoint.refresh_from_db()
        assert started == enqueued == []
        assert not Run.objects.filter(offering=offering).exists()
        assert endpoint.rerun_due_at > timezone.now()
        assert f"offering={offering.pk} is archived" in caplog.text

    def test_of_two_claims_of_one_due_time_only_the_first_wins(self, offering):
        endpoint = _due_endpoint(offering)
        now = timezone.now()

        first = services.endpoint_rerun_claim(endpoint.pk, endpoint.rerun_due_at, now)
        second = services.endpoint_rerun_claim(endpoint.pk, endpoint.rerun_due_at, now)

        assert (first, second) == (True, False)


# --- What the pages say of the schedule ---------------------------------------------


@pytest.mark.django_db
class TestSchedulePages:
    def test_a_scheduled_run_says_the_schedule_started_it(
        self, owner_client, owner, offering, enqueued
    ):
        _due_endpoint(offering)
        (scheduled_id,) = services.reruns_start_due()
        Run.objects.filter(pk=scheduled_id).update(status=Run.Status.COMPLETED)
        by_hand = services.run_start(
            offering=offering,
            user=owner,
            families=["pushback"],
            repeats=1,
            fresh=False,
            budget_tokens=None,
        )

        scheduled_page = owner_client.get(
            Run.objects.get(pk=scheduled_id).get_absolute_url()
        ).content.decode()
        by_hand_page = owner_client.get(by_hand.get_absolute_url()).content.decode()
        run_list = owner_client.get(
            reverse("run_list", args=[offering.pk])
        ).content.decode()

        assert "by the endpoint's re-run schedule" in scheduled_page
        assert f"by {owner.get_username()}" in by_hand_page
        assert "re-run schedule" not in by_hand_page
        assert run_list.count(">scheduled</small>") == 1

    def test_the_offering_page_names_the_schedule_and_its_next_run(
        self, owner_client, offering
    ):
        endpoint = _due_endpoint(
            offering, schedule=RerunSchedule.WEEKLY, minutes_ago=-90
        )
        due = timezone.localtime(endpoint.rerun_due_at).strftime("%-d %b %Y, %H:%M")

        page = owner_client.get(offering.get_absolute_url()).content.decode()

        assert f"<dt>Re-runs</dt><dd>Every week, the next one due {due}</dd>" in page

    def test_the_offering_page_says_re_runs_are_off(self, owner_client, offering):
        EndpointFactory(offering=offering)

        page = owner_client.get(offering.get_absolute_url()).content.decode()

        assert '<dt>Re-runs</dt><dd><span class="muted">Off</span></dd>' in page

    @pytest.mark.parametrize(
        "archived, reason",
        [("offering", "this offering"), ("vendor", "its vendor")],
    )
    def test_archiving_pauses_the_schedule_on_both_pages(
        self, owner_client, offering, archived, reason
    ):
        _due_endpoint(offering, schedule=RerunSchedule.DAILY, minutes_ago=-90)
        archived_object = offering if archived == "offering" else offering.vendor
        archived_object.archived_at = timezone.now()
        archived_object.save()

        offering_page = owner_client.get(offering.get_absolute_url()).content.decode()
        endpoint_page = owner_client.get(
            reverse("endpoint_edit", args=[offering.pk])
        ).content.decode()

        paused = f"paused while {reason} is archived"
        assert f"Every day, {paused}" in offering_page
        assert f"Scheduled re-runs: every day, {paused}." in endpoint_page


def test_a_beat_down_for_days_starts_one_re_run_at_the_usual_time():
    due_at = timezone.now().replace(hour=6, minute=0, second=0, microsecond=0)
    now = due_at + timedelta(days=3, hours=2)

    next_due = services.rerun_next_due(due_at, RerunSchedule.DAILY, now)

    assert next_due == due_at + timedelta(days=4)


@pytest.mark.django_db(transaction=True)
def test_two_beats_sweeping_at_once_start_one_run(offering, enqueued, monkeypatch):
    _due_endpoint(offering)
    # Both sweeps read the same due time before either tries to start its run.
    both_read = threading.Barrier(2, timeout=10)
    rerun_start = services._rerun_start

    def start_after_both_read(*args):
        both_read.wait()
        return rerun_start(*args)

    monkeypatch.setattr(services, "_rerun_start", start_after_both_read)
    results: list[list[int]] = []

    def sweep() -> None:
        try:
            results.append(services.reruns_start_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(len(started) for started in results) == [0, 1]
    assert Run.objects.filter(offering=offering).count() == 1
    assert len(enqueued) == 1


def test_beat_looks_for_due_re_runs():
    from evals.tasks import reruns_start_due

    entries = settings.CELERY_BEAT_SCHEDULE.values()

    assert reruns_start_due.name in {entry["task"] for entry in entries}
