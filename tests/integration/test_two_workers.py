"""Two real workers on real Redis: they share the runs, keep one endpoint's limit
between them, and a worker stopped mid-run loses no sample."""

from __future__ import annotations

import bisect
import signal
from collections import Counter

import pytest
from cryptography.fernet import Fernet

from evals.crypto import secret_encrypt
from evals.models import Endpoint, Run, Sample
from evals.services import run_start
from evals.simulated import simulated_vendor_start
from tests.factories import MembershipFactory, OfferingFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.worker

API_KEY = "sk-two-workers-SECRET-0a1b2c3d"
# The limiter counts an endpoint's requests_per_minute over this window instead of
# 60 s, so that a few seconds hold several windows.
WINDOW_SECONDS = 3
LIMIT = 12
# A request reaches the vendor a little after the limiter granted it, by an amount
# that varies with the load on the machine. The limiter's margin (2% of the window,
# 60 ms here) covers that on a quiet machine, not on a busy CI one, so arrivals are
# counted over a window this much shorter; a limit kept per worker instead of
# shared would still show twice the limit in the first window.
ARRIVAL_JITTER_SECONDS = 0.25


@pytest.fixture
def worker_env(settings) -> dict[str, str]:
    """Settings the worker processes read from the environment."""
    key = Fernet.generate_key().decode()
    settings.CANDOR_ENCRYPTION_KEY = [key]
    settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True
    return {
        "CANDOR_ENCRYPTION_KEY": key,
        "CANDOR_ENDPOINT_ALLOW_PRIVATE": "true",
        "CANDOR_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW_SECONDS),
        "CANDOR_RUN_HEARTBEAT_SECONDS": "1",
        "CANDOR_RUN_STALE_SECONDS": "3",
        "CANDOR_RUN_SWEEP_SECONDS": "2",
    }


@pytest.fixture
def vendor():
    vendor = simulated_vendor_start()
    yield vendor
    vendor.stop()


def _runs_against_one_endpoint(
    vendor, *, count: int, families: list[str], model: str, rpm: int, concurrency: int
) -> list[Run]:
    membership = MembershipFactory()
    offering = OfferingFactory(vendor__workspace=membership.workspace)
    Endpoint.objects.create(
        offering=offering,
        api_kind="openai_chat",
        base_url=vendor.url,
        model_name=model,
        api_key_encrypted=secret_encrypt(API_KEY),
        max_concurrency=concurrency,
        requests_per_minute=rpm,
        is_simulated=True,
    )
    return [
        run_start(
            offering=offering,
            user=membership.user,
            families=families,
            repeats=1,
            fresh=True,
            budget_tokens=None,
        )
        for _ in range(count)
    ]


def _all_completed(runs: list[Run]) -> list[Run] | None:
    finished = list(
        Run.objects.filter(pk__in=[run.pk for run in runs], status="completed")
    )
    return finished if len(finished) == len(runs) else None


def _driven_by(run: Run, workers) -> list[str]:
    """The workers whose log says they started or resumed the run."""
    return [
        worker.name
        for worker in workers
        if f"run={run.pk} running" in worker.log()
        or f"run={run.pk} resumed" in worker.log()
    ]


def _most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of times that fall within one window of this length."""
    times = sorted(times)
    return max(
        (
            bisect.bisect_left(times, start + window) - i
            for i, start in enumerate(times)
        ),
        default=0,
    )


def _samples_per_conversation(run: Run) -> Counter:
    return Counter(
        Sample.objects.filter(run=run).values_list(
            "family", "item_key", "variant", "repeat"
        )
    )


def test_two_workers_share_the_runs_and_keep_the_endpoint_s_limit(
    celery_workers, worker_env, vendor
):
    workers = celery_workers("first", "second", env=worker_env)
    # Unlimited, two runs of 4 concurrent 200 ms calls would send 40 a second.
    runs = _runs_against_one_endpoint(
        vendor,
        count=2,
        families=["honesty_limits"],
        model="candid:latency=200",
        rpm=LIMIT,
        concurrency=4,
    )

    finished = wait_until(lambda: _all_completed(runs), timeout=60)

    arrivals = vendor.arrival_times()
    busiest = _most_in_any_window(arrivals, WINDOW_SECONDS - ARRIVAL_JITTER_SECONDS)
    assert sorted(_driven_by(run, workers) for run in runs) == [
        ["first"],
        ["second"],
    ]
    assert len(arrivals) == sum(run.total for run in finished) == 42
    assert busiest == LIMIT, f"{busiest} requests within one {WINDOW_SECONDS} s window"
    assert API_KEY not in workers[0].log() + workers[1].log()


def test_a_worker_stopped_mid_run_loses_no_sample(
    celery_workers, worker_env, vendor, tmp_path
):
    # Only the survivor runs beat: its sweep hands the stopped worker's run back.
    (stopped,) = celery_workers("stopped", env=worker_env, wait=False)
    (survivor,) = celery_workers(
        "survivor",
        env=worker_env,
        extra_args=("--beat", f"--schedule={tmp_path / 'celerybeat-schedule'}"),
    )
    stopped.wait_ready()
    runs = _runs_against_one_endpoint(
        vendor,
        count=2,
        families=["pushback"],
        model="candid:latency=300",
        rpm=0,
        concurrency=2,
    )
    victim = wait_until(
        lambda: next((r for r in runs if _driven_by(r, [stopped])), None), timeout=20
    )
    wait_until(lambda: Sample.objects.filter(run=victim).count() >= 4, timeout=30)

    stopped.process.send_signal(signal.SIGKILL)
    stopped.process.wait(timeout=10)
    saved_before = Sample.objects.filter(run=victim).count()
    finished = wait_until(lambda: _all_completed(runs), timeout=60)

    assert saved_before < victim.total, "the run ended before its worker stopped"
    assert f"run={victim.pk} resumed" in survivor.log()
    assert f"run={victim.pk} driving {victim.total - saved_before}" in survivor.log()
    for run in finished:
        per_conversation = _samples_per_conversation(run)
        assert len(per_conversation) == run.total == 20
        assert set(per_conversation.values()) == {1}
        assert (run.done, run.errored) == (20, 0)
