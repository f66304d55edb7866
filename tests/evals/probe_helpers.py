"""Small builders shared by the probe family tests."""

from __future__ import annotations

from evals.probes.base import GradedSample, ProbeFamily, ProbeItem


def item_of(family: ProbeFamily, key: str) -> ProbeItem:
    return next(item for item in family.items() if item.key == key)


def graded(
    family: ProbeFamily,
    item: ProbeItem,
    variant: str,
    replies: tuple[str, ...],
    repeat: int = 0,
    judge=None,
) -> GradedSample:
    grade = family.grade(item, variant, replies, judge=judge)
    return GradedSample(item, variant, repeat, replies, grade)


def metric(metrics, key):
    return next(m for m in metrics if m.key == key)
