"""An evaluation run survives its worker being killed: a new worker finishes it."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from evals.crypto import secret_encrypt
from evals.models import Endpoint, Run, Sample
from evals.services import run_start
from evals.simulated import simulated_vendor_start
from tests.factories import MembershipFactory, OfferingFactory
from tests.integration.conftest import (
    _wait_for_ready,
    shared_database_url,
    wait_until,
)

pytestmark = pytest.mark.worker

API_KEY = "sk-worker-test-SECRET-9f8e7d6c5b4a"
FAMILIES = ["pushback", "engagement"]  # 40 conversations, 60 calls


@pytest.fixture
def worker_env(monkeypatch, settings):
    """Settings the worker processes read from the environment."""
    key = Fernet.generate_key().decode()
    settings.CANDOR_ENCRYPTION_KEY = [key]
    settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True
    values = {
        "CANDOR_ENCRYPTION_KEY": key,
        "CANDOR_ENDPOINT_ALLOW_PRIVATE": "true",
        "CANDOR_RUN_HEARTBEAT_SECONDS": "1",
        "CANDOR_RUN_STALE_SECONDS": "3",
        "CANDOR_LOG_LEVEL": "DEBUG",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def first_worker(worker_env, celery_worker_process):
    return celery_worker_process


@pytest.fixture
def vendor():
    vendor = simulated_vendor_start()
    yield vendor
    vendor.stop()


def _start_worker_like(first, log_path: Path) -> subprocess.Popen:
    """A second worker with the first one's command line and environment."""
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            first.process.args,
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _wait_for_ready(process, log_path)
    return process


def test_a_killed_worker_s_run_is_finished_by_the_next_one(
    first_worker, vendor, tmp_path
):
    membership = MembershipFactory()
    offering = OfferingFactory(vendor__workspace=membership.workspace)
    Endpoint.objects.create(
        offering=offering,
        api_kind="openai_chat",
        base_url=vendor.url,
        model_name="candid:latency=250",
        api_key_encrypted=secret_encrypt(API_KEY),
        max_concurrency=4,
        requests_per_minute=0,
        is_simulated=True,
    )
    run = run_start(
        offering=offering,
        user=membership.user,
        families=FAMILIES,
        repeats=1,
        fresh=True,
        budget_tokens=None,
    )
    wait_until(lambda: Sample.objects.filter(run=run).count() >= 8, timeout=60)

    first_worker.process.send_signal(signal.SIGKILL)
    first_worker.process.wait(timeout=10)
    saved_before = Sample.objects.filter(run=run).count()
    assert saved_before < 40, "the run finished before the worker was killed"
    second = _start_worker_like(first_worker, tmp_path / "second.log")
    try:
        finished = wait_until(
            lambda: Run.objects.filter(pk=run.pk, status=Run.Status.COMPLETED).first(),
            timeout=90,
        )
    finally:
        second.terminate()
        second.wait(timeout=20)

    per_conversation = Counter(
        Sample.objects.filter(run=run).values_list(
            "family", "item_key", "variant", "repeat"
        )
    )
    second_log = (tmp_path / "second.log").read_text()
    assert len(per_conversation) == finished.total == 40
    assert set(per_conversation.values()) == {1}
    assert (finished.done, finished.errored) == (40, 0)
    assert f"run={run.pk} resumed" in second_log
    assert f"run={run.pk} driving {40 - saved_before}" in second_log
    assert API_KEY not in first_worker.log() + second_log
