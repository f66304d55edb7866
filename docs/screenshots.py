"""Take the README's pictures from a running Candor: questionnaire, dashboard, PDF.

Run by hand against a running app (``bin/run`` prints the demo login), from the
repository root with the project's virtual environment:

    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000 \\
        --username demo --password '...'

It writes docs/questionnaire.png (one pillar of the questionnaire of
``--questionnaire-vendor``), docs/dashboard.png (the dashboard of
``--dashboard-vendor``) and docs/report-page1.png (the first page of a PDF report
of that same assessment, which it asks the app to print). Needs Chromium and
poppler-utils (pdftoppm).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Locator, Page, expect, sync_playwright

logger = logging.getLogger("candor.screenshots")

DOCS = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1280, "height": 900}
QUESTIONNAIRE_HEIGHT = 1400
TIMEOUT_MS = 30_000
REPORT_TIMEOUT_MS = 120_000


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chromium = os.environ.get("CANDOR_CHROMIUM") or shutil.which("chromium")
    if not chromium or not shutil.which(chromium):
        logger.error("Chromium is not installed (apt-get install chromium).")
        return 1
    if not shutil.which("pdftoppm"):
        logger.error("pdftoppm is not installed (apt-get install poppler-utils).")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which(chromium), args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=args.url.rstrip("/"), viewport=LAPTOP, accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page = context.new_page()
        try:
            _log_in(page, args.username, args.password)
            _questionnaire(page, args.questionnaire_vendor, args.pillar, args.out)
            _dashboard_and_report(page, args.dashboard_vendor, args.out)
        finally:
            context.close()
            browser.close()
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="where the app runs, e.g. http://127.0.0.1:8000")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--questionnaire-vendor", default="OpenAI")
    parser.add_argument(
        "--pillar",
        default="",
        help="title of the pillar to show; by default the one with most answers",
    )
    parser.add_argument("--dashboard-vendor", default="Northwind Models (fictional)")
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs")
    return parser.parse_args(argv)


def _log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Vendors", exact=True)).to_be_visible()


def _open_latest_assessment(page: Page, vendor: str, link: str) -> None:
    """From the vendor list, open the first assessment's questionnaire or dashboard."""
    page.goto("/vendors/")
    page.locator(".vendor-table").get_by_role("link", name=vendor, exact=True).click()
    expect(page.get_by_role("heading", name=vendor, exact=True)).to_be_visible()
    page.locator(".assessment-table .row-links").get_by_role(
        "link", name=link
    ).first.click()


def _questionnaire(page: Page, vendor: str, pillar: str, out: Path) -> None:
    _open_latest_assessment(page, vendor, "Questionnaire")
    tabs = page.locator("#pillar-tabs a.pillar-tab")
    expect(tabs.first).to_be_visible()
    title = pillar or _most_answered_pillar(page)
    tab = tabs.filter(has_text=title)
    if tab.get_attribute("aria-current") != "page":
        tab.click()
    expect(page.locator("#pillar-title")).to_have_text(title)
    _wait_for_htmx(page)
    path = out / "questionnaire.png"
    _screenshot_top(page, path, height=QUESTIONNAIRE_HEIGHT)
    logger.info("wrote %s (%s, pillar %s)", path, vendor, title)


def _most_answered_pillar(page: Page) -> str:
    counts = page.locator("#pillar-tabs .pillar-tab").evaluate_all(
        """tabs => tabs.map(tab => [
            tab.querySelector('.pillar-tab-title').textContent.trim(),
            parseInt(tab.querySelector('.pillar-tab-count').textContent, 10) || 0,
        ])"""
    )
    return max(counts, key=lambda pair: pair[1])[0]


def _dashboard_and_report(page: Page, vendor: str, out: Path) -> None:
    _open_latest_assessment(page, vendor, "Dashboard")
    expect(page.locator("#score")).not_to_have_class(
        re.compile(r"\bis-pending\b"), timeout=REPORT_TIMEOUT_MS
    )
    page.reload()
    _wait_for_charts(page)
    # The top of the dashboard down to the pillar table tells the story; the
    # whole page is over 3000 px tall, too long for a README picture.
    pillars = page.locator(".dash-pillars")
    expect(pillars).to_be_visible()
    path = out / "dashboard.png"
    _screenshot_top(page, path, bottom_of=pillars)
    logger.info("wrote %s (%s)", path, vendor)

    page.get_by_role("button", name="Export PDF").click()
    link = page.locator("#report-list .report-row").first.get_by_role(
        "button", name="Download PDF"
    )
    expect(link).to_be_visible(timeout=REPORT_TIMEOUT_MS)
    with tempfile.TemporaryDirectory(prefix="candor-shots-") as folder:
        with page.expect_download() as download_info:
            link.click()
        pdf = Path(folder) / "report.pdf"
        download_info.value.save_as(pdf)
        path = out / "report-page1.png"
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(path.with_suffix("")),
            ],
            check=True,
            timeout=60,
        )
    logger.info("wrote %s", path)


def _screenshot_top(
    page: Page, path: Path, height: float = 0, bottom_of: Locator | None = None
) -> None:
    """Save the top of the page, down to ``height`` or to the bottom of an element."""
    page.evaluate("window.scrollTo(0, 0)")
    if bottom_of is not None:
        box = bottom_of.bounding_box()
        height = box["y"] + box["height"] + 24
    page.screenshot(
        path=path,
        full_page=True,
        clip={"x": 0, "y": 0, "width": LAPTOP["width"], "height": height},
        animations="disabled",
        caret="hide",
    )


def _wait_for_htmx(page: Page) -> None:
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def _wait_for_charts(page: Page) -> None:
    """Wait until charts.js has drawn every chart, and fail if one did not draw."""
    page.wait_for_function("() => document.body.dataset.chartsReady === 'true'")
    error = page.evaluate("() => document.body.dataset.chartsError || ''")
    if error:
        raise RuntimeError(f"a chart did not draw: {error}")
    expect(page.locator(".chart .main-svg").first).to_be_visible()


if __name__ == "__main__":
    sys.exit(main())
