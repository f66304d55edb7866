"""Reads for the dashboard and the PDF: a scorecard turned into what the pages show."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assessments.models import Answer, Assessment, EvidenceTier, Question
from assessments.scoring import TIERS, grade_for
from assessments.selectors import (
    answer_value_label,
    assessment_scorecard,
    question_is_applicable,
)
from dashboards import charts
from dashboards.models import Report

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
    )


def _unanswered(
    assessment: Assessment, keys: list[str], titles: dict[str, str]
) -> list[PillarMissing]:
    if not keys:
        return []
    questions = {
        question.key: question
        for question in Question.objects.filter(
            framework=assessment.framework, key__in=keys
        ).select_related("pillar")
    }
    by_pillar: dict[str, PillarMissing] = {}
    for key in keys:
        question = questions.get(key)
        if question is None:
            continue
        pillar = by_pillar.setdefault(
            question.pillar.key,
            PillarMissing(
                question.pillar.key,
                titles.get(question.pillar.key, question.pillar.title),
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
