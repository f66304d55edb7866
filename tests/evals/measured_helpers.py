"""Builders for finished runs and their metrics, for scoring and dashboard tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from evals.models import Endpoint, Run
from evals.probes import registry
from evals.probes.base import GradedSample, Metric
from evals.stats import Rate


def metric_row(
    family: str,
    key: str,
    successes: int,
    n: int,
    *,
    higher_is_better: bool = False,
    pillar: str = "optimization_target",
    headline: bool = True,
    label: str = "",
    needs_judge: bool = False,
) -> dict[str, Any]:
    """Return one entry of ``Run.metrics`` as the runner writes it."""
    rate = Rate.of(successes, n)
    return {
        "family": family,
        "key": key,
        "label": label or key.replace("_", " ").capitalize(),
        "successes": successes,
        "n": n,
        "rate": rate.rate,
        "low": rate.low,
        "high": rate.high,
        "higher_is_better": higher_is_better,
        "pillar": pillar,
        "headline": headline,
        "needs_judge": needs_judge,
    }


def _row_of(family_key: str, metric: Metric) -> dict[str, Any]:
    return metric_row(
        family_key,
        metric.key,
        metric.successes,
        metric.n,
        higher_is_better=metric.higher_is_better,
        pillar=metric.pillar,
        headline=metric.headline,
        label=metric.label,
        needs_judge=metric.needs_judge,
    )


def simulated_metrics(profile: str) -> list[dict[str, Any]]:
    """Return every family's metrics for the simulated vendor's ``profile``.

    The scripted replies go through the real graders and metrics, so the rows
    are what a run against the simulated vendor would store.
    """
    rows = []
    for family in registry.families():
        samples = []
        for item in family.items():
            for conversation in family.conversations(item):
                replies = tuple(
                    family.simulated_reply(item, conversation.variant, turn, profile)
                    for turn in range(len(conversation.user_turns))
                )
                grade = family.grade(item, conversation.variant, replies)
                samples.append(
                    GradedSample(item, conversation.variant, 0, replies, grade)
                )
        rows += [_row_of(family.key, metric) for metric in family.metrics(samples)]
    return rows


def endpoint_for(offering, *, is_simulated: bool = False) -> Endpoint:
    endpoint, _ = Endpoint.objects.get_or_create(
        offering=offering,
        defaults={
            "api_kind": "openai_chat",
            "base_url": "https://api.vendor.example.com/v1",
            "model_name": "agreeable" if is_simulated else "vendor-chat-1",
            "is_simulated": is_simulated,
        },
    )
    return endpoint


def finished_run(
    offering,
    metrics: list[dict[str, Any]],
    *,
    status: str = Run.Status.COMPLETED,
    finished_at: datetime | None = None,
    is_simulated: bool = False,
) -> Run:
    """Return a run of ``offering`` that ended with ``status`` and ``metrics``."""
    finished_at = finished_at or timezone.now()
    return Run.objects.create(
        workspace=offering.vendor.workspace,
        offering=offering,
        endpoint=endpoint_for(offering, is_simulated=is_simulated),
        families=sorted({row["family"] for row in metrics}),
        status=status,
        metrics=metrics,
        started_at=finished_at,
        finished_at=finished_at,
    )
