"""Assessment pages: start one, the questionnaire with autosave, and its edit form."""

from __future__ import annotations

import dataclasses
import json

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts.permissions import current_workspace, write_required
from assessments import selectors, services
from assessments.assessment_forms import AssessmentEditForm, AssessmentStartForm
from assessments.frameworks import framework_latest
from assessments.models import Assessment, EvidenceTier, Question
from vendors.models import Offering

DETAIL_TEMPLATE = "assessments/assessment_detail.html"


def _get_assessment_for_user(request: HttpRequest, pk: int) -> Assessment:
    return get_object_or_404(
        Assessment.objects.select_related("offering__vendor", "framework", "owner"),
        pk=pk,
        workspace=current_workspace(request),
    )


def _get_offering_for_user(request: HttpRequest, pk: int) -> Offering:
    return get_object_or_404(
        Offering.objects.select_related("vendor"),
        pk=pk,
        vendor__workspace=current_workspace(request),
    )


def _questionnaire_url(assessment: Assessment, pillar_key: str, key: str = "") -> str:
    url = f"{assessment.get_absolute_url()}?pillar={pillar_key}"
    return f"{url}#q-{key}" if key else url


@require_http_methods(["GET", "POST"])
@write_required
def assessment_create(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)
    if offering.is_archived or offering.vendor.is_archived:
        messages.error(
            request,
            f"{offering} is archived, so no assessment can be started. Restore it "
            "first if you want to assess it again.",
        )
        if request.htmx:
            return HttpResponseClientRedirect(offering.get_absolute_url())
        return redirect(offering)
    framework = framework_latest()
    if framework is None:
        messages.error(
            request,
            "No questionnaire is loaded yet. Run `manage.py migrate` (it loads the "
            "built-in Candor framework), then try again.",
        )
        return redirect(offering)
    workspace = current_workspace(request)
    form = AssessmentStartForm(
        request.POST or None,
        framework=framework,
        workspace=workspace,
        initial={
            "owner": request.user,
            "profile": framework.profiles_in_order()[0][0],
        },
    )

    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        assessment = services.assessment_start(
            offering=offering,
            framework=framework,
            profile=data["profile"],
            user=request.user,
            owner=data["owner"],
            due_date=data["due_date"],
            custom_weights=data["custom_weights"],
        )
        messages.success(
            request,
            "Assessment started. Answer what you know; unanswered questions are "
            "left out of the score until you get to them.",
        )
        if request.htmx:
            return HttpResponseClientRedirect(assessment.get_absolute_url())
        return redirect(assessment)

    context = {
        "form": form,
        "offering": offering,
        "vendor": offering.vendor,
        "framework": framework,
        "profiles": _profile_choices(framework),
    }
    template = "assessments/assessment_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, context)


def _profile_choices(framework) -> list[dict]:
    """Each use-case profile with its pillar weights as percentages, for the form."""
    pillars = framework.pillars.order_by("order").values_list("key", "title")
    choices = []
    for key, profile in framework.profiles_in_order():
        weights = profile.get("weights", {})
        total = sum(weights.values()) or 1
        choices.append(
            {
                "key": key,
                "label": profile["label"],
                "weights": [
                    (title, round(100 * weights[pillar] / total))
                    for pillar, title in pillars
                    if pillar in weights
                ],
            }
        )
    return choices


@require_http_methods(["GET"])
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)

    questionnaire = selectors.questionnaire_for_assessment(
        assessment, pillar_key=request.GET.get("pillar")
    )

    context = _detail_context(request, assessment, questionnaire)
    question_key = request.GET.get("question")
    if request.htmx and question_key:
        # "Keep theirs" after a conflict: the question as it is stored now.
        row = questionnaire.row(question_key)
        if row is None:
            return HttpResponse(status=404)
        return render(request, DETAIL_TEMPLATE + "#question", {**context, "row": row})
    template = DETAIL_TEMPLATE
    if request.htmx:
        template += "#questionnaire"
    return render(request, template, context)


def _detail_context(
    request: HttpRequest, assessment: Assessment, questionnaire
) -> dict:
    return {
        "assessment": assessment,
        # Reversed once here: the pillar tabs link to it several times each.
        "assessment_url": assessment.get_absolute_url(),
        "offering": assessment.offering,
        "vendor": assessment.offering.vendor,
        "framework": assessment.framework,
        "questionnaire": questionnaire,
        "pillar": questionnaire.pillar,
        "rows": questionnaire.rows,
        "tiers": EvidenceTier.choices,
        "can_write": request.membership.can_write,
        "vendor_answers_pending": selectors.vendor_responses_pending_count(assessment),
        "is_decided": assessment.status == Assessment.Status.DECIDED,
        # Limitation: there is no decided-at column, so the decision date shown is
        # the assessment's last change; editing the rationale after deciding
        # moves it. A ``decided_at`` field set by assessment_update would fix it.
        "decided_on": assessment.updated_at,
        "editable": request.membership.can_write
        and assessment.status != Assessment.Status.DECIDED,
    }


def _posted_answer(request: HttpRequest, question: Question) -> dict:
    """What the person's form sent, in the shape ``services.answer_save`` takes."""
    if request.POST.get("clear"):
        value = [] if question.kind == Question.Kind.MULTI else ""
    elif question.kind == Question.Kind.MULTI:
        value = request.POST.getlist("value")
    else:
        value = request.POST.get("value", "")
    posted = {"value": value}
    for name in ("tier", "source_url", "note"):
        if name in request.POST:
            posted[name] = request.POST[name]
    return posted


def _posted_base(request: HttpRequest) -> dict | None:
    """The field values the form was rendered from; None when it sent none."""
    raw = request.POST.get("base")
    if not raw:
        return None
    base = json.loads(raw)
    if not isinstance(base, dict) or not all(
        value is None
        or isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        for value in base.values()
    ):
        raise ValueError("base is not an object of strings")
    return base


@require_http_methods(["POST"])
@write_required
def answer_save(request: HttpRequest, pk: int, question_key: str) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)
    question = get_object_or_404(
        Question.objects.select_related("pillar"),
        framework_id=assessment.framework_id,
        key=question_key,
    )
    try:
        expected_version = int(request.POST.get("version", ""))
    except ValueError:
        return HttpResponseBadRequest("The form is missing the answer's version.")
    try:
        base = _posted_base(request)
    except ValueError:
        return HttpResponseBadRequest("The form's saved values are unreadable.")
    typed = _posted_answer(request, question)

    errors: dict[str, list[str]] = {}
    conflict = None
    status = 422
    try:
        services.answer_save(
            assessment=assessment,
            question=question,
            expected_version=expected_version,
            user=request.user,
            base=base,
            **typed,
        )
    except ValidationError as exc:
        errors = exc.message_dict
    except services.AnswerConflict as exc:
        conflict = exc
    except services.AssessmentDecided as exc:
        errors = {NON_FIELD_ERRORS: [str(exc)]}
        status = 409

    questionnaire = selectors.questionnaire_for_assessment(
        assessment, pillar_key=question.pillar.key
    )
    row = questionnaire.row(question.key)
    if not errors and not conflict:
        if not request.htmx:
            return redirect(
                _questionnaire_url(assessment, question.pillar.key, question.key)
            )
        return _render_saved(request, assessment, questionnaire, row)

    if conflict is not None:
        # The form now shows the person's changes over the newer answer, and
        # its version and base are the newer answer's: "Use mine" then saves
        # exactly the differences the conflict box lists.
        mine = conflict.mine or {**row.base, **typed}
        row = row.with_typed(
            mine,
            conflict=selectors.answer_conflict(
                question, conflict.answer, mine=mine, base=base
            ),
        )
        status = 409
    else:
        # Keep the version and base the person loaded: nothing was saved.
        row = row.with_typed(
            typed, errors=errors, version=expected_version, base=base or row.base
        )
    context = _detail_context(request, assessment, questionnaire)
    if request.htmx:
        # htmx swaps only successful responses, so the refusal travels as a 200
        # that replaces the whole question rather than just its status line.
        response = render(
            request, DETAIL_TEMPLATE + "#question", {**context, "row": row}
        )
        return reswap(retarget(response, f"#q-{question.key}"), "outerHTML")
    context["rows"] = [row if r.key == row.key else r for r in questionnaire.rows]
    return render(request, DETAIL_TEMPLATE, context, status=status)


def _render_saved(
    request: HttpRequest, assessment: Assessment, questionnaire, row
) -> HttpResponse:
    """Render the saved question's status, with progress and dependents out of band."""
    row = dataclasses.replace(row, just_saved=True)
    context = {
        **_detail_context(request, assessment, questionnaire),
        "row": row,
        "dependents": selectors.questionnaire_dependents(questionnaire, row.question),
        "oob": True,
    }
    if request.htmx.target == f"q-{row.key}":
        # The question showed an error or a conflict: replace all of it.
        return render(request, DETAIL_TEMPLATE + "#saved_question", context)
    return render(request, DETAIL_TEMPLATE + "#saved", context)


@require_http_methods(["GET"])
def answer_history(request: HttpRequest, pk: int, question_key: str) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)
    question = get_object_or_404(
        Question.objects.select_related("pillar"),
        framework_id=assessment.framework_id,
        key=question_key,
    )

    history = selectors.answer_history(assessment, question)

    context = {
        "assessment": assessment,
        "offering": assessment.offering,
        "vendor": assessment.offering.vendor,
        "question": question,
        "history": history,
        "questionnaire_url": _questionnaire_url(
            assessment, question.pillar.key, question.key
        ),
    }
    template = "assessments/answer_history.html"
    if request.htmx:
        template += "#history"
    return render(request, template, context)


@require_http_methods(["POST"])
@write_required
def assessment_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)

    was_decided = assessment.status == Assessment.Status.DECIDED
    services.assessment_reopen(assessment=assessment, user=request.user)

    if was_decided:
        messages.success(
            request,
            "Reopened for review: answers can change again. The decision stays "
            "recorded until you change it under Decision & status.",
        )
    if request.htmx:
        return HttpResponseClientRedirect(assessment.get_absolute_url())
    return redirect(assessment)


@require_http_methods(["GET", "POST"])
@write_required
def assessment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)
    workspace = current_workspace(request)
    form = AssessmentEditForm(
        request.POST or None, instance=assessment, workspace=workspace
    )

    if request.method == "POST" and form.is_valid():
        try:
            services.assessment_update(
                assessment=assessment, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Assessment saved.")
            if request.htmx:
                return HttpResponseClientRedirect(assessment.get_absolute_url())
            return redirect(assessment)

    context = {
        "form": form,
        "assessment": assessment,
        "offering": assessment.offering,
        "vendor": assessment.offering.vendor,
        "cancel_url": reverse("assessment_detail", args=[assessment.pk]),
    }
    template = "assessments/assessment_edit.html"
    if request.htmx:
        template += "#form"
    return render(request, template, context)
