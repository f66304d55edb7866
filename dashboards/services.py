"""Dashboards writes: PDF reports, requested and printed in the background."""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from assessments.models import Assessment
from dashboards import pdf
from dashboards.models import Report

logger = logging.getLogger(__name__)


def report_request(assessment: Assessment, user) -> Report:
    """Queue a PDF report of the assessment, printed once the transaction commits."""
    # Imported here because the task module imports this one.
    from dashboards.tasks import report_print

    # Limitation: each request prints a new report, even when one for the same
    # assessment is still queued; the button is disabled while a request is in
    # flight, but nothing stops a person from asking twice on purpose.
    report = Report.objects.create(
        assessment=assessment, requested_by=user, status=Report.Status.QUEUED
    )
    logger.info("report=%s assessment=%s queued", report.pk, assessment.pk)

    def enqueue() -> None:
        try:
            report_print.delay(report.pk)
        except BrokerError:
            logger.exception("report=%s not enqueued", report.pk)
            _report_fail(
                report,
                "The background queue could not be reached, so nothing will print "
                "this report. Check that Redis and a worker are running, then try "
                "again.",
            )

    transaction.on_commit(enqueue)
    return report


def report_print(report_id: int) -> None:
    """Claim a queued report, print it and store the PDF, or mark it failed."""
    # The conditional update lets exactly one delivery of the task print; a
    # redelivered or duplicated task finds the report no longer queued.
    # Limitation: a worker killed mid-print (hard time limit, out of memory)
    # leaves the report running for good, because its redelivery finds it
    # claimed; the status page calls it stalled after Report.STALLED_AFTER.
    # Recording when a report was claimed would let a late redelivery take
    # over a claim older than the task's time limit.
    claimed = Report.objects.filter(pk=report_id, status=Report.Status.QUEUED).update(
        status=Report.Status.RUNNING
    )
    if claimed != 1:
        logger.info("report=%s not queued any more; nothing to print", report_id)
        return
    report = Report.objects.select_related(
        "assessment__offering__vendor", "assessment__framework"
    ).get(pk=report_id)
    assessment = report.assessment
    logger.info("report=%s assessment=%s printing", report.pk, assessment.pk)

    try:
        content = pdf.report_pdf(assessment)
    except pdf.ReportPrintError as exc:
        logger.warning(
            "report=%s assessment=%s failed: %s", report.pk, assessment.pk, exc
        )
        _report_fail(report, str(exc))
        return
    except SoftTimeLimitExceeded:
        logger.warning("report=%s assessment=%s timed out", report.pk, assessment.pk)
        _report_fail(report, "Printing took too long and was stopped. Try again.")
        return
    except Exception as exc:
        logger.exception("report=%s assessment=%s failed", report.pk, assessment.pk)
        _report_fail(
            report,
            f"The report could not be printed ({type(exc).__name__}). "
            f"The worker log has the details under report={report.pk}.",
        )
        return

    report.file.save(f"report-{report.pk}.pdf", ContentFile(content), save=False)
    report.status = Report.Status.DONE
    report.error = ""
    report.finished_at = timezone.now()
    report.save(update_fields=["file", "status", "error", "finished_at"])
    logger.info(
        "report=%s assessment=%s done bytes=%s", report.pk, assessment.pk, len(content)
    )


def _report_fail(report: Report, reason: str) -> None:
    report.status = Report.Status.FAILED
    report.error = reason
    report.finished_at = timezone.now()
    report.save(update_fields=["status", "error", "finished_at"])
