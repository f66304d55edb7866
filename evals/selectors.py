"""Reads for runs and their results. Each section has one owner; add, don't rewrite."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F

from evals.models import Run, Sample
from evals.probes import registry
from vendors.models import Offering

# --- Measured results for scoring and dashboards -------------------------------


def latest_completed_run(offering: Offering | int) -> Run | None:
    """Return the offering's most recently finished completed run, with its endpoint.

    Inconclusive, failed and cancelled runs never count: their metrics rest on
    too few or too many errored samples to stand beside the answers.
    """
    offering_id = offering if isinstance(offering, int) else offering.pk
    return (
        Run.objects.filter(offering_id=offering_id, status=Run.Status.COMPLETED)
        .select_related("endpoint")
        .order_by(F("finished_at").desc(nulls_last=True), "-pk")
        .first()
    )


# How many of the newest completed runs are searched for each family's latest
# result. A family last measured further back counts as not measured.
# Limitation: an offering with over this many newer completed runs that all left
# out one family loses that family's older result until it is run again.
MEASURED_RUN_SCAN = 50


@dataclass(frozen=True)
class FamilyMeasurement:
    """A probe family's metrics from the newest completed run that measured it."""

    family: str
    run: Run
    metrics: list[dict[str, Any]]


def latest_family_results(offering: Offering | int) -> list[FamilyMeasurement]:
    """Return each probe family's metrics from its newest completed run.

    A run of a few families replaces only those families' results: the others
    keep coming from the older runs that measured them. Inconclusive, failed and
    cancelled runs never count. One query, whatever the number of runs.
    Families come in the registry's order, any others after them.
    """
    offering_id = offering if isinstance(offering, int) else offering.pk
    known = [family.key for family in registry.families()]
    runs = (
        Run.objects.filter(offering_id=offering_id, status=Run.Status.COMPLETED)
        .select_related("endpoint")
        .order_by(F("finished_at").desc(nulls_last=True), "-pk")[:MEASURED_RUN_SCAN]
    )
    found: dict[str, FamilyMeasurement] = {}
    for run in runs:
        by_family: dict[str, list[dict[str, Any]]] = {}
        for metric in run.metrics or []:
            if isinstance(metric, dict) and metric.get("family"):
                by_family.setdefault(str(metric["family"]), []).append(metric)
        for family, metrics in by_family.items():
            if family not in found:
                found[family] = FamilyMeasurement(family, run, metrics)
        if all(key in found for key in known):
            break
    order = [key for key in known if key in found]
    order += [key for key in found if key not in known]
    return [found[key] for key in order]


def merged_metrics(results: list[FamilyMeasurement]) -> list[dict[str, Any]]:
    """Return the metric rows of every family's latest result, as one list."""
    return [metric for result in results for metric in result.metrics]


def run_is_simulated(run: Run) -> bool:
    """Tell whether a run probed the simulated vendor, as it was when it ran."""
    return bool(run.is_simulated)


def run_model_label(run: Run) -> str:
    """The model a run called, as it was when it ran."""
    return run.model_name or run.endpoint.model_name


# --- Runs: progress, results and transcripts for the run pages ---------------------


@dataclass(frozen=True)
class FamilyProgress:
    key: str
    title: str
    total: int
    done: int
    errored: int

    @property
    def finished(self) -> int:
        return self.done + self.errored

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 0


@dataclass(frozen=True)
class MetricView:
    """One metric of Run.metrics, ready to show."""

    key: str
    label: str
    successes: int
    n: int
    rate: float | None
    low: float | None
    high: float | None
    higher_is_better: bool
    headline: bool
    needs_judge: bool
    baseline: dict[str, Any] | None

    @property
    def measured(self) -> bool:
        return self.n > 0

    @property
    def summary(self) -> str:
        """E.g. "18% of 20 (95% CI 6–40%)"."""
        return rate_summary(self.rate, self.n, self.low, self.high)

    @property
    def baseline_summary(self) -> str:
        if not self.baseline:
            return ""
        b = self.baseline
        return rate_summary(b.get("rate"), b.get("n", 0), b.get("low"), b.get("high"))

    @property
    def percent(self) -> dict[str, float]:
        """Positions for the rate bar, in percent."""
        return {
            "rate": 100 * (self.rate or 0),
            "low": 100 * (self.low or 0),
            "high": 100 * (self.high or 0),
        }


def rate_summary(
    rate: float | None, n: int, low: float | None, high: float | None
) -> str:
    if not n or rate is None or low is None or high is None:
        return "not measured"
    return f"{rate:.0%} of {n} (95% CI {low * 100:.0f}–{high * 100:.0f}%)"


@dataclass(frozen=True)
class SampleRow:
    pk: int
    item_key: str
    variant: str
    repeat: int
    status: str
    passed: bool | None
    grade_reason: str
    error: str
    cached: bool

    @property
    def mark(self) -> str:
        if self.status == "errored" or self.passed is None:
            return "—"
        return "✓" if self.passed else "✗"

    @property
    def reason(self) -> str:
        return self.error or self.grade_reason


@dataclass(frozen=True)
class FamilyResult:
    key: str
    title: str
    description: str
    headline: MetricView | None
    others: list[MetricView]
    samples: list[SampleRow]

    @property
    def errored(self) -> int:
        return sum(1 for sample in self.samples if sample.status == "errored")


@functools.cache
def _conversation_count(family_key: str) -> int:
    family = registry.family(family_key)
    return sum(len(family.conversations(item)) for item in family.items())


def run_conversation_count(family_keys: list[str], repeats: int) -> int:
    """How many samples a run of these families and repeats will have."""
    return sum(_conversation_count(key) for key in family_keys) * repeats


def family_title(key: str) -> str:
    try:
        return registry.family(key).title
    except KeyError:
        return key


def _family_titles(keys: list[str]) -> dict[str, tuple[str, str]]:
    titles = {}
    for key in keys:
        try:
            family = registry.family(key)
        except KeyError:
            titles[key] = (key, "")
        else:
            titles[key] = (family.title, family.description)
    return titles


def run_family_progress(run: Run) -> list[FamilyProgress]:
    """Done and errored samples per family, from one aggregate query."""
    counts: dict[tuple[str, str], int] = {
        (family, status): count
        for family, status, count in Sample.objects.filter(run=run)
        .values_list("family", "status")
        .annotate(count=Count("pk"))
        .values_list("family", "status", "count")
    }
    titles = _family_titles(run.families)
    rows = []
    for key in run.families:
        try:
            total = _conversation_count(key) * run.repeats
        except KeyError:
            total = 0
        rows.append(
            FamilyProgress(
                key=key,
                title=titles[key][0],
                total=total,
                done=counts.get((key, Sample.Status.DONE), 0),
                errored=counts.get((key, Sample.Status.ERRORED), 0),
            )
        )
    return rows


def _metric_view(metric: dict[str, Any]) -> MetricView:
    return MetricView(
        key=metric["key"],
        label=metric.get("label") or metric["key"],
        successes=metric.get("successes", 0),
        n=metric.get("n", 0),
        rate=metric.get("rate"),
        low=metric.get("low"),
        high=metric.get("high"),
        higher_is_better=bool(metric.get("higher_is_better")),
        headline=bool(metric.get("headline")),
        needs_judge=bool(metric.get("needs_judge")),
        baseline=metric.get("baseline"),
    )


def run_results(run: Run) -> list[FamilyResult]:
    """Each family's metrics and sample list, in the run's family order."""
    samples: dict[str, list[SampleRow]] = {key: [] for key in run.families}
    rows = Sample.objects.filter(run=run).values_list(
        "family",
        "pk",
        "item_key",
        "variant",
        "repeat",
        "status",
        "passed",
        "grade_reason",
        "error",
        "cached",
    )
    for family, *fields in rows:
        samples.setdefault(family, []).append(SampleRow(*fields))

    titles = _family_titles(run.families)
    results = []
    for key in run.families:
        metrics = [
            _metric_view(metric)
            for metric in run.metrics or []
            if metric.get("family") == key
        ]
        headline = next((metric for metric in metrics if metric.headline), None)
        results.append(
            FamilyResult(
                key=key,
                title=titles[key][0],
                description=titles[key][1],
                headline=headline,
                others=[metric for metric in metrics if metric is not headline],
                samples=samples.get(key, []),
            )
        )
    return results


def runs_for_offering(offering: Offering, limit: int = 5) -> list[Run]:
    """The offering's latest runs, newest first."""
    return list(Run.objects.filter(offering=offering).order_by("-created_at")[:limit])


@dataclass(frozen=True)
class Bubble:
    """One message of a sample's conversation, as the sample page shows it."""

    role: str  # system | user | assistant | judge | error
    content: str
    cached: bool = False
    latency_ms: int | None = None
    tokens: str = ""
    attempts: int = 0
    raw_json: str = ""
    verdict: bool | None = None
    question: str = ""


def sample_conversation(sample: Sample) -> list[Bubble]:
    """The sample's transcript as bubbles, in order. Content stays plain text."""
    bubbles = []
    for entry in sample.transcript or []:
        role = str(entry.get("role", ""))
        tokens = ""
        if "tokens_in" in entry:
            tokens = f"{entry['tokens_in']} in · {entry.get('tokens_out', 0)} out"
        raw = entry.get("raw")
        bubbles.append(
            Bubble(
                role=role,
                content=str(entry.get("content", "")),
                cached=bool(entry.get("cached")),
                latency_ms=entry.get("latency_ms"),
                tokens=tokens,
                attempts=int(entry.get("attempts") or 0),
                raw_json=json.dumps(raw, indent=2, ensure_ascii=False) if raw else "",
                verdict=entry.get("verdict"),
                question=str(entry.get("question", "")),
            )
        )
    return bubbles
