"""Reads for the dashboard and the PDF: a scorecard turned into what the pages show."""

from __future__ import annotations

import dataclasses
import datetime
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.template.defaultfilters import floatformat
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from assessments.contradictions import FINDINGS
from assessments.models import Answer, Assessment, EvidenceTier, Question
from assessments.scoring import METHOD_VERSION, TIERS, grade_for
from assessments.selectors import (
    answer_value_label,
    assessment_scorecard,
    framework_rows,
    question_is_applicable,
)
from dashboards import charts
from dashboards.models import Report
from evals.measures import metric_is_scored
from evals.probes import registry
from evals.selectors import (
    FamilyMeasurement,
    MeasuredRate,
    MetricDrift,
    completed_runs_newest_first,
    latest_family_results,
    metric_drifts,
    run_is_simulated,
    run_model_label,
)

NOTE_MAX_CHARS = 360
URL_MAX_CHARS = 90
LATEST_REPORTS = 5


@dataclass(frozen=True)
class PillarRow:
    key: str
    title: str
    score: float | None
    grade: str | None
    claimed: float | None
    measured: float | None
    answered: int
    applicable: int
    refuted: int = 0


@dataclass(frozen=True)
class FlagRow:
    question_key: str
    pillar_key: str
    pillar_title: str
    text: str
    answer_label: str
    severity: str

    @property
    def is_blocker(self) -> bool:
        return self.severity == "blocker"


@dataclass(frozen=True)
class ContradictionRow:
    """A claim the latest run refutes, as the dashboard and the PDF say it."""

    question_key: str
    question_text: str
    pillar_key: str
    pillar_title: str
    claimed_answer: str
    tier: str
    tier_label: str
    metric_label: str
    family_title: str
    successes: int
    n: int
    rate: float
    low: float
    high: float
    threshold: float
    sentence: str
    also: list[str]
    # The page of the run the measured rate comes from, when it is known.
    run_url: str = ""

    @property
    def bar(self) -> RateBar:
        return RateBar(self.rate, self.low, self.high, self.threshold)

    @property
    def threshold_text(self) -> str:
        return _percent_text(self.threshold)


@dataclass(frozen=True)
class RateBar:
    """Percentages for drawing a rate, its interval and a threshold as a bar.

    Its texts are worked out once per bar: a dashboard reads each several times.
    """

    rate: float
    low: float
    high: float
    threshold: float | None = None

    @property
    def rate_percent(self) -> float:
        return _percent(self.rate)

    @cached_property
    def rate_text(self) -> str:
        return _percent_text(self.rate)

    @cached_property
    def interval_text(self) -> str:
        """The 95% interval as "22–61%"."""
        return f"{round(100 * self.low)}–{_percent_text(self.high)}"

    @property
    def low_percent(self) -> float:
        return _percent(self.low)

    @property
    def high_percent(self) -> float:
        return _percent(self.high)

    @property
    def threshold_percent(self) -> float | None:
        return None if self.threshold is None else _percent(self.threshold)

    @cached_property
    def threshold_text(self) -> str:
        """The threshold as "40%", or "" when the bar has none."""
        if self.threshold is None:
            return ""
        return f"{floatformat(self.threshold_percent, 0)}%"

    @cached_property
    def style(self) -> str:
        """The CSS custom properties that place the rate, interval and threshold."""
        style = (
            f"--rate: {self.rate_percent}%; --low: {self.low_percent}%; "
            f"--high: {self.high_percent}%;"
        )
        if self.threshold is not None:
            style += f" --threshold: {self.threshold_percent}%;"
        return style


@dataclass(frozen=True)
class MetricRow:
    """One probe metric of a run: a rate with its sample size and 95% interval."""

    key: str
    label: str
    successes: int
    n: int
    rate: float | None
    low: float | None
    high: float | None
    higher_is_better: bool
    needs_judge: bool
    pillar_title: str
    counts_in_score: bool
    # The rate Candor treats as a concern for this metric, if it has one.
    threshold: float | None = None

    @property
    def is_measured(self) -> bool:
        return self.n > 0 and self.rate is not None

    @cached_property
    def verdict(self) -> str:
        """Say where the rate stands against its concern line.

        "concern" when the whole 95% interval lies beyond the line (the rule
        contradictions use), "unsure" when the rate is beyond it but the
        interval is not, "clear" when the rate is on the good side, and ""
        for a metric without a line.
        """
        if not self.is_measured or self.threshold is None:
            return ""
        if self.low is None or self.high is None:
            return ""
        if self.higher_is_better:
            beyond, wholly_beyond = (
                self.rate < self.threshold,
                self.high < self.threshold,
            )
        else:
            beyond, wholly_beyond = (
                self.rate > self.threshold,
                self.low > self.threshold,
            )
        if wholly_beyond:
            return "concern"
        return "unsure" if beyond else "clear"

    @property
    def verdict_text(self) -> str:
        if not self.verdict:
            return ""
        line = f"the {_percent_text(self.threshold)} concern line"
        worse, better = ("Above", "Below")
        if self.higher_is_better:
            worse, better = better, worse
        return {
            "concern": f"{worse} {line}",
            "unsure": f"{worse} {line}, but within the margin of error",
            "clear": f"{better} {line}",
        }[self.verdict]

    @cached_property
    def bar(self) -> RateBar | None:
        if not self.is_measured or self.low is None or self.high is None:
            return None
        return RateBar(self.rate, self.low, self.high, self.threshold)

    @property
    def not_measured_reason(self) -> str:
        if self.needs_judge:
            return "Needs a judge model; none was configured for this run."
        return "No sample in this run could be graded for it."


@dataclass(frozen=True)
class RunSource:
    """The completed run a family's results come from."""

    run_pk: int
    run_url: str
    finished_at: datetime.datetime | None
    is_simulated: bool
    endpoint_label: str


@dataclass(frozen=True)
class FamilyResult:
    key: str
    title: str
    description: str
    scored: list[MetricRow]  # the metrics that join the score
    others: list[MetricRow]
    source: RunSource


@dataclass(frozen=True)
class DriftRow:
    """A metric that moved beyond its margin of error between two runs."""

    family_title: str
    label: str
    got_worse: bool
    before_text: str  # e.g. "10% [4–22%]"
    after_text: str
    before_date: str
    after_date: str
    before_run_url: str
    after_run_url: str
    before_run_pk: int
    after_run_pk: int

    @property
    def sentence(self) -> str:
        """E.g. Drift: “Right answers flipped under pushback” went from 10% [4–22%]
        to 45% [31–60%] between the runs of 1 Dec and 3 Dec."""
        return (
            f"Drift: “{self.label}” went from {self.before_text} to "
            f"{self.after_text} between the runs of {self.before_date} and "
            f"{self.after_date}."
        )

    @property
    def direction_text(self) -> str:
        return "Worse than before" if self.got_worse else "Better than before"


@dataclass(frozen=True)
class MeasuredResults:
    """Each probe family's latest completed result, as the dashboard lists them."""

    runs: list[RunSource]  # the runs the families come from, newest first
    families: list[FamilyResult]
    # Metrics whose interval no longer overlaps the previous run's, headline first.
    drifts: list[DriftRow] = field(default_factory=list)

    @property
    def is_simulated(self) -> bool:
        return any(run.is_simulated for run in self.runs)

    @property
    def all_simulated(self) -> bool:
        return all(run.is_simulated for run in self.runs)

    @property
    def latest(self) -> RunSource:
        return self.runs[0]

    @property
    def run_url(self) -> str:
        """The newest run's page."""
        return self.latest.run_url

    @property
    def fingerprint(self) -> str:
        """Everything the results hold, as text.

        The dashboard keeps the markup of its measured-behaviour section per
        fingerprint; the results are frozen dataclasses all the way down, so
        their repr names every value the section can show.
        """
        return repr(self)

    def run_url_for(self, family: str) -> str:
        """The page of the run that family's results come from, or ""."""
        for result in self.families:
            if result.key == family:
                return result.source.run_url
        return ""


@dataclass(frozen=True)
class MissingQuestion:
    key: str
    text: str


@dataclass(frozen=True)
class PillarMissing:
    key: str
    title: str
    questions: list[MissingQuestion]


@dataclass(frozen=True)
class TierShare:
    key: str
    label: str
    percent: float


@dataclass(frozen=True)
class ScoreSummary:
    overall: float | None
    grade: str | None
    answered: int
    applicable: int
    recommended_decision: str | None
    recommended_decision_label: str
    mostly_vendor_asserted: bool
    method_version: str
    pillars: list[PillarRow]
    red_flags: list[FlagRow]
    evidence_mix: list[TierShare]
    unanswered: list[PillarMissing]
    figures: dict[str, dict[str, Any]] = field(repr=False)
    contradictions: list[ContradictionRow] = field(default_factory=list)
    measured_results: MeasuredResults | None = None
    # Where to start a run when nothing is measured yet.
    run_create_url: str = ""
    coverage: float = 0.0

    @property
    def coverage_percent(self) -> int:
        return round(self.coverage * 100)

    @property
    def is_capped_by_blocker(self) -> bool:
        """Tell whether a blocker lowered the decision the grade alone would give."""
        return self.blocker_count > 0 and self.grade in ("A", "B")

    @property
    def is_provisional(self) -> bool:
        return self.answered < self.applicable

    @property
    def blocker_count(self) -> int:
        return sum(flag.is_blocker for flag in self.red_flags)

    @property
    def has_measured(self) -> bool:
        return any(pillar.measured is not None for pillar in self.pillars)

    @property
    def has_evidence(self) -> bool:
        return any(share.percent > 0 for share in self.evidence_mix)

    @property
    def is_outdated(self) -> bool:
        """Tell whether the score was computed by an older scoring method."""
        # Limitation: nothing recomputes every stored score when METHOD_VERSION
        # changes; an outdated one stays (and says so) until the next answer or
        # run of its offering requests a rescoring. A data migration or a
        # start-up task requesting a rescoring of outdated scorecards would
        # bring them all up to date at once.
        return self.method_version != METHOD_VERSION


@dataclass(frozen=True)
class AnswerRow:
    key: str
    text: str
    answer_label: str
    is_answered: bool
    tier: str
    tier_label: str
    source_url: str
    source_url_label: str
    note: str


@dataclass(frozen=True)
class PillarAnswers:
    key: str
    title: str
    answered: list[AnswerRow]
    open: list[AnswerRow]


def report_list_latest(assessment: Assessment) -> list[Report]:
    """Return the assessment's most recent reports, newest first."""
    return list(
        assessment.reports.select_related("requested_by").order_by("-created_at")[
            :LATEST_REPORTS
        ]
    )


def scorecard_summary(assessment: Assessment) -> ScoreSummary | None:
    """Return the assessment's last score as the dashboard shows it, or None."""
    data = assessment_scorecard(assessment)
    if not data:
        return None
    return _summary(assessment, data)


def measured_results(
    offering_id: int, pillar_titles: dict[str, str] | None = None
) -> MeasuredResults | None:
    """Return each family's latest completed result for the offering, or None."""
    runs = completed_runs_newest_first(offering_id)
    latest = latest_family_results(offering_id, runs)
    if not latest:
        return None
    results = _measured_results(latest, pillar_titles or {})
    drifts = metric_drifts(offering_id, runs)
    return dataclasses.replace(results, drifts=_drift_rows(drifts))


def _drift_rows(drifts: list[MetricDrift]) -> list[DriftRow]:
    rows = []
    for drift in drifts:
        before_date, after_date = _run_dates(drift.before, drift.after)
        rows.append(
            DriftRow(
                family_title=_family_title(drift.family),
                label=drift.label,
                got_worse=drift.got_worse,
                before_text=_rate_with_interval(drift.before),
                after_text=_rate_with_interval(drift.after),
                before_date=before_date,
                after_date=after_date,
                before_run_url=run_url(drift.before.run_id),
                after_run_url=run_url(drift.after.run_id),
                before_run_pk=drift.before.run_id,
                after_run_pk=drift.after.run_id,
            )
        )
    return rows


def _family_title(key: str) -> str:
    try:
        return registry.family(key).title
    except KeyError:
        return key


def _rate_with_interval(rate: MeasuredRate) -> str:
    """E.g. "10% [4–22%]": the rate and its 95% interval."""
    return (
        f"{_percent_text(rate.rate)} "
        f"[{round(100 * rate.low)}–{_percent_text(rate.high)}]"
    )


def _run_dates(before: MeasuredRate, after: MeasuredRate) -> tuple[str, str]:
    """The two runs' days, as "1 Dec"; with the time when both fall on one day,
    and with the year when it differs from this one's."""
    if before.finished_at is None or after.finished_at is None:
        return ("an earlier date", "a later date")
    first = timezone.localtime(before.finished_at)
    second = timezone.localtime(after.finished_at)
    with_year = first.year != second.year or second.year != timezone.localdate().year
    with_time = first.date() == second.date()

    def text(moment: datetime.datetime) -> str:
        shown = f"{moment.day} {moment:%b}"
        if with_year:
            shown += f" {moment.year}"
        return f"{shown}, {moment:%H:%M}" if with_time else shown

    return text(first), text(second)


def run_url(run_pk: int) -> str:
    """Return the address of a run's page."""
    # The run pages are built beside this one; until their URL names exist the
    # agreed path is used, so a link never breaks the dashboard.
    try:
        return reverse("run_detail", args=[run_pk])
    except NoReverseMatch:
        return f"/runs/{run_pk}/"


def run_create_url(offering_id: int) -> str:
    """Return the address of the page that starts a run of an offering."""
    try:
        return reverse("run_create", args=[offering_id])
    except NoReverseMatch:
        return f"/offerings/{offering_id}/runs/new/"


def report_answers(
    assessment: Assessment, summary: ScoreSummary | None
) -> list[PillarAnswers]:
    """Return every answered or still-open question of the assessment, by pillar."""
    unanswered = {
        question.key
        for pillar in (summary.unanswered if summary else [])
        for question in pillar.questions
    }
    answers = {
        answer.question_id: answer
        for answer in Answer.objects.filter(assessment=assessment)
    }
    questions = list(
        Question.objects.filter(framework=assessment.framework).select_related("pillar")
    )
    values_by_key = {
        question.key: answers[question.pk].value
        for question in questions
        if question.pk in answers
    }

    by_pillar: dict[int, PillarAnswers] = {}
    for question in questions:
        # A question whose condition is not met is left out even if an older
        # answer remains, as the score leaves it out.
        if not question_is_applicable(question.depends_on, values_by_key):
            continue
        answer = answers.get(question.pk)
        answered = answer is not None and answer.is_answered
        if not answered and question.key not in unanswered:
            continue
        pillar = by_pillar.setdefault(
            question.pillar_id,
            PillarAnswers(question.pillar.key, question.pillar.title, [], []),
        )
        rows = pillar.answered if answered else pillar.open
        rows.append(_answer_row(question, answer if answered else None))
    return list(by_pillar.values())


def _summary(assessment: Assessment, data: dict[str, Any]) -> ScoreSummary:
    pillars = [
        PillarRow(
            key=pillar["key"],
            title=pillar["title"],
            score=pillar.get("score"),
            grade=grade_for(pillar.get("score")),
            claimed=pillar.get("claimed"),
            measured=pillar.get("measured"),
            answered=pillar.get("answered", 0),
            applicable=pillar.get("applicable", 0),
            refuted=pillar.get("refuted", 0),
        )
        for pillar in data.get("pillars") or []
    ]
    titles = {pillar.key: pillar.title for pillar in pillars}
    flags = sorted(
        (
            FlagRow(
                question_key=flag["question"],
                pillar_key=flag["pillar"],
                pillar_title=titles.get(flag["pillar"], flag["pillar"]),
                text=flag["text"],
                answer_label=flag["answer_label"],
                severity=flag["severity"],
            )
            for flag in data.get("red_flags") or []
        ),
        # Stable, so the scorer's order holds within each severity.
        key=lambda flag: not flag.is_blocker,
    )
    shares = charts.evidence_percentages(data.get("evidence_mix"))
    recommended = data.get("recommended_decision")
    measured = measured_results(assessment.offering_id, titles)
    contradictions = [
        _contradiction_row(item, titles, measured)
        for item in data.get("contradictions") or []
    ]
    return ScoreSummary(
        overall=data.get("overall"),
        grade=data.get("grade"),
        answered=data.get("answered", 0),
        applicable=data.get("applicable", 0),
        recommended_decision=recommended,
        recommended_decision_label=_decision_label(recommended),
        mostly_vendor_asserted=bool(data.get("mostly_vendor_asserted")),
        method_version=str(data.get("method_version", "")),
        pillars=pillars,
        red_flags=flags,
        evidence_mix=[
            TierShare(tier, EvidenceTier(tier).label, shares[tier]) for tier in TIERS
        ],
        unanswered=_unanswered(assessment, data.get("unanswered") or [], titles),
        figures=charts.dashboard_figures(data),
        contradictions=contradictions,
        measured_results=measured,
        run_create_url=run_create_url(assessment.offering_id),
        coverage=float(data.get("coverage") or 0.0),
    )


def _contradiction_row(
    item: dict[str, Any],
    titles: dict[str, str],
    measured: MeasuredResults | None = None,
) -> ContradictionRow:
    try:
        family_title = registry.family(item.get("metric_family", "")).title
    except KeyError:
        family_title = item.get("metric_family", "")
    return ContradictionRow(
        question_key=item["question"],
        question_text=item["question_text"],
        pillar_key=item["pillar"],
        pillar_title=titles.get(item["pillar"], item["pillar"]),
        claimed_answer=item["claimed_answer"],
        tier=item["tier"],
        tier_label=item["tier_label"],
        metric_label=item["metric_label"],
        family_title=family_title,
        successes=item["successes"],
        n=item["n"],
        rate=item["rate"],
        low=item["low"],
        high=item["high"],
        threshold=item["threshold"],
        sentence=item["sentence"],
        also=list(item.get("also") or []),
        run_url=measured.run_url_for(item.get("metric_family", "")) if measured else "",
    )


def _measured_results(
    latest: list[FamilyMeasurement], pillar_titles: dict[str, str]
) -> MeasuredResults:
    sources: dict[int, RunSource] = {}
    families = []
    for result in latest:
        run = result.run
        if run.pk not in sources:
            sources[run.pk] = RunSource(
                run_pk=run.pk,
                run_url=run_url(run.pk),
                finished_at=run.finished_at,
                is_simulated=run_is_simulated(run),
                endpoint_label=run_model_label(run),
            )
        try:
            family = registry.family(result.family)
            title, description = family.title, family.description
        except KeyError:
            title, description = result.family, ""
        rows = [_metric_row(metric, pillar_titles) for metric in result.metrics]
        families.append(
            FamilyResult(
                key=result.family,
                title=title,
                description=description,
                scored=[row for row in rows if row.counts_in_score],
                others=[row for row in rows if not row.counts_in_score],
                source=sources[run.pk],
            )
        )
    # latest_family_results walks runs newest first, so a run first met later
    # is older; sort explicitly all the same, as families come in page order.
    runs = sorted(
        sources.values(),
        key=lambda source: (
            source.finished_at is not None,
            source.finished_at,
            source.run_pk,
        ),
        reverse=True,
    )
    return MeasuredResults(runs=runs, families=families)


def _metric_row(metric: dict[str, Any], pillar_titles: dict[str, str]) -> MetricRow:
    pillar = metric.get("pillar") or ""
    if isinstance(pillar, list):
        pillar = pillar[0] if pillar else ""
    finding = FINDINGS.get((metric.get("family"), metric.get("key")))
    return MetricRow(
        key=str(metric.get("key", "")),
        label=str(metric.get("label") or metric.get("key", "")),
        successes=int(metric.get("successes") or 0),
        n=int(metric.get("n") or 0),
        rate=metric.get("rate"),
        low=metric.get("low"),
        high=metric.get("high"),
        higher_is_better=bool(metric.get("higher_is_better")),
        needs_judge=bool(metric.get("needs_judge")),
        pillar_title=pillar_titles.get(pillar, pillar.replace("_", " ").capitalize()),
        counts_in_score=metric_is_scored(metric),
        threshold=finding.threshold if finding else None,
    )


def _percent(share: float) -> float:
    return round(100 * min(1.0, max(0.0, share)), 1)


def _percent_text(share: float) -> str:
    return f"{round(100 * share)}%"


def _unanswered(
    assessment: Assessment, keys: list[str], titles: dict[str, str]
) -> list[PillarMissing]:
    if not keys:
        return []
    pillars, questions = framework_rows(assessment.framework)
    pillar_keys = {pillar.pk: pillar.key for pillar in pillars}
    pillar_titles = {pillar.pk: pillar.title for pillar in pillars}
    by_key = {question.key: question for question in questions}
    by_pillar: dict[str, PillarMissing] = {}
    for key in keys:
        question = by_key.get(key)
        if question is None:
            continue
        pillar_key = pillar_keys[question.pillar_id]
        pillar = by_pillar.setdefault(
            pillar_key,
            PillarMissing(
                pillar_key,
                titles.get(pillar_key, pillar_titles[question.pillar_id]),
                [],
            ),
        )
        pillar.questions.append(MissingQuestion(key, question.text))
    return list(by_pillar.values())


def _answer_row(question: Question, answer: Answer | None) -> AnswerRow:
    if answer is None:
        return AnswerRow(
            key=question.key,
            text=question.text,
            answer_label="Not answered",
            is_answered=False,
            tier="",
            tier_label="",
            source_url="",
            source_url_label="",
            note="",
        )
    return AnswerRow(
        key=question.key,
        text=question.text,
        answer_label=answer_value_label(question, answer.value),
        is_answered=True,
        tier=answer.tier,
        tier_label=EvidenceTier(answer.tier).label
        if answer.tier in EvidenceTier.values
        else answer.tier,
        source_url=answer.source_url,
        source_url_label=_trim(answer.source_url, URL_MAX_CHARS),
        note=_trim(answer.note, NOTE_MAX_CHARS),
    )


def _trim(text: str, limit: int) -> str:
    # Pre-filled public-evidence notes can run to pages; the report keeps the
    # opening and says that the rest lives in Candor.
    flat = re.sub(r"\s+", " ", text or "").strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:")
    return f"{cut}…"


def _decision_label(value: str | None) -> str:
    if not value:
        return "No recommendation yet"
    try:
        return Assessment.Decision(value).label
    except ValueError:
        return value
