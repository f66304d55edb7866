"""Endpoint settings of an offering, its connection test, and the workspace's judges."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Membership
from accounts.permissions import current_workspace, write_required
from evals import services
from evals.forms import EndpointForm, JudgeProfileForm
from evals.models import Endpoint, JudgeProfile
from vendors.models import Offering

ENDPOINT_FIELDS = (
    "api_kind",
    "base_url",
    "model_name",
    "max_concurrency",
    "requests_per_minute",
    "timeout_seconds",
)
JUDGE_FIELDS = (
    "name",
    "api_kind",
    "base_url",
    "model_name",
    "pinned_version",
    "requests_per_minute",
)


def _get_offering_for_user(request: HttpRequest, pk: int) -> Offering:
    return get_object_or_404(
        Offering.objects.select_related("vendor"),
        pk=pk,
        vendor__workspace=current_workspace(request),
    )


def _get_judge_for_user(request: HttpRequest, pk: int) -> JudgeProfile:
    return get_object_or_404(JudgeProfile, pk=pk, workspace=current_workspace(request))


def _endpoint_of(offering: Offering) -> Endpoint | None:
    return Endpoint.objects.filter(offering=offering).first()


def _is_owner(request: HttpRequest) -> bool:
    return request.membership.role == Membership.Role.OWNER


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect after a write; htmx follows a client-side redirect instead."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _initial(record, fields: tuple[str, ...]) -> dict:
    return {name: getattr(record, name) for name in fields} if record else {}


@sensitive_post_parameters("api_key")
@require_http_methods(["GET", "POST"])
@write_required
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)
    endpoint = _endpoint_of(offering)
    # Editors see the schedule but only the owner's form has the field.
    form = EndpointForm(
        request.POST or None,
        initial=_initial(endpoint, ENDPOINT_FIELDS + ("rerun_schedule",)),
        has_api_key=bool(endpoint and endpoint.has_api_key),
        can_schedule=_is_owner(request),
    )

    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_save(
                offering=offering, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, "Endpoint saved. Test the connection before you start a run."
            )
            return _redirect(request, offering.get_absolute_url())

    template = "evals/endpoint_edit.html"
    if request.htmx:
        template += "#form"
    context = {"form": form, "offering": offering, "endpoint": endpoint}
    return render(request, template, context)


@require_http_methods(["POST"])
@write_required
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)
    endpoint = _endpoint_of(offering)

    check = None
    if endpoint is not None:
        check = services.endpoint_connection_test(endpoint=endpoint, user=request.user)

    if request.htmx:
        context = {
            "offering": offering,
            "endpoint": endpoint,
            "check": check,
            "tested": True,
        }
        return render(request, "evals/endpoint_edit.html#test-result", context)
    if check is None:
        messages.error(request, "Save the endpoint first, then test it.")
    elif check.ok:
        messages.success(request, f"The endpoint answered: “{check.message}”")
    else:
        messages.error(request, f"The test call failed. {check.message}")
    return redirect("endpoint_edit", pk=offering.pk)


@require_http_methods(["GET"])
def judge_list(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)

    judges = JudgeProfile.objects.filter(workspace=workspace).order_by("name", "pk")

    context = {"judges": judges, "can_write": request.membership.can_write}
    template = "evals/judge_list.html"
    if request.htmx:
        template += "#judges"
    return render(request, template, context)


@sensitive_post_parameters("api_key")
@require_http_methods(["GET", "POST"])
@write_required
def judge_create(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    form = JudgeProfileForm(request.POST or None)

    if request.method == "POST" and form.is_valid():
        try:
            judge = services.judge_save(
                workspace=workspace, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Judge “{judge.name}” added.")
            return _redirect(request, reverse("judge_list"))

    return _judge_form_render(request, form, judge=None)


@sensitive_post_parameters("api_key")
@require_http_methods(["GET", "POST"])
@write_required
def judge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    judge = _get_judge_for_user(request, pk)
    form = JudgeProfileForm(
        request.POST or None,
        initial=_initial(judge, JUDGE_FIELDS),
        has_api_key=bool(judge.api_key_encrypted),
    )

    if request.method == "POST" and form.is_valid():
        try:
            services.judge_save(
                workspace=current_workspace(request),
                user=request.user,
                judge=judge,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Judge “{judge.name}” saved.")
            return _redirect(request, reverse("judge_list"))

    return _judge_form_render(request, form, judge=judge)


def _judge_form_render(
    request: HttpRequest, form: JudgeProfileForm, *, judge: JudgeProfile | None
) -> HttpResponse:
    template = "evals/judge_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "judge": judge})
