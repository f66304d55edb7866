"""Print an assessment's PDF summary with headless Chromium.

The report is an HTML page rendered from templates/dashboards/print/, written to
a temporary folder and opened from disk, so Chromium needs no web server: the
stylesheet is referenced by an absolute file:// path.

Each process keeps one Chromium open, driven by a thread of its own, and in it
one page that has loaded plotly.js. Parsing the 4.8 MB of plotly.js took about a
second of every print when each report loaded it, so the report page carries no
script: the printer draws each chart with that page's Plotly, at the width the
report lays it out, and places the resulting SVG in the report before printing.
The charts are the same Plotly figures as on the web, drawn by the same Plotly.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

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
STATIC_ASSETS = {"stylesheet": "dashboards/print.css"}
PLOTLY_ASSET = "vendor/plotly/plotly.min.js"
# A4 is 210 mm wide; the page is laid out at the width that is left between the
# margins, so charts are drawn at the size they are printed.
MARGIN_MM = {"top": 16, "right": 17, "bottom": 18, "left": 17}
CONTENT_WIDTH_PX = round((210 - MARGIN_MM["left"] - MARGIN_MM["right"]) / 25.4 * 96)
LAUNCH_TIMEOUT_MS = 30_000
STEP_TIMEOUT_MS = 20_000
# Below the Celery task's soft limit, so a stuck print fails with a reason.
PRINT_TIMEOUT_S = 75
# Read in the report page: each chart's figure, and the width, height and
# typeface the page gives it (what charts.js does on the web before drawing).
CHARTS_READ_JS = """() => Array.from(document.querySelectorAll("[data-chart]"), el => {
  const source = document.getElementById(el.dataset.chart);
  return {
    name: el.dataset.chart,
    figure: source ? JSON.parse(source.textContent) : null,
    width: Math.round(el.getBoundingClientRect().width),
    height: el.dataset.chartHeight ? Number(el.dataset.chartHeight) : null,
    font: window.getComputedStyle(el).fontFamily,
  };
})"""
# Run in the page that holds Plotly: one figure drawn still, as an SVG data URL.
CHART_SVG_JS = """async ({figure, width, height, font}) => {
  const layout = Object.assign({}, figure.layout);
  layout.font = Object.assign({}, layout.font, {family: font});
  if (height) { layout.height = height; }
  return Plotly.toImage(
    {data: figure.data, layout: layout, config: {staticPlot: true}},
    {format: "svg", width: width, height: layout.height || 450},
  );
}"""
# A block, as Plotly's own container is: an inline SVG would add a line's descent.
CHARTS_PLACE_JS = """(svgs) => {
  const elements = document.querySelectorAll("[data-chart]");
  svgs.forEach((svg, index) => {
    elements[index].innerHTML = svg;
    elements[index].firstElementChild.style.display = "block";
  });
}"""


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
    """Open an HTML file in headless Chromium, draw its charts and print it."""
    chromium_path()
    return _printer().run(
        lambda chromium: chromium.print_page(page_path, footer=footer)
    )


class _Chromium:
    """A Chromium and a page holding Plotly, used only by the printer's thread."""

    def __init__(self, executable: str) -> None:
        self.playwright: Playwright = sync_playwright().start()
        try:
            self.browser: Browser = self.playwright.chromium.launch(
                executable_path=executable,
                args=CHROMIUM_ARGS,
                timeout=LAUNCH_TIMEOUT_MS,
            )
            self.charts: Page = self._new_page()
            self.charts.add_script_tag(path=_asset_path(PLOTLY_ASSET))
        except BaseException:
            self.close()
            raise

    @property
    def is_usable(self) -> bool:
        return self.browser.is_connected() and not self.charts.is_closed()

    def print_page(self, page_path: Path, *, footer: str) -> bytes:
        errors: list[str] = []
        page = self._new_page()
        try:
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_path.as_uri(), wait_until="load")
            page.evaluate(CHARTS_PLACE_JS, self._draw_charts(page))
            return page.pdf(
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer,
                margin={side: f"{mm}mm" for side, mm in MARGIN_MM.items()},
            )
        except PlaywrightError as exc:
            detail = f" The page reported: {errors[0]}" if errors else ""
            logger.warning("chromium failed on %s: %s", page_path, exc)
            raise ReportPrintError(
                f"Chromium could not print the report: {_first_line(exc)}.{detail}"
            ) from exc
        finally:
            page.close()

    def _draw_charts(self, page: Page) -> list[str]:
        svgs = []
        for chart in page.evaluate(CHARTS_READ_JS):
            if chart["figure"] is None:
                raise ReportPrintError(
                    f"A chart could not be drawn: no figure named {chart['name']}."
                )
            try:
                url = self.charts.evaluate(CHART_SVG_JS, chart)
            except PlaywrightError as exc:
                raise ReportPrintError(
                    f"A chart could not be drawn: {_first_line(exc)}."
                ) from exc
            svgs.append(unquote(url.partition(",")[2]))
        return svgs

    def _new_page(self) -> Page:
        page = self.browser.new_page(
            viewport={"width": CONTENT_WIDTH_PX, "height": 1000}
        )
        page.set_default_timeout(STEP_TIMEOUT_MS)
        # The report is built from local files only; nothing may be fetched
        # from the network while it prints.
        page.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
        return page

    def close(self) -> None:
        try:
            if getattr(self, "browser", None) is not None:
                self.browser.close()
        except PlaywrightError:
            logger.warning("chromium could not be closed cleanly", exc_info=True)
        finally:
            self.playwright.stop()


class _Printer:
    """Run prints one at a time on a thread that keeps one Chromium open.

    Playwright's sync objects belong to the thread that made them and refuse a
    second instance on a thread where one is running, so Chromium lives on a
    thread of its own: any thread may ask for a print (Celery's prefork child,
    a threads pool, a test), and their own Playwright, if any, is left alone.
    Chromium is launched on the first print, reused after, and launched again
    when it died or a print failed.

    Limitation: prints in one process run one after the other; a worker using
    the threads pool prints no faster with more threads. Several processes
    (Celery's default prefork pool) print side by side, one Chromium each, and
    each keeps its Chromium's memory while idle. A pool of browsers shared by
    the processes, or closing Chromium after some idle minutes, would lift
    either.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._chromium: _Chromium | None = None
        thread = threading.Thread(target=self._serve, name="candor-pdf", daemon=True)
        thread.start()

    def run(self, job: Callable[[_Chromium], bytes]) -> bytes:
        future: Future = Future()
        self._jobs.put((job, future))
        try:
            return future.result(timeout=PRINT_TIMEOUT_S)
        except FutureTimeoutError:
            raise ReportPrintError(
                f"Chromium did not finish printing within {PRINT_TIMEOUT_S} s."
            ) from None
        except PlaywrightError as exc:
            # Chromium could not be started (a print's own errors are worded
            # where they happen).
            logger.warning("chromium pid=%s failed to start: %s", self.pid, exc)
            raise ReportPrintError(
                f"Chromium could not print the report: {_first_line(exc)}."
            ) from exc

    def stop(self) -> None:
        future: Future = Future()
        self._jobs.put((None, future))
        future.result(timeout=10)

    def _serve(self) -> None:
        while True:
            job, future = self._jobs.get()
            if job is None:
                self._close()
                future.set_result(b"")
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job(self._ready()))
            except BaseException as exc:
                # A failed print may leave Chromium in any state: start afresh.
                self._close()
                future.set_exception(exc)

    def _ready(self) -> _Chromium:
        if self._chromium is not None and not self._chromium.is_usable:
            logger.warning("chromium pid=%s is gone; launching it again", self.pid)
            self._close()
        if self._chromium is None:
            self._chromium = _Chromium(chromium_path())
        return self._chromium

    def _close(self) -> None:
        chromium, self._chromium = self._chromium, None
        if chromium is not None:
            try:
                chromium.close()
            except Exception:
                logger.warning("chromium could not be stopped", exc_info=True)


_printer_lock = threading.Lock()
_the_printer: _Printer | None = None


def _printer() -> _Printer:
    """Return this process's printer, made on first use (after any fork)."""
    global _the_printer
    with _printer_lock:
        if _the_printer is None or _the_printer.pid != os.getpid():
            _the_printer = _Printer()
        return _the_printer


@atexit.register
def _stop_printer() -> None:
    printer = _the_printer
    if printer is not None and printer.pid == os.getpid():
        try:
            printer.stop()
        except Exception:
            logger.warning("the PDF printer did not stop cleanly", exc_info=True)


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
    return _asset_path(path).as_uri()


def _asset_path(path: str) -> Path:
    found = finders.find(path)
    if not found:
        raise ReportPrintError(f"The static file {path} is missing from this install.")
    return Path(found).resolve()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
