"""The charts' data reach the page as Django's json_script would write it."""

from __future__ import annotations

from django.utils.html import json_script

from dashboards.templatetags.figures import figure_script


def test_a_figure_is_written_exactly_as_json_script_writes_it():
    figure = {
        "data": [{"type": "bar", "x": ["Values & limits"], "y": [61.5]}],
        "layout": {"title": {"text": "</script><script>alert('x')</script>"}},
    }

    written = figure_script(figure, "chart-bars")

    assert written == json_script(figure, "chart-bars")
    assert "</script><script>" not in written.split(">", 1)[1].rsplit("<", 1)[0]
