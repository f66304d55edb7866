"""Reads for runs and their results. Each section has one owner; add, don't rewrite."""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, F
from django.urls import reverse
from django.utils import timezone

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


def completed_runs_newest_first(offering: Offering | int) -> list[Run]:
    """The offering's newest completed runs, as many as the measured side reads.

    ``latest_family_results`` and ``metric_drifts`` both read these; a page that
    needs both fetches them once and hands them to each.
    """
    offering_id = offering if isinstance(offering, int) else offering.pk
    return list(
        Run.objects.filter(offering_id=offering_id, status=Run.Status.COMPLETED)
        .select_related("endpoint")
        .order_by(F("finished_at").desc(nulls_last=True), "-pk")[:MEASURED_RUN_SCAN]
    )


def latest_family_results(
    offering: Offering | int, runs: list[Run] | None = None
) -> list[FamilyMeasurement]:
    """Return each probe family's metrics from its newest completed run.

    A run of a few families replaces only those families' results: the others
    keep coming from the older runs that measured them. Inconclusive, failed and
    cancelled runs never count. One query, whatever the number of runs.
    Families come in the registry's order, any others after them.
    """
    runs = completed_runs_newest_first(offering) if runs is None else runs
    known = [family.key for family in registry.families()]
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


@dataclass(frozen=True)
class MeasuredRate:
    """One metric's rate in one run, with its sample size and 95% interval."""

    run_id: int
    finished_at: datetime.datetime | None
    successes: int
    n: int
    rate: float
    low: float
    high: float


@dataclass(frozen=True)
class MetricDrift:
    """A metric whose 95% interval in a family's latest completed run no longer
    overlaps its interval in the completed run of that family before it."""

    family: str
    key: str
    label: str
    higher_is_better: bool
    headline: bool
    before: MeasuredRate
    after: MeasuredRate

    @property
    def got_worse(self) -> bool:
        rose = self.after.rate > self.before.rate
        return rose != self.higher_is_better


def _measured_rate(run: Run, metric: dict[str, Any]) -> MeasuredRate | None:
    values = [metric.get(name) for name in ("rate", "low", "high")]
    n = int(metric.get("n") or 0)
    if n <= 0 or any(not isinstance(value, int | float) for value in values):
        return None
    return MeasuredRate(
        run.pk, run.finished_at, int(metric.get("successes") or 0), n, *values
    )


def _family_metrics(run: Run) -> dict[str, dict[str, dict[str, Any]]]:
    """The run's metrics as {family: {metric key: metric}}."""
    by_family: dict[str, dict[str, dict[str, Any]]] = {}
    for metric in run.metrics or []:
        if isinstance(metric, dict) and metric.get("family") and metric.get("key"):
            family = by_family.setdefault(str(metric["family"]), {})
            family[str(metric["key"])] = metric
    return by_family


def _intervals_apart(before: MeasuredRate, after: MeasuredRate) -> bool:
    return after.low > before.high or after.high < before.low


def metric_drifts(
    offering: Offering | int, runs: list[Run] | None = None
) -> list[MetricDrift]:
    """Return each metric that drifted between a family's two newest completed runs.

    Both runs must have called the same model at the same address: a founder who
    switched models sees the new model's results, not a drift. The scan reads the
    same newest completed runs as ``latest_family_results``, in one query, or
    none when given them.
    Headline metrics come first, then the registry's family order.
    """
    runs = completed_runs_newest_first(offering) if runs is None else runs
    known = {family_class.key for family_class in registry.FAMILY_CLASSES}
    latest: dict[str, tuple[Run, dict[str, dict[str, Any]]]] = {}
    previous: dict[str, tuple[Run, dict[str, dict[str, Any]]]] = {}
    for run in runs:
        for family, metrics in _family_metrics(run).items():
            if family not in latest:
                latest[family] = (run, metrics)
            elif family not in previous:
                previous[family] = (run, metrics)
        if known <= previous.keys():
            break

    drifts = []
    for family, (after_run, after_metrics) in latest.items():
        if family not in previous:
            continue
        before_run, before_metrics = previous[family]
        if (before_run.base_url, before_run.model_name) != (
            after_run.base_url,
            after_run.model_name,
        ):
            continue
        for key, metric in after_metrics.items():
            after = _measured_rate(after_run, metric)
            before = (
                _measured_rate(before_run, before_metrics[key])
                if key in before_metrics
                else None
            )
            if after is None or before is None or not _intervals_apart(before, after):
                continue
            drifts.append(
                MetricDrift(
                    family=family,
                    key=key,
                    label=str(metric.get("label") or key),
                    higher_is_better=bool(metric.get("higher_is_better")),
                    headline=bool(metric.get("headline")),
                    before=before,
                    after=after,
                )
            )
    order = {
        family.key: position for position, family in enumerate(registry.families())
    }
    return sorted(
        drifts,
        key=lambda drift: (not drift.headline, order.get(drift.family, len(order))),
    )


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
    # Judge calls that failed for this metric's family: the judge was chosen but
    # could not grade, which is not the same as having none.
    judge_errors: int = 0

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


SAMPLE_OUTCOME_LABELS = {
    "errored": "Errored",
    "ungraded": "Not graded",
    "passed": "Passed",
    "failed": "Failed",
}
SAMPLE_OUTCOME_MARKS = {"errored": "—", "ungraded": "—", "passed": "✓", "failed": "✗"}


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
    def outcome(self) -> str:
        """errored, ungraded, passed or failed: the row's style and its words."""
        if self.status == "errored":
            return "errored"
        if self.passed is None:
            return "ungraded"
        return "passed" if self.passed else "failed"

    @property
    def outcome_label(self) -> str:
        return SAMPLE_OUTCOME_LABELS[self.outcome]

    @property
    def mark(self) -> str:
        return SAMPLE_OUTCOME_MARKS[self.outcome]

    @property
    def reason(self) -> str:
        return self.error or self.grade_reason

    @property
    def url(self) -> str:
        return reverse("sample_detail", args=[self.pk])


@dataclass(frozen=True)
class FamilyResult:
    key: str
    title: str
    description: str
    headline: MetricView | None
    others: list[MetricView]
    samples: list[SampleRow]
    # How many samples the family has, and whether ``samples`` holds them (a
    # long run's lists load when they are opened).
    sample_count: int = 0
    errored: int = 0
    samples_loaded: bool = True


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
        judge_errors=metric.get("judge_errors", 0),
    )


def run_worker_silence(run: Run, now: datetime.datetime | None = None) -> int | None:
    """Seconds since a running run's worker last gave a sign of life, once that is
    longer than the resume sweep tolerates; None while all is well."""
    if run.status != Run.Status.RUNNING or run.heartbeat_at is None:
        return None
    silent = ((now or timezone.now()) - run.heartbeat_at).total_seconds()
    if silent <= settings.CANDOR_RUN_STALE_SECONDS:
        return None
    return int(silent)


def run_judge_errors(run: Run) -> int:
    """How many judge calls failed in the run, from its stored metrics."""
    by_family: dict[str, int] = {}
    for metric in run.metrics or []:
        family = metric.get("family", "")
        # Each judge-graded metric of a family carries the family's count.
        by_family[family] = max(by_family.get(family, 0), metric.get("judge_errors", 0))
    return sum(by_family.values())


# The run page lists transcripts inline up to this many samples in all; the
# families past it load their lists when opened, so that a run of thousands of
# samples renders about as fast as a small one.
SAMPLES_INLINE = 50


def run_results(
    run: Run,
    *,
    family: str | None = None,
    progress: list[FamilyProgress] | None = None,
) -> list[FamilyResult]:
    """Each family's metrics and sample list, in the run's family order.

    Families' samples are loaded in page order while they fit in
    SAMPLES_INLINE; with ``family``, only that family's are. One query for the
    samples loaded however many there are, after ``run_family_progress`` (pass
    it in when you have it).
    """
    counts = {
        row.key: {Sample.Status.DONE: row.done, Sample.Status.ERRORED: row.errored}
        for row in (progress if progress is not None else run_family_progress(run))
    }
    if family is not None:
        loaded = {family}
    else:
        loaded, budget = set(), SAMPLES_INLINE
        for key in run.families:
            size = sum(counts.get(key, {}).values())
            if size > budget:
                break
            loaded.add(key)
            budget -= size

    samples: dict[str, list[SampleRow]] = {key: [] for key in run.families}
    rows = Sample.objects.filter(run=run, family__in=loaded).values_list(
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
    for key, *fields in rows:
        samples.setdefault(key, []).append(SampleRow(*fields))

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
                sample_count=sum(counts.get(key, {}).values()),
                errored=counts.get(key, {}).get(Sample.Status.ERRORED, 0),
                samples_loaded=key in loaded,
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
    # Of an error: how long its tries took, and the start of a malformed reply.
    elapsed_ms: int | None = None
    body: str = ""


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
                elapsed_ms=entry.get("elapsed_ms"),
                body=str(entry.get("body", "")),
            )
        )
    return bubbles


def sample_elapsed_ms(sample: Sample) -> int | None:
    """How long an errored sample's tries took, if the transcript recorded it."""
    elapsed = [
        entry["elapsed_ms"]
        for entry in sample.transcript or []
        if entry.get("role") == "error" and entry.get("elapsed_ms") is not None
    ]
    return sum(elapsed) if elapsed else None


# What to say at the top of a run whose every conversation failed the same way.
_ALL_ERRORED = {
    "key": "Every request was refused: the vendor rejected the API key ({status}). "
    "Check the endpoint's key.",
    "not_found": "Every request failed: the vendor does not know the model, or the "
    "base URL is wrong (404). Check the endpoint's model name and base URL.",
    "timeout": "Every request timed out: the vendor did not answer in time. Check "
    "that the endpoint is up, or raise its timeout.",
    "malformed": "Every reply was unreadable: the endpoint answered, but not with a "
    "chat completion. Check the endpoint's API kind and base URL.",
    "unreachable": "Every request failed: Candor could not reach the endpoint. "
    "Check its base URL and that the server is running.",
    "server": "Every request failed: the vendor kept answering with server errors "
    "({status}). Try again later.",
}


def run_error_summary(run: Run) -> str:
    """One plain sentence when every conversation of a finished run failed the same
    way; "" otherwise."""
    if not run.is_finished or run.done or not run.errored:
        return ""
    kinds = list(
        Sample.objects.filter(run=run, status=Sample.Status.ERRORED)
        .values_list("grade_labels__error_kind", "grade_labels__error_status")
        .order_by()
        .distinct()[:2]
    )
    if len(kinds) != 1 or kinds[0][0] not in _ALL_ERRORED:
        return ""
    kind, status = kinds[0]
    return _ALL_ERRORED[kind].format(status=status or "no status")
