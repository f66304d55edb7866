"""Score an assessment from plain data: no ORM, no I/O, deterministic.

Method, version 4 (version 1 had no contradictions; version 2 graded any
coverage; version 3 scored a pillar from measurements alone and let a refuted
claim keep its points):
- A question's score is its chosen option's 0-100 value (multiple choice: the
  sum of the chosen options' values, capped at 100). "Unknown" and "not
  disclosed" options carry 0: for a founder, silence is information.
- Only questions with options and a weight above 0 are scored. Unanswered
  questions and questions whose ``depends_on`` is not met (the question it
  names is unanswered or has none of the listed values) are left out of the
  score and reported as coverage, so a half-filled assessment shows a
  provisional score rather than a falsely low one. An answer naming no known
  option counts as unanswered.
- A pillar's claimed score is the weighted mean of its answered, scored
  questions, as the vendor answered them. Measured items (0-100, from the
  metrics of the offering's latest completed evaluation run, mapped by
  ``evals.measures``) form the measured half.
- A pillar's score is the weighted mean of its answered questions and its
  measured items together, where an answer that a contradiction refutes (see
  below) counts 0: a claim the model's behaviour disproves is worth no more
  than silence, and the measured item that disproves it still counts as well.
- A pillar with no answered scored question is not assessed: it has no score
  and drops out of the overall, whatever was measured. A measurement tests
  claims; on its own it would turn "we did not ask" into a grade. Its measured
  half is still reported.
- Overall is the weighted mean of pillar scores, with the weights of the
  assessment's use-case profile; pillars with no score or zero weight drop out.
- Scores are rounded to one decimal, and the grade is read from the rounded
  overall so that the number shown and the grade never disagree.
- Grades: A >= 85, B >= 70, C >= 55, D >= 40, else F. A grade (and so a
  recommended decision) is given only once answers cover at least half of the
  weight of the applicable scored questions: three favourable answers out of
  forty must not read as an A. Below that the overall score is still shown,
  marked provisional.
- Evidence mix: each tier's share of the weighted points the answers put into
  the score, a refuted answer putting none (per pillar; overall, each pillar's
  share weighted as in the overall score). Shares sum to 1, or are all 0 when
  no answer put in points. An unknown tier counts as vendor asserted. A score
  is "mostly vendor asserted" when more than half of those points rest on
  vendor assertions.
- Red flags: every chosen option marked as a red flag in an applicable
  question, blockers first, then in framework order.
- Recommended decision: A or B approve, C or D approve with conditions, F
  reject, none without an overall score. A blocker red flag caps the
  recommended decision at "approve with conditions".
- Contradictions: an applicable answer that claims good behaviour, refuted by
  a measured item whose 95% interval lies beyond a threshold (the rules and
  the table of claims are in ``assessments.contradictions``), in framework
  order. Each is reported, and its answer counts 0 in the pillar score as
  above; ``refuted`` on the pillar says how many of its answers that hit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from assessments.contradictions import Contradiction, contradictions_find

METHOD_VERSION = "4"

# Share of the applicable scored questions' weight that must be answered for a grade.
MIN_COVERAGE_FOR_GRADE = 0.5

TIERS = ("vendor_asserted", "publicly_disclosed", "independently_observed")

GRADE_BANDS = (("A", 85.0), ("B", 70.0), ("C", 55.0), ("D", 40.0))

DECISION_BY_GRADE = {
    "A": "approve",
    "B": "approve",
    "C": "conditions",
    "D": "conditions",
    "F": "reject",
}


@dataclass(frozen=True)
class OptionSpec:
    value: str
    label: str
    score: float
    red_flag: str = ""  # "", "warning" or "blocker"


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    pillar: str
    text: str
    weight: float
    kind: str
    options: tuple[OptionSpec, ...] = ()
    depends_on: tuple[str, tuple[str, ...]] | None = None  # (question key, values)

    @property
    def is_scored(self) -> bool:
        return bool(self.options) and self.weight > 0


@dataclass(frozen=True)
class PillarSpec:
    key: str
    title: str


@dataclass(frozen=True)
class AnswerInput:
    question: str
    value: str | list[str] | None
    tier: str


@dataclass(frozen=True)
class MeasuredInput:
    """A metric from an evaluation run, already mapped to 0-100 (higher is better).

    The rate it was mapped from travels with it, so that contradictions can cite
    what was measured: ``successes`` of ``n`` samples showed the behaviour the
    metric counts, ``low``-``high`` is the rate's 95% Wilson interval.
    """

    pillar: str
    key: str
    label: str
    score: float
    weight: float = 1.0
    family: str = ""
    successes: int = 0
    n: int = 0
    rate: float | None = None
    low: float | None = None
    high: float | None = None
    higher_is_better: bool = True


@dataclass
class PillarResult:
    key: str
    title: str
    score: float | None  # answers (refuted ones at 0) and measured together
    claimed: float | None  # the answers as the vendor gave them
    measured: float | None
    answered: int
    applicable: int
    evidence_mix: dict[str, float] = field(default_factory=dict)
    refuted: int = 0  # answers a contradiction refutes, counted at 0 in the score


@dataclass
class RedFlag:
    question: str
    pillar: str
    text: str
    answer_label: str
    severity: str  # "warning" or "blocker"


@dataclass
class ScoreResult:
    method_version: str
    overall: float | None
    grade: str | None
    pillars: list[PillarResult]
    evidence_mix: dict[str, float]
    mostly_vendor_asserted: bool
    red_flags: list[RedFlag]  # blockers first
    unanswered: list[str]  # question keys, in framework order
    answered: int
    applicable: int
    recommended_decision: str | None  # "approve", "conditions", "reject"
    contradictions: list[Contradiction] = field(default_factory=list)
    # Answered share (0-1) of the applicable scored questions' weight.
    coverage: float = 0.0


@dataclass
class _PillarTally:
    """Running sums for one pillar while the questions are read."""

    claimed_points: float = 0.0
    claimed_weight: float = 0.0
    # The answers' points that count in the score: refuted answers' are left out.
    score_points: float = 0.0
    refuted: int = 0
    measured_points: float = 0.0
    measured_weight: float = 0.0
    answered: int = 0
    applicable: int = 0
    applicable_weight: float = 0.0
    tier_points: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(TIERS, 0.0)
    )


def grade_for(score: float | None) -> str | None:
    """Return the letter grade of a 0-100 score, or None without a score."""
    if score is None:
        return None
    for grade, lower_bound in GRADE_BANDS:
        if score >= lower_bound:
            return grade
    return "F"


def recommended_decision(grade: str | None, red_flags: Iterable[RedFlag]) -> str | None:
    """Return the decision the grade suggests, capped by any blocker red flag."""
    if grade is None:
        return None
    decision = DECISION_BY_GRADE[grade]
    has_blocker = any(flag.severity == "blocker" for flag in red_flags)
    if has_blocker and decision == "approve":
        return "conditions"
    return decision


def score_assessment(
    pillars: Sequence[PillarSpec],
    questions: Sequence[QuestionSpec],
    answers: Iterable[AnswerInput],
    profile_weights: Mapping[str, float],
    measured: Iterable[MeasuredInput] = (),
) -> ScoreResult:
    """Score one assessment; ``questions`` come in framework order."""
    answers_by_question = {answer.question: answer for answer in answers}
    measured = list(measured)
    tallies = {pillar.key: _PillarTally() for pillar in pillars}
    red_flags: list[RedFlag] = []
    unanswered: list[str] = []
    applicable: list[QuestionSpec] = []
    # Pillar, tier and points of each answered scored question, in order.
    answered_points: dict[str, tuple[str, str, float]] = {}

    for question in questions:
        tally = tallies.get(question.pillar)
        if tally is None or not _is_applicable(question, answers_by_question):
            continue
        applicable.append(question)
        answer = answers_by_question.get(question.key)
        chosen = _chosen_options(question, answer)
        red_flags.extend(
            RedFlag(
                question=question.key,
                pillar=question.pillar,
                text=question.text,
                answer_label=option.label,
                severity=option.red_flag,
            )
            for option in chosen
            if option.red_flag in ("warning", "blocker")
        )
        if not question.is_scored:
            continue
        tally.applicable += 1
        tally.applicable_weight += question.weight
        if not chosen:
            unanswered.append(question.key)
            continue
        score = min(100.0, sum(option.score for option in chosen))
        points = question.weight * score
        tally.answered += 1
        tally.claimed_points += points
        tally.claimed_weight += question.weight
        tier = answer.tier if answer.tier in TIERS else "vendor_asserted"
        answered_points[question.key] = (question.pillar, tier, points)

    contradictions = contradictions_find(applicable, answers_by_question, measured)
    refuted = {contradiction.question for contradiction in contradictions}
    for key, (pillar_key, tier, points) in answered_points.items():
        tally = tallies[pillar_key]
        if key in refuted:
            tally.refuted += 1
            continue
        tally.score_points += points
        tally.tier_points[tier] += points

    for item in measured:
        tally = tallies.get(item.pillar)
        if tally is None or item.weight <= 0:
            continue
        tally.measured_points += item.weight * min(100.0, max(0.0, item.score))
        tally.measured_weight += item.weight

    pillar_results = [_pillar_result(pillar, tallies[pillar.key]) for pillar in pillars]
    overall = _overall(pillar_results, profile_weights)
    evidence_mix = _overall_evidence_mix(pillar_results, tallies, profile_weights)
    # A stable sort keeps framework order within each severity.
    red_flags.sort(key=lambda flag: flag.severity != "blocker")
    coverage = _coverage(tallies.values())
    grade = grade_for(overall) if coverage >= MIN_COVERAGE_FOR_GRADE else None
    return ScoreResult(
        method_version=METHOD_VERSION,
        overall=overall,
        grade=grade,
        pillars=pillar_results,
        evidence_mix=evidence_mix,
        mostly_vendor_asserted=evidence_mix["vendor_asserted"] > 0.5,
        red_flags=red_flags,
        unanswered=unanswered,
        answered=sum(tally.answered for tally in tallies.values()),
        applicable=sum(tally.applicable for tally in tallies.values()),
        recommended_decision=recommended_decision(grade, red_flags),
        contradictions=contradictions,
        coverage=coverage,
    )


def _coverage(tallies: Iterable[_PillarTally]) -> float:
    tallies = list(tallies)
    applicable_weight = sum(tally.applicable_weight for tally in tallies)
    if applicable_weight <= 0:
        return 0.0
    answered_weight = sum(tally.claimed_weight for tally in tallies)
    return round(answered_weight / applicable_weight, 4)


def _is_applicable(
    question: QuestionSpec, answers_by_question: Mapping[str, AnswerInput]
) -> bool:
    if question.depends_on is None:
        return True
    parent_key, values = question.depends_on
    parent = answers_by_question.get(parent_key)
    return bool(set(_values_of(parent)) & set(values))


def _values_of(answer: AnswerInput | None) -> list[str]:
    if answer is None or answer.value is None:
        return []
    if isinstance(answer.value, str):
        return [answer.value] if answer.value else []
    return list(answer.value)


def _chosen_options(
    question: QuestionSpec, answer: AnswerInput | None
) -> list[OptionSpec]:
    values = set(_values_of(answer))
    return [option for option in question.options if option.value in values]


def _mean(points: float, weight: float) -> float | None:
    return points / weight if weight > 0 else None


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(score, 1)


def _mix(tier_points: Mapping[str, float]) -> dict[str, float]:
    total = sum(tier_points.values())
    if total <= 0:
        return dict.fromkeys(TIERS, 0.0)
    return {tier: tier_points[tier] / total for tier in TIERS}


def _pillar_result(pillar: PillarSpec, tally: _PillarTally) -> PillarResult:
    claimed = _mean(tally.claimed_points, tally.claimed_weight)
    measured = _mean(tally.measured_points, tally.measured_weight)
    score = None
    if tally.answered:
        score = _mean(
            tally.score_points + tally.measured_points,
            tally.claimed_weight + tally.measured_weight,
        )
    return PillarResult(
        key=pillar.key,
        title=pillar.title,
        score=_rounded(score),
        claimed=_rounded(claimed),
        measured=_rounded(measured),
        answered=tally.answered,
        applicable=tally.applicable,
        evidence_mix=_mix(tally.tier_points),
        refuted=tally.refuted,
    )


def _counting_weights(
    pillar_results: Sequence[PillarResult], profile_weights: Mapping[str, float]
) -> dict[str, float]:
    """Return the profile weight of each pillar that takes part in the overall."""
    weights = {}
    for pillar in pillar_results:
        weight = profile_weights.get(pillar.key, 0) or 0
        if pillar.score is not None and weight > 0:
            weights[pillar.key] = float(weight)
    return weights


def _overall(
    pillar_results: Sequence[PillarResult], profile_weights: Mapping[str, float]
) -> float | None:
    weights = _counting_weights(pillar_results, profile_weights)
    scores = {pillar.key: pillar.score for pillar in pillar_results}
    points = sum(weight * scores[key] for key, weight in weights.items())
    return _rounded(_mean(points, sum(weights.values())))


def _overall_evidence_mix(
    pillar_results: Sequence[PillarResult],
    tallies: Mapping[str, _PillarTally],
    profile_weights: Mapping[str, float],
) -> dict[str, float]:
    # A question's share of the overall score is its points over its pillar's
    # weight, times the pillar's share of the profile weights.
    weights = _counting_weights(pillar_results, profile_weights)
    tier_points = dict.fromkeys(TIERS, 0.0)
    for key, weight in weights.items():
        # A pillar counts only once assessed, so it has answered weight.
        tally = tallies[key]
        for tier, points in tally.tier_points.items():
            tier_points[tier] += weight * points / tally.claimed_weight
    return _mix(tier_points)
