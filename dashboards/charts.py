"""Plotly figures drawn from a scorecard's plain data, for the dashboard and the PDF.

Each builder takes ``dataclasses.asdict(ScoreResult)`` (what ``ScoreCard.data``
holds) and returns a JSON-ready figure dict ``{"data": [...], "layout": {...}}``
that ``static/dashboards/charts.js`` hands to ``Plotly.newPlot``. No ORM, no I/O.

The figures are written as plain dicts rather than built with
``plotly.graph_objects``: its validation cost some 20 ms per dashboard, more than
the rest of the page. tests/dashboards/test_charts.py checks that plotly itself
accepts each figure unchanged.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from assessments.scoring import GRADE_BANDS, TIERS, grade_for

GRADE_COLOURS = {
    "A": "#1f7a4d",
    "B": "#4d8b2f",
    "C": "#b08800",
    "D": "#c56a16",
    "F": "#b3261e",
}
UNSCORED_COLOUR = "#b0b5bb"
TIER_LABELS = {
    "vendor_asserted": "Vendor asserted",
    "publicly_disclosed": "Publicly disclosed",
    "independently_observed": "Independently observed",
}
TIER_COLOURS = {
    "vendor_asserted": "#c9a227",
    "publicly_disclosed": "#1d5fa8",
    "independently_observed": "#1f7a4d",
}
CLAIMED_COLOUR = "#1d5fa8"
MEASURED_COLOUR = "#6b4fbb"
FONT_FAMILY = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", '
    '"DejaVu Sans", Arial, sans-serif'
)
TEXT_COLOUR = "#373c44"
# Plotly's "none" template as plotly serialises it: no styling but its defaults.
NO_TEMPLATE = {"data": {"scatter": [{"type": "scatter"}]}}
GRID_COLOUR = "#dfe3e8"


def pillar_radar(data: Mapping[str, Any]) -> dict[str, Any]:
    """Draw each pillar's claimed score, and its measured score once runs exist."""
    pillars = list(data.get("pillars") or [])
    # Repeating the first point closes the polygon.
    closed = [*pillars, *pillars[:1]]
    theta = [_wrap(pillar["title"]) for pillar in closed]
    traces = [
        _radar_trace(
            "Claimed", theta, [p.get("claimed") for p in closed], CLAIMED_COLOUR
        )
    ]
    if any(pillar.get("measured") is not None for pillar in pillars):
        traces.append(
            _radar_trace(
                "Measured", theta, [p.get("measured") for p in closed], MEASURED_COLOUR
            )
        )

    return _figure(
        traces,
        **_base_layout(height=340),
        showlegend=len(traces) > 1,
        legend={"orientation": "h", "x": 0.5, "xanchor": "center", "y": -0.08},
        polar={
            "bgcolor": "rgba(0,0,0,0)",
            "radialaxis": {
                "range": [0, 100],
                "tickvals": [25, 50, 75, 100],
                "ticktext": ["", "50", "", "100"],
                "ticks": "",
                "tickfont": {"size": 10, "color": "#7a828c"},
                "gridcolor": GRID_COLOUR,
                "linecolor": GRID_COLOUR,
                # Between the first two spokes, clear of the pillar labels.
                "angle": 90 - 180 / max(len(pillars), 1),
                "tickangle": 90 - 180 / max(len(pillars), 1),
            },
            "angularaxis": {
                "gridcolor": GRID_COLOUR,
                "linecolor": GRID_COLOUR,
                "direction": "clockwise",
                "rotation": 90,
                "tickfont": {"size": 11},
            },
        },
        margin={"l": 90, "r": 90, "t": 40, "b": 40},
    )


def pillar_bars(data: Mapping[str, Any]) -> dict[str, Any]:
    """Draw one horizontal bar per pillar, coloured by the grade band of its score."""
    pillars = list(data.get("pillars") or [])
    # Plotly draws the first category at the bottom; reversing keeps framework order.
    ordered = list(reversed(pillars))
    scores = [pillar.get("score") for pillar in ordered]
    grades = [grade_for(score) for score in scores]

    return _figure(
        [
            _trace(
                "bar",
                orientation="h",
                y=[_wrap(pillar["title"], 22) for pillar in ordered],
                x=[0 if score is None else round(score, 1) for score in scores],
                marker={
                    "color": [
                        GRADE_COLOURS.get(grade, UNSCORED_COLOUR) for grade in grades
                    ]
                },
                text=[
                    _bar_label(score, grade)
                    for score, grade in zip(scores, grades, strict=True)
                ],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{text}<extra></extra>",
                width=0.6,
            )
        ],
        **_base_layout(height=70 + 52 * max(len(pillars), 1)),
        showlegend=False,
        xaxis={
            "range": [0, 100],
            # Evenly spaced ticks read as a scale; the grade bands are shaded
            # behind the bars instead of being marked by uneven ticks.
            "tickvals": [0, 20, 40, 60, 80, 100],
            "gridcolor": GRID_COLOUR,
            "zeroline": False,
            "fixedrange": True,
        },
        yaxis={"automargin": True, "fixedrange": True, "ticks": ""},
        shapes=_grade_band_shapes(),
        annotations=_grade_band_labels(),
        margin={"l": 10, "r": 60, "t": 24, "b": 30},
        bargap=0.35,
    )


def grade_bands() -> list[tuple[str, float, float]]:
    """Return each grade with the lower and upper bound of its score band."""
    bands = []
    upper = 100.0
    for grade, lower in GRADE_BANDS:
        bands.append((grade, lower, upper))
        upper = lower
    bands.append(("F", 0.0, upper))
    return bands


def _grade_band_shapes() -> list[dict[str, Any]]:
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": lower,
            "x1": upper,
            "y0": 0,
            "y1": 1,
            "fillcolor": _transparent(GRADE_COLOURS[grade], 0.07),
            "line": {"width": 0},
            "layer": "below",
        }
        for grade, lower, upper in grade_bands()
    ]


def _grade_band_labels() -> list[dict[str, Any]]:
    return [
        {
            "x": (lower + upper) / 2,
            "y": 1,
            "xref": "x",
            "yref": "paper",
            "yanchor": "bottom",
            "text": grade,
            "showarrow": False,
            "font": {"size": 10, "color": GRADE_COLOURS[grade]},
        }
        for grade, lower, upper in grade_bands()
    ]


def evidence_mix(data: Mapping[str, Any]) -> dict[str, Any]:
    """Draw the share of each evidence tier behind the overall and each pillar score."""
    pillars = list(data.get("pillars") or [])
    rows = [("Overall", data.get("evidence_mix") or {})]
    rows += [(pillar["title"], pillar.get("evidence_mix") or {}) for pillar in pillars]
    rows.reverse()
    labels = [_wrap(title, 22) for title, _mix in rows]
    shares = [_percentages(mix) for _title, mix in rows]

    traces = []
    for tier in TIERS:
        values = [share.get(tier, 0.0) for share in shares]
        traces.append(
            _trace(
                "bar",
                orientation="h",
                name=TIER_LABELS[tier],
                y=labels,
                x=values,
                marker={"color": TIER_COLOURS[tier]},
                text=[f"{value:.0f}%" if value >= 8 else "" for value in values],
                textposition="inside",
                insidetextanchor="middle",
                textfont={"color": "#ffffff"},
                hovertemplate=(
                    f"%{{y}}: %{{x:.0f}}% {TIER_LABELS[tier].lower()}<extra></extra>"
                ),
                width=0.6,
            )
        )
    return _figure(
        traces,
        **_base_layout(height=110 + 40 * len(rows)),
        barmode="stack",
        legend={
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
        xaxis={
            "range": [0, 100],
            "ticksuffix": "%",
            "gridcolor": GRID_COLOUR,
            "zeroline": False,
            "fixedrange": True,
        },
        yaxis={"automargin": True, "fixedrange": True, "ticks": ""},
        margin={"l": 10, "r": 20, "t": 10, "b": 30},
    )


def dashboard_figures(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Build every figure the dashboard and the PDF show, keyed by chart name."""
    return {
        "radar": pillar_radar(data),
        "bars": pillar_bars(data),
        "evidence": evidence_mix(data),
    }


def evidence_percentages(mix: Mapping[str, float] | None) -> dict[str, float]:
    """Return each tier's share of an evidence mix in percent (0-100)."""
    return _percentages(mix or {})


def _radar_trace(
    name: str, theta: Sequence[str], scores: Sequence[float | None], colour: str
) -> dict[str, Any]:
    return _trace(
        "scatterpolar",
        name=name,
        theta=list(theta),
        r=[None if score is None else round(score, 1) for score in scores],
        fill="toself",
        fillcolor=_transparent(colour, 0.18),
        line={"color": colour, "width": 2},
        marker={"size": 6, "color": colour},
        hovertemplate=f"{name} · %{{theta}}: %{{r:.0f}}<extra></extra>",
    )


def _base_layout(*, height: int) -> dict[str, Any]:
    return {
        "template": NO_TEMPLATE,
        "height": height,
        "autosize": True,
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT_COLOUR},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
    }


def _percentages(mix: Mapping[str, float]) -> dict[str, float]:
    # The scorer may state shares as fractions (0-1) or as percentages; a mix
    # whose values sum to at most one can only be fractions.
    values = {tier: float(mix.get(tier) or 0) for tier in TIERS}
    total = sum(values.values())
    if total <= 0:
        return dict.fromkeys(TIERS, 0.0)
    scale = 100.0 if total <= 1.0001 else 1.0
    return {tier: round(value * scale, 1) for tier, value in values.items()}


def _bar_label(score: float | None, grade: str | None) -> str:
    if score is None:
        return "not scored yet"
    return f"{score:g} · {grade}"


def _wrap(title: str, width: int = 14) -> str:
    # Plotly reads a small subset of HTML in labels, so angle brackets are
    # written as entities and only the line breaks added here are markup.
    lines = textwrap.wrap(title, width, break_long_words=False) or [title]
    return "<br>".join(
        line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for line in lines
    )


def _transparent(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _trace(kind: str, **properties: Any) -> dict[str, Any]:
    return {"type": kind, **properties}


def _figure(traces: list[dict[str, Any]], **layout: Any) -> dict[str, Any]:
    # A JSON round trip leaves only plain lists, numbers and strings behind, and
    # no object shared between figures.
    return json.loads(json.dumps({"data": traces, "layout": layout}))
