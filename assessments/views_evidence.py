"""Pages of the public-evidence import: the list with the upload form, one import."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from accounts.permissions import current_workspace, write_required
from assessments import public_evidence
from assessments.forms import EvidenceImportForm
from assessments.models import EvidenceImport
from assessments.public_evidence import FMTI_DEC2025, FmtiFormatError, ImportSummary

LIST_TEMPLATE = "assessments/evidence_import.html"
DETAIL_TEMPLATE = "assessments/evidence_import_detail.html"


def _get_evidence_import_for_user(request: HttpRequest, pk: int) -> EvidenceImport:
    return get_object_or_404(
        EvidenceImport.objects.select_related("imported_by"),
        pk=pk,
        workspace=current_workspace(request),
    )


def _render_list(
    request: HttpRequest,
    form: EvidenceImportForm,
    summary: ImportSummary | None = None,
    upload_problems: list[str] | None = None,
) -> HttpResponse:
    workspace = current_workspace(request)
    context = {
        "form": form,
        "summary": summary,
        "upload_problems": upload_problems or [],
        "imports": public_evidence.evidence_import_list(workspace),
        "edition": FMTI_DEC2025,
        "max_bytes": settings.CANDOR_MAX_IMPORT_BYTES,
        "max_total_bytes": settings.CANDOR_MAX_IMPORT_TOTAL_BYTES,
        "can_write": request.membership.can_write,
    }
    template = LIST_TEMPLATE
    if request.htmx:
        template += "#evidence-panel"
    return render(request, template, context)


# The CSRF check reads the whole body, so it runs after the size check below
# (csrf_protect on the upload) rather than in the middleware before it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def evidence_import(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _evidence_import_upload(request)
    return _render_list(request, EvidenceImportForm())


@write_required
def _evidence_import_upload(request: HttpRequest) -> HttpResponse:
    # Refused on its declared length alone, before a byte of the body is read.
    # Limitation: the server still receives what the browser sends; a proxy's
    # body-size limit (nginx's client_max_body_size) stops it at the door.
    problem = _upload_size_problem(request)
    if problem:
        return _render_list(request, EvidenceImportForm(), upload_problems=[problem])
    return _evidence_import_save(request)


def _upload_size_problem(request: HttpRequest) -> str:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.CANDOR_MAX_IMPORT_TOTAL_BYTES
    if length <= limit:
        return ""
    return (
        f"The upload is {filesizeformat(length)}; Candor takes at most "
        f"{filesizeformat(limit)} in one import and "
        f"{filesizeformat(settings.CANDOR_MAX_IMPORT_BYTES)} a file. The index's "
        "CSV files are much smaller: check that you chose the right files."
    )


@csrf_protect
def _evidence_import_save(request: HttpRequest) -> HttpResponse:
    form = EvidenceImportForm(request.POST, request.FILES)

    if form.is_valid():
        try:
            summary = public_evidence.evidence_import_create(
                workspace=current_workspace(request),
                files=form.fmti_files(),
                user=request.user,
            )
        except FmtiFormatError as error:
            form.add_error(None, error.problems)
        else:
            if request.htmx:
                return _render_list(request, EvidenceImportForm(), summary)
            messages.success(request, _summary_message(summary))
            return redirect("evidence_import_detail", pk=summary.evidence_import.pk)

    return _render_list(request, form)


def _summary_message(summary: ImportSummary) -> str:
    answers = summary.answers_prefilled
    assessments = summary.assessments_prefilled
    if summary.already_imported:
        imported_on = date_filter(
            timezone.localdate(summary.evidence_import.created_at), "j M Y"
        )
        if not answers:
            return (
                f"This edition is already imported (on {imported_on}); nothing changed."
            )
        return (
            f"This edition is already imported (on {imported_on}), so it was not "
            f"stored again. Pre-filled {answers} answer{'s' if answers != 1 else ''} "
            f"in {assessments} assessment{'s' if assessments != 1 else ''} from it."
        )
    return (
        f"Imported {summary.evidence_import.edition}: {summary.developers} developers, "
        f"{summary.indicators} indicators. Pre-filled {answers} "
        f"answer{'s' if answers != 1 else ''} in {assessments} "
        f"assessment{'s' if assessments != 1 else ''}."
    )


@require_http_methods(["GET"])
def evidence_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evidence_import = _get_evidence_import_for_user(request, pk)

    developers = public_evidence.evidence_import_developers(evidence_import)

    context = {
        "evidence_import": evidence_import,
        "developers": developers,
        "matched": [d for d in developers if d.vendors],
    }
    template = DETAIL_TEMPLATE
    if request.htmx:
        template += "#developers"
    return render(request, template, context)
