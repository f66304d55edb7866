"""Reads for the assessment pages. Each section has one owner; add, don't rewrite."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.timesince import timesince

from assessments import scoring
from assessments.models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceTier,
    Framework,
    Pillar,
    Question,
    ScoreCard,
    VendorLink,
    VendorResponse,
)
from evals.measures import measured_inputs
from evals.selectors import latest_family_results, merged_metrics

# --- Questionnaire -----------------------------------------------------------

REVISIONS_SHOWN = 10
# Framework versions held per process; a deployment serves one or two.
CACHED_FRAMEWORKS = 8
ONE_MINUTE = datetime.timedelta(minutes=1)
# The answer's fields in the order the form shows them, as a person names them.
ANSWER_FIELD_LABELS = {
    "value": "Answer",
    "tier": "Evidence",
    "source_url": "Source",
    "note": "Note",
}
RADIO_KINDS = (Question.Kind.YES_NO, Question.Kind.CHOICE, Question.Kind.SCALE)
# What a history line shows, read as plain values: building model instances for
# every revision with its person and vendor link was a good part of the page.
REVISION_FIELDS = (
    "answer_id",
    "changed_at",
    "old",
    "new",
    "changed_by_id",
    "changed_by__username",
    "changed_by__first_name",
    "changed_by__last_name",
    "vendor_response_id",
    "vendor_response__link__contact_name",
    "vendor_response__link__contact_email",
)


@dataclass(frozen=True)
class PillarProgress:
    key: str
    title: str
    answered: int
    applicable: int

    @property
    def percent(self) -> int:
        if not self.applicable:
            return 100
        return round(100 * self.answered / self.applicable)

    @property
    def is_complete(self) -> bool:
        return self.answered >= self.applicable


@dataclass(frozen=True)
class ConflictField:
    """One field on which the newer stored answer and this person's version differ."""

    label: str
    theirs: str
    mine: str


@dataclass(frozen=True)
class Conflict:
    """A save refused because someone saved a newer version of the answer first.

    ``differences`` lists every field "Use mine" would change; ``kept`` names
    the fields the other person changed and this person did not, which stay
    as the other person saved them whichever is chosen.
    """

    answer: Answer | None
    differences: tuple[ConflictField, ...] = ()
    kept: tuple[str, ...] = ()

    @property
    def who(self) -> str:
        if self.answer is None:
            return "Someone"
        if self.answer.answered_by is None:
            return "The public evidence import"
        person = self.answer.answered_by
        return person.get_full_name() or person.get_username()

    @property
    def kept_sentence(self) -> str:
        """Say which of the other person's changes stay whichever side is chosen."""
        if not self.kept:
            return ""
        listed = self.kept[-1]
        if len(self.kept) > 1:
            listed = f"{', '.join(self.kept[:-1])} and {listed}"
        one = len(self.kept) == 1
        stay, them = ("stays", "it") if one else ("stay", "them")
        return f"The {listed} they saved {stay} either way: you did not change {them}."


@dataclass(frozen=True)
class RevisionRow:
    """One change in an answer's history, said the way a person reads it."""

    who: str
    at: datetime.datetime
    changes: tuple[str, ...]

    @property
    def when(self) -> str:
        return date_format(timezone.localtime(self.at), "j M, H:i")

    @property
    def summary(self) -> str:
        return "; ".join(self.changes) or "no visible change"


class FieldErrors(dict):
    """A form's errors by field name; a field without errors has an empty list.

    The questionnaire asks for every field's errors on every question, and a
    missing key costs the template engine several exceptions each time.
    """

    def __missing__(self, name: str) -> list[str]:
        return []


def value_as_list(value: Any) -> list[str]:
    """An answer's value as a list, so templates can test membership for any kind."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


@dataclass(frozen=True)
class QuestionRow:
    """One question as the questionnaire shows it, with what its form should hold."""

    question: Question
    number: int
    answer: Answer | None
    applicable: bool
    depends_on_text: str = ""
    depends_on_labels: tuple[str, ...] = ()
    depends_on_kind: str = ""
    revision_count: int = 0
    # What the inputs show: the stored answer, or what was typed when a save failed.
    value: Any = None
    tier: str = ""
    source_url: str = ""
    note: str = ""
    version: int = 0
    # The field values the form was rendered from, posted back with every save
    # so that the save changes only what the person changed.
    base: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=FieldErrors)
    conflict: Conflict | None = None
    just_saved: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.errors, FieldErrors):
            object.__setattr__(self, "errors", FieldErrors(self.errors))

    @property
    def key(self) -> str:
        return self.question.key

    @property
    def values(self) -> list[str]:
        return value_as_list(self.value)

    @property
    def fingerprint(self) -> str:
        """Everything the answer fields and the status line show, as one string.

        The questionnaire keeps their markup per fingerprint, so a change to
        anything they show must change it. The viewer (the status line says
        "you") and whether the form is editable are added by the template.
        """
        question, answer = self.question, self.answer
        saved = None
        if answer is not None:
            saved = [
                answer.tier,
                answer.is_answered,
                answer.answered_by_id,
                answer.answered_by.get_username() if answer.answered_by else "",
                answer.evidence_import.edition if answer.evidence_import else "",
                self.saved_ago,
            ]
        return json.dumps(
            [
                question.key,
                question.kind,
                question.options,
                question.help_text,
                question.evidence_hint,
                self.number,
                self.value,
                self.tier,
                self.source_url,
                self.note,
                self.version,
                self.base,
                self.revision_count,
                self.just_saved,
                saved,
            ],
            default=str,
        )

    @property
    def depends_on_choices(self) -> str:
        """The answers that make this question apply, as A, B or C.

        Short labels read as words (Yes or Partly); longer ones are quoted so
        that commas inside a label do not run into the list.
        """
        labels = list(self.depends_on_labels)
        if any("," in label or len(label.split()) > 3 for label in labels):
            labels = [f"“{label}”" for label in labels]
        if len(labels) < 2:
            return "".join(labels)
        return f"{', '.join(labels[:-1])} or {labels[-1]}"

    @property
    def asked_when(self) -> str:
        """Say when a question that does not apply yet is asked, as a sentence."""
        if not self.depends_on_text:
            return ""
        short = Truncator(self.depends_on_text).chars(80)
        multi = self.depends_on_kind == Question.Kind.MULTI
        verb = "includes" if multi else "is answered"
        return f"Asked only when “{short}” {verb} {self.depends_on_choices}."

    @property
    def base_json(self) -> str:
        return json.dumps(self.base, separators=(",", ":"))

    @property
    def is_clearable(self) -> bool:
        """Radio buttons cannot be unticked, so these questions get a clear button."""
        return self.question.kind in RADIO_KINDS

    @property
    def not_saved_reason(self) -> str:
        """Say why the last save was refused and what to do, for the status line."""
        general = self.errors.get(NON_FIELD_ERRORS)
        if general:
            return " ".join(general)
        names = [
            f"the {label.lower()}"
            for name, label in ANSWER_FIELD_LABELS.items()
            if name in self.errors
        ]
        if not names:
            return ""
        listed = names[-1]
        if len(names) > 1:
            listed = f"{', '.join(names[:-1])} and {listed}"
        return (
            f"Fix {listed} as marked above; nothing on this question is saved "
            "until then."
        )

    @property
    def saved_ago(self) -> str:
        if self.answer is None:
            return ""
        if self.just_saved or timezone.now() - self.answer.updated_at < ONE_MINUTE:
            return "just now"
        return f"{timesince(self.answer.updated_at)} ago"

    @property
    def unknown_values(self) -> list[str]:
        """Typed values that are not options of the question (after a refused save)."""
        if not self.question.options:
            return []
        known = {option["value"] for option in self.question.options}
        return [value for value in self.values if value not in known]

    @property
    def is_answered(self) -> bool:
        return self.answer is not None and self.answer.is_answered

    @property
    def stored_label(self) -> str:
        """The stored answer's value in words, or "" when there is none."""
        if not self.is_answered:
            return ""
        return answer_value_label(self.question, self.answer.value)

    def with_typed(self, typed: dict[str, Any], **changes) -> QuestionRow:
        """Return the row showing what a person typed instead of the stored answer."""
        return dataclasses.replace(
            self,
            value=typed.get("value"),
            tier=typed.get("tier", self.tier),
            source_url=typed.get("source_url", ""),
            note=typed.get("note", ""),
            **changes,
        )


def question_is_applicable(depends_on: dict, values_by_key: dict[str, Any]) -> bool:
    """Say whether a question is asked, given the answers it may depend on."""
    # Same rule as scoring._is_applicable, over model data rather than specs;
    # the two must change together.
    if not depends_on:
        return True
    value = values_by_key.get(depends_on["question"])
    chosen = value if isinstance(value, list) else [value]
    return any(item in depends_on["values"] for item in chosen)


def _progress(
    framework: Framework, answer_rows: list[tuple[str, Any, str]]
) -> list[PillarProgress]:
    """Count what the score counts: applicable scored questions, and those answered.

    The counts come from scoring itself, so the questionnaire and the dashboard
    cannot disagree; questions without a score (links, numbers) are not counted.
    """
    pillars, questions = framework_specs(framework)
    result = scoring.score_assessment(
        pillars,
        questions,
        [
            scoring.AnswerInput(question=key, value=value, tier=tier)
            for key, value, tier in answer_rows
        ],
        {},
    )
    return [
        PillarProgress(
            key=pillar.key,
            title=pillar.title,
            answered=pillar.answered,
            applicable=pillar.applicable,
        )
        for pillar in result.pillars
    ]


@dataclass(frozen=True)
class Questionnaire:
    pillars: list[PillarProgress]
    pillar: Pillar
    rows: list[QuestionRow]

    @property
    def current(self) -> PillarProgress:
        return next(p for p in self.pillars if p.key == self.pillar.key)

    @property
    def answered(self) -> int:
        return sum(p.answered for p in self.pillars)

    @property
    def applicable(self) -> int:
        return sum(p.applicable for p in self.pillars)

    def row(self, key: str) -> QuestionRow | None:
        return next((row for row in self.rows if row.key == key), None)

    def next_pillar(self) -> PillarProgress | None:
        keys = [p.key for p in self.pillars]
        index = keys.index(self.pillar.key)
        return self.pillars[index + 1] if index + 1 < len(self.pillars) else None


def questionnaire_for_assessment(
    assessment: Assessment, *, pillar_key: str | None = None
) -> Questionnaire:
    """Return every pillar's progress and the chosen pillar's questions with answers.

    Two queries however many questions: the chosen pillar's answers with the
    number of changes of each, and every answer's value for the progress. The
    pillars and questions come from a per-process cache. An unknown
    ``pillar_key`` falls back to the first pillar.
    """
    pillars, questions = framework_rows(assessment.framework)
    pillar = next((p for p in pillars if p.key == pillar_key), pillars[0])

    # Only the number of changes is shown inline; the history itself loads
    # when a person opens it (answer_history).
    answers_by_question = {
        answer.question_id: answer
        for answer in Answer.objects.filter(
            assessment=assessment, question__pillar=pillar
        )
        .select_related("answered_by", "evidence_import")
        .annotate(revision_count=models.Count("revisions"))
    }
    answer_rows = list(
        Answer.objects.filter(assessment=assessment).values_list(
            "question__key", "value", "tier"
        )
    )
    values_by_key = {key: value for key, value, _ in answer_rows}

    by_key = {question.key: question for question in questions}
    rows = [
        _row(question, answers_by_question.get(question.pk), values_by_key, by_key)
        for question in questions
        if question.pillar_id == pillar.pk
    ]
    return Questionnaire(
        pillars=_progress(assessment.framework, answer_rows),
        pillar=pillar,
        rows=rows,
    )


def framework_rows(
    framework: Framework,
) -> tuple[tuple[Pillar, ...], tuple[Question, ...]]:
    """Return a framework's pillars and questions in order, cached per process.

    A framework version that assessments use never changes (framework_sync
    refuses to), and one nobody uses yet is rewritten with a new checksum, so
    its pk and checksum name its rows. ``loaded_at`` joins the key because a
    rolled-back or restored database can hand the same pk and checksum to
    different rows. The instances are shared between requests: read them,
    never change them.
    """
    return _framework_rows(framework.pk, framework.checksum, framework.loaded_at)


@functools.lru_cache(maxsize=CACHED_FRAMEWORKS)
def _framework_rows(
    framework_id: int, checksum: str, loaded_at: datetime.datetime
) -> tuple[tuple[Pillar, ...], tuple[Question, ...]]:
    pillars = tuple(Pillar.objects.filter(framework_id=framework_id).order_by("order"))
    questions = tuple(
        Question.objects.filter(framework_id=framework_id).order_by(
            "pillar__order", "order"
        )
    )
    return pillars, questions


def framework_specs(
    framework: Framework,
) -> tuple[tuple[scoring.PillarSpec, ...], tuple[scoring.QuestionSpec, ...]]:
    """Return the framework's pillars and questions as scoring reads them.

    Cached beside ``framework_rows`` and under the same key: building a spec
    for every question on every page view cost the questionnaire half a
    millisecond.
    """
    return _framework_specs(framework.pk, framework.checksum, framework.loaded_at)


@functools.lru_cache(maxsize=CACHED_FRAMEWORKS)
def _framework_specs(
    framework_id: int, checksum: str, loaded_at: datetime.datetime
) -> tuple[tuple[scoring.PillarSpec, ...], tuple[scoring.QuestionSpec, ...]]:
    pillars, questions = _framework_rows(framework_id, checksum, loaded_at)
    pillar_keys = {pillar.pk: pillar.key for pillar in pillars}
    return (
        tuple(
            scoring.PillarSpec(key=pillar.key, title=pillar.title) for pillar in pillars
        ),
        tuple(
            _question_spec(
                {
                    "key": question.key,
                    "pillar__key": pillar_keys[question.pillar_id],
                    "text": question.text,
                    "weight": question.weight,
                    "kind": question.kind,
                    "options": question.options,
                    "depends_on": question.depends_on,
                }
            )
            for question in questions
        ),
    )


def _row(
    question: Question,
    answer: Answer | None,
    values_by_key: dict[str, Any],
    by_key: dict[str, Question],
) -> QuestionRow:
    depends_on_text = ""
    depends_on_labels: tuple[str, ...] = ()
    depends_on_kind = ""
    if question.depends_on:
        target = by_key.get(question.depends_on["question"])
        if target is not None:
            depends_on_text = target.text
            depends_on_kind = target.kind
            depends_on_labels = tuple(
                target.option_label(value) for value in question.depends_on["values"]
            )
    return QuestionRow(
        question=question,
        number=question.order,
        answer=answer,
        applicable=question_is_applicable(question.depends_on, values_by_key),
        depends_on_text=depends_on_text,
        depends_on_labels=depends_on_labels,
        depends_on_kind=depends_on_kind,
        revision_count=answer.revision_count if answer else 0,
        value=answer.value if answer else None,
        tier=answer.tier if answer else "vendor_asserted",
        source_url=answer.source_url if answer else "",
        note=answer.note if answer else "",
        version=answer.version if answer else 0,
        base=answer_base(answer),
    )


def answer_base(answer: Answer | None) -> dict[str, Any]:
    """Return an answer's field values as a form renders them (defaults if none)."""
    if answer is None:
        return {
            "value": None,
            "tier": EvidenceTier.VENDOR_ASSERTED.value,
            "source_url": "",
            "note": "",
        }
    return {name: getattr(answer, name) for name in ANSWER_FIELD_LABELS}


def _field_label(question: Question, name: str, value: Any) -> str:
    if name == "value":
        return answer_value_label(question, value)
    if name == "tier":
        return dict(EvidenceTier.choices).get(value, value or "—")
    return value or "None"


def answer_conflict(
    question: Question,
    answer: Answer | None,
    *,
    mine: dict[str, Any],
    base: dict[str, Any] | None,
) -> Conflict:
    """Describe a refused stale save: what differs, and what stays theirs anyway.

    ``mine`` is what the answer would become with this person's changes laid
    over the newer ``answer``; ``base`` what their form was rendered from.
    """
    theirs = answer_base(answer)
    differences = tuple(
        ConflictField(
            label=label,
            theirs=_field_label(question, name, theirs[name]),
            mine=_field_label(question, name, mine.get(name, theirs[name])),
        )
        for name, label in ANSWER_FIELD_LABELS.items()
        if mine.get(name, theirs[name]) != theirs[name]
    )
    kept = ()
    if base is not None:
        kept = tuple(
            label.lower()
            for name, label in ANSWER_FIELD_LABELS.items()
            if name in base
            and theirs[name] != base[name]
            and mine.get(name, theirs[name]) == theirs[name]
        )
    return Conflict(answer=answer, differences=differences, kept=kept)


def questionnaire_dependents(
    questionnaire: Questionnaire, question: Question
) -> list[QuestionRow]:
    """Return the rows on the page whose applicability hangs on ``question``."""
    return [
        row
        for row in questionnaire.rows
        if row.question.depends_on.get("question") == question.key
    ]


def answer_value_label(question: Question, value: Any) -> str:
    """Say an answer's value in words: option labels for choices, else as typed."""
    if value in (None, "", []):
        return "No answer"
    if isinstance(value, list):
        return ", ".join(question.option_label(str(item)) for item in value)
    if question.options:
        return question.option_label(str(value))
    return str(value)


def _revision_row(question: Question, revision: dict[str, Any]) -> RevisionRow:
    """Say one revision (a row of REVISION_FIELDS) the way the history lists it."""
    old, new = revision["old"] or {}, revision["new"] or {}
    changes = []
    if old.get("value") != new.get("value"):
        before = answer_value_label(question, old.get("value"))
        after = answer_value_label(question, new.get("value"))
        changes.append(after if not old else f"{before} → {after}")
    if old and old.get("tier") != new.get("tier"):
        tiers = dict(EvidenceTier.choices)
        changes.append(
            f"evidence {tiers.get(old.get('tier'), '—')} → "
            f"{tiers.get(new.get('tier'), '—')}"
        )
    for name, label in (("source_url", "source"), ("note", "note")):
        before, after = old.get(name) or "", new.get(name) or ""
        if before != after:
            changes.append(f"{label} {_history_text(before)} → {_history_text(after)}")
    if revision["changed_by_id"] is not None:
        person = get_user_model()(
            username=revision["changed_by__username"],
            first_name=revision["changed_by__first_name"],
            last_name=revision["changed_by__last_name"],
        )
        who = person.get_full_name() or person.get_username()
    elif new.get("evidence_import"):
        who = "Public evidence import"
    else:
        who = "Someone"
    if revision["vendor_response_id"] is not None:
        link = VendorLink(
            contact_name=revision["vendor_response__link__contact_name"],
            contact_email=revision["vendor_response__link__contact_email"],
        )
        who = f"{who}, accepting the answer of {link.contact_label} (vendor contact)"
    return RevisionRow(who=who, at=revision["changed_at"], changes=tuple(changes))


def _history_text(text: str) -> str:
    """Quote a source or note for the history line, shortened; "none" when empty."""
    if not text:
        return "none"
    return f"“{Truncator(text).chars(60)}”"


@dataclass(frozen=True)
class AnswerHistory:
    """The latest changes of one answer, and how many there are in all."""

    revisions: tuple[RevisionRow, ...]
    count: int

    @property
    def is_cut_short(self) -> bool:
        return self.count > len(self.revisions)


def answer_history(assessment: Assessment, question: Question) -> AnswerHistory:
    """Return the latest REVISIONS_SHOWN changes of the assessment's answer."""
    revisions = AnswerRevision.objects.filter(
        answer__assessment=assessment, answer__question=question
    )
    shown = tuple(
        _revision_row(question, revision)
        for revision in revisions.values(*REVISION_FIELDS)[:REVISIONS_SHOWN]
    )
    count = len(shown) if len(shown) < REVISIONS_SHOWN else revisions.count()
    return AnswerHistory(revisions=shown, count=count)


# --- Scoring -------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringInputs:
    """Everything ``scoring.score_assessment`` needs, as plain data."""

    pillars: tuple[scoring.PillarSpec, ...]
    questions: tuple[scoring.QuestionSpec, ...]
    answers: tuple[scoring.AnswerInput, ...]
    profile_weights: dict[str, float]
    measured: tuple[scoring.MeasuredInput, ...] = ()


def assessment_profile_weights(assessment: Assessment) -> dict[str, float]:
    """Return the pillar weights of the assessment's use-case profile."""
    if assessment.profile == "custom" and assessment.custom_weights:
        weights = assessment.custom_weights
    else:
        profile = assessment.framework.profiles.get(assessment.profile, {})
        weights = profile.get("weights", {})
    cleaned = {}
    for key, weight in weights.items():
        try:
            cleaned[key] = max(0.0, float(weight))
        except (TypeError, ValueError):
            cleaned[key] = 0.0
    return cleaned


QUESTION_SPEC_FIELDS = (
    "key",
    "pillar__key",
    "text",
    "weight",
    "kind",
    "options",
    "depends_on",
)


def assessment_scoring_inputs(assessment: Assessment) -> ScoringInputs:
    """Read the assessment's framework, answers and measured items in four queries.

    Measured items come from the latest completed run of the assessment's
    offering, whichever assessment started it: a run measures the model, not
    one use case.
    """
    framework = assessment.framework
    pillars = tuple(
        scoring.PillarSpec(key=key, title=title)
        for key, title in framework.pillars.order_by("order").values_list(
            "key", "title"
        )
    )
    question_rows = (
        Question.objects.filter(framework=framework)
        .order_by("pillar__order", "order")
        .values(*QUESTION_SPEC_FIELDS)
    )
    questions = tuple(_question_spec(row) for row in question_rows)
    answers = tuple(
        scoring.AnswerInput(question=key, value=value, tier=tier)
        for key, value, tier in Answer.objects.filter(
            assessment=assessment
        ).values_list("question__key", "value", "tier")
    )
    latest = latest_family_results(assessment.offering_id)
    return ScoringInputs(
        pillars=pillars,
        questions=questions,
        answers=answers,
        profile_weights=assessment_profile_weights(assessment),
        measured=tuple(measured_inputs(merged_metrics(latest))),
    )


def _question_spec(row: dict[str, Any]) -> scoring.QuestionSpec:
    depends_on = row["depends_on"] or None
    return scoring.QuestionSpec(
        key=row["key"],
        pillar=row["pillar__key"],
        text=row["text"],
        weight=row["weight"],
        kind=row["kind"],
        options=tuple(
            scoring.OptionSpec(
                value=option["value"],
                label=option["label"],
                score=option["score"],
                red_flag=option.get("red_flag", ""),
            )
            for option in row["options"]
        ),
        depends_on=(
            (depends_on["question"], tuple(depends_on["values"]))
            if depends_on
            else None
        ),
    )


def assessment_scorecard(assessment: Assessment) -> dict[str, Any] | None:
    """Return the stored score (``dataclasses.asdict(ScoreResult)``) or None."""
    return (
        ScoreCard.objects.filter(assessment=assessment)
        .values_list("data", flat=True)
        .first()
    )


def assessment_score_is_pending(assessment: Assessment) -> bool:
    """Tell whether the stored score predates the latest change to the answers."""
    if assessment.rescore_pending:
        return True
    if assessment.rescore_requested_at is None:
        return False
    # The pending flag is cleared when a rescoring starts, before the new score
    # is stored; comparing times keeps pages waiting through that gap.
    computed_at = (
        ScoreCard.objects.filter(assessment=assessment)
        .values_list("computed_at", flat=True)
        .first()
    )
    return computed_at is None or computed_at < assessment.rescore_requested_at


# --- Vendor links ----------------------------------------------------------------


@dataclass(frozen=True)
class VendorQuestionRow:
    """One vendor-facing question as the contact sees it, with their own answer."""

    question: Question
    number: int
    response: VendorResponse | None
    asked_when: str = ""
    # What the inputs show: the contact's answer, or what they typed when refused.
    value: Any = None
    source_url: str = ""
    comment: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    just_sent: bool = False

    @property
    def key(self) -> str:
        return self.question.key

    @property
    def values(self) -> list[str]:
        return value_as_list(self.value)

    @property
    def general_errors(self) -> list[str]:
        return self.errors.get(NON_FIELD_ERRORS, [])

    @property
    def sent_label(self) -> str:
        if self.response is None:
            return ""
        return answer_value_label(self.question, self.response.value)


@dataclass(frozen=True)
class VendorPortalPillar:
    title: str
    rows: list[VendorQuestionRow]


def vendor_portal(link: VendorLink) -> list[VendorPortalPillar]:
    """Return the link's vendor-facing questions by pillar with the contact's answers.

    Only what the contact may see: question text, options and their own
    answers and follow-ups; never scores, flags, notes or the founder's answers.
    """
    questions = list(
        Question.objects.filter(
            framework_id=link.assessment.framework_id, vendor_facing=True
        )
        .select_related("pillar")
        .order_by("pillar__order", "order")
    )
    responses = {r.question_id: r for r in link.responses.all()}
    by_key = {q.key: q for q in questions}
    pillars: dict[int, VendorPortalPillar] = {}
    for number, question in enumerate(questions, start=1):
        pillar = pillars.setdefault(
            question.pillar_id, VendorPortalPillar(question.pillar.title, [])
        )
        pillar.rows.append(
            vendor_question_row(
                question, responses.get(question.pk), number=number, by_key=by_key
            )
        )
    return list(pillars.values())


def vendor_question_row(
    question: Question,
    response: VendorResponse | None,
    *,
    number: int,
    by_key: dict[str, Question] | None = None,
) -> VendorQuestionRow:
    asked_when = ""
    target_key = question.depends_on.get("question", "")
    if by_key is None and target_key:
        by_key = {
            q.key: q
            for q in Question.objects.filter(
                framework_id=question.framework_id, key=target_key
            )
        }
    target = (by_key or {}).get(target_key)
    if target is not None:
        labels = [target.option_label(v) for v in question.depends_on["values"]]
        asked_when = (
            f"Only if your answer to “{Truncator(target.text).chars(80)}” is "
            f"{' or '.join(labels)}."
        )
    return VendorQuestionRow(
        question=question,
        number=number,
        response=response,
        asked_when=asked_when,
        value=response.value if response else None,
        source_url=response.source_url if response else "",
        comment=response.comment if response else "",
    )


def vendor_question_number(link: VendorLink, question: Question) -> int:
    """Return the question's position among the link's vendor-facing questions."""
    return (
        Question.objects.filter(
            framework_id=link.assessment.framework_id, vendor_facing=True
        )
        .filter(
            models.Q(pillar__order__lt=question.pillar.order)
            | models.Q(pillar__order=question.pillar.order, order__lt=question.order)
        )
        .count()
        + 1
    )


@dataclass(frozen=True)
class VendorReviewItem:
    """A contact's answer beside the assessment's current answer, for review."""

    response: VendorResponse
    answer: Answer | None

    @property
    def question(self) -> Question:
        return self.response.question

    @property
    def value_label(self) -> str:
        return answer_value_label(self.question, self.response.value)

    @property
    def current_label(self) -> str:
        if self.answer is None or not self.answer.is_answered:
            return ""
        return answer_value_label(self.question, self.answer.value)

    @property
    def is_same_as_current(self) -> bool:
        return (
            self.answer is not None
            and self.answer.value == self.response.value
            and self.answer.tier == EvidenceTier.VENDOR_ASSERTED
        )


@dataclass(frozen=True)
class VendorReview:
    links: list[VendorLink]
    to_review: list[VendorReviewItem]
    waiting: list[VendorReviewItem]
    accepted: list[VendorReviewItem]


def vendor_review(assessment: Assessment) -> VendorReview:
    """Return an assessment's vendor links and their contacts' answers by state."""
    links = list(
        assessment.vendor_links.select_related("created_by").annotate(
            response_count=models.Count("responses")
        )
    )
    responses = list(
        VendorResponse.objects.filter(link__assessment=assessment)
        .select_related("link", "question__pillar", "reviewed_by")
        .order_by("question__pillar__order", "question__order", "-submitted_at")
    )
    answers = {
        answer.question_id: answer
        for answer in Answer.objects.filter(
            assessment=assessment,
            question_id__in=[r.question_id for r in responses],
        )
    }
    items = [VendorReviewItem(r, answers.get(r.question_id)) for r in responses]
    by_status = {status: [] for status in VendorResponse.Status.values}
    for item in items:
        by_status[item.response.status].append(item)
    return VendorReview(
        links=links,
        to_review=by_status[VendorResponse.Status.PENDING],
        waiting=by_status[VendorResponse.Status.FOLLOW_UP],
        accepted=by_status[VendorResponse.Status.ACCEPTED],
    )


def vendor_review_item(response: VendorResponse) -> VendorReviewItem:
    answer = Answer.objects.filter(
        assessment_id=response.link.assessment_id, question_id=response.question_id
    ).first()
    return VendorReviewItem(response, answer)


def vendor_responses_pending_count(assessment: Assessment) -> int:
    return VendorResponse.objects.filter(
        link__assessment=assessment, status=VendorResponse.Status.PENDING
    ).count()
