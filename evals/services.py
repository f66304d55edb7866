"""Writes for endpoints, judges and runs. Each section has one owner: add, never
rewrite another's."""

from __future__ import annotations

import asyncio
import dataclasses
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

from evals.crypto import SecretError, secret_encrypt
from evals.http import host_refusal, run_blocking
from evals.models import Endpoint, JudgeProfile, Run
from evals.providers import ProviderError, complete, endpoint_config

logger = logging.getLogger(__name__)


# --- Runs --------------------------------------------------------------------------

MAX_REPEATS = 10


@functools.cache
def _family_tokens_estimate(family_key: str) -> int:
    from evals.runner import conversation_tokens_estimate, run_work_list

    return sum(
        conversation_tokens_estimate(work.conversation)
        for work in run_work_list([family_key], 1)
    )


def run_estimate(families: Iterable[str], repeats: int) -> int:
    """Tokens a run of ``families`` times ``repeats`` is expected to use (rough)."""
    return sum(_family_tokens_estimate(key) for key in families) * max(repeats, 0)


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
) -> Run:
    """Create a queued run of the offering's endpoint and enqueue it after commit."""
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
        estimated_tokens=run_estimate(family_keys, repeats),
        total=len(run_work_list(family_keys, repeats)),
        created_by=user,
    )
    logger.info(
        "run=%s queued offering=%s families=%s total=%s",
        run.pk,
        offering.pk,
        ",".join(family_keys),
        run.total,
    )
    transaction.on_commit(functools.partial(_run_enqueue, run.pk))
    return run


def _run_enqueue(run_id: int) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from evals.tasks import run_execute

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
    """Enqueue every running run whose heartbeat went stale; return their ids.

    A worker that died mid-run leaves its run running with an old heartbeat. The
    task claims it again (see ``run_claim``) and the runner skips the samples
    already saved. Enqueueing one run twice is harmless: only one claim succeeds.

    Limitation: while every worker is busy, each sweep adds another message for
    the same stale run; the extras are no-ops when they are finally taken. Only
    running runs are swept: a queued run whose message the broker lost stays
    queued until started again.
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
    return stale


# --- Endpoints -----------------------------------------------------------------

ENDPOINT_TEST_PROMPT = "Reply with one short sentence to confirm you can read this."
ENDPOINT_TEST_SECONDS = 10.0
ENDPOINT_TEST_REPLY_CHARS = 500


def _api_key_encrypted(api_key: str) -> str:
    try:
        return secret_encrypt(api_key)
    except SecretError as error:
        raise ValidationError({"api_key": str(error)}) from None


def _base_url_check(base_url: str) -> None:
    refusal = host_refusal(urlsplit(base_url).hostname or "")
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


def _api_key_apply(record, api_key: str, clear_api_key: bool) -> str:
    """Set the record's encrypted key; say what happened to it, for the log."""
    if api_key:
        record.api_key_encrypted = _api_key_encrypted(api_key)
        return "replaced"
    if clear_api_key:
        record.api_key_encrypted = ""
        return "removed"
    return "kept"


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
) -> Endpoint:
    """Create or change the offering's endpoint. A blank ``api_key`` keeps the stored
    key; a missing encryption key or a refused address is a ValidationError."""
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
