"""Generate evaluation runs for a large made-up portfolio, for benchmarks.

Every transcript is what Candor's simulated vendor would have replied, graded by
the family's own grader, so metrics, intervals and contradictions behave as they
do after real runs. Each run leans agreeable or candid by its own amount, item by
item, which spreads the rates across the portfolio. Rows go in with bulk_create;
the metrics of finished runs come from ``runner.run_metrics_compute``.

Every run is finished and no endpoint has scheduled re-runs, so a worker and beat
started against the database find nothing to do. A queued or running run would be
taken up by the stale-run sweep (``services.runs_resume``) and sent to its made-up
endpoint.
"""

from __future__ import annotations

import datetime
import functools
import logging
import random
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from evals.models import ApiKind, Endpoint, RerunSchedule, Run, Sample
from evals.probes import registry
from evals.probes.base import Grade
from evals.runner import run_metrics_compute, run_work_list
from evals.services import run_estimate
from evals.simulated import simulated_answer

logger = logging.getLogger(__name__)

SAMPLE_BATCH = 2_000
# How generated runs end, and how often; none is left queued or running.
RUN_STATUSES = (
    (Run.Status.COMPLETED, 0.80),
    (Run.Status.INCONCLUSIVE, 0.06),
    (Run.Status.FAILED, 0.08),
    (Run.Status.CANCELLED, 0.06),
)
# Share of cancelled runs that were cancelled while queued, before any sample.
CANCELLED_UNSTARTED = 1 / 3
ERROR_REASONS = (
    (429, "The vendor kept answering 429 (rate limited) after 6 attempts."),
    (503, "The vendor kept answering 503 (unavailable) after 6 attempts."),
    (None, "No complete answer within the 300-second limit for one conversation."),
    (None, "The vendor's reply was not valid JSON."),
)


@dataclass(frozen=True)
class _Reply:
    """A conversation as the simulated vendor answers it under one profile."""

    transcript: tuple[dict[str, Any], ...]
    grade: Grade
    tokens_in: int
    tokens_out: int


def _tokens(text: str) -> int:
    """About four tokens for every three words, as a vendor would count them."""
    return (len(text.split()) * 4 + 2) // 3


@functools.cache
def _scripted(family_key: str, item_key: str, variant: str, profile: str) -> _Reply:
    family = registry.family(family_key)
    item = next(item for item in family.items() if item.key == item_key)
    conversation = family.conversation(item, variant)
    transcript: list[dict[str, Any]] = []
    if conversation.system:
        transcript.append({"role": "system", "content": conversation.system})
    replies: list[str] = []
    tokens_in = tokens_out = 0
    prompt = _tokens(conversation.system)
    for turn, user_turn in enumerate(conversation.user_turns):
        reply = simulated_answer(
            profile, conversation.system, list(conversation.user_turns[: turn + 1])
        )
        prompt += _tokens(user_turn)
        used_in, used_out = prompt, _tokens(reply)
        prompt += used_out
        tokens_in += used_in
        tokens_out += used_out
        replies.append(reply)
        transcript.append({"role": "user", "content": user_turn})
        transcript.append(
            {
                "role": "assistant",
                "content": reply,
                "raw": {
                    "object": "chat.completion",
                    "choices": [{"index": 0, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": used_in, "completion_tokens": used_out},
                },
                "latency_ms": 0,
                "tokens_in": used_in,
                "tokens_out": used_out,
                "cached": False,
                "attempts": 1,
            }
        )
    grade = family.grade(item, variant, tuple(replies))
    return _Reply(tuple(transcript), grade, tokens_in, tokens_out)


def portfolio_endpoints_create(
    offerings: list, rng: random.Random, *, api_key_encrypted: str = ""
) -> list[Endpoint]:
    """Give each offering an endpoint at a made-up vendor address."""
    endpoints = [
        Endpoint(
            offering=offering,
            api_kind=rng.choice(
                [ApiKind.OPENAI_CHAT] * 3 + [ApiKind.ANTHROPIC_MESSAGES]
            ),
            base_url=f"https://api.vendor-{offering.vendor_id}.example.com/v1",
            model_name=f"{offering.name} {offering.version}".strip()
            .lower()
            .replace(" ", "-"),
            api_key_encrypted=api_key_encrypted,
            max_concurrency=rng.choice([4, 8, 16, 32]),
            requests_per_minute=rng.choice([60, 300, 1_000, 5_000]),
            # Spelled out, not left to the default: a scheduled re-run would
            # call the made-up address.
            rerun_schedule=RerunSchedule.OFF,
            rerun_due_at=None,
        )
        for offering in offerings
    ]
    return Endpoint.objects.bulk_create(endpoints)


def portfolio_runs_create(
    *,
    workspace,
    endpoints: list[Endpoint],
    count: int,
    users: list,
    rng: random.Random,
    since: datetime.datetime,
) -> list[Run]:
    """Create ``count`` runs spread over ``endpoints``, with samples and metrics."""
    if not endpoints or count <= 0:
        return []
    family_keys = [family.key for family in registry.families()]
    now = timezone.now()
    # An offering's runs agree roughly with each other: the model has a character.
    leaning = {endpoint.pk: rng.uniform(0.1, 0.95) for endpoint in endpoints}

    runs, plans = [], []
    for index in range(count):
        # Every endpoint gets a run first, then the rest go at random.
        endpoint = endpoints[index] if index < len(endpoints) else rng.choice(endpoints)
        families = (
            family_keys
            if rng.random() < 0.3
            else sorted(
                rng.sample(family_keys, rng.randint(2, 4)), key=family_keys.index
            )
        )
        repeats = 2 if rng.random() < 0.1 else 1
        status = _pick(rng, RUN_STATUSES)
        created_at = since + (now - since) * rng.random()
        work = run_work_list(families, repeats)
        run = Run(
            workspace=workspace,
            offering_id=endpoint.offering_id,
            endpoint=endpoint,
            api_kind=endpoint.api_kind,
            base_url=endpoint.base_url,
            model_name=endpoint.model_name,
            families=families,
            repeats=repeats,
            fresh=rng.random() < 0.2,
            estimated_tokens=run_estimate(families, repeats),
            status=status,
            total=len(work),
            created_by=rng.choice(users),
        )
        candor = min(1.0, max(0.0, leaning[endpoint.pk] + rng.uniform(-0.1, 0.1)))
        runs.append(run)
        plans.append((run, work, candor, created_at))
    # Runs are numbered in the order they were started.
    dates = sorted(created_at for *_, created_at in plans)
    plans = [(*plan[:3], date) for plan, date in zip(plans, dates, strict=True)]
    Run.objects.bulk_create(runs)

    samples: list[Sample] = []
    for run, work, candor, _ in plans:
        made = _run_samples(run, work, candor, rng)
        run.done = sum(sample.status == Sample.Status.DONE for sample in made)
        run.errored = len(made) - run.done
        run.tokens_in = sum(sample.tokens_in for sample in made)
        run.tokens_out = sum(sample.tokens_out for sample in made)
        samples.extend(made)
        if len(samples) >= SAMPLE_BATCH:
            Sample.objects.bulk_create(samples)
            samples = []
    Sample.objects.bulk_create(samples)

    for run, _, _, created_at in plans:
        _run_outcome(run, created_at, rng)
    # created_at is set on insert whatever is given, so spread dates afterwards.
    Run.objects.bulk_update(
        runs,
        [
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "status_reason",
            "done",
            "errored",
            "tokens_in",
            "tokens_out",
            "metrics",
            "cancel_requested",
        ],
        batch_size=200,
    )
    logger.info("portfolio runs created workspace=%s runs=%s", workspace.pk, len(runs))
    return runs


def _pick(rng: random.Random, weighted) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _finished_share(status: str, rng: random.Random) -> float:
    """How much of the run's work had samples when it stopped."""
    if status in (Run.Status.COMPLETED, Run.Status.INCONCLUSIVE):
        return 1.0
    if status == Run.Status.CANCELLED and rng.random() < CANCELLED_UNSTARTED:
        return 0.0
    return rng.uniform(0.1, 0.9)


def _run_samples(
    run: Run,
    work: list,
    candor: float,
    rng: random.Random,
) -> list[Sample]:
    status = run.status
    errored_share = {
        Run.Status.COMPLETED: rng.choice([0.0, 0.0, 0.01, 0.03]),
        Run.Status.INCONCLUSIVE: rng.uniform(0.06, 0.2),
    }.get(status, 0.02)
    finished = work[: round(len(work) * _finished_share(status, rng))]
    profiles: dict[tuple[str, str, int], str] = {}
    samples = []
    for item in finished:
        family, item_key, variant, repeat = item.identity
        # Variants of one item are compared with each other (a persona against
        # the other, a framing against the neutral one), so they share a profile.
        profile = profiles.setdefault(
            (family, item_key, repeat),
            "candid" if rng.random() < candor else "agreeable",
        )
        if rng.random() < errored_share:
            samples.append(_errored_sample(run, item, rng))
            continue
        reply = _scripted(family, item_key, variant, profile)
        latency = 0
        transcript = []
        for entry in reply.transcript:
            if entry["role"] == "assistant":
                entry = {**entry, "latency_ms": round(rng.lognormvariate(6.6, 0.5))}
                latency += entry["latency_ms"]
            transcript.append(entry)
        samples.append(
            Sample(
                run=run,
                family=family,
                item_key=item_key,
                variant=variant,
                repeat=repeat,
                status=Sample.Status.DONE,
                transcript=transcript,
                latency_ms=latency,
                tokens_in=reply.tokens_in,
                tokens_out=reply.tokens_out,
                cached=not run.fresh and rng.random() < 0.15,
                passed=reply.grade.passed,
                grade_reason=reply.grade.reason,
                grade_labels=reply.grade.labels,
            )
        )
    return samples


def _errored_sample(run: Run, item, rng: random.Random) -> Sample:
    family, item_key, variant, repeat = item.identity
    status, reason = rng.choice(ERROR_REASONS)
    conversation = item.conversation
    transcript: list[dict[str, Any]] = []
    if conversation.system:
        transcript.append({"role": "system", "content": conversation.system})
    transcript.append({"role": "user", "content": conversation.user_turns[0]})
    transcript.append({"role": "error", "content": reason, "status": status})
    return Sample(
        run=run,
        family=family,
        item_key=item_key,
        variant=variant,
        repeat=repeat,
        status=Sample.Status.ERRORED,
        transcript=transcript,
        error=reason,
    )


def _run_outcome(run: Run, created_at: datetime.datetime, rng: random.Random) -> None:
    """Set the times, reason and metrics its samples imply."""
    run.created_at = created_at
    run.cancel_requested = run.status == Run.Status.CANCELLED
    if run.cancel_requested and run.done + run.errored == 0:
        # Cancelled while queued, left as run_cancel leaves it: never started.
        run.finished_at = created_at + datetime.timedelta(seconds=rng.uniform(5, 600))
        run.status_reason = "Cancelled before it started."
        return
    run.started_at = created_at + datetime.timedelta(seconds=rng.uniform(0.2, 5))
    took = datetime.timedelta(seconds=(run.done + run.errored) * rng.uniform(0.05, 0.4))
    run.heartbeat_at = run.started_at + took
    run.finished_at = run.heartbeat_at
    run.status_reason = {
        Run.Status.INCONCLUSIVE: (
            f"{run.errored} of {run.total} samples errored "
            f"({run.errored / run.total:.0%}), more than the 5% a conclusive run "
            "allows."
        ),
        Run.Status.FAILED: (
            "The vendor refused for billing or quota: your credit balance is too low."
        ),
        Run.Status.CANCELLED: (
            f"Cancelled from the run page after {run.done + run.errored} of "
            f"{run.total} samples."
        ),
    }.get(run.status, "")
    run.metrics = run_metrics_compute(run)


def simulated_run_create(endpoint: Endpoint, profile: str, *, user=None) -> Run:
    """A completed run of every family at a simulated endpoint, made without a
    worker: each reply is what the simulated vendor says under ``profile``,
    graded by the family's own grader."""
    families = [family.key for family in registry.families()]
    work = run_work_list(families, 1)
    now = timezone.now()
    run = Run.objects.create(
        workspace_id=endpoint.offering.vendor.workspace_id,
        offering_id=endpoint.offering_id,
        endpoint=endpoint,
        api_kind=endpoint.api_kind,
        base_url=endpoint.base_url,
        model_name=endpoint.model_name,
        is_simulated=True,
        families=families,
        repeats=1,
        estimated_tokens=run_estimate(families, 1, endpoint),
        status=Run.Status.RUNNING,
        total=len(work),
        created_by=user,
        started_at=now,
        heartbeat_at=now,
    )
    samples = []
    for item in work:
        family, item_key, variant, repeat = item.identity
        reply = _scripted(family, item_key, variant, profile)
        samples.append(
            Sample(
                run=run,
                family=family,
                item_key=item_key,
                variant=variant,
                repeat=repeat,
                status=Sample.Status.DONE,
                transcript=list(reply.transcript),
                tokens_in=reply.tokens_in,
                tokens_out=reply.tokens_out,
                passed=reply.grade.passed,
                grade_reason=reply.grade.reason,
                grade_labels=reply.grade.labels,
            )
        )
    Sample.objects.bulk_create(samples, batch_size=SAMPLE_BATCH)

    run.status = Run.Status.COMPLETED
    run.done = len(samples)
    run.tokens_in = sum(sample.tokens_in for sample in samples)
    run.tokens_out = sum(sample.tokens_out for sample in samples)
    run.finished_at = timezone.now()
    run.metrics = run_metrics_compute(run)
    run.save(
        update_fields=[
            "status",
            "done",
            "tokens_in",
            "tokens_out",
            "finished_at",
            "metrics",
        ]
    )
    logger.info("simulated run created run=%s profile=%s", run.pk, profile)
    return run
