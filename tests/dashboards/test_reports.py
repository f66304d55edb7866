"""PDF reports: requesting, printing in the background, status and download."""

from __future__ import annotations

import logging
import subprocess
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, json_script
from kombu.exceptions import OperationalError as BrokerError

from assessments.models import Question, ScoreCard
from dashboards import pdf, services
from dashboards.models import Report
from tests.dashboards.conftest import answer_and_score, requires_chromium

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _create_url(assessment) -> str:
    return reverse("report_create", args=[assessment.pk])


def _status_url(report) -> str:
    return reverse("report_status", args=[report.pk])


def _download_url(report) -> str:
    return reverse("report_download", args=[report.pk])


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _header(htmx_headers: dict[str, str]) -> dict[str, str]:
    """Headers of htmx polling from the status beside the Export PDF button."""
    return {**htmx_headers, "HX-Target": "export-status"}


def _done_report(assessment, user) -> Report:
    report = Report.objects.create(
        assessment=assessment, requested_by=user, status=Report.Status.DONE
    )
    report.file.save("report.pdf", ContentFile(b"%PDF-1.7 test"), save=True)
    return report


class TestReportRequest:
    def test_it_queues_a_report_and_enqueues_printing_on_commit(
        self, scored_assessment, owner, django_capture_on_commit_callbacks
    ):
        with mock.patch("dashboards.tasks.report_print.delay") as delay:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                report = services.report_request(scored_assessment, owner)
            enqueued_before_commit = delay.called
            for callback in callbacks:
                callback()

        assert report.status == Report.Status.QUEUED
        assert report.requested_by == owner
        assert not enqueued_before_commit
        delay.assert_called_once_with(report.pk)

    def test_an_unreachable_queue_fails_the_report_with_a_reason(
        self, scored_assessment, owner, django_capture_on_commit_callbacks
    ):
        with (
            mock.patch(
                "dashboards.tasks.report_print.delay",
                side_effect=BrokerError("connection refused"),
            ),
            django_capture_on_commit_callbacks(execute=True),
        ):
            report = services.report_request(scored_assessment, owner)

        report.refresh_from_db()
        assert report.status == Report.Status.FAILED
        assert "background queue could not be reached" in report.error


class TestReportPrint:
    def test_a_report_no_longer_queued_is_not_printed_again(self, scored_assessment):
        report = Report.objects.create(
            assessment=scored_assessment, status=Report.Status.RUNNING
        )

        with mock.patch("dashboards.pdf.report_pdf") as printer:
            services.report_print(report.pk)

        printer.assert_not_called()
        report.refresh_from_db()
        assert report.status == Report.Status.RUNNING

    def test_a_print_error_marks_the_report_failed_with_its_reason(
        self, scored_assessment
    ):
        report = Report.objects.create(assessment=scored_assessment)
        error = pdf.ReportPrintError("Chromium could not print the report: crashed.")

        with mock.patch("dashboards.pdf.html_print", side_effect=error):
            services.report_print(report.pk)

        report.refresh_from_db()
        assert report.status == Report.Status.FAILED
        assert report.error == "Chromium could not print the report: crashed."
        assert report.finished_at is not None
        assert not report.file

    def test_an_unexpected_error_fails_the_report_and_is_logged(
        self, scored_assessment, caplog
    ):
        report = Report.objects.create(assessment=scored_assessment)

        with (
            mock.patch("dashboards.pdf.html_print", side_effect=RuntimeError("boom")),
            caplog.at_level(logging.ERROR, logger="dashboards.services"),
        ):
            services.report_print(report.pk)

        report.refresh_from_db()
        assert report.status == Report.Status.FAILED
        assert "could not be printed (RuntimeError)" in report.error
        assert f"report={report.pk}" in report.error
        assert (
            f"report={report.pk} assessment={scored_assessment.pk} failed"
            in caplog.text
        )

    def test_a_missing_chromium_fails_with_a_readable_reason(
        self, scored_assessment, settings
    ):
        settings.CANDOR_CHROMIUM = "no-such-chromium-binary"
        report = Report.objects.create(assessment=scored_assessment)

        services.report_print(report.pk)

        report.refresh_from_db()
        assert report.status == Report.Status.FAILED
        assert "Chromium was not found" in report.error
        assert "no-such-chromium-binary" in report.error

    def test_printing_is_logged_with_report_and_assessment(
        self, scored_assessment, caplog
    ):
        report = Report.objects.create(assessment=scored_assessment)

        with (
            mock.patch("dashboards.pdf.html_print", return_value=b"%PDF-1.7"),
            caplog.at_level(logging.INFO, logger="dashboards.services"),
        ):
            services.report_print(report.pk)

        report.refresh_from_db()
        assert report.status == Report.Status.DONE
        assert report.file.name.startswith("reports/")
        assert f"report={report.pk} assessment={scored_assessment.pk} printing" in (
            caplog.text
        )
        assert f"report={report.pk} assessment={scored_assessment.pk} done" in (
            caplog.text
        )


class TestReportHtml:
    def test_markup_in_user_text_is_escaped(self, scored_assessment):
        vendor = scored_assessment.offering.vendor
        vendor.name = "<img src=x onerror=alert(1)>Evil"
        vendor.save()

        html = pdf.report_html(scored_assessment)

        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;Evil" in html

    def test_long_notes_are_trimmed(self, scored_assessment):
        html = pdf.report_html(scored_assessment)

        assert "Disclosed in the model card. Disclosed" in html
        assert html.count("Disclosed in the model card.") < 40
        assert "…" in html

    def test_the_stylesheet_is_a_local_file_and_no_script_is_loaded(
        self, scored_assessment
    ):
        html = pdf.report_html(scored_assessment)

        assert 'href="file:///' in html
        assert "print.css" in html
        assert "<script src" not in html

    def test_charts_are_drawn_still_for_print(self, scored_assessment):
        html = pdf.report_html(scored_assessment)

        assert 'data-chart="chart-radar" data-chart-static="true"' in html
        assert 'data-chart="chart-bars" data-chart-static="true"' in html

    def test_it_states_the_method_and_framework(self, scored_assessment):
        html = pdf.report_html(scored_assessment)

        card = ScoreCard.objects.get(assessment=scored_assessment)
        assert f"Version {card.method_version}" in html
        assert "Candor v1 (version 1)" in html
        assert "Unknown counts as zero." in html
        assert "85.0 or more" in html

    def test_open_questions_are_listed_but_not_those_that_do_not_apply(
        self, scored_assessment
    ):
        questions = Question.objects.filter(framework=scored_assessment.framework)
        open_question = questions.get(key="t_change_log")
        # Asked only once the vendor says it can train on a custom environment.
        not_applicable = questions.get(key="ed_custom_isolation")

        html = pdf.report_html(scored_assessment)

        assert escape(open_question.text) in html
        assert escape(not_applicable.text) not in html

    def test_an_answer_to_a_question_that_no_longer_applies_is_left_out(
        self, scored_assessment
    ):
        answer_and_score(
            scored_assessment, {"ed_custom_isolation": ("yes", "vendor_asserted")}
        )
        question = Question.objects.get(
            framework=scored_assessment.framework, key="ed_custom_isolation"
        )

        html = pdf.report_html(scored_assessment)

        assert escape(question.text) not in html

    def test_an_unscored_assessment_still_renders(self, assessment):
        html = pdf.report_html(assessment)

        assert "Not scored yet" in html
        assert "data-chart=" not in html


@requires_chromium
class TestPrintedPdf:
    def test_export_prints_a_pdf_with_vendor_grade_and_pillars(
        self,
        owner_client,
        scored_assessment,
        django_capture_on_commit_callbacks,
        tmp_path,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(_create_url(scored_assessment))

        report = Report.objects.get(assessment=scored_assessment)
        assert response.status_code == 302
        assert report.status == Report.Status.DONE, report.error
        download = owner_client.get(_download_url(report))
        content = b"".join(download.streaming_content)
        assert content.startswith(b"%PDF")
        text = _pdf_text(content, tmp_path)
        card = ScoreCard.objects.get(assessment=scored_assessment).data
        assert "Northwind AI" in text
        assert "nw-chat 2026-01" in text
        assert f"{card['overall']:g} / 100" in text
        for pillar in card["pillars"]:
            assert pillar["title"] in text
        assert "What does the vendor's post-training primarily reward?" in text
        assert "Page 1 of" in text

    def test_charts_are_drawn_into_the_printed_page(self, tmp_path):
        figure = {
            "data": [{"type": "bar", "orientation": "h", "x": [40], "y": ["Quokka"]}],
            "layout": {"height": 200},
        }
        page = tmp_path / "report.html"
        page.write_text(
            f'<!doctype html><body><div data-chart="chart-q"></div>'
            f"{json_script(figure, 'chart-q')}</body>"
        )

        content = pdf.html_print(page, footer="<span></span>")

        assert "Quokka" in _pdf_text(content, tmp_path)

    def test_a_chart_without_its_figure_fails_with_a_reason(self, tmp_path):
        page = tmp_path / "report.html"
        page.write_text('<!doctype html><body><div data-chart="chart-x"></div></body>')

        with pytest.raises(pdf.ReportPrintError, match="no figure named chart-x"):
            pdf.html_print(page, footer="<span></span>")

    def test_markup_in_the_vendor_name_is_printed_as_text(
        self, scored_assessment, tmp_path
    ):
        vendor = scored_assessment.offering.vendor
        vendor.name = "Northwind <b>AI</b> & Co"
        vendor.save()

        content = pdf.report_pdf(scored_assessment)

        assert "Northwind <b>AI</b> & Co" in _pdf_text(content, tmp_path)


class TestReportCreateView:
    def test_it_queues_a_report_and_redirects_to_its_status(
        self, owner_client, scored_assessment
    ):
        response = owner_client.post(_create_url(scored_assessment))

        report = Report.objects.get(assessment=scored_assessment)
        assert report.status == Report.Status.QUEUED
        assert response.status_code == 302
        assert response.url == _status_url(report)

    def test_htmx_shows_progress_beside_the_button_that_was_pressed(
        self, owner_client, scored_assessment, htmx_headers
    ):
        response = owner_client.post(
            _create_url(scored_assessment),
            headers={**htmx_headers, "HX-Target": "export-status"},
        )

        report = Report.objects.get(assessment=scored_assessment)
        html = response.content.decode()
        status = html.split("hx-swap-oob")[0]
        assert response.status_code == 200
        assert html.lstrip().startswith('<span id="export-status"')
        assert f'hx-get="{_status_url(report)}"' in status
        assert 'hx-trigger="every 1s"' in status
        assert "<progress" in status
        assert "Waiting for a worker…" in status
        assert "<html" not in html

    def test_htmx_also_adds_the_report_to_the_list_below(
        self, owner_client, scored_assessment, htmx_headers
    ):
        response = owner_client.post(
            _create_url(scored_assessment), headers=htmx_headers
        )

        report = Report.objects.get(assessment=scored_assessment)
        html = response.content.decode()
        row = html[html.index('hx-swap-oob="afterbegin:#report-list"') :]
        assert f'<article id="report-{report.pk}"' in row
        assert "PDF summary" in row

    def test_a_viewer_may_request_a_report(self, viewer_client, scored_assessment):
        response = viewer_client.post(_create_url(scored_assessment))

        assert response.status_code == 302
        assert Report.objects.filter(assessment=scored_assessment).count() == 1

    def test_another_workspace_cannot_request_one(
        self, outsider_client, scored_assessment
    ):
        response = outsider_client.post(_create_url(scored_assessment))

        assert response.status_code == 404
        assert not Report.objects.exists()

    def test_anonymous_is_sent_to_log_in(self, client, scored_assessment):
        response = client.post(_create_url(scored_assessment))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        assert not Report.objects.exists()

    def test_get_is_not_allowed(self, owner_client, scored_assessment):
        response = owner_client.get(_create_url(scored_assessment))

        assert response.status_code == 405


class TestReportStatusView:
    def test_a_queued_report_shows_progress_and_polls(
        self, owner_client, scored_assessment, owner
    ):
        report = Report.objects.create(assessment=scored_assessment, requested_by=owner)

        response = owner_client.get(_status_url(report))

        html = response.content.decode()
        assert response.status_code == 200
        assert "Waiting for a worker…" in html
        assert "<progress" in html
        assert 'hx-trigger="every 1s"' in html
        assert "Northwind AI" in html

    def test_a_printing_report_says_so(self, owner_client, scored_assessment):
        report = Report.objects.create(
            assessment=scored_assessment, status=Report.Status.RUNNING
        )

        response = owner_client.get(_status_url(report))

        assert "Printing…" in response.content.decode()

    def test_a_done_report_links_to_its_download_and_stops_polling(
        self, owner_client, scored_assessment, owner
    ):
        report = _done_report(scored_assessment, owner)

        response = owner_client.get(_status_url(report))

        html = response.content.decode()
        assert f'href="{_download_url(report)}"' in html
        assert "every 1s" not in html
        assert "<progress" not in html

    def test_a_failed_report_shows_the_reason(self, owner_client, scored_assessment):
        report = Report.objects.create(
            assessment=scored_assessment,
            status=Report.Status.FAILED,
            error="Chromium was not found.",
        )

        response = owner_client.get(_status_url(report))

        html = response.content.decode()
        assert "Could not print." in html
        assert "Chromium was not found." in html
        assert "every 1s" not in html

    def test_a_stalled_report_stops_polling_and_says_why(
        self, owner_client, scored_assessment
    ):
        report = Report.objects.create(assessment=scored_assessment)
        Report.objects.filter(pk=report.pk).update(
            created_at=timezone.now() - timedelta(hours=1)
        )

        response = owner_client.get(_status_url(report))

        html = response.content.decode()
        assert "No worker seems to be running" in html
        assert "every 1s" not in html

    def test_the_header_status_of_a_printing_report_keeps_polling(
        self, owner_client, scored_assessment, htmx_headers
    ):
        report = Report.objects.create(
            assessment=scored_assessment, status=Report.Status.RUNNING
        )

        response = owner_client.get(_status_url(report), headers=_header(htmx_headers))

        html = response.content.decode()
        assert html.lstrip().startswith('<span id="export-status"')
        assert "Printing…" in html
        assert 'hx-trigger="every 1s"' in html
        assert "<article" not in html

    def test_the_header_status_of_a_done_report_offers_the_download(
        self, owner_client, scored_assessment, owner, htmx_headers
    ):
        report = _done_report(scored_assessment, owner)

        response = owner_client.get(_status_url(report), headers=_header(htmx_headers))

        html = response.content.decode()
        assert html.lstrip().startswith('<span id="export-status"')
        assert "PDF ready" in html
        assert f'href="{_download_url(report)}"' in html
        assert "every 1s" not in html

    def test_the_header_status_of_a_failed_report_says_why(
        self, owner_client, scored_assessment, htmx_headers
    ):
        report = Report.objects.create(
            assessment=scored_assessment,
            status=Report.Status.FAILED,
            error="Chromium was not found.",
        )

        response = owner_client.get(_status_url(report), headers=_header(htmx_headers))

        html = response.content.decode()
        assert "Could not print." in html
        assert "Chromium was not found." in html
        assert "every 1s" not in html

    def test_the_header_status_of_a_stalled_report_stops_polling(
        self, owner_client, scored_assessment, htmx_headers
    ):
        report = Report.objects.create(assessment=scored_assessment)
        Report.objects.filter(pk=report.pk).update(
            created_at=timezone.now() - timedelta(hours=1)
        )

        response = owner_client.get(_status_url(report), headers=_header(htmx_headers))

        html = response.content.decode()
        assert "Not printed after" in html
        assert "every 1s" not in html

    def test_htmx_gets_only_the_status_row(
        self, owner_client, scored_assessment, htmx_headers
    ):
        report = Report.objects.create(assessment=scored_assessment)

        response = owner_client.get(_status_url(report), headers=htmx_headers)

        html = response.content.decode()
        assert html.lstrip().startswith(f'<article id="report-{report.pk}"')
        assert "<html" not in html

    def test_a_viewer_can_follow_a_report(self, viewer_client, scored_assessment):
        report = Report.objects.create(assessment=scored_assessment)

        response = viewer_client.get(_status_url(report))

        assert response.status_code == 200

    def test_another_workspaces_report_is_not_found(
        self, outsider_client, scored_assessment
    ):
        report = Report.objects.create(assessment=scored_assessment)

        response = outsider_client.get(_status_url(report))

        assert response.status_code == 404

    def test_anonymous_is_sent_to_log_in(self, client, scored_assessment):
        report = Report.objects.create(assessment=scored_assessment)

        response = client.get(_status_url(report))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_post_is_not_allowed(self, owner_client, scored_assessment):
        report = Report.objects.create(assessment=scored_assessment)

        response = owner_client.post(_status_url(report))

        assert response.status_code == 405


class TestReportDownloadView:
    def test_it_downloads_the_pdf_as_a_named_attachment(
        self, owner_client, scored_assessment, owner
    ):
        report = _done_report(scored_assessment, owner)

        response = owner_client.get(_download_url(report))

        day = timezone.localdate(report.created_at).isoformat()
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            f'attachment; filename="candor-northwind-ai-nw-chat-2026-01-{day}.pdf"'
        )
        assert b"".join(response.streaming_content) == b"%PDF-1.7 test"

    def test_a_viewer_may_download(self, viewer_client, scored_assessment, owner):
        report = _done_report(scored_assessment, owner)

        response = viewer_client.get(_download_url(report))

        assert response.status_code == 200

    @pytest.mark.parametrize(
        "status", [Report.Status.QUEUED, Report.Status.RUNNING, Report.Status.FAILED]
    )
    def test_a_report_that_is_not_ready_is_not_found(
        self, owner_client, scored_assessment, status
    ):
        report = Report.objects.create(assessment=scored_assessment, status=status)

        response = owner_client.get(_download_url(report))

        assert response.status_code == 404

    def test_a_missing_file_is_not_found(self, owner_client, scored_assessment, owner):
        report = _done_report(scored_assessment, owner)
        report.file.storage.delete(report.file.name)

        response = owner_client.get(_download_url(report))

        assert response.status_code == 404

    def test_another_workspace_cannot_download(
        self, outsider_client, scored_assessment, owner
    ):
        report = _done_report(scored_assessment, owner)

        response = outsider_client.get(_download_url(report))

        assert response.status_code == 404

    def test_anonymous_is_sent_to_log_in(self, client, scored_assessment, owner):
        report = _done_report(scored_assessment, owner)

        response = client.get(_download_url(report))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_post_is_not_allowed(self, owner_client, scored_assessment, owner):
        report = _done_report(scored_assessment, owner)

        response = owner_client.post(_download_url(report))

        assert response.status_code == 405
