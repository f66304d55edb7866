"""Pages of the public-evidence import: the list with the upload form, one import."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
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
) -> HttpResponse:
    workspace = current_workspace(request)
    context = {
        "form": form,
        "summary": summary,
        "imports": public_evidence.evidence_import_list(workspace),
        "edition": FMTI_DEC2025,
        "max_bytes": settings.CANDOR_MAX_IMPORT_BYTES,
        "can_write": request.membership.can_write,
    }
    template = LIST_TEMPLATE
    if request.htmx:
        template += "#evidence-panel"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def evidence_import(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _evidence_import_upload(request)
    return _render_list(request, EvidenceImportForm())


@write_required
def _evidence_import_upload(request: HttpRequest) -> HttpResponse:
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
