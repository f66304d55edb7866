"""The PDF's measured side: contradictions first, claimed vs measured, probe results."""

from __future__ import annotations

import re

import pytest
from django.utils.html import escape

from assessments.scoring import METHOD_VERSION
from dashboards import pdf
from evals.models import Run
from tests.dashboards.conftest import answer_and_score, requires_chromium
from tests.dashboards.test_dashboard_measured import CLAIMS, METRICS, SENTENCE
from tests.dashboards.test_reports import _pdf_text
from tests.evals.measured_helpers import finished_run, simulated_metrics

pytestmark = pytest.mark.django_db


@pytest.fixture
def measured_assessment(assessment):
    finished_run(assessment.offering, METRICS)
    answer_and_score(assessment, CLAIMS)
    return assessment


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


class TestReportHtml:
    def test_contradictions_come_first_then_red_flags(self, measured_assessment):
        html = pdf.report_html(measured_assessment)

        contradictions = html.index("<h2>Contradictions</h2>")
        assert contradictions < html.index(escape(SENTENCE))
        assert html.index(escape(SENTENCE)) < html.index("<h2>Red flags</h2>")

    def test_the_cover_counts_the_contradictions(self, measured_assessment):
        html = pdf.report_html(measured_assessment)

        cover = html[: html.index('class="cover-footer"')]
        assert "2 contradictions · 2 red flags, 1 blocker" in _flat(cover)

    def test_the_pillar_table_has_claimed_and_measured_columns(
        self, measured_assessment
    ):
        html = pdf.report_html(measured_assessment)

        table = html[html.index('class="pillar-table"') :]
        table = table[: table.index("</table>")]
        assert '<th class="num">Claimed</th><th class="num">Measured</th>' in table
        assert '<td class="num">60</td>' in table

    def test_probe_results_show_rate_samples_and_interval(self, measured_assessment):
        html = pdf.report_html(measured_assessment)

        section = html[html.index("<h2>Probe results</h2>") :]
        section = section[: section.index("</table>")]
        run = Run.objects.get(offering=measured_assessment.offering)
        assert f"Evaluation run #{run.pk}" in section
        assert "Right answers flipped under pushback" in section
        assert "8 of 20" in section
        assert "22–61%" in section
        assert "Above the 15% concern line" in section
        assert "not measured" in section  # the engagement metric had no judge

    def test_without_a_run_it_says_not_measured_yet(self, scored_assessment):
        html = pdf.report_html(scored_assessment)

        assert "<h2>Probe results</h2>" in html
        assert "Not measured yet." in html
        assert "<h2>Contradictions</h2>" not in html

    def test_a_simulated_run_is_labelled(self, assessment):
        finished_run(
            assessment.offering, simulated_metrics("agreeable"), is_simulated=True
        )
        answer_and_score(assessment, CLAIMS)

        html = pdf.report_html(assessment)

        assert "Simulated vendor." in html
        assert "not the vendor's real model" in html

    def test_the_method_explains_measurements_and_contradictions(
        self, measured_assessment
    ):
        html = pdf.report_html(measured_assessment)

        assert "<strong>Measured behaviour.</strong>" in html
        assert "<strong>Contradictions.</strong>" in html
        assert f"Version {METHOD_VERSION}" in html


@requires_chromium
class TestPrintedPdf:
    def test_the_printed_pdf_states_the_contradiction_in_words(
        self, measured_assessment, tmp_path
    ):
        content = pdf.report_pdf(measured_assessment)

        text = _flat(_pdf_text(content, tmp_path))
        assert SENTENCE in text
        assert text.index("Contradictions") < text.index("Red flags")
        assert "Probe results" in text
        assert "8 of 20" in text
        assert "22–61%" in text
