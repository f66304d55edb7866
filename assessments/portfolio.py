"""Generate a large made-up workspace (a founder's whole portfolio) for benchmarks.

Vendors, offerings, endpoints, evaluation runs, assessments with answers and
their revisions, and every assessment's score, computed by the same scoring
functions the rescoring task uses. Rows go in with bulk_create, so a full-size
portfolio (500 vendors, 2,000 assessments) takes seconds rather than the hours
the services would take one save at a time. Seeded: the same options give the
same portfolio.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership
from accounts.services import user_signup
from assessments.frameworks import framework_latest
from assessments.models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceTier,
    Question,
    ScoreCard,
)
from assessments.scoring import METHOD_VERSION, AnswerInput, score_assessment
from assessments.selectors import (
    assessment_profile_weights,
    assessment_scoring_inputs,
    question_is_applicable,
)
from evals.measures import measured_inputs
from evals.portfolio import portfolio_endpoints_create, portfolio_runs_create
from evals.selectors import latest_family_results, merged_metrics
from vendors.models import Offering, Vendor

logger = logging.getLogger(__name__)

BATCH = 2_000
HISTORY_DAYS = 540
# Share of offerings with an endpoint; runs go only to those.
ENDPOINT_SHARE = 0.4
TEAMMATES = (("editor", Membership.Role.EDITOR), ("viewer", Membership.Role.VIEWER))

BRAND_HEADS = (
    "Aster", "Bright", "Cobalt", "Delta", "Ember", "Fern", "Granite", "Harbor",
    "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orchid", "Pine",
    "Quill", "Rowan", "Sable", "Tidal", "Umber", "Vesper", "Willow", "Zephyr",
)  # fmt: skip
BRAND_TAILS = (
    "", "mind", "works", "forge", "scale", "wave", "stack", "logic", "point", "field",
    "light", "grid", "craft", "signal", "path", "core", "line", "shift", "base", "loop",
    "nest",
)  # fmt: skip
COMPANY_SUFFIXES = ("AI", "Labs", "Models", "Intelligence", "Systems", "Research")
PRODUCTS = (
    "Chat", "Coder", "Reason", "Instruct", "Mini", "Pro", "Vision", "Agent", "Lite",
    "Ultra", "Edge", "Assist",
)  # fmt: skip
VERSIONS = ("2025-06", "2025-09", "2025-12", "2026-03", "2026-06", "v1", "v2", "v3.1")
VENDOR_NOTES = (
    "Met their sales team at a conference; they offered a pilot.",
    "Shortlisted by our CTO for the support assistant.",
    "Cheapest per token of the ones we looked at.",
    "Open weights; could self-host later.",
    "",
    "",
    "",
)
ANSWER_NOTES = (
    "From the vendor's security questionnaire.",
    "Their model card says so, without detail.",
    "Asked on a call; the answer was vague.",
    "Confirmed in the terms of service.",
    "Seen in our own evaluation run.",
    "The sales engineer promised a written answer; none came yet.",
    "Disclosed in their transparency report, section 3.",
    "Their docs contradict the sales deck here.",
)
RATIONALES = (
    "Good answers on transparency; the pushback results are acceptable for an "
    "internal tool.",
    "Too many unknowns on the optimization target, and the model flips under pushback.",
    "Approved for the pilot, on condition of a pinned version with notice of changes.",
)
# How often each tier backs an answer, and how often an answer has a source.
TIERS = (
    (EvidenceTier.VENDOR_ASSERTED, 0.55),
    (EvidenceTier.PUBLICLY_DISCLOSED, 0.30),
    (EvidenceTier.INDEPENDENTLY_OBSERVED, 0.15),
)
STATUSES = (
    (Assessment.Status.DRAFT, 0.5),
    (Assessment.Status.IN_REVIEW, 0.3),
    (Assessment.Status.DECIDED, 0.2),
)
DECISIONS = (
    Assessment.Decision.APPROVE,
    Assessment.Decision.APPROVE_WITH_CONDITIONS,
    Assessment.Decision.REJECT,
)


@dataclass(frozen=True)
class PortfolioSize:
    vendors: int = 500
    offerings: int = 1_000
    assessments: int = 2_000
    runs: int = 500

    def scaled(self, factor: float) -> PortfolioSize:
        return PortfolioSize(
            *(
                max(1, round(getattr(self, f.name) * factor))
                for f in dataclasses.fields(self)
            )
        )


@dataclass(frozen=True)
class PortfolioSummary:
    workspace_id: int
    username: str
    counts: dict[str, int]
    seconds: dict[str, float]


def portfolio_generate(
    *,
    size: PortfolioSize,
    username: str,
    password: str,
    workspace_name: str,
    seed: int = 1,
    api_key_encrypted: str = "",
) -> PortfolioSummary:
    """Create a workspace owned by ``username`` holding a portfolio of ``size``."""
    rng = random.Random(seed)
    framework = framework_latest()
    if framework is None:
        raise ValueError("No framework is loaded; run manage.py migrate first.")
    if size.offerings < size.vendors:
        raise ValueError("Every vendor needs an offering: ask for at least as many.")
    since = timezone.now() - datetime.timedelta(days=HISTORY_DAYS)
    seconds: dict[str, float] = {}

    with transaction.atomic():
        started = time.perf_counter()
        owner = user_signup(
            username=username,
            email=f"{username}@example.com",
            password=password,
            workspace_name=workspace_name,
        )
        workspace = Membership.objects.get(user=owner).workspace
        users = [owner, *_teammates(workspace, username)]
        vendors = _vendors(workspace, size.vendors, rng)
        offerings = _offerings(vendors, size.offerings, rng)
        seconds["vendors and offerings"] = time.perf_counter() - started

        started = time.perf_counter()
        live = [offering for offering in offerings if offering.archived_at is None]
        with_endpoint = rng.sample(live, max(1, round(len(live) * ENDPOINT_SHARE)))
        endpoints = portfolio_endpoints_create(
            with_endpoint, rng, api_key_encrypted=api_key_encrypted
        )
        runs = portfolio_runs_create(
            workspace=workspace,
            endpoints=endpoints,
            count=size.runs,
            users=users,
            rng=rng,
            since=since,
        )
        seconds["runs and samples"] = time.perf_counter() - started

        started = time.perf_counter()
        assessments = _assessments(
            workspace, framework, live, size.assessments, users, rng, since
        )
        answers = _answers(assessments, framework, users, rng)
        seconds["assessments and answers"] = time.perf_counter() - started

        started = time.perf_counter()
        _scorecards(assessments, answers)
        seconds["scores"] = time.perf_counter() - started
        # Last, so that the dates draw nothing the content above depends on.
        started = time.perf_counter()
        _answer_dates_spread(assessments, answers, rng)
        seconds["answer dates"] = time.perf_counter() - started

    counts = {
        "vendors": len(vendors),
        "offerings": len(offerings),
        "endpoints": len(endpoints),
        "runs": len(runs),
        "samples": sum(run.done + run.errored for run in runs),
        "assessments": len(assessments),
        "answers": sum(len(rows) for rows in answers.values()),
    }
    logger.info("portfolio generated workspace=%s %s", workspace.pk, counts)
    return PortfolioSummary(workspace.pk, username, counts, seconds)


def _teammates(workspace, username: str) -> list:
    """An editor and a viewer who answer and read; they cannot log in."""
    people = []
    for role_name, role in TEAMMATES:
        person = get_user_model()(
            username=f"{username}-{role_name}",
            email=f"{username}-{role_name}@example.com",
            first_name=role_name.capitalize(),
        )
        person.set_unusable_password()
        person.save()
        Membership.objects.create(user=person, workspace=workspace, role=role)
        people.append(person)
    return people


def _brand_names(count: int, rng: random.Random) -> list[str]:
    names = [f"{head}{tail}" for head in BRAND_HEADS for tail in BRAND_TAILS]
    rng.shuffle(names)
    # Past the distinct brands, numbered ones keep names unique.
    while len(names) < count:
        names.append(f"{rng.choice(BRAND_HEADS)}{len(names)}")
    return names[:count]


def _vendors(workspace, count: int, rng: random.Random) -> list[Vendor]:
    vendors = []
    for brand in _brand_names(count, rng):
        vendors.append(
            Vendor(
                workspace=workspace,
                name=f"{brand} {rng.choice(COMPANY_SUFFIXES)}",
                website=f"https://www.{brand.lower()}.example.com",
                notes=rng.choice(VENDOR_NOTES),
                archived_at=timezone.now() if rng.random() < 0.03 else None,
            )
        )
    return Vendor.objects.bulk_create(vendors, batch_size=BATCH)


def _offerings(vendors: list[Vendor], count: int, rng: random.Random) -> list[Offering]:
    per_vendor = [1] * len(vendors)
    for _ in range(count - len(vendors)):
        per_vendor[rng.randrange(len(vendors))] += 1
    offerings = []
    for vendor, how_many in zip(vendors, per_vendor, strict=True):
        brand = vendor.name.split()[0]
        taken: set[tuple[str, str]] = set()
        while len(taken) < how_many:
            name = f"{brand} {rng.choice(PRODUCTS)}"
            version = rng.choice(VERSIONS)
            if len(taken) >= len(PRODUCTS) * len(VERSIONS) // 2:
                version = f"{version}.{len(taken)}"
            if (name, version) in taken:
                continue
            taken.add((name, version))
            archived = vendor.archived_at is not None or rng.random() < 0.02
            offerings.append(
                Offering(
                    vendor=vendor,
                    name=name,
                    version=version,
                    archived_at=timezone.now() if archived else None,
                )
            )
    return Offering.objects.bulk_create(offerings, batch_size=BATCH)


def _assessments(
    workspace,
    framework,
    offerings: list[Offering],
    count: int,
    users: list,
    rng: random.Random,
    since: datetime.datetime,
) -> list[Assessment]:
    profiles = [key for key, _ in framework.profiles_in_order()]
    pillars = list(framework.pillars.values_list("key", flat=True))
    writers = users[:2]
    now = timezone.now()
    assessments = []
    for index in range(count):
        # Every offering is assessed once before any is assessed again.
        offering = offerings[index] if index < len(offerings) else rng.choice(offerings)
        profile = rng.choice(profiles)
        status = _pick(rng, STATUSES)
        decided = status == Assessment.Status.DECIDED
        assessments.append(
            Assessment(
                workspace=workspace,
                offering=offering,
                framework=framework,
                profile=profile,
                custom_weights=(
                    {pillar: rng.randint(0, 50) for pillar in pillars}
                    if profile == "custom"
                    else {}
                ),
                status=status,
                owner=rng.choice(writers),
                due_date=(now + datetime.timedelta(days=rng.randint(-60, 90))).date()
                if rng.random() < 0.6
                else None,
                decision=rng.choice(DECISIONS) if decided else "",
                rationale=rng.choice(RATIONALES) if decided else "",
            )
        )
    assessments = Assessment.objects.bulk_create(assessments, batch_size=BATCH)
    # created_at is set on insert whatever is given, so spread dates afterwards.
    for assessment in assessments:
        assessment.created_at = since + (now - since) * rng.random()
    Assessment.objects.bulk_update(assessments, ["created_at"], batch_size=BATCH)
    return assessments


def _answers(
    assessments: list[Assessment], framework, users: list, rng: random.Random
) -> dict[int, list[Answer]]:
    """Answer each assessment to its own degree, with one or two revisions each."""
    questions = list(
        Question.objects.filter(framework=framework).order_by("pillar__order", "order")
    )
    writers = users[:2]
    by_assessment: dict[int, list[Answer]] = {}
    pending: list[Answer] = []
    for assessment in assessments:
        # A team decides once most questions are answered.
        if assessment.status == Assessment.Status.DECIDED:
            completeness = rng.choice([0.9, 1.0])
        else:
            completeness = rng.choice([0.15, 0.4, 0.7, 0.9, 1.0, 1.0])
        values: dict[str, Any] = {}
        rows = []
        for question in questions:
            if not question_is_applicable(question.depends_on, values):
                continue
            if rng.random() > completeness:
                continue
            value = _value(question, rng)
            values[question.key] = value
            tier = _pick(rng, TIERS)
            sourced = tier != EvidenceTier.VENDOR_ASSERTED and rng.random() < 0.7
            rows.append(
                Answer(
                    assessment=assessment,
                    question=question,
                    value=value,
                    tier=tier,
                    source_url=(
                        f"https://docs.{assessment.offering.vendor.name.split()[0].lower()}"
                        f".example.com/{question.key.replace('_', '-')}"
                        if sourced
                        else ""
                    ),
                    note=rng.choice(ANSWER_NOTES) if rng.random() < 0.4 else "",
                    answered_by=rng.choice(writers),
                    version=2 if rng.random() < 0.2 else 1,
                )
            )
        by_assessment[assessment.pk] = rows
        pending.extend(rows)
        if len(pending) >= BATCH:
            _answers_insert(pending, rng)
            pending = []
    _answers_insert(pending, rng)
    return by_assessment


def _answers_insert(answers: list[Answer], rng: random.Random) -> None:
    Answer.objects.bulk_create(answers, batch_size=BATCH)
    revisions = []
    for answer in answers:
        new = {
            "value": answer.value,
            "tier": answer.tier,
            "source_url": answer.source_url,
            "note": answer.note,
        }
        if answer.version == 1:
            revisions.append(
                AnswerRevision(
                    answer=answer, changed_by=answer.answered_by, old={}, new=new
                )
            )
            continue
        first = {**new, "value": _value(answer.question, rng), "note": ""}
        revisions += [
            AnswerRevision(
                answer=answer, changed_by=answer.answered_by, old={}, new=first
            ),
            AnswerRevision(
                answer=answer, changed_by=answer.answered_by, old=first, new=new
            ),
        ]
    AnswerRevision.objects.bulk_create(revisions, batch_size=BATCH)


def _answer_dates_spread(
    assessments: list[Assessment],
    answers: dict[int, list[Answer]],
    rng: random.Random,
) -> None:
    """Date each answer, its revisions and its assessment's last change after the
    assessment began, instead of the moment the portfolio was generated."""
    if not assessments:
        return
    now = timezone.now()
    # Each answer's last save, and when its assessment began.
    saved: dict[int, tuple[datetime.datetime, datetime.datetime]] = {}
    last_change: dict[int, datetime.datetime] = {}
    for assessment in assessments:
        began = assessment.created_at
        last_change[assessment.pk] = began
        for answer in answers[assessment.pk]:
            saved_at = began + (now - began) * rng.random()
            saved[answer.pk] = (saved_at, began)
            last_change[assessment.pk] = max(last_change[assessment.pk], saved_at)

    revision_dates: dict[int, datetime.datetime] = {}
    revisions = (
        AnswerRevision.objects.filter(
            answer__assessment__workspace_id=assessments[0].workspace_id
        )
        .order_by("answer_id", "-pk")
        .values_list("pk", "answer_id")
    )
    # An answer's latest revision is its last save; each earlier one came up to
    # a few days before the next, never before the assessment began.
    previous_answer, changed_at = None, now
    for revision_id, answer_id in revisions:
        saved_at, began = saved[answer_id]
        if answer_id != previous_answer:
            changed_at = saved_at
        else:
            earlier = changed_at - datetime.timedelta(hours=rng.uniform(1, 96))
            changed_at = max(earlier, began)
        revision_dates[revision_id] = changed_at
        previous_answer = answer_id

    _dates_write(Answer, "updated_at", {pk: at for pk, (at, _) in saved.items()})
    _dates_write(AnswerRevision, "changed_at", revision_dates)
    _dates_write(Assessment, "updated_at", last_change)


def _dates_write(model, field_name: str, dates: dict[int, datetime.datetime]) -> None:
    """Set one date column of many rows, each to its own value.

    The column fills itself on save (auto_now), so bulk_create cannot set it;
    bulk_update can, but builds an ORM expression per row, some 100 µs each,
    where one prepared UPDATE run for every row takes a few.
    """
    quote = connection.ops.quote_name
    field = model._meta.get_field(field_name)
    update = (
        f"UPDATE {quote(model._meta.db_table)} SET {quote(field.column)} = %s "
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(update, [(adapt(at), pk) for pk, at in dates.items()])


def _value(question: Question, rng: random.Random) -> Any:
    """A plausible answer: unknown now and then, else any option, or typed text."""
    options = [option["value"] for option in question.options]
    known = [value for value in options if value not in ("unknown", "not_disclosed")]
    if question.kind == Question.Kind.MULTI:
        if rng.random() < 0.15 or not known:
            return [options[-1]]
        chosen = set(rng.sample(known, rng.randint(1, min(3, len(known)))))
        return [value for value in options if value in chosen]
    if options:
        return options[-1] if rng.random() < 0.15 else rng.choice(known or options)
    if question.kind == Question.Kind.NUMBER:
        return str(rng.choice([0, 7, 14, 30, 60, 90]))
    if question.kind == Question.Kind.DATE:
        return (
            timezone.localdate() - datetime.timedelta(days=rng.randint(0, 400))
        ).isoformat()
    if question.kind == Question.Kind.URL:
        return f"https://docs.example.com/{question.key.replace('_', '-')}"
    return rng.choice(ANSWER_NOTES)


def _scorecards(
    assessments: list[Assessment], answers: dict[int, list[Answer]]
) -> None:
    """Score every assessment as the rescoring task would, from the rows in hand."""
    if not assessments:
        return
    template = assessment_scoring_inputs(assessments[0])
    measured_by_offering: dict[int, tuple] = {}
    cards = []
    for assessment in assessments:
        offering_id = assessment.offering_id
        if offering_id not in measured_by_offering:
            latest = latest_family_results(offering_id)
            measured_by_offering[offering_id] = tuple(
                measured_inputs(merged_metrics(latest))
            )
        result = score_assessment(
            template.pillars,
            template.questions,
            tuple(
                AnswerInput(
                    question=answer.question.key, value=answer.value, tier=answer.tier
                )
                for answer in answers[assessment.pk]
            ),
            assessment_profile_weights(assessment),
            measured_by_offering[offering_id],
        )
        cards.append(
            ScoreCard(
                assessment=assessment,
                data=dataclasses.asdict(result),
                method_version=METHOD_VERSION,
            )
        )
    ScoreCard.objects.bulk_create(cards, batch_size=BATCH)


def _pick(rng: random.Random, weighted) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]
