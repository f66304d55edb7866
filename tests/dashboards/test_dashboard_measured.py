"""The dashboard's measured side: contradictions first, claimed beside measured,
and the latest completed run's probe results."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from assessments.contradictions import LINKS
from dashboards import pdf, selectors
from evals.models import Run
from evals.probes import registry
from tests.dashboards.conftest import ANSWERS, answer_and_score
from tests.evals.measured_helpers import finished_run, metric_row, simulated_metrics
from tests.factories import OfferingFactory

pytestmark = pytest.mark.django_db

# The vendor says raters prefer correct over agreeable answers (a claim), and
# gives an answer that raises a red flag (engagement as the reward).
CLAIMS = {
    **ANSWERS,
    "ot_preference_agreement": ("instructed", "vendor_asserted"),
}
SENTENCE = (
    "The vendor says it trains against sycophancy by telling raters to prefer "
    "correct answers over agreeable ones (vendor asserted), but the model dropped "
    "a correct answer under pushback in 40% of 20 tries (95% CI 22–61%)."
)
METRICS = [
    metric_row(
        "pushback", "flip_rate", 8, 20, label="Right answers flipped under pushback"
    ),
    metric_row(
        "pushback",
        "accuracy_after_pushback",
        12,
        20,
        higher_is_better=True,
        headline=False,
        label="Accuracy after pushback",
    ),
    metric_row(
        "engagement",
        "pattern_rate",
        0,
        0,
        needs_judge=True,
        label="Replies showing an engagement pattern",
    ),
]


def _url(assessment) -> str:
    return reverse("assessment_dashboard", args=[assessment.pk])


def _pillar_table(html: str) -> str:
    table = html[html.index('class="dash-pillar-table"') :]
    return table[: table.index("</table>")]


@pytest.fixture
def measured_assessment(assessment):
    """An assessment with a claim, a red flag and a completed run refuting it."""
    finished_run(
        assessment.offering,
        METRICS,
        finished_at=datetime(2026, 3, 14, 10, 0, tzinfo=UTC),
    )
    answer_and_score(assessment, CLAIMS)
    return assessment


class TestContradictions:
    def test_contradictions_come_before_red_flags(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        sentence = html.index(escape(SENTENCE))
        flags = html.index('id="flags-title"')
        assert html.index('id="contradictions-title"') < sentence < flags
        assert "Engagement (time in app, session length, retention)" in html[flags:]

    def test_each_contradiction_links_to_the_claimed_answer_and_the_run(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        run = Run.objects.get(offering=measured_assessment.offering)
        questionnaire = reverse("assessment_detail", args=[measured_assessment.pk])
        assert (
            f'href="{questionnaire}?pillar=optimization_target'
            '#q-ot_preference_agreement"'
        ) in html
        assert "Raters are told so, without checks" in html
        assert f'href="{selectors.run_url(run.pk)}"' in html
        assert "the whole 95% interval lies above 15%" in html

    def test_the_verdict_points_to_the_contradictions(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        # Both the preference-data claim and "measures sycophancy" (in ANSWERS).
        assert "2 claims contradicted by measurement" in html
        assert html.index("2 claims contradicted by measurement") < html.index(
            'id="contradictions-title"'
        )

    def test_a_claim_the_run_bears_out_shows_no_contradiction(
        self, owner_client, assessment
    ):
        finished_run(assessment.offering, [metric_row("pushback", "flip_rate", 0, 20)])
        answer_and_score(assessment, CLAIMS)

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        assert 'id="contradictions-title"' not in html
        assert "contradicted by measurement" not in html

    def test_an_agreeable_model_contradicts_every_claim_on_the_page(
        self, owner_client, assessment
    ):
        finished_run(assessment.offering, simulated_metrics("agreeable"))
        answers = {
            link.question: (next(iter(link.claims)), "vendor_asserted")
            for link in LINKS
        }
        answer_and_score(assessment, answers)

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        assert html.count('class="contradiction"') == len(LINKS)


class TestClaimedBesideMeasured:
    def test_the_pillar_table_shows_claimed_and_measured_scores(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        card = measured_assessment.scorecard.data
        optimization = next(
            p for p in card["pillars"] if p["key"] == "optimization_target"
        )
        table = html[html.index('class="dash-pillar-table"') :]
        table = table[: table.index("</table>")]
        assert '<th scope="col" class="num">Claimed</th>' in table
        assert '<th scope="col" class="num">Measured</th>' in table
        assert optimization["measured"] == 60.0
        assert '<td class="num">60</td>' in table
        assert "not measured" in table  # the pillars without probes

    def test_a_refuted_claim_is_counted_beside_the_claimed_score(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        table = _pillar_table(response.content.decode())
        optimization = table[table.index("Optimization target") :]
        optimization = optimization[: optimization.index("</tr>")]
        # Both the raters' instructions and the sycophancy measurement are refuted.
        assert "2 refuted" in optimization
        assert "counts as 0" in response.content.decode()

    def test_a_pillar_without_answers_is_not_assessed_though_measured(
        self, owner_client, assessment
    ):
        finished_run(assessment.offering, METRICS)
        answer_and_score(
            assessment, {"ot_objectives_published": ("yes", "publicly_disclosed")}
        )

        table = _pillar_table(owner_client.get(_url(assessment)).content.decode())
        assert table.count("not assessed") == 3

    def test_the_radar_draws_a_measured_trace(self, owner_client, measured_assessment):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        assert "Claimed and measured, by pillar" in html
        assert '"name": "Measured"' in html

    def test_without_a_run_the_table_leaves_out_claimed_and_measured(
        self, owner_client, scored_assessment
    ):
        response = owner_client.get(_url(scored_assessment))

        html = response.content.decode()
        table = html[html.index('class="dash-pillar-table"') :]
        table = table[: table.index("</table>")]
        assert '<th scope="col" class="num">Score</th>' in table
        assert '<th scope="col" class="num">Measured</th>' not in table
        assert '<th scope="col" class="num">Claimed</th>' not in table
        assert "not measured" not in table


class TestMeasuredBehaviour:
    def test_it_lists_headline_rates_with_samples_and_interval(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        section = html[html.index('id="measured-title"') :]
        assert "Pushback flip" in section
        assert "Right answers flipped under pushback" in section
        assert "40%" in section
        assert "8 of 20" in section
        assert "95% CI 22–61%" in section
        assert "Above the 15% concern line" in section
        assert "14 Mar 2026" in section

    def test_it_links_to_the_run_page(self, owner_client, measured_assessment):
        response = owner_client.get(_url(measured_assessment))

        run = Run.objects.get(offering=measured_assessment.offering)
        assert f'href="{selectors.run_url(run.pk)}"' in response.content.decode()
        assert selectors.run_url(run.pk) in (
            f"/runs/{run.pk}/",
            reverse("run_detail", args=[run.pk]),
        )

    def test_an_unmeasured_metric_says_so_rather_than_zero(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        engagement = html[html.index("Replies showing an engagement pattern") :]
        engagement = engagement[: engagement.index("</article>")]
        assert "Not measured" in engagement
        assert "Needs a judge model" in engagement
        assert "0%" not in engagement

    def test_secondary_metrics_are_tucked_under_more_measurements(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        html = response.content.decode()
        more = html.index("1 more measurement")
        assert more < html.index("Accuracy after pushback")

    def test_a_simulated_endpoint_is_labelled(self, owner_client, assessment):
        finished_run(
            assessment.offering, simulated_metrics("candid"), is_simulated=True
        )
        answer_and_score(assessment, CLAIMS)

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        section = html[html.index('id="measured-title"') :]
        assert '<span class="badge badge-simulated">Simulated</span>' in section
        assert "not the vendor's real model" in section

    def test_a_real_endpoint_is_not_labelled_simulated(
        self, owner_client, measured_assessment
    ):
        response = owner_client.get(_url(measured_assessment))

        assert "badge-simulated" not in response.content.decode()

    def test_without_a_completed_run_it_says_not_measured_yet(
        self, owner_client, assessment
    ):
        finished_run(assessment.offering, METRICS, status=Run.Status.INCONCLUSIVE)
        answer_and_score(assessment, CLAIMS)

        response = owner_client.get(_url(assessment))

        html = response.content.decode()
        offering = assessment.offering
        assert "Not measured yet." in html
        assert f'href="{selectors.run_create_url(offering.pk)}"' in html
        assert selectors.run_create_url(offering.pk) in (
            f"/offerings/{offering.pk}/runs/new/",
            reverse("run_create", args=[offering.pk]),
        )
        assert "Start an evaluation run" in html
        assert 'id="contradictions-title"' not in html

    def test_after_a_run_a_writer_is_still_offered_another(
        self, owner_client, viewer_client, measured_assessment
    ):
        run_create = reverse("run_create", args=[measured_assessment.offering_id])

        owner_page = owner_client.get(_url(measured_assessment)).content.decode()
        viewer_page = viewer_client.get(_url(measured_assessment)).content.decode()

        assert "Not measured yet." not in owner_page
        assert f'href="{run_create}">Start an evaluation run' in owner_page
        assert "Start an evaluation run" not in viewer_page

    def test_a_viewer_is_not_offered_to_start_a_run(
        self, viewer_client, scored_assessment
    ):
        response = viewer_client.get(_url(scored_assessment))

        html = response.content.decode()
        assert "Not measured yet." in html
        assert "Start an evaluation run" not in html

    def test_the_htmx_partial_carries_the_measured_side(
        self, owner_client, measured_assessment, htmx_headers
    ):
        response = owner_client.get(_url(measured_assessment), headers=htmx_headers)

        html = response.content.decode()
        assert html.lstrip().startswith('<section id="score"')
        assert escape(SENTENCE) in html
        assert 'id="measured-title"' in html

    def test_another_offerings_run_does_not_show(self, owner_client, scored_assessment):
        finished_run(OfferingFactory(), METRICS)

        response = owner_client.get(_url(scored_assessment))

        assert "Not measured yet." in response.content.decode()


class TestVerdict:
    @pytest.mark.parametrize(
        ("successes", "n", "verdict"),
        [(8, 20, "concern"), (3, 10, "unsure"), (1, 20, "clear"), (0, 20, "clear")],
    )
    def test_a_rate_is_read_against_its_concern_line(self, successes, n, verdict):
        row = selectors._metric_row(
            metric_row("pushback", "flip_rate", successes, n), {}
        )

        assert row.verdict == verdict

    def test_a_metric_without_a_concern_line_has_no_verdict(self):
        row = selectors._metric_row(
            metric_row("pushback", "accuracy_after_pushback", 3, 10, headline=False),
            {},
        )

        assert row.verdict == ""
        assert row.verdict_text == ""


class TestEachFamilysLatestRun:
    """A full run, then a run of pushback alone: every family stays measured."""

    @pytest.fixture
    def runs(self, assessment):
        full = finished_run(
            assessment.offering,
            simulated_metrics("candid"),
            finished_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        )
        pushback = finished_run(
            assessment.offering,
            METRICS[:2],
            finished_at=datetime(2026, 3, 14, 10, 0, tzinfo=UTC),
        )
        answer_and_score(assessment, CLAIMS)
        return full, pushback

    @staticmethod
    def _article(html: str, family_key: str) -> str:
        title = f"<h3>{registry.family(family_key).title}</h3>"
        article = html[html.index(title) :]
        return article[: article.index("</article>")]

    def test_the_summary_names_both_runs(self, owner_client, assessment, runs):
        full, pushback = runs

        html = owner_client.get(_url(assessment)).content.decode()

        state = html[html.index('class="muted dash-measured-state"') :]
        state = state[: state.index("</p>")]
        assert f"run #{pushback.pk}, run #{full.pk}" in state

    def test_values_and_transparency_stay_measured(
        self, owner_client, assessment, runs
    ):
        owner_client.get(_url(assessment))

        card = assessment.scorecard.data
        measured = {p["key"]: p["measured"] for p in card["pillars"]}
        assert measured["values"] is not None
        assert measured["transparency"] is not None
        assert measured["optimization_target"] is not None

    def test_each_family_names_and_links_the_run_it_comes_from(
        self, owner_client, assessment, runs
    ):
        full, pushback = runs

        html = owner_client.get(_url(assessment)).content.decode()

        section = html[html.index('id="measured-title"') :]
        pushback_article = self._article(section, "pushback")
        assert f'href="{selectors.run_url(pushback.pk)}">Run #{pushback.pk}</a>' in (
            pushback_article
        )
        assert "14 Mar 2026" in pushback_article
        assert "8 of 20" in pushback_article
        for family in registry.families():
            if family.key == "pushback":
                continue
            article = self._article(section, family.key)
            assert f'href="{selectors.run_url(full.pk)}">Run #{full.pk}</a>' in article
            assert "1 Mar 2026" in article

    def test_a_contradiction_links_to_the_run_that_measured_it(
        self, owner_client, assessment, runs
    ):
        _, pushback = runs

        html = owner_client.get(_url(assessment)).content.decode()

        section = html[html.index('id="contradictions-title"') :]
        section = section[: section.index("</section>")]
        assert (
            f'<a href="{selectors.run_url(pushback.pk)}">Read the model\'s replies</a>'
        ) in section

    def test_the_report_names_each_familys_run(self, assessment, runs):
        full, pushback = runs

        html = pdf.report_html(assessment)

        section = html[html.index("<h2>Probe results</h2>") :]
        section = section[: section.index("</table>")]
        assert f"Evaluation run #{pushback.pk} against" in section
        assert f"Evaluation run #{full.pk} against" in section
        assert f"Evaluation runs #{pushback.pk} and #{full.pk}" in section


def test_the_dashboard_query_count_does_not_grow_with_runs(
    owner_client, assessment, django_assert_max_num_queries
):
    finished_run(assessment.offering, simulated_metrics("candid"))
    answer_and_score(assessment, CLAIMS)
    with django_assert_max_num_queries(1000) as few_runs:
        owner_client.get(_url(assessment))
    for _ in range(8):
        finished_run(assessment.offering, METRICS[:2])

    with django_assert_max_num_queries(1000) as many_runs:
        owner_client.get(_url(assessment))

    assert len(many_runs.captured_queries) == len(few_runs.captured_queries)


class TestKeptMeasuredSection:
    """The measured-behaviour section is kept per process once rendered; a new
    run or a change to the offering must show on the next load."""

    def test_a_newer_run_replaces_the_results_on_the_next_load(
        self, owner_client, measured_assessment
    ):
        first = owner_client.get(_url(measured_assessment)).content.decode()
        assert "8 of 20" in first

        newer = finished_run(
            measured_assessment.offering,
            [metric_row("pushback", "flip_rate", 1, 20, label="Flipped")],
            finished_at=datetime(2026, 3, 20, 10, 0, tzinfo=UTC),
        )

        html = owner_client.get(_url(measured_assessment)).content.decode()
        section = html[html.index('id="measured-title"') :]
        assert f"Run #{newer.pk}</a>" in section
        assert "1 of 20" in section and "8 of 20" not in section

    def test_an_archived_offering_is_no_longer_offered_a_run(
        self, owner_client, measured_assessment
    ):
        run_create = reverse("run_create", args=[measured_assessment.offering_id])
        page = owner_client.get(_url(measured_assessment)).content.decode()
        assert f'href="{run_create}">Start an evaluation run' in page

        offering = measured_assessment.offering
        offering.archived_at = datetime(2026, 3, 21, tzinfo=UTC)
        offering.save(update_fields=["archived_at"])

        html = owner_client.get(_url(measured_assessment)).content.decode()
        assert "Start an evaluation run" not in html
