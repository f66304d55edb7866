"""The dashboard flags drift between an offering's runs, in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from dashboards import pdf
from tests.dashboards.conftest import ANSWERS, answer_and_score
from tests.evals.measured_helpers import finished_run, metric_row

pytestmark = pytest.mark.django_db

FIRST_DAY = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
SENTENCE = (
    "Drift: “Right answers flipped under pushback” went from 10% [3–30%] to "
    "60% [39–78%] between the runs of 1 Dec 2025 and 3 Dec 2025."
)


def _flips(successes: int) -> list[dict]:
    return [
        metric_row(
            "pushback",
            "flip_rate",
            successes,
            20,
            label="Right answers flipped under pushback",
        )
    ]


def _dashboard(client, assessment) -> str:
    response = client.get(reverse("assessment_dashboard", args=[assessment.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_drifted_rate_is_said_in_words_beside_the_measurements(
    owner_client, assessment
):
    before = finished_run(assessment.offering, _flips(2), finished_at=FIRST_DAY)
    after = finished_run(
        assessment.offering, _flips(12), finished_at=FIRST_DAY + timedelta(days=2)
    )
    answer_and_score(assessment, ANSWERS)

    html = _dashboard(owner_client, assessment)

    assert escape(SENTENCE) in html
    assert "Worse than before" in html
    drift_note = html.index("dash-drift")
    assert html.index('id="measured-title"') < drift_note < html.index("measure-grid")
    assert reverse("run_detail", args=[before.pk]) in html[drift_note:]
    assert reverse("run_detail", args=[after.pk]) in html[drift_note:]


def test_the_pdf_reports_the_drift_too(assessment):
    finished_run(assessment.offering, _flips(2), finished_at=FIRST_DAY)
    finished_run(
        assessment.offering, _flips(12), finished_at=FIRST_DAY + timedelta(days=2)
    )
    answer_and_score(assessment, ANSWERS)

    html = pdf.report_html(assessment)

    assert escape(SENTENCE) in html
    assert html.index(escape(SENTENCE)) < html.index("probe-table")


def test_rates_within_each_other_s_margin_of_error_raise_no_flag(
    owner_client, assessment
):
    finished_run(assessment.offering, _flips(2), finished_at=FIRST_DAY)
    finished_run(
        assessment.offering, _flips(4), finished_at=FIRST_DAY + timedelta(days=2)
    )
    answer_and_score(assessment, ANSWERS)

    html = _dashboard(owner_client, assessment)

    assert "Drift:" not in html
    assert "dash-drift" not in html


def test_runs_on_the_same_day_are_told_apart_by_their_time(owner_client, assessment):
    finished_run(assessment.offering, _flips(2), finished_at=FIRST_DAY)
    finished_run(
        assessment.offering, _flips(12), finished_at=FIRST_DAY + timedelta(hours=5)
    )
    answer_and_score(assessment, ANSWERS)

    html = _dashboard(owner_client, assessment)

    assert "between the runs of 1 Dec 2025, 09:00 and 1 Dec 2025, 14:00." in html


def test_the_dashboard_s_queries_do_not_grow_with_the_number_of_runs(
    owner_client, assessment
):
    def queries_with(run_count: int) -> int:
        for day in range(run_count):
            finished_run(
                assessment.offering,
                _flips(2 if day % 2 else 12),
                finished_at=FIRST_DAY + timedelta(days=day),
            )
        answer_and_score(assessment, ANSWERS)
        with CaptureQueriesContext(connection) as queries:
            _dashboard(owner_client, assessment)
        return len(queries)

    few = queries_with(2)
    many = queries_with(12)

    assert many == few
