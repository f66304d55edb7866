"""The Plotly figure builders, on scorecard data built from the scoring dataclasses."""

from __future__ import annotations

import dataclasses
import json

import pytest

from assessments.scoring import PillarResult, ScoreResult
from dashboards import charts


def _result(pillars: list[PillarResult], **fields) -> dict:
    defaults = {
        "method_version": "1",
        "overall": 62.5,
        "grade": "C",
        "pillars": pillars,
        "evidence_mix": {
            "vendor_asserted": 0.6,
            "publicly_disclosed": 0.3,
            "independently_observed": 0.1,
        },
        "mostly_vendor_asserted": True,
        "red_flags": [],
        "unanswered": [],
        "answered": 10,
        "applicable": 12,
        "recommended_decision": "conditions",
    }
    return dataclasses.asdict(ScoreResult(**{**defaults, **fields}))


def _pillar(key: str, score: float | None, measured: float | None = None, **fields):
    return PillarResult(
        key=key,
        title=fields.pop("title", key.replace("_", " ").capitalize()),
        score=score,
        claimed=fields.pop("claimed", score),
        measured=measured,
        answered=3,
        applicable=4,
        evidence_mix=fields.pop("evidence_mix", {"vendor_asserted": 1.0}),
    )


FOUR_PILLARS = [
    _pillar("optimization_target", 88.0),
    _pillar("environment_design", 72.5),
    _pillar("values", 41.0),
    _pillar("transparency", 12.0),
]


class TestPillarRadar:
    def test_it_draws_one_claimed_trace_without_measurements(self):
        figure = charts.pillar_radar(_result(FOUR_PILLARS))

        assert [trace["name"] for trace in figure["data"]] == ["Claimed"]
        assert figure["data"][0]["type"] == "scatterpolar"

    def test_it_closes_the_polygon_over_the_pillars_in_order(self):
        figure = charts.pillar_radar(_result(FOUR_PILLARS))

        trace = figure["data"][0]
        assert trace["r"] == [88.0, 72.5, 41.0, 12.0, 88.0]
        assert trace["theta"][0] == trace["theta"][-1] == "Optimization<br>target"

    def test_it_adds_a_measured_trace_once_a_pillar_is_measured(self):
        pillars = [
            _pillar("optimization_target", 70.0, measured=40.0, claimed=90.0),
            _pillar("values", 60.0),
        ]

        figure = charts.pillar_radar(_result(pillars))

        claimed, measured = figure["data"]
        assert (claimed["name"], measured["name"]) == ("Claimed", "Measured")
        assert claimed["r"] == [90.0, 60.0, 90.0]
        assert measured["r"] == [40.0, None, 40.0]
        assert figure["layout"]["showlegend"] is True

    def test_an_unscored_pillar_leaves_a_gap_not_a_zero(self):
        pillars = [_pillar("values", None), _pillar("transparency", 50.0)]

        figure = charts.pillar_radar(_result(pillars))

        assert figure["data"][0]["r"] == [None, 50.0, None]

    def test_the_radial_axis_always_spans_0_to_100(self):
        figure = charts.pillar_radar(_result(FOUR_PILLARS))

        assert figure["layout"]["polar"]["radialaxis"]["range"] == [0, 100]


class TestPillarBars:
    def test_bars_are_coloured_by_grade_band(self):
        figure = charts.pillar_bars(_result(FOUR_PILLARS))

        bar = figure["data"][0]
        # Plotly lists categories bottom-up, so the first pillar comes last.
        assert bar["y"][-1] == "Optimization target"
        assert bar["marker"]["color"] == [
            charts.GRADE_COLOURS["F"],
            charts.GRADE_COLOURS["D"],
            charts.GRADE_COLOURS["B"],
            charts.GRADE_COLOURS["A"],
        ]
        assert bar["text"][-1] == "88 · A"
        assert bar["orientation"] == "h"

    def test_an_unscored_pillar_is_grey_and_says_so(self):
        figure = charts.pillar_bars(_result([_pillar("values", None)]))

        bar = figure["data"][0]
        assert bar["x"] == [0]
        assert bar["marker"]["color"] == [charts.UNSCORED_COLOUR]
        assert bar["text"] == ["not scored yet"]

    def test_the_chart_grows_with_the_number_of_pillars(self):
        two = charts.pillar_bars(_result(FOUR_PILLARS[:2]))
        four = charts.pillar_bars(_result(FOUR_PILLARS))

        assert four["layout"]["height"] > two["layout"]["height"]

    def test_the_score_axis_has_evenly_spaced_ticks(self):
        figure = charts.pillar_bars(_result(FOUR_PILLARS))

        assert figure["layout"]["xaxis"]["tickvals"] == [0, 20, 40, 60, 80, 100]

    def test_grade_bands_are_shaded_behind_the_bars_and_labelled(self):
        figure = charts.pillar_bars(_result(FOUR_PILLARS))

        bands = [
            (shape["x0"], shape["x1"], shape["layer"])
            for shape in figure["layout"]["shapes"]
        ]
        labels = [note["text"] for note in figure["layout"]["annotations"]]
        assert bands == [
            (85, 100, "below"),
            (70, 85, "below"),
            (55, 70, "below"),
            (40, 55, "below"),
            (0, 40, "below"),
        ]
        assert labels == ["A", "B", "C", "D", "F"]


class TestEvidenceMix:
    def test_it_stacks_the_three_tiers_in_percent(self):
        figure = charts.evidence_mix(_result(FOUR_PILLARS))

        names = [trace["name"] for trace in figure["data"]]
        assert names == [
            "Vendor asserted",
            "Publicly disclosed",
            "Independently observed",
        ]
        assert figure["layout"]["barmode"] == "stack"
        # The overall row is listed last so that Plotly draws it on top.
        assert [trace["x"][-1] for trace in figure["data"]] == [60.0, 30.0, 10.0]
        assert figure["data"][0]["y"][-1] == "Overall"

    def test_it_has_a_row_per_pillar_under_the_overall_row(self):
        figure = charts.evidence_mix(_result(FOUR_PILLARS))

        assert len(figure["data"][0]["y"]) == 1 + len(FOUR_PILLARS)

    def test_an_empty_mix_draws_zero_not_an_error(self):
        data = _result(
            [_pillar("values", None, evidence_mix={})],
            evidence_mix=dict.fromkeys(
                ("vendor_asserted", "publicly_disclosed", "independently_observed"), 0.0
            ),
        )

        figure = charts.evidence_mix(data)

        assert all(value == 0 for trace in figure["data"] for value in trace["x"])

    @pytest.mark.parametrize(
        ("mix", "expected"),
        [
            ({"vendor_asserted": 0.25, "publicly_disclosed": 0.75}, 25.0),
            ({"vendor_asserted": 25, "publicly_disclosed": 75}, 25.0),
        ],
    )
    def test_shares_read_as_fractions_or_percentages(self, mix, expected):
        assert charts.evidence_percentages(mix)["vendor_asserted"] == expected


class TestFigures:
    def test_every_figure_is_plain_json(self):
        figures = charts.dashboard_figures(_result(FOUR_PILLARS))

        assert set(figures) == {"radar", "bars", "evidence"}
        for figure in figures.values():
            assert json.loads(json.dumps(figure)) == figure
            assert set(figure) >= {"data", "layout"}

    def test_markup_in_a_pillar_title_is_shown_as_text(self):
        pillars = [_pillar("values", 50.0, title="<b>Values</b> & more")]

        figure = charts.pillar_bars(_result(pillars))

        assert figure["data"][0]["y"] == ["&lt;b&gt;Values&lt;/b&gt; &amp; more"]

    def test_builders_do_not_change_their_input(self):
        data = _result(FOUR_PILLARS)
        before = json.dumps(data, sort_keys=True)

        charts.dashboard_figures(data)

        assert json.dumps(data, sort_keys=True) == before

    @pytest.mark.parametrize(
        "pillars",
        [
            FOUR_PILLARS,
            [_pillar("values", None), _pillar("transparency", 61.0, measured=40.0)],
            [],
        ],
        ids=["claimed", "measured and unscored", "no pillars"],
    )
    def test_plotly_accepts_every_figure_unchanged(self, pillars):
        # The builders write plain dicts for speed; plotly's own validation must
        # find nothing to drop, rename or add in them.
        import plotly.graph_objects as go

        figures = charts.dashboard_figures(_result(pillars))

        for figure in figures.values():
            assert json.loads(go.Figure(figure).to_json()) == figure
