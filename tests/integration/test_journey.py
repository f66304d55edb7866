"""The founder's journey in a real browser, from sign-up to the PDF summary.

Headless Chromium drives pytest-django's live server through the UI only, while a
real Celery worker on the real Redis rescores the assessment and prints the PDF.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import FMTI_FOLDER, requires_fmti_data

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VENDOR = "OpenAI"
OFFERING = "GPT-5"
# Generous for a slow machine; each step normally settles in well under a second.
STEP_TIMEOUT_MS = 15_000
SCORE_TIMEOUT_MS = 45_000
REPORT_TIMEOUT_MS = 90_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    requires_fmti_data,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
    pytest.mark.skipif(
        shutil.which("pdftotext") is None,
        reason="pdftotext is not installed (apt-get install poppler-utils)",
    ),
]


@pytest.fixture
def page(live_server, monkeypatch) -> Iterator:
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse the test's own database access without this.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(
            base_url=live_server.url,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        page = context.new_page()
        yield page
        context.close()
        browser.close()


@contextmanager
def _last_page_kept_on_failure(page, folder: Path) -> Iterator[None]:
    """On failure, leave a screenshot and the HTML of where the journey stopped."""
    try:
        yield
    except BaseException:
        with suppress(Exception):
            page.screenshot(path=folder / "last-page.png", full_page=True)
            (folder / "last-page.html").write_text(page.content())
        raise


def test_founder_walks_from_sign_up_to_a_pdf_with_the_dashboard_grade(
    celery_worker_process, candor_v1, tmp_path, page
):
    with _last_page_kept_on_failure(page, tmp_path):
        _sign_up(page)
        _add_vendor_and_offering(page)
        _start_assessment(page)
        questionnaire_url = page.url

        summary = _import_public_evidence(page)
        assert re.search(r"Pre-filled \d+ answers? in 1 assessment", summary), summary

        page.goto(questionnaire_url)
        pillar_titles, prefilled = _answer_every_pillar(page)
        assert prefilled > 0, "no answer was marked Publicly disclosed after the import"
        assert len(pillar_titles) == 4

        page.get_by_role("button", name="See the dashboard").click()
        grade, overall = _wait_for_grade(page)
        expect(
            page.locator('[data-chart="chart-radar"]').locator(".main-svg").first
        ).to_be_attached()
        expect(
            page.locator('[data-chart="chart-bars"]').locator(".main-svg").first
        ).to_be_attached()

        pdf_path = _export_pdf(page, tmp_path)
        cover = _pdf_text(pdf_path, first_page_only=True)
        assert VENDOR in cover
        # On the cover the overall grade stands on a line of its own; pillar grades
        # there read "94.5 · A".
        assert re.search(rf"^{grade}$", cover, re.MULTILINE), cover
        assert f"{overall} / 100" in cover, cover
        text = _pdf_text(pdf_path)
        for title in pillar_titles:
            assert title in text, title
    # Both went through the worker on Redis, not through eager tasks.
    worker = celery_worker_process
    assert worker.tasks_succeeded("assessments.tasks.rescore_assessment") >= 1
    assert worker.tasks_succeeded("dashboards.tasks.report_print") == 1, worker.log()


def _sign_up(page) -> None:
    page.goto("/signup/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email").fill("ada@lovelace-labs.example")
    page.get_by_label(re.compile(r"^Password(?! confirmation)")).fill(
        "a long and unusual passphrase"
    )
    page.get_by_label(re.compile(r"^Password confirmation")).fill(
        "a long and unusual passphrase"
    )
    page.get_by_label("Company or team name").fill("Lovelace Labs")
    page.locator("main").get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Vendors", exact=True)).to_be_visible()
    expect(page.locator(".workspace-name")).to_have_text("Lovelace Labs")


def _add_vendor_and_offering(page) -> None:
    page.get_by_role("button", name="Add your first vendor").click()
    page.get_by_label("Vendor name").fill(VENDOR)
    page.get_by_label("Website").fill("https://openai.com")
    page.get_by_role("button", name="Add vendor").click()
    expect(page.get_by_role("heading", name=VENDOR, exact=True)).to_be_visible()

    page.get_by_role("button", name="Add the first offering").click()
    page.get_by_label("Model or product name").fill(OFFERING)
    page.get_by_label("Version").fill("2025-08-07")
    page.get_by_role("button", name="Add offering").click()
    expect(page.get_by_role("heading", name=re.compile(OFFERING))).to_be_visible()


def _start_assessment(page) -> None:
    page.get_by_role(
        "button", name=re.compile(r"Start (the first )?assessment")
    ).first.click()
    page.get_by_text("Customer-facing assistant", exact=True).click()
    page.get_by_role("button", name="Start assessment").click()

    expect(page.locator("#pillar-title")).to_be_visible()
    expect(page.locator(".assessment-meta")).to_contain_text(
        "Customer-facing assistant"
    )


def _import_public_evidence(page) -> str:
    """Upload the index files through the form; return the summary it shows."""
    page.get_by_role("link", name="Public evidence").click()
    page.get_by_label("Indicators file").set_input_files(FMTI_FOLDER / "indicators.csv")
    page.get_by_label("Scores file").set_input_files(FMTI_FOLDER / "scores.csv")
    page.get_by_label("Developer reports").set_input_files(
        sorted((FMTI_FOLDER / "reports").glob("*.csv"))
    )
    page.get_by_role("button", name="Import and pre-fill").click()

    result = page.locator(".evidence-result")
    expect(result).to_contain_text("Imported", timeout=30_000)
    return result.inner_text()


def _answer_every_pillar(page) -> tuple[list[str], int]:
    """Answer each open scored question, pillar by pillar, as a person clicks.

    Returns the pillar titles and how many answers were marked publicly disclosed.
    """
    tabs = page.locator("#pillar-tabs a.pillar-tab")
    titles = [
        title.strip() for title in tabs.locator(".pillar-tab-title").all_inner_texts()
    ]
    prefilled = 0
    for title in titles:
        tab = tabs.filter(has_text=title)
        # Clicking the current tab reloads the pillar, and an answer clicked
        # meanwhile would be saved from a form that the reload then replaces.
        if tab.get_attribute("aria-current") != "page":
            tab.click()
        expect(page.locator("#pillar-title")).to_have_text(title)
        _wait_for_htmx(page)
        prefilled += (
            page.locator("#questionnaire .question-status")
            .filter(has=page.locator(".badge-tier-publicly_disclosed"))
            .count()
        )
        _answer_open_questions(page)
    return titles, prefilled


def _answer_open_questions(page) -> None:
    """Click the first harmless option of every unanswered scored question shown.

    Questions are looked up afresh after each save, because an answer can make a
    dependent question applicable and the page swaps it in.
    """
    open_questions = (
        page.locator("#questionnaire article.question:not(.question-na)")
        .filter(has=page.locator(".options input"))
        .filter(has=page.get_by_text("Not answered yet", exact=True))
    )
    for _ in range(60):
        if open_questions.count() == 0:
            return
        question = open_questions.first
        key = question.get_attribute("id").removeprefix("q-")
        options = question.locator("label.option")
        harmless = options.filter(has_not=page.locator(".flag-mark"))
        (harmless if harmless.count() else options).first.click()
        status = page.locator(f"#q-{key}-status")
        expect(status.locator(".saved")).to_be_visible()
        expect(status).to_contain_text("Last saved by you")
        _wait_for_htmx(page)
    raise AssertionError("questions kept opening up; the questionnaire loops")


def _wait_for_htmx(page) -> None:
    """Wait until no htmx request, swap or settle is under way on the page."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def _wait_for_grade(page) -> tuple[str, str]:
    """Wait until the background rescoring settles; return the grade and score."""
    score = page.locator("#score")
    expect(score).not_to_have_class(
        re.compile(r"\bis-pending\b"), timeout=SCORE_TIMEOUT_MS
    )
    # The pending flag is cleared when a rescoring starts, before its score is
    # stored, so a poll can stop on the previous score; a reload shows the new one.
    page.reload()
    expect(score).not_to_have_class(
        re.compile(r"\bis-pending\b"), timeout=SCORE_TIMEOUT_MS
    )
    expect(page.get_by_text("Recalculating")).to_have_count(0)
    expect(page.locator(".dash-verdict")).to_contain_text(
        re.compile(r"All \d+ questions answered")
    )
    grade = page.locator(".dash-grade .grade")
    expect(grade).to_have_text(re.compile(r"^[A-F]$"))
    overall = page.locator(".dash-overall strong").inner_text().strip()
    return grade.inner_text().strip(), overall


def _export_pdf(page, folder: Path) -> Path:
    """Ask for the PDF, wait for the worker to print it and download it."""
    page.get_by_role("button", name="Export PDF").click()
    link = page.locator("#report-list").get_by_role("button", name="Download PDF")
    expect(link).to_be_visible(timeout=REPORT_TIMEOUT_MS)

    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.startswith("candor-openai-")
    pdf_path = folder / download.suggested_filename
    download.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    return pdf_path


def _pdf_text(pdf_path: Path, first_page_only: bool = False) -> str:
    pages = ["-f", "1", "-l", "1"] if first_page_only else []
    return subprocess.run(
        ["pdftotext", *pages, str(pdf_path), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
