from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods

from accounts.permissions import current_workspace
from assessments.models import Assessment
from assessments.selectors import assessment_score_is_pending
from dashboards import selectors, services
from dashboards.models import Report

# The element beside the dashboard's Export PDF button that follows one report.
EXPORT_STATUS_ID = "export-status"


def _get_assessment_for_user(request: HttpRequest, pk: int) -> Assessment:
    return get_object_or_404(
        # The endpoint comes along: the dashboard offers a new run when there is one.
        Assessment.objects.select_related(
            "offering__vendor", "offering__endpoint", "framework", "owner"
        ),
        pk=pk,
        workspace=current_workspace(request),
    )


def _get_report_for_user(request: HttpRequest, pk: int) -> Report:
    return get_object_or_404(
        Report.objects.select_related("assessment__offering__vendor", "requested_by"),
        pk=pk,
        assessment__workspace=current_workspace(request),
    )


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


@require_http_methods(["GET"])
def assessment_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)

    context = {
        "assessment": assessment,
        "summary": selectors.scorecard_summary(assessment),
        "score_pending": assessment_score_is_pending(assessment),
    }
    # The score section polls itself while a rescoring is pending.
    if _wants_partial(request):
        return render(request, "dashboards/dashboard.html#score", context)
    context["reports"] = selectors.report_list_latest(assessment)
    return render(request, "dashboards/dashboard.html", context)


# Viewers may request reports too: a PDF is a way of reading the assessment.
@require_http_methods(["POST"])
def report_create(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)

    report = services.report_request(assessment, request.user)

    # The progress shows beside the button that was pressed, and the new row
    # joins the list of reports further down the page.
    if _wants_partial(request):
        context = {"report": report, "with_row": True}
        return render(request, "dashboards/report.html#export", context)
    return redirect("report_status", report.pk)


@require_http_methods(["GET"])
def report_status(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_user(request, pk)

    context = {"report": report, "assessment": report.assessment}
    if _wants_partial(request):
        if request.htmx.target == EXPORT_STATUS_ID:
            return render(request, "dashboards/report.html#export", context)
        return render(request, "dashboards/report.html#status", context)
    return render(request, "dashboards/report.html", context)


@require_http_methods(["GET"])
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get_report_for_user(request, pk)
    if report.status != Report.Status.DONE or not report.file:
        raise Http404("This report is not ready to download.")

    try:
        content = report.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("This report's file is missing; request a new one.") from exc
    return FileResponse(
        content,
        as_attachment=True,
        filename=_download_name(report),
        content_type="application/pdf",
    )


def _download_name(report: Report) -> str:
    offering = report.assessment.offering
    parts = [
        "candor",
        slugify(offering.vendor.name) or "vendor",
        slugify(str(offering)) or "offering",
        timezone.localdate(report.created_at).isoformat(),
    ]
    return "-".join(parts) + ".pdf"
