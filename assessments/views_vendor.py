"""Vendor links: the founder's side (links, review) and the contact's page."""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.middleware import workspace_exempt
from accounts.permissions import current_workspace, write_required
from assessments import selectors, services
from assessments.models import Assessment, Question, VendorLink, VendorResponse
from assessments.vendor_link_forms import VendorLinkForm

LINKS_TEMPLATE = "assessments/vendor_links.html"
PORTAL_TEMPLATE = "assessments/vendor_portal.html"


def _get_assessment_for_user(request: HttpRequest, pk: int) -> Assessment:
    return get_object_or_404(
        Assessment.objects.select_related("offering__vendor", "framework"),
        pk=pk,
        workspace=current_workspace(request),
    )


def _get_link_for_user(request: HttpRequest, pk: int, link_pk: int) -> VendorLink:
    return get_object_or_404(
        VendorLink,
        pk=link_pk,
        assessment_id=pk,
        assessment__workspace=current_workspace(request),
    )


def _get_response_for_user(
    request: HttpRequest, pk: int, response_pk: int
) -> VendorResponse:
    return get_object_or_404(
        VendorResponse.objects.select_related("link__assessment", "question__pillar"),
        pk=response_pk,
        link__assessment_id=pk,
        link__assessment__workspace=current_workspace(request),
    )


# --- The founder's side ------------------------------------------------------------


def _links_render(
    request: HttpRequest, assessment: Assessment, *, errors: dict | None = None
) -> HttpResponse:
    context = {
        "assessment": assessment,
        "offering": assessment.offering,
        "vendor": assessment.offering.vendor,
        "review": selectors.vendor_review(assessment),
        "can_write": request.membership.can_write,
        "errors": errors or {},
    }
    template = LINKS_TEMPLATE
    if request.htmx:
        template += "#review"
    return render(request, template, context)


def _links_done(request: HttpRequest, assessment: Assessment) -> HttpResponse:
    if request.htmx:
        return _links_render(request, assessment)
    return redirect("vendor_links", assessment.pk)


@require_http_methods(["GET"])
def vendor_links(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)

    return _links_render(request, assessment)


@require_http_methods(["GET", "POST"])
@never_cache  # the response shows the link's token, once
@write_required
def vendor_link_create(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)
    form = VendorLinkForm(request.POST or None)
    context = {
        "assessment": assessment,
        "offering": assessment.offering,
        "vendor": assessment.offering.vendor,
        "form": form,
    }

    if request.method == "POST" and form.is_valid():
        try:
            link, token = services.vendor_link_create(
                assessment=assessment, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # The token exists in clear only in this response: it is shown once
            # and never stored, so a lost link is replaced, not recovered.
            context["link"] = link
            context["link_url"] = request.build_absolute_uri(
                reverse("vendor_portal", args=[token])
            )

    template = "assessments/vendor_link_new.html"
    if request.htmx:
        template += "#form"
    return render(request, template, context)


@require_http_methods(["POST"])
@write_required
def vendor_link_revoke(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    link = _get_link_for_user(request, pk, link_pk)

    services.vendor_link_revoke(link=link, user=request.user)

    messages.success(request, f"The link for {link.contact_label} no longer works.")
    return _links_done(request, link.assessment)


@require_http_methods(["POST"])
@write_required
def vendor_response_accept(
    request: HttpRequest, pk: int, response_pk: int
) -> HttpResponse:
    response = _get_response_for_user(request, pk, response_pk)
    assessment = response.link.assessment

    try:
        services.vendor_response_accept(response=response, user=request.user)
    except (services.AssessmentDecided, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    except services.AnswerConflict:
        messages.error(
            request,
            "Someone saved this answer while you were accepting. Look at the "
            "newer answer, then accept again if the vendor's still applies.",
        )
    else:
        messages.success(
            request,
            f"Accepted as the answer to question “{response.question.text[:60]}…”, "
            "marked vendor asserted.",
        )
    return _links_done(request, assessment)


@require_http_methods(["POST"])
@write_required
def vendor_response_follow_up(
    request: HttpRequest, pk: int, response_pk: int
) -> HttpResponse:
    response = _get_response_for_user(request, pk, response_pk)
    assessment = response.link.assessment
    text = request.POST.get("follow_up", "")

    try:
        services.vendor_response_follow_up(
            response=response, user=request.user, text=text
        )
    except ValidationError as exc:
        if request.htmx:
            errors = {response.pk: {"text": text, "messages": exc.messages}}
            return _links_render(request, assessment, errors=errors)
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Follow-up sent: the contact sees it on their link.")
    return _links_done(request, assessment)


# --- The vendor contact's page ---------------------------------------------------

CLOSED_STATUS = {"unknown": 404}


def _portal_closed(
    request: HttpRequest, exc: services.VendorLinkClosed
) -> HttpResponse:
    status = CLOSED_STATUS.get(exc.state, 410)
    context = {"state": exc.state}
    return render(
        request, "assessments/vendor_portal_closed.html", context, status=status
    )


def _portal_context(link: VendorLink, token: str) -> dict:
    return {
        "link": link,
        "vendor_name": link.assessment.offering.vendor.name,
        "offering": link.assessment.offering,
        "token": token,
    }


@workspace_exempt
@login_not_required
@never_cache
@require_http_methods(["GET"])
def vendor_portal(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = services.vendor_link_open(token)
    except services.VendorLinkClosed as exc:
        return _portal_closed(request, exc)

    pillars = selectors.vendor_portal(link)

    context = {**_portal_context(link, token), "pillars": pillars}
    return render(request, PORTAL_TEMPLATE, context)


@workspace_exempt
@login_not_required
@never_cache
@require_http_methods(["POST"])
def vendor_portal_answer(
    request: HttpRequest, token: str, question_key: str
) -> HttpResponse:
    try:
        link = services.vendor_link_open(token)
    except services.VendorLinkClosed as exc:
        return _portal_closed(request, exc)
    question = get_object_or_404(
        Question.objects.select_related("pillar"),
        framework_id=link.assessment.framework_id,
        vendor_facing=True,
        key=question_key,
    )
    if question.kind == Question.Kind.MULTI:
        value = request.POST.getlist("value")
    else:
        value = request.POST.get("value", "")
    source_url = request.POST.get("source_url", "")
    comment = request.POST.get("comment", "")

    errors: dict[str, list[str]] = {}
    try:
        response = services.vendor_response_submit(
            link=link,
            question=question,
            value=value,
            source_url=source_url,
            comment=comment,
        )
    except ValidationError as exc:
        errors = (
            exc.message_dict
            if hasattr(exc, "error_dict")
            else {NON_FIELD_ERRORS: exc.messages}
        )
        response = link.responses.filter(question=question).first()

    if not errors and not request.htmx:
        url = reverse("vendor_portal", args=[token])
        return redirect(f"{url}#q-{question.key}")
    number = selectors.vendor_question_number(link, question)
    row = selectors.vendor_question_row(question, response, number=number)
    if errors:
        errors.setdefault("comment", errors.pop("note", []))
        row = _row_typed(row, value, source_url, comment, errors)
    else:
        row = dataclasses.replace(row, just_sent=True)
    context = {**_portal_context(link, token), "row": row}
    if request.htmx:
        return render(request, PORTAL_TEMPLATE + "#question", context)
    context["pillars"] = _pillars_with(selectors.vendor_portal(link), row)
    return render(request, PORTAL_TEMPLATE, context, status=422)


def _row_typed(
    row: selectors.VendorQuestionRow,
    value,
    source_url: str,
    comment: str,
    errors: dict[str, list[str]],
) -> selectors.VendorQuestionRow:
    return dataclasses.replace(
        row, value=value, source_url=source_url, comment=comment, errors=errors
    )


def _pillars_with(
    pillars: list[selectors.VendorPortalPillar], row: selectors.VendorQuestionRow
) -> list[selectors.VendorPortalPillar]:
    """Put a refused row, with what the contact typed, in place on the full page."""
    for pillar in pillars:
        pillar.rows[:] = [row if r.key == row.key else r for r in pillar.rows]
    return pillars
