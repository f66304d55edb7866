"""Print an assessment's PDF summary with headless Chromium.

The report is an HTML page rendered from templates/dashboards/print/, written to
a temporary folder and opened from disk, so Chromium needs no web server: the
stylesheet, plotly.js and charts.js are referenced by absolute file:// paths.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from assessments.models import Assessment
from assessments.scoring import GRADE_BANDS
from assessments.selectors import assessment_profile_weights
from dashboards import selectors

logger = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATIC_ASSETS = {
    "stylesheet": "dashboards/print.css",
    "plotly": "vendor/plotly/plotly.min.js",
    "charts": "dashboards/charts.js",
}
# A4 is 210 mm wide; the page is laid out at the width that is left between the
# margins, so charts are drawn at the size they are printed.
MARGIN_MM = {"top": 16, "right": 17, "bottom": 18, "left": 17}
CONTENT_WIDTH_PX = round((210 - MARGIN_MM["left"] - MARGIN_MM["right"]) / 25.4 * 96)
LAUNCH_TIMEOUT_MS = 30_000
CHARTS_TIMEOUT_MS = 20_000


class ReportPrintError(Exception):
    """The report could not be printed; the message is for the person who asked."""


def report_pdf(assessment: Assessment) -> bytes:
    """Return the PDF summary of an assessment."""
    html = report_html(assessment)
    with tempfile.TemporaryDirectory(prefix="candor-report-") as folder:
        page = Path(folder) / "report.html"
        page.write_text(html, encoding="utf-8")
        return html_print(page, footer=_footer(assessment))


def report_html(assessment: Assessment) -> str:
    """Render the print page of an assessment, with its assets as file:// URLs."""
    summary = selectors.scorecard_summary(assessment)
    context: dict[str, Any] = {
        "assessment": assessment,
        "vendor": assessment.offering.vendor,
        "offering": assessment.offering,
        "framework": assessment.framework,
        "summary": summary,
        "pillar_answers": selectors.report_answers(assessment, summary),
        "weights": _weights(assessment_profile_weights(assessment), summary),
        "grade_bands": GRADE_BANDS,
        "generated_at": timezone.localtime(),
        "assets": {name: _asset_uri(path) for name, path in STATIC_ASSETS.items()},
    }
    return render_to_string("dashboards/print/report.html", context)


def chromium_path() -> str:
    """Return the Chromium executable named by settings.CANDOR_CHROMIUM."""
    path = shutil.which(settings.CANDOR_CHROMIUM)
    if path is None:
        raise ReportPrintError(
            f"Chromium was not found (CANDOR_CHROMIUM={settings.CANDOR_CHROMIUM!r}). "
            "Install Debian's chromium package on the worker machine."
        )
    return path


def html_print(page_path: Path, *, footer: str) -> bytes:
    """Open an HTML file in headless Chromium, wait for its charts and print it."""
    executable = chromium_path()
    errors: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable,
                args=CHROMIUM_ARGS,
                timeout=LAUNCH_TIMEOUT_MS,
            )
            try:
                page = browser.new_page(
                    viewport={"width": CONTENT_WIDTH_PX, "height": 1000}
                )
                # The report is built from local files only; nothing may be
                # fetched from the network while it prints.
                page.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(page_path.as_uri(), wait_until="load")
                page.wait_for_selector(
                    "body[data-charts-ready='true']",
                    state="attached",
                    timeout=CHARTS_TIMEOUT_MS,
                )
                chart_error = page.evaluate("document.body.dataset.chartsError || ''")
                if chart_error:
                    raise ReportPrintError(f"A chart could not be drawn: {chart_error}")
                return page.pdf(
                    format="A4",
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=footer,
                    margin={side: f"{mm}mm" for side, mm in MARGIN_MM.items()},
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        detail = f" The page reported: {errors[0]}" if errors else ""
        logger.warning("chromium failed on %s: %s", page_path, exc)
        raise ReportPrintError(
            f"Chromium could not print the report: {_first_line(exc)}.{detail}"
        ) from exc


def _footer(assessment: Assessment) -> str:
    # Chromium renders the footer apart from the page, so it carries its own
    # styles; pageNumber and totalPages are filled in by Chromium.
    return format_html(
        '<div style="width:100%;padding:0 {}mm;font-size:7.5pt;color:#6b7280;'
        "font-family:'Liberation Sans',Arial,sans-serif;display:flex;"
        'justify-content:space-between;">'
        "<span>Candor · {} · {}</span>"
        '<span>Page <span class="pageNumber"></span> of '
        '<span class="totalPages"></span></span></div>',
        MARGIN_MM["left"],
        assessment.offering.vendor.name,
        str(assessment.offering),
    )


def _weights(
    weights: dict[str, float], summary: selectors.ScoreSummary | None
) -> list[tuple[str, float]]:
    total = sum(weights.values()) or 1
    titles = {pillar.key: pillar.title for pillar in summary.pillars} if summary else {}
    return [
        (titles.get(key, key.replace("_", " ").capitalize()), 100 * weight / total)
        for key, weight in weights.items()
    ]


def _asset_uri(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise ReportPrintError(f"The static file {path} is missing from this install.")
    return Path(found).resolve().as_uri()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
