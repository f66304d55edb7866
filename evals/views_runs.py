"""Evaluation runs: start one, watch it, read its results and every transcript."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.permissions import current_workspace, write_required
from evals import selectors, services
from evals.forms import RunForm
from evals.models import Endpoint, Run, Sample
from vendors.models import Offering

# How often a running run's page asks for fresh progress.
POLL_SECONDS = 2
RUNS_PER_PAGE = 25


def _get_offering_for_user(request: HttpRequest, pk: int) -> Offering:
    return get_object_or_404(
        Offering.objects.select_related("vendor"),
        pk=pk,
        vendor__workspace=current_workspace(request),
    )


def _get_run_for_user(request: HttpRequest, pk: int) -> Run:
    return get_object_or_404(
        Run.objects.select_related("offering__vendor", "judge", "created_by"),
        pk=pk,
        workspace=current_workspace(request),
    )


def _get_sample_for_user(request: HttpRequest, pk: int) -> Sample:
    return get_object_or_404(
        Sample.objects.select_related("run__offering__vendor", "run__judge"),
        pk=pk,
        run__workspace=current_workspace(request),
    )


@require_http_methods(["GET", "POST"])
@write_required
def run_create(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)
    endpoint = Endpoint.objects.filter(offering=offering).first()
    data = request.POST if request.method == "POST" else None
    if request.htmx and request.method == "GET" and request.GET:
        # The form asks for a fresh estimate whenever a choice changes.
        data = request.GET
    form = RunForm(data, workspace=offering.vendor.workspace)

    if request.method == "POST" and form.is_valid():
        try:
            run = services.run_start(
                offering=offering, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # No flash message: the run page's live status says it is queued and
            # stops saying so once the run moves on.
            if request.htmx:
                return HttpResponseClientRedirect(run.get_absolute_url())
            return redirect(run)

    families, repeats = form.chosen_families(), form.chosen_repeats()
    estimate = services.run_estimate_detail(
        families,
        repeats,
        endpoint,
        fresh=form.chosen_fresh(),
        judge=form.chosen_judge(),
    )
    context = {
        "offering": offering,
        "vendor": offering.vendor,
        "endpoint": endpoint,
        "form": form,
        "family_choices": _family_choices(form, families),
        "estimate_display": f"{estimate.tokens:,}",
        "conversations": selectors.run_conversation_count(families, repeats),
        "cached_conversations": estimate.cached,
    }
    template = "evals/run_create.html"
    if request.htmx:
        template += "#estimate" if request.method == "GET" else "#form"
    return render(request, template, context)


def _family_choices(form: RunForm, chosen: list[str]) -> list[dict]:
    return [
        {
            "key": family.key,
            "title": family.title,
            "description": family.description,
            "checked": family.key in chosen,
            "conversations": selectors.run_conversation_count([family.key], 1),
        }
        for family in form.family_list
    ]


def _run_context(request: HttpRequest, run: Run, family: str | None = None) -> dict:
    progress = selectors.run_family_progress(run)
    return {
        "run": run,
        "offering": run.offering,
        "vendor": run.offering.vendor,
        "progress": progress,
        "results": selectors.run_results(run, family=family, progress=progress)
        if run.is_finished
        else [],
        "open_family": family,
        "judge_errors": selectors.run_judge_errors(run) if run.is_finished else 0,
        "worker_silent_seconds": selectors.run_worker_silence(run),
        "error_summary": selectors.run_error_summary(run),
        "poll_seconds": POLL_SECONDS,
        "can_write": request.membership.can_write,
        "tokens_used": f"{run.tokens_in + run.tokens_out:,}",
        "tokens_estimated": f"{run.estimated_tokens:,}",
        "tokens_budget": f"{run.budget_tokens:,}" if run.budget_tokens else "",
        "finished_count": run.done + run.errored,
        "percent": round(100 * (run.done + run.errored) / run.total)
        if run.total
        else 0,
    }


@require_http_methods(["GET"])
def run_list(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)

    page = Paginator(
        Run.objects.filter(offering=offering).order_by("-created_at", "-pk"),
        RUNS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    context = {
        "offering": offering,
        "vendor": offering.vendor,
        "page": page,
        "runs": page.object_list,
        "can_start": request.membership.can_write
        and not offering.is_archived
        and Endpoint.objects.filter(offering=offering).exists(),
    }
    template = "evals/run_list.html"
    if request.htmx:
        template += "#runs"
    return render(request, template, context)


@require_http_methods(["GET"])
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    # A family's transcripts, when its list was not rendered with the page.
    family = request.GET.get("family")
    if family is not None and family not in run.families:
        raise Http404("This run has no such probe family.")

    context = _run_context(request, run, family)
    template = "evals/run_detail.html"
    if request.htmx and family:
        result = next((r for r in context["results"] if r.key == family), None)
        if result is None:
            raise Http404("This run has no results yet.")
        return render(request, template + "#samples", {**context, "family": result})
    if request.htmx:
        template += "#live"
    return render(request, template, context)


@require_http_methods(["GET"])
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)

    return render(request, "evals/run_detail.html#live", _run_context(request, run))


@require_http_methods(["POST"])
@write_required
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)

    if run.is_finished:
        note = f"This run had already ended ({run.status_label})."
    else:
        services.run_cancel(run, request.user)
        note = "Cancel requested. Conversations in flight finish, then the run stops."

    if request.htmx:
        # The live partial shows the run's state; a flash would only linger.
        return render(request, "evals/run_detail.html#live", _run_context(request, run))
    messages.info(request, note)
    return redirect(run)


@require_http_methods(["GET"])
def sample_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sample = _get_sample_for_user(request, pk)

    context = {
        "sample": sample,
        "run": sample.run,
        "offering": sample.run.offering,
        "vendor": sample.run.offering.vendor,
        "bubbles": selectors.sample_conversation(sample),
        "elapsed_ms": selectors.sample_elapsed_ms(sample),
        "family_title": selectors.family_title(sample.family),
    }
    template = "evals/sample_detail.html"
    if request.htmx:
        template += "#conversation"
    return render(request, template, context)
