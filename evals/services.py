"""Writes for endpoints, judges and runs. Each section has one owner: add, never
rewrite another's."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import functools
import logging
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from evals.crypto import SecretError, secret_encrypt
from evals.http import host_refusal, run_blocking
from evals.models import Endpoint, JudgeProfile, RerunSchedule, Run
from evals.providers import ProviderError, complete, endpoint_config

logger = logging.getLogger(__name__)


# --- Runs --------------------------------------------------------------------------

MAX_REPEATS = 10


# Observed averages come from this many of the endpoint's latest finished runs,
# and stand in for the prior only when a family has this many called samples.
ESTIMATE_OBSERVED_RUNS = 3
ESTIMATE_OBSERVED_MIN_SAMPLES = 10
# A judge's rubric question, with the words framing the transcript, is about this
# long; the rubrics live in the families and run to about forty words.
JUDGE_QUESTION_TOKENS = 60


@functools.cache
def _family_tokens_prior(family_key: str, tokens_per_word: float) -> int:
    from evals.probes import registry
    from evals.runner import (
        conversation_tokens_estimate,
        reply_tokens_estimate,
        run_work_list,
    )

    reply_tokens = reply_tokens_estimate(registry.family(family_key), tokens_per_word)
    return sum(
        conversation_tokens_estimate(work.conversation, reply_tokens, tokens_per_word)
        for work in run_work_list([family_key], 1)
    )


def _family_tokens_observed(
    endpoint: Endpoint, families: list[str]
) -> dict[str, float]:
    """Average tokens per called conversation, by family, in the endpoint's latest
    finished runs of its current model; families seen too little are left out."""
    from django.db.models import Avg, Count, F

    from evals.models import Sample

    recent_runs = (
        Run.objects.filter(
            endpoint=endpoint,
            model_name=endpoint.model_name,
            status__in=[Run.Status.COMPLETED, Run.Status.INCONCLUSIVE],
        )
        .order_by("-finished_at")
        .values_list("pk", flat=True)[:ESTIMATE_OBSERVED_RUNS]
    )
    rows = (
        Sample.objects.filter(
            run_id__in=list(recent_runs),
            family__in=families,
            status=Sample.Status.DONE,
            cached=False,
        )
        .values("family")
        .annotate(average=Avg(F("tokens_in") + F("tokens_out")), count=Count("pk"))
    )
    return {
        row["family"]: row["average"]
        for row in rows
        if row["count"] >= ESTIMATE_OBSERVED_MIN_SAMPLES
    }


@dataclasses.dataclass(frozen=True)
class RunEstimate:
    """What a run is expected to cost before it starts."""

    tokens: int
    conversations: int
    # Conversations whose replies are already saved and will not be sent again.
    cached: int = 0


def run_estimate(
    families: Iterable[str],
    repeats: int,
    endpoint: Endpoint | None = None,
    *,
    fresh: bool = True,
    judge: JudgeProfile | None = None,
) -> int:
    """Tokens a run of ``families`` times ``repeats`` is expected to use."""
    return run_estimate_detail(
        families, repeats, endpoint, fresh=fresh, judge=judge
    ).tokens


def run_estimate_detail(
    families: Iterable[str],
    repeats: int,
    endpoint: Endpoint | None = None,
    *,
    fresh: bool = True,
    judge: JudgeProfile | None = None,
) -> RunEstimate:
    """Tokens a run is expected to use, and how many conversations the cache serves.

    Per family, the best figure at hand:

    - Observed: when the endpoint's latest finished runs of its current model
      called the family's conversations often enough, their average tokens per
      conversation. This is the vendor's own tokenizer and verbosity (and its
      judge calls, if those runs had a judge), so it is the honest figure once
      there is one.
    - Otherwise the prior: the items' actual prompts, counted at about 4/3 tokens a
      word (one token a word for the simulated vendor, which counts words), and
      for each reply the family's expected length (``expected_reply_words``: a
      short answer and the forced final line, as the prompts ask). Every turn
      pays for its whole prompt again, earlier replies included. With a judge,
      each question the judge will be asked adds the conversation's words and
      the judge's short verdict.

    Unless the run is fresh, conversations whose first reply is already saved for
    this endpoint and model cost nothing and are left out (one query).

    Limitation: the prior cannot know how wordy a real model is; one that ignores
    the request to be brief uses more, until its first run gives observed
    figures. A conversation counts as cached when its first turn is; a later turn
    missing from the cache is still sent, and not counted here.
    """
    from evals.runner import SIMULATED_TOKENS_PER_WORD, TOKENS_PER_WORD, run_work_list

    families = list(families)
    simulated = endpoint is not None and endpoint.is_simulated
    per_word = SIMULATED_TOKENS_PER_WORD if simulated else TOKENS_PER_WORD
    observed = _family_tokens_observed(endpoint, families) if endpoint else {}
    work = run_work_list(families, max(repeats, 0))
    cached = set() if fresh or endpoint is None else _cached_identities(endpoint, work)

    per_conversation: dict[str, float] = {}
    for key in families:
        if key in observed:
            per_conversation[key] = observed[key]
        else:
            conversations = len(run_work_list([key], 1)) or 1
            prior = _family_tokens_prior(key, per_word)
            if judge is not None:
                prior += _family_judge_tokens_prior(key, per_word)
            per_conversation[key] = prior / conversations
    tokens = sum(
        per_conversation[item.family.key]
        for item in work
        if item.identity not in cached
    )
    return RunEstimate(
        tokens=round(tokens), conversations=len(work), cached=len(cached)
    )


@functools.cache
def _family_judge_tokens_prior(family_key: str, tokens_per_word: float) -> int:
    from evals.probes import registry
    from evals.runner import (
        JUDGE_REPLY_TOKENS,
        JUDGE_SYSTEM,
        reply_tokens_estimate,
        run_work_list,
        tokens_estimate,
    )

    family = registry.family(family_key)
    reply_tokens = reply_tokens_estimate(family, tokens_per_word)
    # The judge reads its instructions, the rubric question and the conversation
    # with its replies, and answers in a word.
    per_question = (
        tokens_estimate(JUDGE_SYSTEM, tokens_per_word)
        + JUDGE_QUESTION_TOKENS
        + JUDGE_REPLY_TOKENS
    )
    total = 0
    for work in run_work_list([family_key], 1):
        questions = family.judge_questions(work.item, work.conversation.variant)
        if questions:
            transcript = sum(
                tokens_estimate(turn, tokens_per_word)
                for turn in work.conversation.user_turns
            ) + reply_tokens * len(work.conversation.user_turns)
            total += questions * (per_question + transcript)
    return total


def _cached_identities(endpoint: Endpoint, work: list) -> set[tuple]:
    """The conversations of ``work`` whose first reply the cache already holds."""
    from evals import providers
    from evals.models import CachedResponse
    from evals.runner import cache_key

    # The cache key leaves the API key out, so there is no need to decrypt it.
    config = providers.EndpointConfig(
        api_kind=endpoint.api_kind,
        base_url=endpoint.base_url,
        model_name=endpoint.model_name,
        api_key="",
        timeout_seconds=float(endpoint.timeout_seconds),
    )
    keys = {
        cache_key(
            config,
            system=item.conversation.system,
            messages=[{"role": "user", "content": item.conversation.user_turns[0]}],
            repeat=item.repeat,
            family=item.family,
        ): item.identity
        for item in work
    }
    found = CachedResponse.objects.filter(key__in=list(keys)).values_list(
        "key", flat=True
    )
    return {keys[key] for key in found}


def _families_clean(families: Iterable[str]) -> list[str]:
    from evals.probes import registry

    chosen = set(families)
    known = [family.key for family in registry.families()]
    unknown = sorted(chosen - set(known))
    if unknown:
        raise ValidationError(f"Unknown probe family: {', '.join(unknown)}.")
    if not chosen:
        raise ValidationError("Choose at least one probe family.")
    return [key for key in known if key in chosen]


def run_start(
    *,
    offering,
    user,
    families: Iterable[str],
    repeats: int,
    fresh: bool,
    budget_tokens: int | None,
    judge=None,
    scheduled: bool = False,
) -> Run:
    """Create a queued run of the offering's endpoint and enqueue it after commit.

    ``user`` is who started it, or None for a run started by the re-run schedule
    (``scheduled``).
    """
    from evals.runner import run_work_list

    endpoint = Endpoint.objects.filter(offering=offering).first()
    if endpoint is None:
        raise ValidationError(
            f"{offering} has no endpoint yet. Add its API details (base URL, model "
            "and key) on the offering page, then start a run."
        )
    family_keys = _families_clean(families)
    if not 1 <= repeats <= MAX_REPEATS:
        raise ValidationError(f"Repeats must be between 1 and {MAX_REPEATS}.")
    if budget_tokens is not None and budget_tokens <= 0:
        raise ValidationError("A token budget must be a positive number of tokens.")
    if judge is not None and judge.workspace_id != offering.vendor.workspace_id:
        raise ValidationError("Choose a judge of this workspace.")

    run = Run.objects.create(
        workspace_id=offering.vendor.workspace_id,
        offering=offering,
        endpoint=endpoint,
        api_kind=endpoint.api_kind,
        base_url=endpoint.base_url,
        model_name=endpoint.model_name,
        is_simulated=endpoint.is_simulated,
        judge=judge,
        families=family_keys,
        repeats=repeats,
        fresh=fresh,
        budget_tokens=budget_tokens,
        estimated_tokens=run_estimate(
            family_keys, repeats, endpoint, fresh=fresh, judge=judge
        ),
        total=len(run_work_list(family_keys, repeats)),
        created_by=user,
        scheduled=scheduled,
    )
    logger.info(
        "run=%s queued offering=%s families=%s total=%s scheduled=%s",
        run.pk,
        offering.pk,
        ",".join(family_keys),
        run.total,
        scheduled,
    )
    transaction.on_commit(functools.partial(_run_enqueue, run.pk))
    return run


def _run_enqueue(run_id: int) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from evals.tasks import run_execute

    Run.objects.filter(pk=run_id).update(enqueued_at=timezone.now())
    try:
        run_execute.delay(run_id)
    except BrokerError:
        logger.exception("run=%s not enqueued", run_id)
        Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
            status=Run.Status.FAILED,
            status_reason=(
                "Candor could not queue the run: its task queue (Redis) did not "
                "answer. Start the run again in a moment."
            ),
            finished_at=timezone.now(),
        )


def run_cancel(run: Run, user=None) -> None:
    """Ask a run to stop; a run that has not started yet stops at once."""
    now = timezone.now()
    stopped = Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
        status=Run.Status.CANCELLED,
        cancel_requested=True,
        status_reason="Cancelled before it started.",
        finished_at=now,
    )
    if not stopped:
        Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            cancel_requested=True
        )
    run.refresh_from_db()
    logger.info(
        "run=%s cancel requested by user=%s status=%s",
        run.pk,
        getattr(user, "pk", None),
        run.status,
    )


def _stale_before():
    return timezone.now() - timezone.timedelta(
        seconds=settings.CANDOR_RUN_STALE_SECONDS
    )


def run_claim(run_id: int) -> bool:
    """Take a queued run, or a running one whose worker died (stale heartbeat).

    The conditional update changes one row at most, so of two workers handed the
    same run only one drives it.
    """
    now = timezone.now()
    claimable = Q(status=Run.Status.QUEUED, cancel_requested=False) | Q(
        Q(heartbeat_at__lt=_stale_before()) | Q(heartbeat_at__isnull=True),
        status=Run.Status.RUNNING,
    )
    return bool(
        Run.objects.filter(claimable, pk=run_id).update(
            status=Run.Status.RUNNING,
            heartbeat_at=now,
            started_at=Coalesce("started_at", now),
        )
    )


def run_execute(run_id: int) -> str | None:
    """Claim the run and drive it to its end; return its final status.

    Returns None when the run was not claimable (finished, or driven elsewhere).
    """
    from celery.exceptions import SoftTimeLimitExceeded

    from evals.runner import run_drive

    resumed = Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).exists()
    if not run_claim(run_id):
        logger.info("run=%s not claimed: finished or driven by another worker", run_id)
        return None
    logger.info("run=%s %s", run_id, "resumed" if resumed else "running")

    try:
        return run_drive(run_id)
    except SoftTimeLimitExceeded:
        reason = "The run took longer than the worker's time limit and was stopped."
        logger.error("run=%s failed: time limit", run_id)
    except Exception:
        reason = (
            f"Candor hit an internal error while driving this run; the worker log has "
            f"the details (run={run_id})."
        )
        logger.exception("run=%s failed", run_id)
    Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
        status=Run.Status.FAILED, status_reason=reason, finished_at=timezone.now()
    )
    return Run.Status.FAILED


def runs_resume() -> list[int]:
    """Enqueue every running run whose heartbeat went stale, and every queued run
    whose message looks lost; return their ids.

    A worker that died mid-run leaves its run running with an old heartbeat. The
    task claims it again (see ``run_claim``) and the runner skips the samples
    already saved. Enqueueing one run twice is harmless: only one claim succeeds.

    Limitation: while every worker is busy, each sweep adds another message for
    the same stale run; the extras are no-ops when they are finally taken.
    """
    from evals.tasks import run_execute

    stale = list(
        Run.objects.filter(status=Run.Status.RUNNING)
        .filter(Q(heartbeat_at__lt=_stale_before()) | Q(heartbeat_at__isnull=True))
        .values_list("pk", flat=True)
    )
    for run_id in stale:
        logger.warning("run=%s heartbeat stale, resuming", run_id)
        run_execute.delay(run_id)
    return stale + runs_requeue()


def runs_requeue() -> list[int]:
    """Send again the task of every run queued longer than
    CANDOR_RUN_REQUEUE_AFTER_SECONDS; return their ids.

    A broker that was flushed, or a message dropped before any worker took it,
    leaves a run queued for ever. Each run is first claimed by moving its
    ``enqueued_at`` forward with a conditional update, so of two sweeps only one
    sends it; and whichever of the old and the new message arrives second finds
    the run no longer queued (``run_claim``), so it runs once.

    Limitation: a run queued behind long runs on busy workers is not lost, only
    waiting; it still gets one extra message per CANDOR_RUN_REQUEUE_AFTER_SECONDS,
    which is a no-op when taken. Asking the broker whether the message is still
    there would avoid that, at the cost of depending on its transport.
    """
    from evals.tasks import run_execute

    now = timezone.now()
    before = now - timezone.timedelta(seconds=settings.CANDOR_RUN_REQUEUE_AFTER_SECONDS)
    overdue = (
        Run.objects.filter(status=Run.Status.QUEUED, cancel_requested=False)
        .annotate(sent_at=Coalesce("enqueued_at", "created_at"))
        .filter(sent_at__lt=before)
    )
    requeued = []
    for run_id, sent_at in overdue.values_list("pk", "sent_at"):
        same_send = Q(enqueued_at=sent_at) | Q(
            enqueued_at__isnull=True, created_at=sent_at
        )
        claimed = Run.objects.filter(
            same_send, pk=run_id, status=Run.Status.QUEUED
        ).update(enqueued_at=now)
        if not claimed:
            continue
        logger.warning(
            "run=%s queued since %s without starting, sending it again",
            run_id,
            sent_at.isoformat(),
        )
        run_execute.delay(run_id)
        requeued.append(run_id)
    return requeued


# --- Endpoints -----------------------------------------------------------------

ENDPOINT_TEST_PROMPT = "Reply with one short sentence to confirm you can read this."
ENDPOINT_TEST_SECONDS = 10.0
ENDPOINT_TEST_REPLY_CHARS = 500


@sensitive_variables("api_key")
def _api_key_encrypted(api_key: str) -> str:
    try:
        return secret_encrypt(api_key)
    except SecretError as error:
        raise ValidationError({"api_key": str(error)}) from None


URL_CREDENTIALS_REFUSED = (
    "Leave the user name and password out of the base URL; put the credential in "
    "the API key field instead."
)


def _base_url_check(base_url: str) -> None:
    parts = urlsplit(base_url)
    # The message never repeats the address: it holds a password.
    if parts.username is not None or parts.password is not None:
        raise ValidationError({"base_url": URL_CREDENTIALS_REFUSED})
    refusal = host_refusal(parts.hostname or "")
    if refusal is not None:
        raise ValidationError(
            {"base_url": f"Candor will not call this address: {refusal}"}
        )


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _is_simulated_vendor_url(base_url: str) -> bool:
    parts = urlsplit(base_url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    return (parts.hostname or "").lower() in _LOOPBACK_HOSTS and (
        port == settings.CANDOR_SIMULATED_VENDOR_PORT
    )


@sensitive_variables("api_key")
def _api_key_apply(record, api_key: str, clear_api_key: bool) -> str:
    """Set the record's encrypted key; say what happened to it, for the log."""
    if api_key:
        record.api_key_encrypted = _api_key_encrypted(api_key)
        return "replaced"
    if clear_api_key:
        record.api_key_encrypted = ""
        return "removed"
    return "kept"


@sensitive_variables("api_key")
def endpoint_save(
    *,
    offering,
    user,
    api_kind: str,
    base_url: str,
    model_name: str,
    max_concurrency: int,
    requests_per_minute: int,
    timeout_seconds: int,
    api_key: str = "",
    clear_api_key: bool = False,
    rerun_schedule: str | None = None,
) -> Endpoint:
    """Create or change the offering's endpoint. A blank ``api_key`` keeps the stored
    key; a missing encryption key or a refused address is a ValidationError.
    ``rerun_schedule`` None keeps the schedule (only owners may change it)."""
    _base_url_check(base_url)
    endpoint = Endpoint.objects.filter(offering=offering).first() or Endpoint(
        offering=offering
    )
    # The simulated label is only true while the endpoint points at the simulated
    # vendor: its usual loopback port, or the address a seed marked and kept.
    endpoint.is_simulated = _is_simulated_vendor_url(base_url) or (
        endpoint.is_simulated and base_url == endpoint.base_url
    )

    key_change = _api_key_apply(endpoint, api_key, clear_api_key)
    endpoint.api_kind = api_kind
    endpoint.base_url = base_url
    endpoint.model_name = model_name
    endpoint.max_concurrency = max_concurrency
    endpoint.requests_per_minute = requests_per_minute
    endpoint.timeout_seconds = timeout_seconds
    if rerun_schedule is not None:
        _rerun_schedule_apply(endpoint, rerun_schedule)
    created = endpoint.pk is None
    endpoint.save()
    logger.info(
        "endpoint %s endpoint=%s offering=%s user=%s key=%s",
        "created" if created else "updated",
        endpoint.pk,
        offering.pk,
        user.pk,
        key_change,
    )
    return endpoint


@dataclasses.dataclass(frozen=True)
class ConnectionCheck:
    """What a test call to an endpoint gave: the reply, or why there was none."""

    ok: bool
    message: str  # the model's reply when ok, else a readable reason
    latency_ms: int = 0
    status: int | None = None


def endpoint_connection_test(*, endpoint: Endpoint, user) -> ConnectionCheck:
    """Send one short prompt to the endpoint, within ENDPOINT_TEST_SECONDS."""
    try:
        config = endpoint_config(endpoint)
    except SecretError as error:
        return ConnectionCheck(ok=False, message=str(error))
    seconds = min(float(endpoint.timeout_seconds), ENDPOINT_TEST_SECONDS)
    config = dataclasses.replace(config, timeout_seconds=seconds)
    messages = [{"role": "user", "content": ENDPOINT_TEST_PROMPT}]

    async def ask(client):
        # The client's timeout bounds the request; this bounds the whole call,
        # so the page answers in time whatever the server or the DNS does.
        return await asyncio.wait_for(
            complete(client, config, messages, max_tokens=60), seconds
        )

    started = time.monotonic()
    try:
        completion = run_blocking(ask, timeout=seconds)
    except ProviderError as error:
        check = ConnectionCheck(ok=False, message=error.message, status=error.status)
    except TimeoutError:
        check = ConnectionCheck(
            ok=False,
            message=f"{config.host} did not answer within {seconds:g} seconds.",
        )
    except Exception:
        # A diagnostic page must explain, not crash; the log has the traceback.
        logger.exception("endpoint test crashed endpoint=%s", endpoint.pk)
        check = ConnectionCheck(
            ok=False,
            message=(
                "Candor could not run the test because of an internal error; "
                f"the server log has the details (endpoint={endpoint.pk})."
            ),
        )
    else:
        reply = " ".join(completion.text.split()) or "(an empty reply)"
        if len(reply) > ENDPOINT_TEST_REPLY_CHARS:
            reply = reply[: ENDPOINT_TEST_REPLY_CHARS - 1] + "…"
        check = ConnectionCheck(ok=True, message=reply, status=200)
    check = dataclasses.replace(
        check, latency_ms=int((time.monotonic() - started) * 1000)
    )
    logger.info(
        "endpoint tested endpoint=%s user=%s ok=%s status=%s latency_ms=%s",
        endpoint.pk,
        user.pk,
        check.ok,
        check.status,
        check.latency_ms,
    )
    return check


@sensitive_variables("api_key")
def judge_save(
    *,
    workspace,
    user,
    judge: JudgeProfile | None = None,
    name: str,
    api_kind: str,
    base_url: str,
    model_name: str,
    pinned_version: str = "",
    api_key: str = "",
    clear_api_key: bool = False,
    requests_per_minute: int | None = None,
) -> JudgeProfile:
    """Create a judge profile in the workspace, or change ``judge``."""
    _base_url_check(base_url)
    if judge is None:
        judge = JudgeProfile(workspace=workspace)
    elif judge.workspace_id != workspace.pk:
        raise ValidationError("This judge belongs to another workspace.")
    if judge.is_simulated and base_url != judge.base_url:
        judge.is_simulated = False

    key_change = _api_key_apply(judge, api_key, clear_api_key)
    judge.name = name
    judge.api_kind = api_kind
    judge.base_url = base_url
    judge.model_name = model_name
    judge.pinned_version = pinned_version
    if requests_per_minute is not None:
        judge.requests_per_minute = requests_per_minute
    created = judge.pk is None
    judge.save()
    logger.info(
        "judge %s judge=%s workspace=%s user=%s key=%s",
        "created" if created else "updated",
        judge.pk,
        workspace.pk,
        user.pk,
        key_change,
    )
    return judge


# --- Scheduled re-runs -----------------------------------------------------------

RERUN_PERIODS = {
    RerunSchedule.DAILY: datetime.timedelta(days=1),
    RerunSchedule.WEEKLY: datetime.timedelta(weeks=1),
}


def _rerun_schedule_apply(endpoint: Endpoint, schedule: str) -> None:
    """Set the schedule; a new or changed one is first due one period from now."""
    if schedule not in RerunSchedule.values:
        raise ValidationError({"rerun_schedule": "Choose off, daily or weekly."})
    if schedule == endpoint.rerun_schedule and endpoint.pk is not None:
        return
    endpoint.rerun_schedule = schedule
    period = RERUN_PERIODS.get(schedule)
    endpoint.rerun_due_at = timezone.now() + period if period else None


def rerun_next_due(
    due_at: datetime.datetime, schedule: str, now: datetime.datetime
) -> datetime.datetime:
    """The first due time after ``now`` on the schedule's grid from ``due_at``.

    A beat that was down for days starts one re-run, not one per missed period,
    and the time of day the owner chose is kept.
    """
    period = RERUN_PERIODS[RerunSchedule(schedule)]
    missed = max(0, (now - due_at) // period)
    return due_at + (missed + 1) * period


def endpoint_rerun_claim(
    endpoint_id: int, due_at: datetime.datetime, now: datetime.datetime
) -> bool:
    """Move a due re-run to its next period; True for the one caller that did.

    The update is conditional on the due time the caller read: of two beats or
    workers that read the same due time, exactly one changes the row, so each
    period starts one run.
    """
    endpoint = Endpoint.objects.filter(pk=endpoint_id).values("rerun_schedule").first()
    if endpoint is None or endpoint["rerun_schedule"] not in RERUN_PERIODS:
        return False
    next_due = rerun_next_due(due_at, endpoint["rerun_schedule"], now)
    return bool(
        Endpoint.objects.filter(
            pk=endpoint_id,
            rerun_due_at=due_at,
            rerun_schedule=endpoint["rerun_schedule"],
        ).update(rerun_due_at=next_due)
    )


def reruns_start_due() -> list[int]:
    """Start the scheduled re-runs that are due; return the new runs' ids."""
    now = timezone.now()
    due = list(
        Endpoint.objects.filter(rerun_due_at__lte=now)
        .exclude(rerun_schedule=RerunSchedule.OFF)
        .values_list("pk", "rerun_due_at")
    )
    started = []
    for endpoint_id, due_at in due:
        run = _rerun_start(endpoint_id, due_at, now)
        if run is not None:
            started.append(run.pk)
    return started


def _rerun_start(
    endpoint_id: int, due_at: datetime.datetime, now: datetime.datetime
) -> Run | None:
    from evals.probes import registry

    # The claim and the new run commit together: if starting fails, the period
    # is not used up and the next sweep tries again.
    with transaction.atomic():
        if not endpoint_rerun_claim(endpoint_id, due_at, now):
            logger.info("rerun endpoint=%s already claimed elsewhere", endpoint_id)
            return None
        endpoint = Endpoint.objects.select_related("offering__vendor").get(
            pk=endpoint_id
        )
        offering = endpoint.offering
        if offering.is_archived or offering.vendor.is_archived:
            # The period is used up: a restored offering picks up its schedule
            # where it stands instead of catching up on what it missed.
            logger.info(
                "rerun endpoint=%s skipped this period: offering=%s is archived",
                endpoint_id,
                offering.pk,
            )
            return None
        runs = Run.objects.filter(offering=offering).select_related("judge")
        busy = runs.filter(status__in=[Run.Status.QUEUED, Run.Status.RUNNING]).first()
        if busy is not None:
            logger.info(
                "rerun endpoint=%s skipped this period: run=%s is still %s",
                endpoint_id,
                busy.pk,
                busy.status,
            )
            return None
        # Same repeats and judge as the last run, so the two are comparable and
        # a drift between them means the model changed, not the method.
        # Limitation: a re-run has no token budget, as the schedule has no field
        # for one; the owner sees each re-run's tokens on its page. A budget field
        # beside the schedule, passed here, would cap them.
        previous = runs.order_by("-created_at").first()
        try:
            run = run_start(
                offering=offering,
                user=None,
                families=[family.key for family in registry.families()],
                repeats=previous.repeats if previous else 1,
                fresh=True,
                budget_tokens=None,
                judge=previous.judge if previous else None,
                scheduled=True,
            )
        except ValidationError as error:
            logger.warning(
                "rerun endpoint=%s not started: %s",
                endpoint_id,
                " ".join(error.messages),
            )
            return None
    logger.info(
        "rerun endpoint=%s started run=%s schedule=%s",
        endpoint_id,
        run.pk,
        endpoint.rerun_schedule,
    )
    return run
