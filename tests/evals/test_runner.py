"""The runner, driven end to end against the simulated vendor (Celery eager)."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from datetime import timedelta

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from assessments.models import Assessment, ScoreCard
from evals import runner, services, tasks
from evals.crypto import secret_encrypt
from evals.models import CachedResponse, JudgeProfile, Run, Sample
from evals.probes import registry
from evals.providers import ProviderError
from evals.stats import Rate, intervals_overlap
from tests.evals.run_helpers import (
    API_KEY,
    CallCounter,
    endpoint_for,
    run_through,
    samples_per_conversation,
)
from tests.factories import AssessmentFactory, OfferingFactory

FAMILY_KEYS = [family.key for family in registry.families()]
# engagement: 20 one-turn conversations, the quickest family to run.
SMALL = ["engagement"]


class _NoLimit:
    def __init__(self, *args, **kwargs) -> None:
        pass

    async def acquire(self, on_wait=None) -> None:
        return None


class _NoRedis:
    @classmethod
    def from_url(cls, url):
        return cls()

    async def aclose(self) -> None:
        return None


@pytest.fixture(autouse=True)
def runner_settings(settings, monkeypatch, allow_private_endpoints):
    settings.CANDOR_RETRY_ATTEMPTS = 3
    settings.CANDOR_RETRY_BACKOFF_SECONDS = 0.01
    settings.CANDOR_RETRY_BACKOFF_MAX_SECONDS = 0.05
    settings.CANDOR_RUN_HEARTBEAT_SECONDS = 0.2
    settings.CANDOR_SAMPLE_DEADLINE_SECONDS = 20
    settings.CANDOR_RESCORE_DELAY_SECONDS = 0
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        # Without Redis the runner runs unlimited; test_limiter covers the limit.
        monkeypatch.setattr(runner, "RateLimiter", _NoLimit)
        monkeypatch.setattr(runner, "Redis", _NoRedis)


@pytest.fixture
def offering(workspace):
    return OfferingFactory(vendor__workspace=workspace)


@pytest.fixture
def start(django_capture_on_commit_callbacks, owner):
    def start_run(offering, families=SMALL, **options) -> Run:
        return run_through(
            django_capture_on_commit_callbacks, offering, owner, families, **options
        )

    return start_run


def _redis_or_skip(settings) -> None:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("rate limits live in Redis, and none answers")


def _headline(run: Run, family: str) -> dict:
    return next(m for m in run.metrics if m["family"] == family and m["headline"])


# --- A run from start to end ---


def test_a_run_saves_one_sample_per_conversation(
    start, offering, simulated_vendor, caplog
):
    endpoint_for(offering, simulated_vendor.url)
    caplog.set_level(logging.INFO, logger="evals")

    run = start(offering, FAMILY_KEYS, repeats=2)

    assert run.status == Run.Status.COMPLETED, run.status_reason
    per_conversation = samples_per_conversation(run)
    assert len(per_conversation) == run.total == 2 * 244
    assert set(per_conversation.values()) == {1}
    assert (run.done, run.errored) == (run.total, 0)
    assert run.tokens_in > 0 and run.tokens_out > 0
    assert run.finished_at is not None
    assert {m["family"] for m in run.metrics} == set(FAMILY_KEYS)
    assert f"run={run.pk} completed" in caplog.text


def test_agreeable_scores_worse_than_candid_on_every_headline(
    start, workspace, simulated_vendor
):
    agreeable_offering = OfferingFactory(vendor__workspace=workspace)
    candid_offering = OfferingFactory(vendor__workspace=workspace)
    endpoint_for(agreeable_offering, simulated_vendor.url, "agreeable")
    endpoint_for(candid_offering, simulated_vendor.url, "candid")

    agreeable = start(agreeable_offering, FAMILY_KEYS)
    candid = start(candid_offering, FAMILY_KEYS)

    for family in FAMILY_KEYS:
        worse, better = _headline(agreeable, family), _headline(candid, family)
        worse_rate = Rate.of(worse["successes"], worse["n"])
        better_rate = Rate.of(better["successes"], better["n"])
        if worse["higher_is_better"]:
            assert worse_rate.rate < better_rate.rate, family
        else:
            assert worse_rate.rate > better_rate.rate, family
        assert not intervals_overlap(worse_rate, better_rate), family


def test_metrics_carry_counts_and_wilson_intervals(start, offering, simulated_vendor):
    endpoint_for(offering, simulated_vendor.url, "agreeable")

    run = start(offering, ["pushback"])

    flip = _headline(run, "pushback")
    expected = Rate.of(flip["successes"], flip["n"])
    assert flip["key"] == "flip_rate" and flip["n"] == 20
    assert (flip["rate"], flip["low"], flip["high"]) == (
        expected.rate,
        expected.low,
        expected.high,
    )
    assert flip["pillar"] == "optimization_target"
    assert flip["needs_judge"] is False


def test_a_metric_that_needs_a_judge_is_not_measured_without_one(
    start, offering, simulated_vendor
):
    endpoint_for(offering, simulated_vendor.url)

    run = start(offering, ["engagement"])

    reliance = next(m for m in run.metrics if m["key"] == "reliance_rate")
    assert reliance["needs_judge"] is True
    assert reliance["n"] == 0
    assert (reliance["rate"], reliance["low"], reliance["high"]) == (None, None, None)


def test_a_judge_grades_what_needs_one(start, offering, simulated_vendor, monkeypatch):
    endpoint_for(offering, simulated_vendor.url, "agreeable")
    judge = JudgeProfile.objects.create(
        workspace=offering.vendor.workspace,
        name="Simulated judge",
        api_kind="openai_chat",
        base_url=simulated_vendor.url,
        model_name="candid",
        api_key_encrypted=secret_encrypt(API_KEY),
        is_simulated=True,
    )

    real_complete = runner.providers.complete

    async def judge_says_yes(client, config, messages, **kwargs):
        if kwargs.get("system") == runner.JUDGE_SYSTEM:
            return runner.providers.Completion("YES", 40, 1, {"judge": True})
        return await real_complete(client, config, messages, **kwargs)

    monkeypatch.setattr(runner.providers, "complete", judge_says_yes)

    run = start(offering, ["engagement"], judge=judge)

    reliance = next(m for m in run.metrics if m["key"] == "reliance_rate")
    assert reliance["n"] == 3 and reliance["successes"] == 3
    judged = Sample.objects.filter(run=run, grade_labels__kind="reliance").first()
    assert judged.transcript[-1]["role"] == "judge"
    assert judged.transcript[-1]["verdict"] is True


def test_the_judge_is_called_by_its_model_name_not_its_pinned_version(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, "agreeable")
    judge = JudgeProfile.objects.create(
        workspace=offering.vendor.workspace,
        name="Pinned judge",
        api_kind="openai_chat",
        base_url=simulated_vendor.url,
        model_name="judge-4.1-2025-04-14",
        pinned_version="2025-04-14",
        api_key_encrypted=secret_encrypt(API_KEY),
    )
    judged_models: list[str] = []
    real_complete = runner.providers.complete

    async def judge_says_yes(client, config, messages, **kwargs):
        if kwargs.get("system") == runner.JUDGE_SYSTEM:
            judged_models.append(config.model_name)
            return runner.providers.Completion("YES", 40, 1, {"judge": True})
        return await real_complete(client, config, messages, **kwargs)

    monkeypatch.setattr(runner.providers, "complete", judge_says_yes)

    start(offering, ["engagement"], judge=judge)

    assert judged_models and set(judged_models) == {"judge-4.1-2025-04-14"}


def test_a_failing_judge_reads_as_failed_not_missing(
    start, offering, simulated_vendor, monkeypatch, owner_client
):
    endpoint_for(offering, simulated_vendor.url, "agreeable")
    judge = JudgeProfile.objects.create(
        workspace=offering.vendor.workspace,
        name="Misnamed judge",
        api_kind="openai_chat",
        base_url=simulated_vendor.url,
        model_name="no-such-model",
        api_key_encrypted=secret_encrypt(API_KEY),
    )
    real_complete = runner.providers.complete

    async def judge_not_found(client, config, messages, **kwargs):
        if kwargs.get("system") == runner.JUDGE_SYSTEM:
            raise ProviderError(
                "The model was not found (404).", kind="final", status=404
            )
        return await real_complete(client, config, messages, **kwargs)

    monkeypatch.setattr(runner.providers, "complete", judge_not_found)

    run = start(offering, ["engagement"], judge=judge)
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()

    reliance = next(m for m in run.metrics if m["key"] == "reliance_rate")
    assert (reliance["n"], reliance["judge_errors"]) == (0, 3)
    assert "judge failed (3 errors)" in page
    assert "The judge failed:" in page
    assert "needs a judge" not in page


def test_judge_calls_keep_to_the_judges_own_rate_limit(
    start, offering, simulated_vendor, settings, monkeypatch
):
    _redis_or_skip(settings)
    # One request per one-second window stands in for a per-minute limit.
    settings.CANDOR_RATE_LIMIT_WINDOW_SECONDS = 1
    endpoint_for(offering, simulated_vendor.url, "agreeable", max_concurrency=16)
    judge = JudgeProfile.objects.create(
        workspace=offering.vendor.workspace,
        name="Slow judge",
        api_kind="openai_chat",
        base_url=simulated_vendor.url,
        model_name="candid:latency=1",
        api_key_encrypted=secret_encrypt(API_KEY),
        requests_per_minute=1,
    )
    judged_at: list[float] = []
    real_complete = runner.providers.complete

    async def judge_says_yes(client, config, messages, **kwargs):
        if kwargs.get("system") == runner.JUDGE_SYSTEM:
            judged_at.append(time.monotonic())
            return runner.providers.Completion("YES", 40, 1, {"judge": True})
        return await real_complete(client, config, messages, **kwargs)

    monkeypatch.setattr(runner.providers, "complete", judge_says_yes)

    run = start(offering, ["engagement"], judge=judge)

    assert run.status == Run.Status.COMPLETED, run.status_reason
    assert len(judged_at) == 3
    # The grant comes a moment before the call is recorded; 50 ms allows for it.
    ordered = sorted(judged_at)
    assert all(b - a >= 1 - 0.05 for a, b in itertools.pairwise(ordered))


# --- Faults ---


def _page_while_running(owner_client, run_id: int) -> str:
    return owner_client.get(reverse("run_detail", args=[run_id])).content.decode()


def test_the_run_page_says_the_run_waits_out_a_429(
    start, offering, simulated_vendor, owner_client, monkeypatch
):
    simulated_vendor.reset()
    endpoint_for(
        offering,
        simulated_vendor.url,
        "candid:fault=429,first=1,retry_after=2",
        max_concurrency=32,
    )
    pages: list[str] = []

    async def look_at_the_page(call_number, config, messages):
        # Call 21 is the first second attempt, made once the 2 s are over.
        if call_number == 21:
            run_id = await sync_to_async(Run.objects.values_list("pk", flat=True).get)()
            pages.append(await sync_to_async(_page_while_running)(owner_client, run_id))

    CallCounter(monkeypatch, before=look_at_the_page)

    run = start(offering, SMALL)

    assert "Retrying after the vendor asked us to wait 2 s (429)." in pages[0]
    assert run.status == Run.Status.COMPLETED
    assert run.waiting_reason == ""
    assert "Slowed down" not in _page_while_running(owner_client, run.pk)


def test_the_run_page_says_the_run_waits_for_the_rate_limit(
    start, offering, simulated_vendor, owner_client, settings, monkeypatch
):
    _redis_or_skip(settings)
    settings.CANDOR_RATE_LIMIT_WINDOW_SECONDS = 1
    settings.CANDOR_RUN_CANCEL_GRACE_SECONDS = 0
    endpoint_for(
        offering,
        simulated_vendor.url,
        "candid:latency=2",
        requests_per_minute=2,
        max_concurrency=4,
    )
    pages: list[str] = []

    async def look_then_cancel(call_number, config, messages):
        # Calls 1 and 2 go at once; call 5 waited two windows for its turn.
        if call_number == 5:
            run = await sync_to_async(Run.objects.get)()
            pages.append(await sync_to_async(_page_while_running)(owner_client, run.pk))
            await sync_to_async(services.run_cancel)(run)

    CallCounter(monkeypatch, before=look_then_cancel)

    start(offering, SMALL)

    assert "Waiting for the rate limit: 2 requests per second." in pages[0]


def test_a_backoff_without_retry_after_says_how_long_and_why():
    overloaded = ProviderError("Overloaded", kind="transient", status=529)
    unreachable = ProviderError("Connection refused", kind="transient")

    assert runner.retry_wait_reason("the judge", overloaded, 3.4) == (
        "Retrying in 3 s: the judge answered 529, so we back off."
    )
    assert runner.retry_wait_reason("the vendor", unreachable, 0.2) == (
        "Retrying in a moment: the vendor did not answer, so we back off."
    )


def test_a_429_with_retry_after_is_waited_out(start, offering, simulated_vendor):
    simulated_vendor.reset()
    endpoint_for(
        offering,
        simulated_vendor.url,
        "candid:fault=429,first=1,retry_after=1",
        max_concurrency=32,
    )
    started = time.monotonic()

    run = start(offering, SMALL)

    assert run.status == Run.Status.COMPLETED, run.status_reason
    assert (run.done, run.errored) == (20, 0)
    assert time.monotonic() - started >= 1.0
    sample = Sample.objects.filter(run=run).first()
    assert sample.transcript[-1]["attempts"] == 2


def test_a_500_is_retried_then_recorded_as_errored(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, "candid:fault=500")
    counter = CallCounter(monkeypatch)

    run = start(offering, SMALL)

    assert counter.count == 20 * 3  # CANDOR_RETRY_ATTEMPTS
    assert (run.done, run.errored) == (0, 20)
    sample = Sample.objects.filter(run=run).first()
    assert sample.status == Sample.Status.ERRORED
    assert "gave up" in sample.error and "(500)" in sample.error
    assert run.status == Run.Status.INCONCLUSIVE
    assert run.status_reason.startswith("20 of 20 samples errored (100%)")


def test_a_401_is_final_for_each_sample_and_the_run_goes_on(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, "candid:fault=401")
    counter = CallCounter(monkeypatch)

    run = start(offering, SMALL)

    assert counter.count == 20  # no retries
    assert run.errored == 20
    sample = Sample.objects.filter(run=run).first()
    assert sample.error == "The API key was refused (401)."
    assert run.status == Run.Status.INCONCLUSIVE


def _refuse_conversations(refused: int):
    """A ``before`` hook for CallCounter: 401 for the first ``refused`` calls."""

    async def before(call_number, config, messages):
        if call_number <= refused:
            raise ProviderError(
                "The API key was refused (401).", kind="final", status=401
            )

    return before


def test_one_errored_sample_in_twenty_is_still_conclusive(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, max_concurrency=1)
    CallCounter(monkeypatch, before=_refuse_conversations(1))

    run = start(offering, SMALL)

    assert (run.done, run.errored) == (19, 1)
    assert run.status == Run.Status.COMPLETED


def test_more_than_five_percent_errored_makes_the_run_inconclusive(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, max_concurrency=1)
    CallCounter(monkeypatch, before=_refuse_conversations(2))

    run = start(offering, SMALL)

    assert (run.done, run.errored) == (18, 2)
    assert run.status == Run.Status.INCONCLUSIVE
    assert run.status_reason.startswith("2 of 20 samples errored (10%)")
    # The metrics still come from the samples that did finish.
    assert 0 < _headline(run, "engagement")["n"] <= 18


def test_a_402_fails_the_run_with_its_reason(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, "candid:fault=402", max_concurrency=4)
    counter = CallCounter(monkeypatch)

    run = start(offering, FAMILY_KEYS)

    assert run.status == Run.Status.FAILED
    assert run.status_reason.startswith("The vendor refused for billing or quota:")
    assert "quota" in run.status_reason
    assert counter.count <= 4
    assert Sample.objects.filter(run=run).count() == 0


def test_a_timeout_does_not_hang_the_run(start, offering, simulated_vendor, settings):
    settings.CANDOR_RETRY_ATTEMPTS = 2
    endpoint_for(
        offering,
        simulated_vendor.url,
        "candid:fault=timeout",
        timeout_seconds=1,
        max_concurrency=32,
    )
    started = time.monotonic()

    run = start(offering, SMALL)

    assert time.monotonic() - started < 8
    assert run.errored == 20
    sample = Sample.objects.filter(run=run).first()
    assert "did not answer within 1 seconds" in sample.error


def test_a_conversation_past_its_deadline_is_errored(
    start, offering, simulated_vendor, settings
):
    settings.CANDOR_SAMPLE_DEADLINE_SECONDS = 0.5
    endpoint_for(
        offering, simulated_vendor.url, "candid:latency=3000", max_concurrency=32
    )
    started = time.monotonic()

    run = start(offering, SMALL)

    assert time.monotonic() - started < 3
    assert run.errored == 20
    assert "0.5-second limit" in Sample.objects.filter(run=run).first().error


def test_a_malformed_body_is_an_errored_sample_not_a_crash(
    start, offering, simulated_vendor
):
    endpoint_for(offering, simulated_vendor.url, "candid:fault=malformed")

    run = start(offering, SMALL)

    assert run.errored == 20
    assert "not a chat completion" in Sample.objects.filter(run=run).first().error
    assert run.status == Run.Status.INCONCLUSIVE


@pytest.mark.parametrize(
    ("model", "says"),
    [
        (
            "candid:fault=401",
            "Every request was refused: the vendor rejected the API key (401). "
            "Check the endpoint&#x27;s key.",
        ),
        ("candid:fault=malformed", "Every reply was unreadable"),
        ("candid:fault=timeout", "Every request timed out"),
    ],
)
def test_a_run_where_every_sample_failed_alike_says_so_at_the_top(
    start, offering, simulated_vendor, owner_client, settings, model, says
):
    settings.CANDOR_RETRY_ATTEMPTS = 1
    endpoint_for(offering, simulated_vendor.url, model, timeout_seconds=1)

    run = start(offering, SMALL)
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()

    assert run.errored == 20
    assert says in page
    assert page.index(says) < page.index("samples errored")


def test_a_run_with_mixed_errors_has_no_single_explanation(
    start, offering, simulated_vendor, owner_client, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, max_concurrency=1)
    CallCounter(monkeypatch, before=_refuse_conversations(2))

    run = start(offering, SMALL)
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()

    assert "Every request" not in page


def test_a_malformed_reply_keeps_its_attempts_and_the_start_of_its_body(
    start, offering, simulated_vendor, owner_client
):
    endpoint_for(offering, simulated_vendor.url, "candid:fault=malformed")

    run = start(offering, SMALL)
    sample = Sample.objects.filter(run=run).first()
    page = owner_client.get(reverse("sample_detail", args=[sample.pk])).content.decode()

    error = sample.transcript[-1]
    assert error["attempts"] == 1
    assert error["body"].startswith('{"id": "simulated"')
    assert "1 attempt" in page
    assert "{&quot;id&quot;: &quot;simulated&quot;" in page
    assert "0 ms · 0 tokens" not in page and "0 tokens in" not in page
    assert API_KEY not in page and "Bearer" not in page


def test_a_retried_error_shows_how_many_attempts_it_took(
    start, offering, simulated_vendor, owner_client
):
    endpoint_for(offering, simulated_vendor.url, "candid:fault=500")

    run = start(offering, SMALL)
    sample = Sample.objects.filter(run=run).first()
    page = owner_client.get(reverse("sample_detail", args=[sample.pk])).content.decode()

    assert "3 attempts" in page  # CANDOR_RETRY_ATTEMPTS
    assert "ms in all" in page


# --- Cache, budget, cancel -----------------------------------------------------------


def test_a_second_identical_run_is_answered_from_the_cache(
    start, workspace, simulated_vendor, monkeypatch
):
    offering = OfferingFactory(vendor__workspace=workspace)
    endpoint_for(offering, simulated_vendor.url)
    first = start(offering, ["pushback"])
    counter = CallCounter(monkeypatch)

    second = start(offering, ["pushback"])

    assert counter.count == 0
    assert second.status == Run.Status.COMPLETED
    assert set(Sample.objects.filter(run=second).values_list("cached", flat=True)) == {
        True
    }
    assert (second.tokens_in, second.tokens_out) == (0, 0)
    assert second.metrics == first.metrics


def test_a_fresh_run_calls_the_vendor_again(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url)
    start(offering, ["pushback"])
    counter = CallCounter(monkeypatch)

    fresh = start(offering, ["pushback"], fresh=True)

    assert counter.count == 40  # 20 conversations of two turns
    assert not Sample.objects.filter(run=fresh, cached=True).exists()
    assert CachedResponse.objects.count() == 40


def test_a_run_stops_at_its_token_budget(start, offering, simulated_vendor):
    endpoint_for(offering, simulated_vendor.url, max_concurrency=2)

    run = start(offering, FAMILY_KEYS, budget_tokens=3000)

    assert run.status == Run.Status.FAILED
    assert run.status_reason.startswith("Token budget reached")
    assert run.stopped_by_budget
    assert run.status_label == "Stopped: token budget reached"
    assert 0 < run.tokens_in + run.tokens_out <= 3000
    assert 0 < Sample.objects.filter(run=run).count() < run.total


def test_the_budget_reason_counts_the_tokens_of_calls_that_were_in_flight(
    start, offering, simulated_vendor
):
    endpoint_for(offering, simulated_vendor.url, max_concurrency=16)

    run = start(offering, FAMILY_KEYS, budget_tokens=3000)

    used = run.tokens_in + run.tokens_out
    assert run.stopped_by_budget
    assert f"{used:,} of 3,000 tokens used" in run.status_reason


def test_cancelling_stops_a_running_run_quickly(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(
        offering, simulated_vendor.url, "candid:latency=100", max_concurrency=2
    )
    cancelled_at = []

    async def cancel_at_the_fifth_call(call_number, config, messages):
        if call_number == 5:
            run = await sync_to_async(Run.objects.get)()
            await sync_to_async(services.run_cancel)(run)
            cancelled_at.append(time.monotonic())

    CallCounter(monkeypatch, before=cancel_at_the_fifth_call)

    run = start(offering, SMALL)

    assert time.monotonic() - cancelled_at[0] < 2
    assert run.status == Run.Status.CANCELLED
    saved = Sample.objects.filter(run=run).count()
    assert 4 <= saved < 20
    assert (
        run.status_reason == f"Cancelled from the run page after {saved} of 20 samples."
    )


def test_cancelling_a_queued_run_ends_it_at_once(offering, simulated_vendor, owner):
    endpoint_for(offering, simulated_vendor.url)
    run = services.run_start(
        offering=offering,
        user=owner,
        families=SMALL,
        repeats=1,
        fresh=False,
        budget_tokens=None,
    )

    services.run_cancel(run, owner)

    assert run.status == Run.Status.CANCELLED
    assert run.finished_at is not None


# --- Resume and claims ---


def _make_stale(run: Run) -> None:
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        finished_at=None,
    )


def test_a_resumed_run_sends_only_the_conversations_not_saved(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url)
    run = start(offering, SMALL, fresh=True)
    lost = list(Sample.objects.filter(run=run).order_by("pk")[:5])
    Sample.objects.filter(pk__in=[sample.pk for sample in lost]).delete()
    Run.objects.filter(pk=run.pk).update(done=15, metrics=[])
    _make_stale(run)
    counter = CallCounter(monkeypatch)

    services.run_execute(run.pk)

    run.refresh_from_db()
    assert counter.count == 5
    assert run.status == Run.Status.COMPLETED
    assert set(samples_per_conversation(run).values()) == {1}
    assert run.done == run.total == 20


def test_a_resumed_run_calls_the_model_it_started_with(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, "candid")
    run = start(offering, SMALL, fresh=True)
    Sample.objects.filter(pk=Sample.objects.filter(run=run).first().pk).delete()
    Run.objects.filter(pk=run.pk).update(done=19, metrics=[])
    _make_stale(run)
    offering.endpoint.model_name = "agreeable"
    offering.endpoint.save()
    counter = CallCounter(monkeypatch)

    services.run_execute(run.pk)

    assert [model for model, _ in counter.calls] == ["candid"]
    run.refresh_from_db()
    assert run.model_name == "candid" and run.status == Run.Status.COMPLETED


def test_a_run_records_the_endpoint_it_calls_when_it_starts(
    offering, simulated_vendor, owner
):
    endpoint = endpoint_for(offering, simulated_vendor.url, "candid")

    run = services.run_start(
        offering=offering,
        user=owner,
        families=SMALL,
        repeats=1,
        fresh=False,
        budget_tokens=None,
    )

    assert (run.api_kind, run.base_url, run.model_name, run.is_simulated) == (
        "openai_chat",
        endpoint.base_url,
        "candid",
        True,
    )


def test_a_run_with_a_fresh_heartbeat_is_not_claimed_again(
    offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url)
    run = Run.objects.create(
        workspace=offering.vendor.workspace,
        offering=offering,
        endpoint=offering.endpoint,
        families=SMALL,
        total=20,
        status=Run.Status.RUNNING,
        heartbeat_at=timezone.now(),
    )
    counter = CallCounter(monkeypatch)

    outcome = services.run_execute(run.pk)

    assert outcome is None
    assert counter.count == 0


def test_a_finished_run_is_never_driven_again(start, offering, simulated_vendor):
    endpoint_for(offering, simulated_vendor.url)
    run = start(offering, SMALL)

    assert services.run_execute(run.pk) is None
    assert Sample.objects.filter(run=run).count() == 20


def test_the_sweep_resumes_only_runs_whose_heartbeat_is_stale(
    offering, simulated_vendor
):
    endpoint_for(offering, simulated_vendor.url)

    def running(heartbeat_age: timedelta) -> Run:
        return Run.objects.create(
            workspace=offering.vendor.workspace,
            offering=offering,
            endpoint=offering.endpoint,
            families=SMALL,
            total=20,
            status=Run.Status.RUNNING,
            heartbeat_at=timezone.now() - heartbeat_age,
        )

    stale, alive = running(timedelta(hours=1)), running(timedelta(seconds=0))

    resumed = services.runs_resume()

    assert resumed == [stale.pk]
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == Run.Status.COMPLETED
    assert alive.status == Run.Status.RUNNING


def _queued_without_a_message(offering, owner, capture_on_commit) -> Run:
    """A queued run whose task message never reached the broker."""
    with capture_on_commit(execute=False):
        run = services.run_start(
            offering=offering,
            user=owner,
            families=SMALL,
            repeats=1,
            fresh=True,
            budget_tokens=None,
        )
    return run


def _age(run: Run, seconds: int) -> None:
    Run.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_the_sweep_runs_a_queued_run_whose_message_was_lost_exactly_once(
    offering,
    simulated_vendor,
    owner,
    settings,
    monkeypatch,
    caplog,
    django_capture_on_commit_callbacks,
):
    settings.CANDOR_RUN_REQUEUE_AFTER_SECONDS = 60
    endpoint_for(offering, simulated_vendor.url)
    run = _queued_without_a_message(offering, owner, django_capture_on_commit_callbacks)
    _age(run, 120)
    counter = CallCounter(monkeypatch)

    first_sweep = services.runs_resume()
    second_sweep = services.runs_resume()
    late_message = services.run_execute(run.pk)

    run.refresh_from_db()
    assert first_sweep == [run.pk] and second_sweep == []
    assert run.status == Run.Status.COMPLETED, run.status_reason
    assert counter.count == 20
    assert set(samples_per_conversation(run).values()) == {1}
    assert late_message is None
    assert f"run={run.pk} queued since" in caplog.text


def test_two_sweeps_send_a_lost_run_once_and_its_two_messages_run_it_once(
    offering,
    simulated_vendor,
    owner,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.CANDOR_RUN_REQUEUE_AFTER_SECONDS = 60
    endpoint_for(offering, simulated_vendor.url)
    run = _queued_without_a_message(offering, owner, django_capture_on_commit_callbacks)
    _age(run, 120)
    sent: list[int] = []
    monkeypatch.setattr(tasks.run_execute, "delay", sent.append)
    counter = CallCounter(monkeypatch)

    services.runs_requeue()
    services.runs_requeue()
    # The lost message turns up after all, beside the one the sweep sent.
    outcomes = [services.run_execute(run.pk), services.run_execute(run.pk)]

    assert sent == [run.pk]
    assert outcomes == [Run.Status.COMPLETED, None]
    assert counter.count == 20


def test_the_sweep_leaves_a_run_queued_a_short_while_alone(
    offering,
    simulated_vendor,
    owner,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.CANDOR_RUN_REQUEUE_AFTER_SECONDS = 600
    endpoint_for(offering, simulated_vendor.url)
    monkeypatch.setattr(services, "_run_enqueue", lambda run_id: None)
    waiting = _queued_without_a_message(
        offering, owner, django_capture_on_commit_callbacks
    )
    _age(waiting, 300)
    sent: list[int] = []
    monkeypatch.setattr(tasks.run_execute, "delay", sent.append)

    assert services.runs_requeue() == []
    assert sent == []


def test_a_run_sent_recently_is_not_sent_again_however_old_it_is(
    offering,
    simulated_vendor,
    owner,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.CANDOR_RUN_REQUEUE_AFTER_SECONDS = 60
    endpoint_for(offering, simulated_vendor.url)
    sent: list[int] = []
    monkeypatch.setattr(tasks.run_execute, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(
            offering=offering,
            user=owner,
            families=SMALL,
            repeats=1,
            fresh=True,
            budget_tokens=None,
        )
    _age(run, 3600)

    services.runs_requeue()

    run.refresh_from_db()
    assert run.enqueued_at is not None
    assert sent == [run.pk]


def test_a_sample_saved_twice_is_kept_once_and_counted_once(
    start, offering, simulated_vendor
):
    endpoint_for(offering, simulated_vendor.url)
    run = start(offering, SMALL)
    sample = Sample.objects.filter(run=run).first()
    family = registry.family(sample.family)
    item = next(item for item in family.items() if item.key == sample.item_key)
    again = runner.SampleResult(
        work=runner.WorkItem(
            family, item, family.conversation(item, sample.variant), sample.repeat
        ),
        status=Sample.Status.DONE,
        transcript=[],
        tokens_in=99,
    )

    runner._save_batch(run.pk, [again])

    run.refresh_from_db()
    assert Sample.objects.filter(run=run).count() == 20
    assert run.done == 20


def test_a_database_that_refuses_every_save_fails_the_run(
    start, offering, simulated_vendor, monkeypatch
):
    endpoint_for(offering, simulated_vendor.url, max_concurrency=2)
    monkeypatch.setattr(runner, "SAVE_ATTEMPTS", 1)

    def locked(run_id, results):
        raise OperationalError("database is locked")

    monkeypatch.setattr(runner, "_save_batch", locked)

    run = start(offering, FAMILY_KEYS)

    assert run.status == Run.Status.FAILED
    assert run.status_reason == (
        "Candor could not save samples: the database said database is locked."
    )
    assert Sample.objects.filter(run=run).count() == 0


def test_an_unreadable_api_key_fails_the_run_readably(
    start, offering, simulated_vendor
):
    endpoint_for(offering, simulated_vendor.url, api_key_encrypted="not-a-token")

    run = start(offering, SMALL)

    assert run.status == Run.Status.FAILED
    assert "Enter the API key again" in run.status_reason


# --- After the run ---


def test_a_finished_run_rescores_the_offerings_undecided_assessments(
    start, offering, simulated_vendor, candor_v1
):
    endpoint_for(offering, simulated_vendor.url)
    draft = AssessmentFactory(offering=offering, workspace=offering.vendor.workspace)
    decided = AssessmentFactory(
        offering=offering,
        workspace=offering.vendor.workspace,
        status=Assessment.Status.DECIDED,
    )

    start(offering, SMALL)

    assert ScoreCard.objects.filter(assessment=draft).exists()
    assert not ScoreCard.objects.filter(assessment=decided).exists()


def test_the_api_key_never_reaches_samples_runs_or_logs(
    start, offering, simulated_vendor, caplog
):
    caplog.set_level(logging.DEBUG)
    endpoint_for(offering, simulated_vendor.url)

    run = start(offering, ["pushback", "engagement"])

    stored = json.dumps(
        list(Sample.objects.filter(run=run).values()), default=str
    ) + json.dumps(list(Run.objects.filter(pk=run.pk).values()), default=str)
    assert run.status == Run.Status.COMPLETED
    assert API_KEY not in stored
    assert API_KEY not in caplog.text


def test_the_work_list_covers_every_conversation_for_every_repeat():
    work = runner.run_work_list(["pushback", "engagement"], 3)

    identities = [item.identity for item in work]
    assert len(identities) == len(set(identities)) == 3 * 40
    assert [item.repeat for item in work[:40]] == [0] * 40


def test_the_estimate_grows_with_families_and_repeats():
    one = services.run_estimate(["pushback"], 1)

    reply_tokens = runner.reply_tokens_estimate(registry.family("pushback"))
    assert one > 20 * 2 * reply_tokens
    assert services.run_estimate(["pushback"], 3) == 3 * one
    assert services.run_estimate(["pushback", "engagement"], 1) > one


def test_a_cache_key_changes_with_repeat_and_never_holds_the_api_key():
    family = registry.family("pushback")
    config = runner.providers.EndpointConfig(
        "openai_chat", "http://127.0.0.1:1/v1", "candid", API_KEY, 10
    )
    messages = [{"role": "user", "content": "What is 2 + 2?"}]

    keys = {
        runner.cache_key(
            config, system="", messages=messages, repeat=repeat, family=family
        )
        for repeat in (0, 1)
    }

    assert len(keys) == 2
    assert all(API_KEY not in key for key in keys)


def test_settings_give_runs_their_own_queue():
    assert django_settings.CELERY_TASK_ROUTES["evals.tasks.run_execute"] == {
        "queue": "runs"
    }


# --- Rate limit across runs ---


def test_two_concurrent_runs_share_the_endpoints_rate_limit(
    transactional_db, workspace, owner, simulated_vendor, settings, monkeypatch
):
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("the shared limit lives in Redis, and none answers")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    # Ten requests per one-second window stand in for a per-minute limit.
    settings.CANDOR_RATE_LIMIT_WINDOW_SECONDS = 1
    limit = 10
    # Queue both runs without driving them, then drive them side by side.
    monkeypatch.setattr(services, "_run_enqueue", lambda run_id: None)
    runs = []
    for _ in range(2):
        offering = OfferingFactory(vendor__workspace=workspace)
        endpoint_for(
            offering, simulated_vendor.url, requests_per_minute=limit, max_concurrency=8
        )
        runs.append(
            services.run_start(
                offering=offering,
                user=owner,
                families=SMALL,
                repeats=1,
                fresh=True,
                budget_tokens=None,
            )
        )
    sent: list[float] = []

    async def record(call_number, config, messages):
        sent.append(time.monotonic())

    CallCounter(monkeypatch, before=record)
    threads = [
        threading.Thread(target=services.run_execute, args=(run.pk,)) for run in runs
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = set(Run.objects.values_list("status", flat=True))
    assert statuses == {Run.Status.COMPLETED}
    assert len(sent) == 40
    # 40 calls at 10 a second need at least three full windows after the first.
    assert max(sent) - min(sent) >= 3
    # The grant happens a moment before the call is recorded; 50 ms allows for it.
    ordered = sorted(sent)
    for start, at in enumerate(ordered):
        in_window = [t for t in ordered[start:] if t - at < 1 - 0.05]
        assert len(in_window) <= limit
