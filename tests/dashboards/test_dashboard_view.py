"""The assessment dashboard page and its self-polling score section."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import ScoreCard
from dashboards.models import Report
from tests.dashboards.conftest import ANSWERS, answer_and_score

pytestmark = pytest.mark.django_db


def _url(assessment) -> str:
    return reverse("assessment_dashboard", args=[assessment.pk])


def _score_data(assessment, red_flags: list[dict], **fields) -> dict:
    pillar = {
        "key": "values",
        "title": "Values",
        "score": 62.0,
        "claimed": 62.0,
        "measured": None,
        "answered": 2,
        "applicable": 11,
        "evidence_mix": {"vendor_asserted": 1.0},
    }
    return {
        "method_version": "1",
        "overall": 62.0,
        "grade": "C",
        "pillars": [pillar],
        "evidence_mix": {
            "vendor_asserted": 1.0,
            "publicly_disclosed": 0.0,
            "independently_observed": 0.0,
        },
        "mostly_vendor_asserted": True,
        "red_flags": red_flags,
        "unanswered": [],
        "answered": 2,
        "applicable": 11,
        "recommended_decision": "conditions",
        **fields,
    }


class TestDashboardPage:
    def test_it_shows_the_grade_score_and_recommended_decision(
        self, owner_client, graded_assessment
    ):
        response = owner_client.get(_url(graded_assessment))

        card = ScoreCard.objects.get(assessment=graded_assessment).data
        html = response.content.decode()
        assert response.status_code == 200
        assert card["grade"] in ("A", "B")
        assert f'class="grade grade-{card["grade"]}"' in html
        assert f"<strong>{card['overall']:g}</strong>" in html
        assert "Approve with conditions" in html
        assert "the grade alone would approve" in html

    def test_too_few_answers_show_a_provisional_score_without_a_grade(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        card = ScoreCard.objects.get(assessment=scored_assessment).data
        html = response.content.decode()
        assert card["grade"] is None and card["overall"] is not None
        assert f"<strong>{card['overall']:g}</strong>" in html
        assert "provisional" in html
        assert "No grade until answers cover at least half" in html
        assert "No recommendation yet" in html
        assert "Northwind AI" in html
        assert "nw-chat 2026-01" in html
        assert "Customer-facing assistant" in html

    def test_it_says_the_score_is_provisional_while_questions_are_open(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        card = ScoreCard.objects.get(assessment=scored_assessment).data
        assert card["answered"] < card["applicable"]
        assert (
            f"{card['answered']} of {card['applicable']} answered"
            in response.content.decode()
        )

    def test_red_flags_come_before_the_pillar_details(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        blocker = html.index(
            "What does the vendor&#x27;s post-training primarily reward?"
        )
        answer = html.index("Engagement (time in app, session length, retention)")
        pillars = html.index('id="pillars-title"')
        assert blocker < answer < pillars
        assert html.index('id="flags-title"') < html.index('data-chart="chart-radar"')

    def test_blockers_are_listed_before_warnings(
        self, owner_client, assessment, candor_v1
    ):
        warning = {
            "question": "v_disagrees_with_user",
            "pillar": "values",
            "text": "When the user is wrong?",
            "answer_label": "Follow the user's view",
            "severity": "warning",
        }
        blocker = {**warning, "question": "v_use_case_permitted", "severity": "blocker"}
        blocker["text"] = "Is your use permitted?"
        ScoreCard.objects.create(
            assessment=assessment,
            data=_score_data(assessment, [warning, blocker]),
            method_version="1",
        )

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        assert html.index("Is your use permitted?") < html.index(
            "When the user is wrong?"
        )

    def test_each_flag_links_to_its_question(self, owner_client, scored_assessment):
        response = owner_client.get(_url(scored_assessment))

        questionnaire = reverse("assessment_detail", args=[scored_assessment.pk])
        assert (
            f'href="{questionnaire}?pillar=optimization_target#q-ot_primary_reward"'
            in response.content.decode()
        )

    def test_it_lists_unanswered_questions_by_pillar_with_links(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        questionnaire = reverse("assessment_detail", args=[scored_assessment.pk])
        assert "Unanswered questions" in html
        assert f'href="{questionnaire}?pillar=transparency#q-t_change_log"' in html

    def test_it_embeds_every_chart_as_json_for_the_static_script(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        for name in ("chart-radar", "chart-bars", "chart-evidence"):
            assert f'<script id="{name}" type="application/json">' in html
            assert f'data-chart="{name}"' in html
        assert "/static/vendor/plotly/plotly.min.js" in html
        assert "/static/dashboards/charts.js" in html

    def test_no_inline_script_runs_on_the_page(self, owner_client, scored_assessment):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        scripts = html.split("<script")[1:]
        for script in scripts:
            opening = script.split(">", 1)[0]
            assert (
                'type="application/json"' in opening
                or "src=" in opening
                or "nonce=" in opening
            ), opening

    def test_a_mostly_vendor_asserted_score_is_labelled(
        self, owner_client, assessment, candor_v1
    ):
        ScoreCard.objects.create(
            assessment=assessment, data=_score_data(assessment, []), method_version="1"
        )

        response = owner_client.get(_url(assessment))

        assert "Mostly vendor asserted." in response.content.decode()

    def test_measured_scores_show_beside_claimed_ones(
        self, owner_client, assessment, candor_v1
    ):
        data = _score_data(assessment, [])
        data["pillars"][0].update(measured=40.0, score=51.0)
        ScoreCard.objects.create(assessment=assessment, data=data, method_version="1")

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        assert "Claimed and measured, by pillar" in html
        assert '<th scope="col" class="num">Measured</th>' in html
        assert '"name": "Measured"' in html

    def test_without_measurements_the_table_has_one_score_column(
        self, owner_client, assessment, candor_v1
    ):
        data = _score_data(assessment, [])
        ScoreCard.objects.create(assessment=assessment, data=data, method_version="1")

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        table = html[html.index('class="dash-pillar-table"') : html.index("</table>")]
        assert '<th scope="col" class="num">Score</th>' in table
        assert "Claimed" not in table
        assert "Measured" not in table
        assert "not measured" not in table

    def test_a_score_on_public_evidence_is_not_labelled_vendor_asserted(
        self, owner_client, assessment
    ):
        answer_and_score(assessment, {"t_versioning": ("yes", "publicly_disclosed")})

        response = owner_client.get(_url(assessment))

        assert "Mostly vendor asserted." not in response.content.decode()

    def test_markup_in_the_vendor_name_is_shown_as_text(
        self, owner_client, scored_assessment
    ):
        vendor = scored_assessment.offering.vendor
        vendor.name = "<script>alert('x')</script>Evil"
        vendor.save()

        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert "<script>alert(" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;Evil" in html

    def test_without_a_scorecard_it_says_there_is_no_score_yet(
        self, owner_client, assessment
    ):
        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        assert response.status_code == 200
        assert "No score yet." in html
        assert "data-chart=" not in html

    def test_it_lists_the_latest_reports(self, owner_client, scored_assessment, owner):
        Report.objects.create(
            assessment=scored_assessment, requested_by=owner, status="failed", error="x"
        )

        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert 'id="report-list"' in html
        assert "Could not print." in html
        assert "Export PDF" in html

    def test_a_viewer_can_read_it_and_export_but_not_decide(
        self, viewer_client, scored_assessment
    ):
        response = viewer_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert response.status_code == 200
        assert "Export PDF" in html
        assert reverse("assessment_edit", args=[scored_assessment.pk]) not in html

    def test_a_writer_is_offered_to_record_the_decision(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        edit = reverse("assessment_edit", args=[scored_assessment.pk])
        html = response.content.decode()
        assert (
            f'href="{edit}" role="button" class="secondary outline small">'
            "Decision &amp; status</a>"
        ) in html
        assert "Record decision" not in html

    def test_export_pdf_reports_progress_beside_its_button(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        create = reverse("report_create", args=[scored_assessment.pk])
        form = html[html.index(f'action="{create}"') : html.index("Export PDF")]
        slot = html.index('<span id="export-status"')
        assert 'hx-target="#export-status"' in form
        assert 'hx-swap="outerHTML"' in form
        assert html.index("Export PDF") < slot < html.index('class="dash-facts"')

    def test_export_pdf_still_posts_without_javascript(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        create = reverse("report_create", args=[scored_assessment.pk])
        assert f'<form method="post" action="{create}"' in response.content.decode()


class TestDecision:
    def test_the_decision_and_its_rationale_show_in_the_header(
        self, owner_client, scored_assessment
    ):
        scored_assessment.status = "decided"
        scored_assessment.decision = "conditions"
        scored_assessment.rationale = "Pilot only.\nRevisit when <b>v4</b> ships."
        scored_assessment.save()

        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        header = html[: html.index('id="score"')]
        decided_on = f"{scored_assessment.updated_at:%-d %b %Y}"
        assert "Why “Approve with conditions”" in header
        assert "Pilot only.<br>Revisit when &lt;b&gt;v4&lt;/b&gt; ships." in header
        assert f"Decided on {decided_on}; {scored_assessment.owner.username}" in header
        assert "<b>v4</b>" not in html

    def test_a_rationale_before_the_decision_is_final_says_so(
        self, owner_client, scored_assessment
    ):
        scored_assessment.status = "in_review"
        scored_assessment.decision = "reject"
        scored_assessment.rationale = "No change log at all."
        scored_assessment.save()

        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert "No change log at all." in html
        assert "Not final while the assessment is in review." in html

    def test_a_decision_without_rationale_asks_a_writer_for_one(
        self, owner_client, scored_assessment
    ):
        scored_assessment.decision = "approve"
        scored_assessment.save()

        response = owner_client.get(_url(scored_assessment))

        edit = reverse("assessment_edit", args=[scored_assessment.pk])
        html = response.content.decode()
        assert "No rationale recorded for this decision." in html
        assert f'<a href="{edit}">Add one</a>' in html

    def test_without_a_decision_nothing_about_a_rationale_shows(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert "rationale" not in html.lower()

    def test_queries_do_not_grow_with_answers_and_reports(
        self, owner_client, assessment, owner
    ):
        answer_and_score(assessment, {"t_versioning": ("yes", "publicly_disclosed")})
        with CaptureQueriesContext(connection) as small:
            owner_client.get(_url(assessment))
        answer_and_score(assessment, ANSWERS)
        for _ in range(4):
            Report.objects.create(assessment=assessment, requested_by=owner)

        with CaptureQueriesContext(connection) as large:
            response = owner_client.get(_url(assessment))

        assert response.status_code == 200
        assert len(large) == len(small)


class TestRescorePending:
    def test_pending_rescoring_shows_recalculating_and_polls(
        self, owner_client, scored_assessment
    ):
        scored_assessment.rescore_pending = True
        scored_assessment.save()

        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert "Recalculating…" in html
        assert 'hx-trigger="every 2s"' in html
        assert f'hx-get="{_url(scored_assessment)}"' in html

    def test_a_settled_score_does_not_poll(self, owner_client, scored_assessment):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert "Recalculating…" not in html
        assert 'hx-trigger="every 2s"' not in html

    def test_pending_with_no_scorecard_still_polls(self, owner_client, assessment):
        assessment.rescore_pending = True
        assessment.save()

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        assert "Recalculating…" in html
        assert 'hx-trigger="every 2s"' in html


class TestHtmxPartial:
    def test_htmx_gets_only_the_score_section(
        self, owner_client, scored_assessment, htmx_headers
    ):
        response = owner_client.get(_url(scored_assessment), headers=htmx_headers)

        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith('<section id="score"')
        assert "<html" not in html
        assert 'id="report-list"' not in html
        assert 'data-chart="chart-radar"' in html

    def test_the_partial_stops_polling_once_the_score_is_settled(
        self, owner_client, scored_assessment, htmx_headers
    ):
        response = owner_client.get(_url(scored_assessment), headers=htmx_headers)

        assert 'hx-trigger="every 2s"' not in response.content.decode()

    def test_the_partial_keeps_polling_while_pending(
        self, owner_client, scored_assessment, htmx_headers
    ):
        scored_assessment.rescore_pending = True
        scored_assessment.save()

        response = owner_client.get(_url(scored_assessment), headers=htmx_headers)

        assert 'hx-trigger="every 2s"' in response.content.decode()


class TestAccess:
    def test_anonymous_is_sent_to_log_in(self, client, scored_assessment):
        response = client.get(_url(scored_assessment))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_another_workspaces_assessment_is_not_found(
        self, outsider_client, scored_assessment
    ):
        response = outsider_client.get(_url(scored_assessment))

        assert response.status_code == 404

    def test_a_missing_assessment_is_not_found(self, owner_client, db):
        response = owner_client.get(reverse("assessment_dashboard", args=[999999]))

        assert response.status_code == 404

    @pytest.mark.parametrize("method", ["post", "put", "delete"])
    def test_only_get_is_allowed(self, owner_client, scored_assessment, method):
        response = getattr(owner_client, method)(_url(scored_assessment))

        assert response.status_code == 405
