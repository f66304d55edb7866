"""Writes to assessments, answers and vendor links; rescoring."""

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

from accounts.tokens import token_hash, token_new
from assessments.frameworks import UNKNOWN_VALUES
from assessments.models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceTier,
    Question,
    VendorLink,
    VendorResponse,
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
    now = timezone.now()
    # Every request moves the timestamp, so pages know a stored score predates
    # the latest change even while a rescoring is already under way.
    Assessment.objects.filter(pk=assessment_id).update(rescore_requested_at=now)
    marked = Assessment.objects.filter(pk=assessment_id, rescore_pending=False).update(
        rescore_pending=True
    )
    assessment.rescore_pending = True
    assessment.rescore_requested_at = now
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

    # Should the broker lose the task, the flag stays on and later saves do not
    # enqueue again; assessment_rescore_sweep re-enqueues such stuck rescorings.
    transaction.on_commit(enqueue)


def assessment_rescore_sweep() -> int:
    """Re-enqueue rescorings pending for longer than they should take; count them."""
    from django.conf import settings

    from assessments.tasks import rescore_assessment

    cutoff = timezone.now() - datetime.timedelta(
        seconds=settings.CANDOR_RESCORE_STUCK_SECONDS
    )
    stuck = list(
        Assessment.objects.filter(
            rescore_pending=True, rescore_requested_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for assessment_id in stuck:
        logger.warning("rescore stuck, enqueued again assessment=%s", assessment_id)
        rescore_assessment.delay(assessment_id)
    return len(stuck)


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

    if offering.is_archived or offering.vendor.is_archived:
        raise ValidationError(
            f"{offering} is archived. Restore it before starting an assessment."
        )
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


def assessment_reopen(*, assessment, user):
    """Take a decided assessment back to review so its answers can change again.

    The decision and rationale stay recorded until someone changes them.
    """
    if assessment.status != Assessment.Status.DECIDED:
        return assessment
    assessment.status = Assessment.Status.IN_REVIEW
    assessment.save(update_fields=["status", "updated_at"])
    logger.info("assessment reopened assessment=%s user=%s", assessment.pk, user.pk)
    return assessment


ANSWER_FIELDS = ("value", "tier", "source_url", "note")
NOTE_MAX_CHARS = 10_000
TEXT_MAX_CHARS = 10_000
# Limitation: the framework format has no per-question bounds, so every number
# question shares these; the one in Candor v1 counts days. Optional `min` and
# `max` in the question schema (and columns on Question) would let each
# question say its own range.
NUMBER_MIN = 0
NUMBER_MAX = 1_000_000
ANSWER_DEFAULTS = {
    "value": None,
    "tier": EvidenceTier.VENDOR_ASSERTED.value,
    "source_url": "",
    "note": "",
}


class AnswerConflict(Exception):
    """A save carried an older version than the stored answer: someone saved first.

    ``mine`` is what the answer would become with the person's changes laid over
    the newer stored answer, and ``changed`` names the fields they changed.
    """

    def __init__(self, answer, *, mine=None, changed=()) -> None:
        version = answer.version if answer else 0
        super().__init__(f"answer={getattr(answer, 'pk', None)} is at {version}")
        self.answer = answer
        self.mine = mine or {}
        self.changed = tuple(changed)


class AssessmentDecided(Exception):
    """A save to a decided assessment: its answers stay as the decision saw them."""

    def __init__(self, assessment) -> None:
        decided_on = timezone.localdate(assessment.updated_at)
        super().__init__(
            f"Not saved: this assessment was decided on {decided_on.day} "
            f"{decided_on:%b %Y}. Reopen it to change answers."
        )
        self.assessment = assessment


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
        silent = chosen & UNKNOWN_VALUES
        if silent and chosen - UNKNOWN_VALUES:
            label = question.option_label(sorted(silent)[0])
            raise ValidationError(
                {
                    "value": f"“{label}” cannot be ticked together with other "
                    "options. Untick it, or untick the others."
                }
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
        if not NUMBER_MIN <= number <= NUMBER_MAX:
            raise ValidationError(
                {"value": f"Enter a number from {NUMBER_MIN} to {NUMBER_MAX:,}."}
            )
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


def _changed_since_base(question, cleaned: dict, base: dict | None) -> dict:
    """Keep the cleaned fields whose value differs from the form's base values."""
    if base is None:
        return cleaned
    changed = {}
    for name, value in cleaned.items():
        if name not in base:
            changed[name] = value
            continue
        try:
            base_value = _answer_fields_clean(question, {name: base[name]})[name]
        except ValidationError:
            base_value = base[name]
        if value != base_value:
            changed[name] = value
    return changed


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


def answer_save(
    *,
    assessment,
    question,
    expected_version,
    user,
    base=None,
    vendor_response=None,
    **values,
):
    """Save one answer unless someone changed it since ``expected_version``.

    ``values`` holds any of value, tier, source_url and note; fields left out
    keep their stored value. ``expected_version`` is the version the person's
    form was loaded with, 0 when there was no answer yet, and ``base`` the
    field values that form was rendered with: when given, only the fields
    that differ from it are saved, so a save never undoes what someone else
    changed in a field this person did not touch. Raises ValidationError for a
    value the question does not accept, AssessmentDecided once the assessment
    is decided, and AnswerConflict (carrying the newer answer and what this
    save would make of it) when the stored version moved on. Saving what is
    already stored changes nothing and is not a conflict. ``vendor_response``
    marks the revision as the acceptance of a vendor contact's answer.
    """
    unknown = set(values) - set(ANSWER_FIELDS)
    if unknown:
        raise TypeError(f"answer_save got unexpected fields {sorted(unknown)}")
    if assessment.status == Assessment.Status.DECIDED:
        raise AssessmentDecided(assessment)
    cleaned = _changed_since_base(
        question, _answer_fields_clean(question, values), base
    )

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
        new = {**ANSWER_DEFAULTS, **old, **cleaned}
        if new == (old or ANSWER_DEFAULTS):
            # Nothing to change, or clearing a question never answered.
            return _answer_fresh(assessment, question)
        if expected_version != (current.version if current else 0):
            raise AnswerConflict(
                _answer_fresh(assessment, question), mine=new, changed=cleaned
            )

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
                raise AnswerConflict(
                    _answer_fresh(assessment, question), mine=new, changed=cleaned
                ) from None
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
                raise AnswerConflict(
                    _answer_fresh(assessment, question), mine=new, changed=cleaned
                )
            answer = current
        AnswerRevision.objects.create(
            answer=answer,
            changed_by=user,
            old=old,
            new=new,
            vendor_response=vendor_response,
        )

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


# --- Vendor links --------------------------------------------------------------

VENDOR_LINK_MAX_DAYS = 90
FOLLOW_UP_MAX_CHARS = 2_000


class VendorLinkClosed(Exception):
    """A vendor link that is unknown, revoked or expired; ``state`` says which."""

    def __init__(self, state: str, link: VendorLink | None = None) -> None:
        super().__init__(f"vendor link is {state}")
        self.state = state
        self.link = link


def vendor_link_create(
    *,
    assessment,
    user,
    contact_name: str = "",
    contact_email: str = "",
    days: int | None = None,
) -> tuple[VendorLink, str]:
    """Create a link for a vendor contact; return it with its token, shown once."""
    from django.conf import settings

    days = settings.CANDOR_VENDOR_LINK_DAYS if days is None else days
    if not 1 <= days <= VENDOR_LINK_MAX_DAYS:
        raise ValidationError(
            {"days": f"Choose from 1 to {VENDOR_LINK_MAX_DAYS} days."}
        )
    token, hashed = token_new()
    link = VendorLink.objects.create(
        assessment=assessment,
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip(),
        token_hash=hashed,
        expires_at=timezone.now() + datetime.timedelta(days=days),
        created_by=user,
    )
    logger.info(
        "vendor link created link=%s assessment=%s days=%s user=%s",
        link.pk,
        assessment.pk,
        days,
        user.pk,
    )
    return link, token


def vendor_link_revoke(*, link: VendorLink, user) -> None:
    """Stop a vendor link from working, at once and for good."""
    revoked = VendorLink.objects.filter(pk=link.pk, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info(
            "vendor link revoked link=%s assessment=%s user=%s",
            link.pk,
            link.assessment_id,
            user.pk,
        )


def vendor_link_open(token: str) -> VendorLink:
    """Return the working link a token opens, noting the visit, or raise."""
    link = (
        VendorLink.objects.select_related(
            "assessment__framework",
            "assessment__workspace",
            "assessment__offering__vendor",
        )
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None:
        raise VendorLinkClosed("unknown")
    if link.is_revoked:
        raise VendorLinkClosed("revoked", link)
    if link.is_expired:
        raise VendorLinkClosed("expired", link)
    VendorLink.objects.filter(pk=link.pk).update(last_opened_at=timezone.now())
    return link


def vendor_response_submit(
    *, link: VendorLink, question, value, source_url: str = "", comment: str = ""
) -> VendorResponse:
    """Record a vendor contact's answer to one question, pending the founder's review.

    Answering again replaces the contact's earlier answer and puts it back in
    the founder's queue; a follow-up the founder asked stays visible beside it.
    """
    if question.framework_id != link.assessment.framework_id or not (
        question.vendor_facing
    ):
        raise ValidationError("This question is not part of the link.")
    cleaned = _answer_fields_clean(
        question, {"value": value, "source_url": source_url, "note": comment}
    )
    if cleaned["value"] is None:
        raise ValidationError({"value": "Give an answer before sending."})

    now = timezone.now()
    response, created = VendorResponse.objects.get_or_create(
        link=link,
        question=question,
        defaults={
            "value": cleaned["value"],
            "source_url": cleaned["source_url"],
            "comment": cleaned["note"],
            "submitted_at": now,
        },
    )
    if not created:
        VendorResponse.objects.filter(pk=response.pk).update(
            value=cleaned["value"],
            source_url=cleaned["source_url"],
            comment=cleaned["note"],
            status=VendorResponse.Status.PENDING,
            submitted_at=now,
            times_submitted=F("times_submitted") + 1,
            reviewed_by=None,
            reviewed_at=None,
        )
        response.refresh_from_db()
    logger.info(
        "vendor answer received link=%s assessment=%s question=%s response=%s",
        link.pk,
        link.assessment_id,
        question.key,
        response.pk,
    )
    return response


def vendor_response_accept(*, response: VendorResponse, user):
    """Make a vendor contact's answer the assessment's answer, as vendor asserted.

    The change is an ordinary revision of the answer, marked as coming from
    this response. Raises AssessmentDecided for a decided assessment, and
    AnswerConflict when someone saved the answer during the acceptance.
    """
    assessment = response.link.assessment
    question = response.question
    current = Answer.objects.filter(assessment=assessment, question=question).first()
    values = {"value": response.value, "tier": EvidenceTier.VENDOR_ASSERTED.value}
    if response.source_url:
        values["source_url"] = response.source_url

    with transaction.atomic():
        answer = answer_save(
            assessment=assessment,
            question=question,
            expected_version=current.version if current else 0,
            user=user,
            vendor_response=response,
            **values,
        )
        VendorResponse.objects.filter(pk=response.pk).update(
            status=VendorResponse.Status.ACCEPTED,
            reviewed_by=user,
            reviewed_at=timezone.now(),
        )
    response.refresh_from_db()
    logger.info(
        "vendor answer accepted response=%s assessment=%s question=%s user=%s",
        response.pk,
        assessment.pk,
        question.key,
        user.pk,
    )
    return answer


def vendor_response_follow_up(
    *, response: VendorResponse, user, text: str
) -> VendorResponse:
    """Ask the contact a follow-up question, shown beside their answer on the link."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"follow_up": "Write the question to ask the vendor."})
    if len(text) > FOLLOW_UP_MAX_CHARS:
        raise ValidationError(
            {
                "follow_up": f"Keep the question under {FOLLOW_UP_MAX_CHARS:,} "
                "characters."
            }
        )
    now = timezone.now()
    VendorResponse.objects.filter(pk=response.pk).update(
        status=VendorResponse.Status.FOLLOW_UP,
        follow_up=text,
        follow_up_at=now,
        reviewed_by=user,
        reviewed_at=now,
    )
    response.refresh_from_db()
    logger.info(
        "vendor follow-up asked response=%s assessment=%s user=%s",
        response.pk,
        response.link.assessment_id,
        user.pk,
    )
    return response
