"""Runs and PDF reports go to queues of their own, so a long run never holds up a
PDF."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from assessments.services import assessment_rescore
from config.celery import app as celery_app
from dashboards.models import Report
from dashboards.services import report_request
from evals.crypto import secret_encrypt
from evals.models import Endpoint, Run
from evals.services import run_cancel, run_start
from evals.simulated import simulated_vendor_start
from tests.dashboards.conftest import requires_chromium
from tests.factories import AssessmentFactory, MembershipFactory, OfferingFactory
from tests.integration.conftest import wait_until


def _queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name, (1,), {})["queue"].name


def test_runs_reports_and_the_rest_each_go_to_their_own_queue():
    routes = {
        name: _queue_of(name)
        for name in (
            "evals.tasks.run_execute",
            "dashboards.tasks.report_print",
            "assessments.tasks.rescore_assessment",
        )
    }

    assert routes == {
        "evals.tasks.run_execute": "runs",
        "dashboards.tasks.report_print": "reports",
        "assessments.tasks.rescore_assessment": "celery",
    }


@pytest.fixture
def vendor():
    vendor = simulated_vendor_start()
    yield vendor
    vendor.stop()


@requires_chromium
@pytest.mark.worker
def test_a_report_prints_while_the_runs_worker_is_busy_with_a_long_run(
    celery_workers, settings, vendor, candor_v1
):
    key = Fernet.generate_key().decode()
    settings.CANDOR_ENCRYPTION_KEY = [key]
    env = {
        "CANDOR_ENCRYPTION_KEY": key,
        "CANDOR_ENDPOINT_ALLOW_PRIVATE": "true",
        "CANDOR_RUN_HEARTBEAT_SECONDS": "1",
    }
    (runs_worker,) = celery_workers("runs-only", queues="runs", env=env, wait=False)
    (reports_worker,) = celery_workers("reports-only", queues="reports", env=env)
    runs_worker.wait_ready()
    membership = MembershipFactory()
    offering = OfferingFactory(vendor__workspace=membership.workspace)
    Endpoint.objects.create(
        offering=offering,
        api_kind="openai_chat",
        base_url=vendor.url,
        # One call at a time, a second each: the run takes 20 s.
        model_name="candid:latency=1000",
        api_key_encrypted=secret_encrypt("sk-queues-test"),
        max_concurrency=1,
        requests_per_minute=0,
        is_simulated=True,
    )
    assessment = AssessmentFactory(offering=offering, framework=candor_v1)
    assessment_rescore(assessment.pk)
    run = run_start(
        offering=offering,
        user=membership.user,
        families=["engagement"],
        repeats=1,
        fresh=True,
        budget_tokens=None,
    )
    wait_until(lambda: Run.objects.filter(pk=run.pk, status="running").exists())

    report = report_request(assessment, membership.user)
    printed = wait_until(
        lambda: Report.objects.filter(pk=report.pk, status="done").first(),
        timeout=30,
    )
    run.refresh_from_db()
    run_cancel(run)

    assert printed.file
    assert run.status == Run.Status.RUNNING
    assert run.done < run.total
    assert reports_worker.tasks_succeeded("dashboards.tasks.report_print") == 1
    assert runs_worker.tasks_succeeded("dashboards.tasks.report_print") == 0
