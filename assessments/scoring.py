"""Score an assessment from plain data: no ORM, no I/O, deterministic.

Method, version 1:
- A question's score is its chosen option's 0-100 value (multiple choice: the
  sum of the chosen options' values, capped at 100). "Unknown" and "not
  disclosed" options carry 0: for a founder, silence is information.
- Unanswered questions and questions whose ``depends_on`` is not met are left
  out of the score and reported as coverage, so a half-filled assessment shows
  a provisional score rather than a falsely low one.
- A pillar's claimed score is the weighted mean of its answered, scored
  questions. Measured items (0-100, from evaluation runs) form the measured
  half; the pillar score is the weighted mean of both halves' items together.
- Overall is the weighted mean of pillar scores, with the weights of the
  assessment's use-case profile; pillars with no score or zero weight drop out.
- Grades: A >= 85, B >= 70, C >= 55, D >= 40, else F.
- Evidence mix: each tier's share of the weighted points behind the claimed
  score.
- A blocker red flag caps the recommended decision at "approve with conditions".
"""

from __future__ import annotations

from dataclasses import dataclass, field

METHOD_VERSION = "1"

TIERS = ("vendor_asserted", "publicly_disclosed", "independently_observed")


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
    """A metric from an evaluation run, already mapped to 0-100 (higher is better)."""

    pillar: str
    key: str
    label: str
    score: float
    weight: float = 1.0


@dataclass
class PillarResult:
    key: str
    title: str
    score: float | None  # claimed and measured together
    claimed: float | None
    measured: float | None
    answered: int
    applicable: int
    evidence_mix: dict[str, float] = field(default_factory=dict)


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
