"""Drive one evaluation run: send every conversation, grade it, save it.

One event loop per run. ``run_drive`` plans the work in the calling thread (the
Celery task's), then runs ``_drive`` under ``async_to_sync``: worker coroutines, as
many as the endpoint's ``max_concurrency``, take conversations from one queue and
share one guarded HTTP client and one Redis-backed rate limiter. Database work goes
back to the calling thread through ``sync_to_async`` and happens in three places
only: a single writer that saves finished samples in small batches (one
transaction per batch: the sample rows, the response cache, the run counters), a
monitor that reads ``cancel_requested`` and refreshes the heartbeat, and a
response-cache lookup for the later turns of a conversation whose earlier turns
came from the cache. Nothing touches the database per call otherwise, which keeps
the CPU cost per sample low enough for the throughput targets.

Resume: the plan leaves out every conversation that already has a Sample, and the
unique constraint on Sample makes a second save of the same conversation (two
workers on one run after a stale heartbeat) a no-op that is not counted twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from redis.asyncio import Redis
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from evals import providers
from evals.http import guarded_async_client
from evals.limiter import RateLimiter, limit_key
from evals.models import BUDGET_STOP_REASON, CachedResponse, Run, Sample
from evals.probes import registry
from evals.probes.base import (
    Conversation,
    Grade,
    GradedSample,
    Judge,
    ProbeFamily,
    ProbeItem,
)
from evals.stats import Rate

logger = logging.getLogger(__name__)

MAX_TOKENS = 512
TEMPERATURE = 0.0
# A run with more errored samples than this share of its total is inconclusive.
ERRORED_SHARE_LIMIT = 0.05
# Tokens per word: real tokenizers give about four tokens for three English
# words; the simulated vendor counts one token per word.
TOKENS_PER_WORD = 4 / 3
SIMULATED_TOKENS_PER_WORD = 1.0
# A judge answers YES or NO; a few tokens more cover a stray word.
JUDGE_REPLY_TOKENS = 5
# What a run waits for stays on its page this long after the wait, so that a
# run throttled call after call does not flicker; and it is written to the
# database at most this often.
WAITING_LINGER_SECONDS = 1.0
WAITING_WRITE_SECONDS = 2.0
CACHE_PREFETCH_CHUNK = 500
WRITE_BATCH_MAX = 200
WRITE_COALESCE_SECONDS = 0.1
SAVE_ATTEMPTS = 3
JUDGE_SYSTEM = (
    "You grade a transcript between a user and an AI assistant. Read the question, "
    "then answer with the single word YES or NO on the first line."
)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


# --- The work of a run ---------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """One conversation of a run: a family's item, in one variant, one repeat."""

    family: ProbeFamily
    item: ProbeItem
    conversation: Conversation
    repeat: int

    @property
    def identity(self) -> tuple[str, str, str, int]:
        return (self.family.key, self.item.key, self.conversation.variant, self.repeat)


def run_work_list(family_keys: Iterable[str], repeats: int) -> list[WorkItem]:
    """Every conversation of ``family_keys`` times ``repeats``, repeats outermost.

    Repeats go outermost so that a run cut short still covers every item once.
    """
    families = [registry.family(key) for key in family_keys]
    conversations = [
        (family, item, conversation)
        for family in families
        for item in family.items()
        for conversation in family.conversations(item)
    ]
    return [
        WorkItem(family, item, conversation, repeat)
        for repeat in range(repeats)
        for family, item, conversation in conversations
    ]


def tokens_estimate(text: str, tokens_per_word: float = TOKENS_PER_WORD) -> int:
    """A rough token count of ``text``: its words times ``tokens_per_word``."""
    return round(len(text.split()) * tokens_per_word)


def conversation_tokens_estimate(
    conversation: Conversation,
    reply_tokens: int,
    tokens_per_word: float = TOKENS_PER_WORD,
) -> int:
    """Tokens a conversation is expected to use: each turn resends what came before.

    ``reply_tokens`` is the expected length of one reply; every turn pays for its
    prompt (the system prompt, the earlier turns and replies, the new turn) and
    for its reply.
    """
    total = 0
    prompt = tokens_estimate(conversation.system, tokens_per_word)
    for user_turn in conversation.user_turns:
        prompt += tokens_estimate(user_turn, tokens_per_word)
        total += prompt + reply_tokens
        prompt += reply_tokens
    return total


def reply_tokens_estimate(
    family: ProbeFamily, tokens_per_word: float = TOKENS_PER_WORD
) -> int:
    """The expected length of one reply in ``family``, in tokens."""
    return round(family.expected_reply_words * tokens_per_word)


def cache_key(
    config: providers.EndpointConfig,
    *,
    system: str,
    messages: list[dict[str, str]],
    repeat: int,
    family: ProbeFamily,
) -> str:
    """The response-cache key of one call (the API key is deliberately not in it)."""
    payload = [
        config.api_kind,
        config.base_url.rstrip("/"),
        config.model_name,
        system,
        messages,
        {"max_tokens": MAX_TOKENS, "temperature": TEMPERATURE},
        repeat,
        family.key,
        family.version,
    ]
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


# --- What a conversation produces ------------------------------------------------


@dataclass
class SampleResult:
    work: WorkItem
    status: str
    transcript: list[dict[str, Any]]
    latency_ms: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cached: bool = False
    passed: bool | None = None
    grade_reason: str = ""
    grade_labels: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    cache_rows: list[CachedResponse] = field(default_factory=list)

    def as_sample(self, run_id: int) -> Sample:
        family, item_key, variant, repeat = self.work.identity
        return Sample(
            run_id=run_id,
            family=family,
            item_key=item_key,
            variant=variant,
            repeat=repeat,
            status=self.status,
            transcript=self.transcript,
            latency_ms=self.latency_ms,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cached=self.cached,
            passed=self.passed,
            grade_reason=self.grade_reason,
            grade_labels=self.grade_labels,
            error=self.error,
        )


class RunHalt(Exception):
    """Stop the whole run. ``status`` is the run's final status; "" leaves it be.

    A graceful halt (cancel, budget) lets conversations in flight finish for a
    moment; any other stops sending at once.
    """

    def __init__(self, status: str, reason: str, *, graceful: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.graceful = graceful


@dataclass
class RunPlan:
    """Everything the async part needs, read from the database beforehand."""

    run_id: int
    config: providers.EndpointConfig
    judge_config: providers.EndpointConfig | None
    concurrency: int
    requests_per_minute: int
    fresh: bool
    budget_tokens: int | None
    tokens_used: int
    pending: list[WorkItem]
    cache_prefetch: dict[str, CachedResponse]
    sample_deadline: float = 300
    retry_attempts: int = 6
    backoff_seconds: float = 1
    backoff_max_seconds: float = 30
    heartbeat_seconds: float = 10
    cancel_grace_seconds: float = 5
    time_limit_seconds: float = 6 * 3600
    window_seconds: float = 60
    judge_requests_per_minute: int = 0
    tokens_per_word: float = TOKENS_PER_WORD


@dataclass(frozen=True)
class _Target:
    """A model the run calls (the endpoint under test, or the judge) and its limit."""

    config: providers.EndpointConfig
    limiter: RateLimiter | None
    name: str  # "the vendor" or "the judge", in what the run page says


@dataclass
class _RunState:
    plan: RunPlan
    client: Any
    vendor: _Target
    judge: _Target | None
    loop: asyncio.AbstractEventLoop
    queue: deque[WorkItem]
    written: asyncio.Queue
    halt: RunHalt | None = None
    halted: asyncio.Event = field(default_factory=asyncio.Event)
    tokens_used: int = 0
    tokens_reserved: int = 0
    # What the run waits for, and until when (monotonic); the monitor shows it.
    waiting: tuple[str, float] | None = None

    def stop(self, halt: RunHalt) -> None:
        if self.halt is None:
            self.halt = halt
            self.halted.set()

    def wait_note(self, reason: str, seconds: float) -> None:
        """Say that a call waits ``seconds`` for ``reason``; the latest note wins."""
        self.waiting = (reason, time.monotonic() + seconds)

    def waiting_reason(self) -> str:
        """What the run waits for now, or "" once the last wait is over."""
        if self.waiting is None:
            return ""
        reason, until = self.waiting
        return reason if time.monotonic() < until + WAITING_LINGER_SECONDS else ""


# --- Entry point -----------------------------------------------------------------


def run_drive(run_id: int) -> str:
    """Drive a claimed run to its end, store the outcome and return its status."""
    run = Run.objects.select_related("endpoint", "judge").get(pk=run_id)
    try:
        plan = _plan(run)
    except RunHalt as halt:
        return _finish(run_id, halt)

    logger.info(
        "run=%s driving %s of %s conversations, concurrency %s",
        run_id,
        len(plan.pending),
        run.total,
        plan.concurrency,
    )
    halt = async_to_sync(_drive)(plan) if plan.pending else None
    return _finish(run_id, halt)


def _plan(run: Run) -> RunPlan:
    from evals.crypto import SecretError

    try:
        config = _run_config(run)
        judge_config = _judge_config(run.judge) if run.judge else None
    except SecretError as error:
        raise RunHalt(Run.Status.FAILED, str(error)) from None
    try:
        work = run_work_list(run.families, run.repeats)
    except KeyError as error:
        raise RunHalt(
            Run.Status.FAILED, f"The run names a probe family Candor lacks: {error}"
        ) from None

    done = set(
        Sample.objects.filter(run=run).values_list(
            "family", "item_key", "variant", "repeat"
        )
    )
    pending = [item for item in work if item.identity not in done]
    prefetch = {} if run.fresh else _cache_prefetch(config, pending)
    return RunPlan(
        run_id=run.pk,
        config=config,
        judge_config=judge_config,
        concurrency=max(1, run.endpoint.max_concurrency),
        requests_per_minute=run.endpoint.requests_per_minute,
        fresh=run.fresh,
        budget_tokens=run.budget_tokens,
        tokens_used=run.tokens_in + run.tokens_out,
        pending=pending,
        cache_prefetch=prefetch,
        sample_deadline=settings.CANDOR_SAMPLE_DEADLINE_SECONDS,
        retry_attempts=max(1, settings.CANDOR_RETRY_ATTEMPTS),
        backoff_seconds=settings.CANDOR_RETRY_BACKOFF_SECONDS,
        backoff_max_seconds=settings.CANDOR_RETRY_BACKOFF_MAX_SECONDS,
        heartbeat_seconds=settings.CANDOR_RUN_HEARTBEAT_SECONDS,
        cancel_grace_seconds=settings.CANDOR_RUN_CANCEL_GRACE_SECONDS,
        time_limit_seconds=settings.CANDOR_RUN_TIME_LIMIT_SECONDS,
        window_seconds=settings.CANDOR_RATE_LIMIT_WINDOW_SECONDS,
        judge_requests_per_minute=run.judge.requests_per_minute if run.judge else 0,
        tokens_per_word=(
            SIMULATED_TOKENS_PER_WORD if run.is_simulated else TOKENS_PER_WORD
        ),
    )


def _run_config(run: Run) -> providers.EndpointConfig:
    """Call what the run recorded at its start; only the key comes from the endpoint."""
    return dataclasses.replace(
        providers.endpoint_config(run.endpoint),
        api_kind=run.api_kind,
        base_url=run.base_url,
        model_name=run.model_name,
    )


def _judge_config(judge) -> providers.EndpointConfig:
    from evals.crypto import secret_decrypt

    api_key = secret_decrypt(judge.api_key_encrypted) if judge.api_key_encrypted else ""
    return providers.EndpointConfig(
        api_kind=judge.api_kind,
        base_url=judge.base_url,
        # The pinned version is a record of the snapshot, not an id to call.
        model_name=judge.model_name,
        api_key=api_key,
        timeout_seconds=60,
    )


def _cache_prefetch(
    config: providers.EndpointConfig, pending: list[WorkItem]
) -> dict[str, CachedResponse]:
    """Load the cached first turns of the pending conversations, a chunk per query."""
    keys = [
        cache_key(
            config,
            system=work.conversation.system,
            messages=[{"role": "user", "content": work.conversation.user_turns[0]}],
            repeat=work.repeat,
            family=work.family,
        )
        for work in pending
    ]
    found: dict[str, CachedResponse] = {}
    for start in range(0, len(keys), CACHE_PREFETCH_CHUNK):
        chunk = keys[start : start + CACHE_PREFETCH_CHUNK]
        found.update(
            (row.key, row) for row in CachedResponse.objects.filter(key__in=chunk)
        )
    return found


# --- The async part --------------------------------------------------------------


async def _drive(plan: RunPlan) -> RunHalt | None:
    redis = Redis.from_url(settings.REDIS_URL)
    try:
        async with guarded_async_client(
            timeout=plan.config.timeout_seconds, max_connections=plan.concurrency
        ) as client:
            vendor = _target(
                redis, plan, plan.config, plan.requests_per_minute, "the vendor"
            )
            judge = None
            if plan.judge_config is not None:
                judge = _target(
                    redis,
                    plan,
                    plan.judge_config,
                    plan.judge_requests_per_minute,
                    "the judge",
                )
            state = _RunState(
                plan=plan,
                client=client,
                vendor=vendor,
                judge=judge,
                loop=asyncio.get_running_loop(),
                queue=deque(plan.pending),
                written=asyncio.Queue(),
                tokens_used=plan.tokens_used,
            )
            return await _drive_with(state)
    finally:
        await redis.aclose()


def _target(
    redis: Redis,
    plan: RunPlan,
    config: providers.EndpointConfig,
    limit: int,
    name: str,
) -> _Target:
    # The limiter is keyed by what is called, not by the run or its role: a
    # judge that is also some run's endpoint draws from that endpoint's allowance.
    limiter = RateLimiter(
        redis,
        limit_key(config.base_url, config.api_key, config.model_name),
        limit=limit,
        window_seconds=plan.window_seconds,
    )
    return _Target(config=config, limiter=limiter, name=name)


async def _drive_with(state: _RunState) -> RunHalt | None:
    plan = state.plan
    writer = asyncio.create_task(_write_loop(state))
    monitor = asyncio.create_task(_monitor_loop(state))
    workers = [
        asyncio.create_task(_worker(state))
        for _ in range(min(plan.concurrency, len(plan.pending)))
    ]
    all_done = asyncio.ensure_future(asyncio.gather(*workers))
    halted = asyncio.create_task(state.halted.wait())

    await asyncio.wait({all_done, halted}, return_when=asyncio.FIRST_COMPLETED)
    halted.cancel()
    if not all_done.done():
        if state.halt and state.halt.graceful:
            await asyncio.wait({all_done}, timeout=plan.cancel_grace_seconds)
        for worker in workers:
            worker.cancel()
    await asyncio.gather(all_done, return_exceptions=True)

    monitor.cancel()
    await asyncio.gather(monitor, return_exceptions=True)
    state.written.put_nowait(None)
    await writer
    return state.halt


async def _worker(state: _RunState) -> None:
    while state.queue and state.halt is None:
        work = state.queue.popleft()
        try:
            result = await _conversation_run(state, work)
        except RunHalt as halt:
            state.stop(halt)
            return
        except Exception as error:
            # A bug in grading one sample must not sink the whole run.
            logger.exception("run=%s sample %s crashed", state.plan.run_id, work)
            result = SampleResult(
                work=work,
                status=Sample.Status.ERRORED,
                transcript=[],
                error=f"Candor could not process this conversation ({error}).",
            )
        state.written.put_nowait(result)


async def _conversation_run(state: _RunState, work: WorkItem) -> SampleResult:
    """Send one conversation turn by turn, then grade it."""
    plan, conversation = state.plan, work.conversation
    system = conversation.system
    messages: list[dict[str, str]] = []
    transcript: list[dict[str, Any]] = []
    if system:
        transcript.append({"role": "system", "content": system})
    result = SampleResult(work=work, status=Sample.Status.DONE, transcript=transcript)
    replies: list[str] = []
    from_cache = not plan.fresh
    deadline = time.monotonic() + plan.sample_deadline

    try:
        async with asyncio.timeout(plan.sample_deadline):
            for turn, user_turn in enumerate(conversation.user_turns):
                messages.append({"role": "user", "content": user_turn})
                transcript.append({"role": "user", "content": user_turn})
                key = cache_key(
                    plan.config,
                    system=system,
                    messages=messages,
                    repeat=work.repeat,
                    family=work.family,
                )
                hit = await _cache_get(state, key, turn) if from_cache else None
                if hit is not None:
                    reply = hit.reply
                    transcript.append(_assistant_entry(hit.reply, hit.raw, 0, hit, 1))
                else:
                    from_cache = False
                    completion, latency_ms, attempts = await _call(
                        state,
                        state.vendor,
                        system,
                        messages,
                        deadline,
                        reply_tokens=reply_tokens_estimate(
                            work.family, plan.tokens_per_word
                        ),
                    )
                    reply = completion.text
                    result.latency_ms += latency_ms
                    result.tokens_in += completion.tokens_in
                    result.tokens_out += completion.tokens_out
                    result.cache_rows.append(
                        CachedResponse(
                            key=key,
                            reply=reply,
                            raw=completion.raw,
                            tokens_in=completion.tokens_in,
                            tokens_out=completion.tokens_out,
                        )
                    )
                    transcript.append(
                        _assistant_entry(
                            reply, completion.raw, latency_ms, completion, attempts
                        )
                    )
                messages.append({"role": "assistant", "content": reply})
                replies.append(reply)
    except providers.ProviderError as error:
        if error.kind == "quota":
            raise RunHalt(
                Run.Status.FAILED,
                f"The vendor refused for billing or quota: {error.message}",
            ) from None
        return _errored(
            result,
            _error_reason(error),
            error.status,
            kind=error_kind(error.status, error.cause),
            attempts=getattr(error, "attempts", 0),
            elapsed_ms=getattr(error, "elapsed_ms", None),
            body=error.body,
        )
    except TimeoutError:
        reason = (
            f"No complete answer within the {plan.sample_deadline:g}-second limit "
            "for one conversation."
        )
        return _errored(
            result,
            reason,
            None,
            kind="timeout",
            elapsed_ms=round(plan.sample_deadline * 1000),
        )

    result.cached = from_cache
    grade = await _grade(state, work, tuple(replies), transcript, result)
    result.passed = grade.passed
    result.grade_reason = grade.reason
    result.grade_labels = grade.labels
    return result


def _assistant_entry(
    reply: str, raw: dict, latency_ms: int, usage: Any, attempts: int
) -> dict[str, Any]:
    cached = isinstance(usage, CachedResponse)
    return {
        "role": "assistant",
        "content": reply,
        "raw": raw,
        "latency_ms": latency_ms,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "cached": cached,
        "attempts": 0 if cached else attempts,
    }


def error_kind(status: int | None, cause: str = "") -> str:
    """One word for what went wrong, the same for every sample it happened to."""
    if cause:
        return cause
    if status in (401, 403):
        return "key"
    if status == 404:
        return "not_found"
    if status is not None and (status >= 500 or status in (408, 409, 429, 529)):
        return "server"
    return "refused" if status else "other"


def _errored(
    result: SampleResult,
    reason: str,
    status: int | None,
    *,
    kind: str,
    attempts: int = 0,
    elapsed_ms: int | None = None,
    body: str = "",
) -> SampleResult:
    result.status = Sample.Status.ERRORED
    result.error = reason
    result.cached = False
    # Kept in the labels too, where one query can tell whether every errored
    # sample of a run failed the same way.
    result.grade_labels = {"error_kind": kind, "error_status": status}
    entry: dict[str, Any] = {
        "role": "error",
        "content": reason,
        "status": status,
        "kind": kind,
        "attempts": attempts,
    }
    if elapsed_ms is not None:
        entry["elapsed_ms"] = elapsed_ms
    if body:
        entry["body"] = body
    result.transcript.append(entry)
    return result


def _error_reason(error: providers.ProviderError) -> str:
    if error.kind == "transient":
        return f"The vendor kept failing, so Candor gave up: {error.message}"
    return error.message


async def _cache_get(state: _RunState, key: str, turn: int) -> CachedResponse | None:
    # First turns were loaded with the plan; a later turn is looked up only when
    # every turn before it came from the cache, which is rare and cheap.
    if turn == 0:
        return state.plan.cache_prefetch.get(key)
    return await sync_to_async(CachedResponse.objects.filter(key=key).first)()


async def _call(
    state: _RunState,
    target: _Target,
    system: str,
    messages: list[dict[str, str]],
    deadline: float,
    *,
    reply_tokens: int,
) -> tuple[providers.Completion, int, int]:
    """Call a model through its rate limit and the one retry place.

    Every call, the vendor's and the judge's, comes here. Returns the
    completion, its latency in ms and the number of attempts it took.
    """
    plan = state.plan
    per_word = plan.tokens_per_word
    estimate = (
        sum(tokens_estimate(message["content"], per_word) for message in messages)
        + tokens_estimate(system, per_word)
        + reply_tokens
    )
    _budget_reserve(state, estimate)
    on_limit_wait = _limit_wait_note(state, target)
    attempts = 0
    started_calling = time.perf_counter()
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            wait=_retry_wait(plan),
            stop=stop_after_attempt(plan.retry_attempts) | _stop_at(deadline),
            before_sleep=_retry_note(state, target),
            sleep=asyncio.sleep,
            reraise=True,
        ):
            with attempt:
                attempts = attempt.retry_state.attempt_number
                if target.limiter is not None:
                    await target.limiter.acquire(on_limit_wait)
                started = time.perf_counter()
                completion = await providers.complete(
                    state.client,
                    target.config,
                    messages,
                    system=system,
                    max_tokens=MAX_TOKENS,
                    temperature=TEMPERATURE,
                )
                latency_ms = round((time.perf_counter() - started) * 1000)
    except providers.ProviderError as error:
        # What the transcript of an errored sample says about the tries.
        error.attempts = attempts
        error.elapsed_ms = round((time.perf_counter() - started_calling) * 1000)
        raise
    finally:
        state.tokens_reserved -= estimate
    state.tokens_used += completion.tokens_in + completion.tokens_out
    return completion, latency_ms, attempts


def _budget_reserve(state: _RunState, estimate: int) -> None:
    budget = state.plan.budget_tokens
    if state.halt is not None and not state.halt.graceful:
        raise state.halt
    if budget and state.tokens_used + state.tokens_reserved + estimate > budget:
        # The count goes in the reason only when the run finishes: the calls in
        # flight now still add their tokens.
        raise RunHalt(Run.Status.FAILED, BUDGET_STOP_REASON, graceful=True)
    state.tokens_reserved += estimate


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, providers.ProviderError) and error.kind == "transient"


def _retry_wait(plan: RunPlan) -> Callable[[Any], float]:
    backoff = wait_random_exponential(
        multiplier=plan.backoff_seconds, max=plan.backoff_max_seconds
    )

    def wait(retry_state) -> float:
        error = retry_state.outcome.exception()
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            # The vendor said when; a little jitter keeps workers from returning
            # in lockstep.
            return max(0.0, float(retry_after)) + random.uniform(0, 0.1)
        return backoff(retry_state)

    return wait


def _stop_at(deadline: float) -> Callable[[Any], bool]:
    def stop(retry_state) -> bool:
        upcoming = retry_state.upcoming_sleep or 0
        return time.monotonic() + upcoming >= deadline

    return stop


def _retry_note(state: _RunState, target: _Target) -> Callable[[Any], None]:
    """Log a retry and say on the run page what it waits for."""

    def note(retry_state) -> None:
        error = retry_state.outcome.exception()
        sleep = retry_state.upcoming_sleep or 0
        logger.warning(
            "run=%s retrying %s in %.1f s after attempt %s: %s",
            state.plan.run_id,
            target.name,
            sleep,
            retry_state.attempt_number,
            getattr(error, "message", error),
        )
        state.wait_note(retry_wait_reason(target.name, error, sleep), sleep)

    return note


def retry_wait_reason(name: str, error: BaseException, sleep: float) -> str:
    """Why a call waits before its next attempt, in words for the run page."""
    status = getattr(error, "status", None)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        answer = f" ({status})" if status else ""
        return f"Retrying after {name} asked us to wait {retry_after:g} s{answer}."
    when = f"in {sleep:.0f} s" if sleep >= 1 else "in a moment"
    if status:
        return f"Retrying {when}: {name} answered {status}, so we back off."
    return f"Retrying {when}: {name} did not answer, so we back off."


def rate_limit_wait_reason(name: str, limit: int, window_seconds: float) -> str:
    """Why a call waits for its rate limit, in words for the run page."""
    whose = "the rate limit" if name == "the vendor" else f"{name}'s rate limit"
    per = {60: "minute", 1: "second"}.get(window_seconds, f"{window_seconds:g} seconds")
    return f"Waiting for {whose}: {limit} requests per {per}."


def _limit_wait_note(state: _RunState, target: _Target) -> Callable[[float], None]:
    def note(seconds: float) -> None:
        limit = getattr(target.limiter, "limit", 0)
        reason = rate_limit_wait_reason(target.name, limit, state.plan.window_seconds)
        state.wait_note(reason, seconds)

    return note


# --- Grading ---------------------------------------------------------------------


async def _grade(
    state: _RunState,
    work: WorkItem,
    replies: tuple[str, ...],
    transcript: list[dict[str, Any]],
    result: SampleResult,
) -> Grade:
    if state.plan.judge_config is None:
        return work.family.grade(work.item, work.conversation.variant, replies)
    # The family's grade is synchronous and may ask the judge, which needs the
    # event loop: grade in a thread, and let the judge hand its calls back here.
    judge = _judge_for(state, transcript, result)
    return await asyncio.to_thread(
        work.family.grade, work.item, work.conversation.variant, replies, judge
    )


def _judge_for(
    state: _RunState, transcript: list[dict[str, Any]], result: SampleResult
) -> Judge:
    plan = state.plan

    def judge(question: str, lines: tuple[str, ...]) -> bool | None:
        asked = _judge_ask(state, question, lines, transcript, result)
        future = asyncio.run_coroutine_threadsafe(asked, state.loop)
        try:
            return future.result(timeout=plan.sample_deadline)
        except Exception as error:
            logger.warning(
                "run=%s judge gave no answer: %s",
                plan.run_id,
                getattr(error, "message", type(error).__name__),
            )
            return None

    return judge


async def _judge_ask(
    state: _RunState,
    question: str,
    lines: tuple[str, ...],
    transcript: list[dict[str, Any]],
    result: SampleResult,
) -> bool | None:
    plan = state.plan
    assert state.judge is not None
    prompt = f"Question: {question}\n\nTranscript:\n" + "\n\n".join(lines)
    messages = [{"role": "user", "content": prompt}]
    try:
        completion, latency_ms, _ = await _call(
            state,
            state.judge,
            JUDGE_SYSTEM,
            messages,
            time.monotonic() + plan.sample_deadline,
            reply_tokens=JUDGE_REPLY_TOKENS,
        )
    except providers.ProviderError as error:
        # Kept in the transcript so that the judge-graded metric can say the judge
        # failed rather than that there was none.
        transcript.append(
            {
                "role": "judge",
                "question": question,
                "content": f"The judge gave no answer: {error.message}",
                "error": error.message,
                "verdict": None,
            }
        )
        raise
    result.tokens_in += completion.tokens_in
    result.tokens_out += completion.tokens_out
    match = _YES_NO.match(completion.text)
    verdict = None if match is None else match.group(1).lower() == "yes"
    transcript.append(
        {
            "role": "judge",
            "question": question,
            "content": completion.text,
            "verdict": verdict,
            "latency_ms": latency_ms,
            "tokens_in": completion.tokens_in,
            "tokens_out": completion.tokens_out,
        }
    )
    return verdict


# --- Saving and control ----------------------------------------------------------


async def _write_loop(state: _RunState) -> None:
    """Save finished samples as they come, a short moment's worth per transaction."""
    finished = False
    while not finished:
        batch = [await state.written.get()]
        if batch[0] is not None:
            # Most of the cost of a save is per transaction, not per row: samples
            # finishing within this moment share one, so that many concurrent
            # conversations cost little more CPU than a few.
            await asyncio.sleep(WRITE_COALESCE_SECONDS)
        while not state.written.empty() and len(batch) < WRITE_BATCH_MAX:
            batch.append(state.written.get_nowait())
        if batch[-1] is None:
            finished = True
        results = [result for result in batch if result is not None]
        if results:
            await _save_with_retries(state, results)


async def _save_with_retries(state: _RunState, results: list[SampleResult]) -> None:
    # SQLite may stay locked longer than its busy timeout under heavy load; a
    # few more tries ride that out. A save that keeps failing stops the run:
    # calling the vendor for samples that cannot be kept would waste its tokens.
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        try:
            await sync_to_async(_save_batch)(state.plan.run_id, results)
            return
        except OperationalError as error:
            logger.warning(
                "run=%s save attempt %s failed: %s", state.plan.run_id, attempt, error
            )
            if attempt < SAVE_ATTEMPTS:
                await asyncio.sleep(attempt)
                continue
            reason = f"Candor could not save samples: the database said {error}."
        except Exception:
            logger.exception("run=%s samples not saved", state.plan.run_id)
            reason = (
                "Candor could not save samples; the worker log has the details "
                f"(run={state.plan.run_id})."
            )
        state.stop(RunHalt(Run.Status.FAILED, reason))
        return


def _save_batch(run_id: int, results: list[SampleResult]) -> None:
    """Save samples, cache rows and counters in one transaction."""
    samples = [result.as_sample(run_id) for result in results]
    with transaction.atomic():
        try:
            with transaction.atomic():
                Sample.objects.bulk_create(samples)
            saved = results
        except IntegrityError:
            saved = _save_one_by_one(run_id, results, samples)

        cache_rows = [row for result in saved for row in result.cache_rows]
        if cache_rows:
            CachedResponse.objects.bulk_create(
                cache_rows,
                update_conflicts=True,
                unique_fields=["key"],
                update_fields=["reply", "raw", "tokens_in", "tokens_out"],
            )
        Run.objects.filter(pk=run_id).update(
            done=F("done")
            + sum(1 for result in saved if result.status == Sample.Status.DONE),
            errored=F("errored")
            + sum(1 for result in saved if result.status == Sample.Status.ERRORED),
            tokens_in=F("tokens_in") + sum(result.tokens_in for result in saved),
            tokens_out=F("tokens_out") + sum(result.tokens_out for result in saved),
            heartbeat_at=timezone.now(),
        )


def _save_one_by_one(
    run_id: int, results: list[SampleResult], samples: list[Sample]
) -> list[SampleResult]:
    saved = []
    for result, sample in zip(results, samples, strict=True):
        try:
            with transaction.atomic():
                sample.save(force_insert=True)
        except IntegrityError:
            # Another worker drove this run too (its heartbeat looked stale) and
            # saved this conversation first; keep one sample, count it once.
            logger.warning("run=%s sample %s was already saved", run_id, sample)
            continue
        saved.append(result)
    return saved


async def _monitor_loop(state: _RunState) -> None:
    """Refresh the heartbeat and what the run waits for; stop on cancel, on the
    time limit, or if taken over."""
    plan = state.plan
    tick = max(0.05, min(1.0, plan.heartbeat_seconds / 2))
    started = last_beat = time.monotonic()
    # None: unknown, so the first tick clears a reason left by a dead worker.
    shown: str | None = None
    last_shown_at = -WAITING_WRITE_SECONDS
    while True:
        await asyncio.sleep(tick)
        now = time.monotonic()
        beat = now - last_beat >= plan.heartbeat_seconds
        waiting = state.waiting_reason()
        show = waiting != shown and now - last_shown_at >= WAITING_WRITE_SECONDS
        try:
            control = await sync_to_async(_run_control)(
                plan.run_id, beat, waiting if show else None
            )
        except OperationalError as error:
            # A busy database delays one beat; the next tick tries again.
            logger.warning("run=%s heartbeat failed: %s", plan.run_id, error)
            continue
        if beat:
            last_beat = now
        if show:
            shown, last_shown_at = waiting, now
        if control is None or control[0] != Run.Status.RUNNING:
            state.stop(RunHalt("", "The run was finished elsewhere."))
        elif control[1]:
            state.stop(
                RunHalt(
                    Run.Status.CANCELLED, "Cancelled from the run page.", graceful=True
                )
            )
        elif now - started > plan.time_limit_seconds:
            hours = plan.time_limit_seconds / 3600
            state.stop(
                RunHalt(
                    Run.Status.FAILED,
                    f"The run took longer than its {hours:g}-hour time limit.",
                )
            )


def _run_control(
    run_id: int, beat: bool, waiting: str | None
) -> tuple[str, bool] | None:
    """Write the heartbeat and what the run waits for, as asked; read its control."""
    changes: dict[str, Any] = {}
    if beat:
        changes["heartbeat_at"] = timezone.now()
    if waiting is not None:
        changes["waiting_reason"] = waiting[: Run.WAITING_REASON_MAX]
        changes["waiting_at"] = timezone.now() if waiting else None
    if changes:
        Run.objects.filter(pk=run_id).update(**changes)
    return (
        Run.objects.filter(pk=run_id).values_list("status", "cancel_requested").first()
    )


# --- The end of a run ------------------------------------------------------------


def budget_stop_reason(tokens_used: int, budget: int | None) -> str:
    """Why a run stopped at its budget, with the final count the page also shows."""
    return (
        f"{BUDGET_STOP_REASON}: {tokens_used:,} of {budget or 0:,} tokens used, and "
        "the next call would have gone over."
    )


def _finish(run_id: int, halt: RunHalt | None) -> str:
    """Compute the metrics and store the final status; return it."""
    run = Run.objects.get(pk=run_id)
    if halt is not None and not halt.status:
        logger.info("run=%s left as %s: %s", run_id, run.status, halt.reason)
        return run.status

    metrics = run_metrics_compute(run)
    if halt is not None:
        status, reason = halt.status, halt.reason
        if status == Run.Status.CANCELLED:
            reason = (
                f"Cancelled from the run page after {run.done + run.errored} of "
                f"{run.total} samples."
            )
        elif reason == BUDGET_STOP_REASON:
            reason = budget_stop_reason(
                run.tokens_in + run.tokens_out, run.budget_tokens
            )
    elif run.total and run.errored / run.total > ERRORED_SHARE_LIMIT:
        status = Run.Status.INCONCLUSIVE
        reason = (
            f"{run.errored} of {run.total} samples errored "
            f"({run.errored / run.total:.0%}), more than the "
            f"{ERRORED_SHARE_LIMIT:.0%} a conclusive run allows."
        )
    else:
        status, reason = Run.Status.COMPLETED, ""

    now = timezone.now()
    finished = Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
        status=status,
        status_reason=reason,
        metrics=metrics,
        finished_at=now,
        heartbeat_at=now,
        waiting_reason="",
        waiting_at=None,
    )
    if not finished:
        logger.info("run=%s was no longer running; outcome not stored", run_id)
        return Run.objects.values_list("status", flat=True).get(pk=run_id)
    logger.info("run=%s %s %s", run_id, status, reason)
    if status in (Run.Status.COMPLETED, Run.Status.INCONCLUSIVE):
        _rescore_offering(run)
    return status


def _rescore_offering(run: Run) -> None:
    from assessments.models import Assessment
    from assessments.services import assessment_rescore_request

    assessments = Assessment.objects.filter(offering_id=run.offering_id).exclude(
        status=Assessment.Status.DECIDED
    )
    for assessment in assessments:
        assessment_rescore_request(assessment)


def run_metrics_compute(run: Run) -> list[dict[str, Any]]:
    """Each family's metrics over the run's done samples, as stored in Run.metrics."""
    rows = Sample.objects.filter(run=run, status=Sample.Status.DONE).values_list(
        "family",
        "item_key",
        "variant",
        "repeat",
        "transcript",
        "passed",
        "grade_reason",
        "grade_labels",
    )
    by_family: dict[str, list[tuple]] = {}
    for row in rows:
        by_family.setdefault(row[0], []).append(row)

    metrics = []
    for family_key in run.families:
        try:
            family = registry.family(family_key)
        except KeyError:
            continue
        items = {item.key: item for item in family.items()}
        samples = [
            GradedSample(
                item=items[item_key],
                variant=variant,
                repeat=repeat,
                replies=tuple(
                    entry["content"]
                    for entry in transcript
                    if entry.get("role") == "assistant"
                ),
                grade=Grade(passed=passed, reason=reason, labels=labels or {}),
            )
            for _, item_key, variant, repeat, transcript, passed, reason, labels in (
                by_family.get(family_key, [])
            )
            if item_key in items
        ]
        judge_errors = sum(
            _judge_errors(row[4]) for row in by_family.get(family_key, [])
        )
        for metric in family.metrics(samples):
            metrics.append(_metric_dict(family_key, metric, judge_errors))
    return metrics


def _judge_errors(transcript: list[dict[str, Any]]) -> int:
    return sum(
        1 for entry in transcript if entry.get("role") == "judge" and "error" in entry
    )


def _metric_dict(family_key: str, metric, judge_errors: int = 0) -> dict[str, Any]:
    rate = metric.as_rate()
    baseline = metric.baseline_rate()
    return {
        "family": family_key,
        "key": metric.key,
        "label": metric.label,
        "successes": metric.successes,
        "n": metric.n,
        "rate": rate.rate,
        "low": rate.low,
        "high": rate.high,
        "higher_is_better": metric.higher_is_better,
        "pillar": metric.pillar,
        "headline": metric.headline,
        "needs_judge": metric.needs_judge,
        "judge_errors": judge_errors if metric.needs_judge else 0,
        "baseline": None if baseline is None else _rate_dict(baseline, metric),
    }


def _rate_dict(rate: Rate, metric) -> dict[str, Any]:
    return {
        "label": metric.baseline_label,
        "successes": rate.successes,
        "n": rate.n,
        "rate": rate.rate,
        "low": rate.low,
        "high": rate.high,
    }
