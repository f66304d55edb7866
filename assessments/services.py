"""Writes to assessments and answers: rescoring, starting, saving answers."""

from __future__ import annotations

import dataclasses
import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from assessments.models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceTier,
    Question,
)

logger = logging.getLogger(__name__)


# --- Rescoring -------------------------------------------------------------


def assessment_rescore_request(assessment) -> None:
    """Mark the assessment's score stale and enqueue one rescoring after commit.

    Only the request that turns ``rescore_pending`` on enqueues a task, so a
    burst of answer saves within the delay coalesces into one rescoring.
    """
    from django.conf import settings
    from kombu.exceptions import OperationalError as BrokerError

    from assessments.tasks import rescore_assessment

    assessment_id = assessment.pk
    marked = Assessment.objects.filter(pk=assessment_id, rescore_pending=False).update(
        rescore_pending=True
    )
    assessment.rescore_pending = True
    if not marked:
        return

    def enqueue() -> None:
        try:
            rescore_assessment.apply_async(
                (assessment_id,), countdown=settings.CANDOR_RESCORE_DELAY_SECONDS
            )
        except BrokerError:
            # Without this reset the flag would stay on with no task coming,
            # and no later save would enqueue one again.
            logger.exception("rescore not enqueued assessment=%s", assessment_id)
            Assessment.objects.filter(pk=assessment_id).update(rescore_pending=False)

    # Limitation: if the broker accepts the task and then loses it, the flag
    # stays on and later saves do not enqueue again until a rescoring runs. A
    # periodic sweep of assessments pending for longer than the delay would
    # lift this; with acks_late and a persistent Redis it has not been needed.
    transaction.on_commit(enqueue)


def assessment_rescore(assessment_id: int):
    """Claim a pending rescoring, compute the score from fresh rows and store it.

    Returns the ScoreCard, or None when the assessment no longer exists.
    """
    from assessments.models import ScoreCard
    from assessments.scoring import METHOD_VERSION, score_assessment
    from assessments.selectors import assessment_scoring_inputs

    # Claim before reading the answers: a save landing after this point turns
    # the flag on again and enqueues a new rescoring, so no change is missed.
    claimed = Assessment.objects.filter(pk=assessment_id, rescore_pending=True).update(
        rescore_pending=False
    )
    assessment = (
        Assessment.objects.select_related("framework").filter(pk=assessment_id).first()
    )
    if assessment is None:
        logger.warning("rescore skipped, no such assessment=%s", assessment_id)
        return None
    if not claimed:
        logger.info(
            "rescore not pending, computing anyway assessment=%s", assessment_id
        )

    inputs = assessment_scoring_inputs(assessment)
    result = score_assessment(
        inputs.pillars,
        inputs.questions,
        inputs.answers,
        inputs.profile_weights,
        inputs.measured,
    )
    scorecard, _ = ScoreCard.objects.update_or_create(
        assessment=assessment,
        defaults={
            "data": dataclasses.asdict(result),
            "method_version": METHOD_VERSION,
        },
    )
    logger.info(
        "assessment rescored assessment=%s overall=%s grade=%s answered=%s/%s",
        assessment_id,
        result.overall,
        result.grade,
        result.answered,
        result.applicable,
    )
    return scorecard


# --- Assessments and answers -----------------------------------------------


def assessment_start(*, offering, framework, profile: str, user, **fields):
    """Create an assessment of an offering, pre-fill public evidence, score it.

    ``fields`` may hold ``owner``, ``due_date`` and, for the custom profile,
    ``custom_weights`` ({pillar key: weight}).
    """
    from assessments.public_evidence import public_evidence_prefill

    if profile not in framework.profiles:
        raise ValidationError({"profile": "Choose one of the use-case profiles."})
    assessment = Assessment.objects.create(
        workspace_id=offering.vendor.workspace_id,
        offering=offering,
        framework=framework,
        profile=profile,
        owner=fields.pop("owner", user),
        **fields,
    )
    logger.info(
        "assessment started assessment=%s offering=%s framework=%s profile=%s user=%s",
        assessment.pk,
        offering.pk,
        framework.pk,
        profile,
        user.pk,
    )
    public_evidence_prefill(assessment)
    assessment_rescore_request(assessment)
    return assessment


ASSESSMENT_EDIT_FIELDS = ("status", "decision", "rationale", "due_date", "owner")


def assessment_update(*, assessment, user, **fields):
    """Change an assessment's review state, decision, rationale, due date or owner."""
    for name, value in fields.items():
        if name not in ASSESSMENT_EDIT_FIELDS:
            raise TypeError(f"assessment_update got an unexpected field {name!r}")
        setattr(assessment, name, value)
    if assessment.status == Assessment.Status.DECIDED and not assessment.decision:
        raise ValidationError(
            {"decision": "Choose a decision before marking the assessment decided."}
        )
    assessment.save(update_fields=[*fields, "updated_at"])
    logger.info(
        "assessment updated assessment=%s status=%s decision=%s user=%s",
        assessment.pk,
        assessment.status,
        assessment.decision or "-",
        user.pk,
    )
    return assessment


ANSWER_FIELDS = ("value", "tier", "source_url", "note")
NOTE_MAX_CHARS = 10_000
TEXT_MAX_CHARS = 10_000


class AnswerConflict(Exception):
    """A save carried an older version than the stored answer: someone saved first."""

    def __init__(self, answer) -> None:
        super().__init__(f"answer={answer.pk} is at version {answer.version}")
        self.answer = answer


def answer_value_clean(question, raw):
    """Return the value to store for a question from what was posted, or raise.

    Multiple choice takes a list of option values and keeps the options' order;
    every other kind takes one string. Blank means "not answered" (None).
    """
    kind = question.kind
    option_values = [option["value"] for option in question.options]
    if kind == Question.Kind.MULTI:
        items = raw if isinstance(raw, list | tuple) else [raw]
        chosen = {str(item).strip() for item in items if item not in (None, "")}
        chosen.discard("")
        unknown = sorted(chosen - set(option_values))
        if unknown:
            raise ValidationError(
                {"value": f"“{unknown[0]}” is not one of this question's options."}
            )
        return [value for value in option_values if value in chosen] or None

    if isinstance(raw, list | tuple):
        raw = raw[-1] if raw else ""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if kind in (Question.Kind.YES_NO, Question.Kind.CHOICE, Question.Kind.SCALE):
        if text not in option_values:
            raise ValidationError(
                {"value": f"“{text}” is not one of this question's options."}
            )
        return text
    if kind == Question.Kind.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise ValidationError({"value": "Enter a number, such as 12 or 0.5."})
        return text
    if kind == Question.Kind.DATE:
        try:
            return datetime.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValidationError(
                {"value": "Enter a date as YYYY-MM-DD, such as 2026-03-31."}
            ) from None
    if kind == Question.Kind.URL:
        _url_check(text, "value")
        return text
    if len(text) > TEXT_MAX_CHARS:
        raise ValidationError(
            {"value": f"Keep the answer under {TEXT_MAX_CHARS:,} characters."}
        )
    return text


def _url_check(text: str, field: str) -> None:
    if len(text) > 500:
        raise ValidationError({field: "Keep the URL under 500 characters."})
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise ValidationError(
            {field: "Enter a full web address starting with https://."}
        ) from None


def _answer_fields_clean(question, values: dict) -> dict:
    """Validate every posted field, raising one error that names all problems."""
    cleaned: dict = {}
    errors: dict[str, list[str]] = {}
    for name, clean in (
        ("value", lambda raw: answer_value_clean(question, raw)),
        ("tier", _tier_clean),
        ("source_url", _source_url_clean),
        ("note", _note_clean),
    ):
        if name not in values:
            continue
        try:
            cleaned[name] = clean(values[name])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _tier_clean(raw) -> str:
    if raw not in EvidenceTier.values:
        raise ValidationError({"tier": "Choose where this answer comes from."})
    return raw


def _source_url_clean(raw) -> str:
    text = (raw or "").strip()
    if text:
        _url_check(text, "source_url")
    return text


def _note_clean(raw) -> str:
    text = (raw or "").strip()
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError(
            {"note": f"Keep the note under {NOTE_MAX_CHARS:,} characters."}
        )
    return text


def _answer_snapshot(answer) -> dict:
    if answer is None:
        return {}
    return {name: getattr(answer, name) for name in ANSWER_FIELDS}


def _answer_fresh(assessment, question):
    return (
        Answer.objects.select_related("answered_by")
        .filter(assessment=assessment, question=question)
        .first()
    )


def answer_save(*, assessment, question, expected_version, user, **values):
    """Save one answer unless someone changed it since ``expected_version``.

    ``values`` holds any of value, tier, source_url and note; fields left out
    keep their stored value. ``expected_version`` is the version the person's
    form was loaded with, 0 when there was no answer yet. Raises
    ValidationError for a value the question does not accept and
    AnswerConflict (carrying the newer answer) when the stored version moved
    on. Saving what is already stored changes nothing and is not a conflict.
    """
    unknown = set(values) - set(ANSWER_FIELDS)
    if unknown:
        raise TypeError(f"answer_save got unexpected fields {sorted(unknown)}")
    cleaned = _answer_fields_clean(question, values)

    with transaction.atomic():
        # The row lock (a no-op on SQLite, whose immediate transactions already
        # serialize writers) and the conditional update below make the version
        # check and the write one step: of two saves of version N, one wins.
        current = (
            Answer.objects.select_for_update()
            .filter(assessment=assessment, question=question)
            .first()
        )
        old = _answer_snapshot(current)
        new = {
            "value": None,
            "tier": EvidenceTier.VENDOR_ASSERTED.value,
            "source_url": "",
            "note": "",
            **old,
            **cleaned,
        }
        if current is not None and new == old:
            return _answer_fresh(assessment, question)
        if expected_version != (current.version if current else 0):
            raise AnswerConflict(_answer_fresh(assessment, question))

        now = timezone.now()
        if current is None:
            try:
                with transaction.atomic():
                    answer = Answer.objects.create(
                        assessment=assessment,
                        question=question,
                        answered_by=user,
                        version=1,
                        **new,
                    )
            except IntegrityError:
                raise AnswerConflict(_answer_fresh(assessment, question)) from None
        else:
            # A person changing what an import pre-filled makes it their answer.
            evidence_changed = (
                new["value"] != old["value"] or new["tier"] != old["tier"]
            )
            extra = {"evidence_import": None} if evidence_changed else {}
            updated = Answer.objects.filter(
                pk=current.pk, version=expected_version
            ).update(
                **new,
                **extra,
                answered_by=user,
                updated_at=now,
                version=F("version") + 1,
            )
            if updated != 1:
                raise AnswerConflict(_answer_fresh(assessment, question))
            answer = current
        AnswerRevision.objects.create(answer=answer, changed_by=user, old=old, new=new)

    logger.info(
        "answer saved assessment=%s question=%s answer=%s version=%s user=%s",
        assessment.pk,
        question.key,
        answer.pk,
        expected_version + 1,
        user.pk,
    )
    assessment_rescore_request(assessment)
    return _answer_fresh(assessment, question)
