"""The questionnaire's htmx behaviour and narrow screens, in headless Chromium."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from assessments.models import Answer
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    OfferingFactory,
    VendorFactory,
)

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
STEP_TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
YES_NO = "ot_objectives_published"
CHOICE = "ot_primary_reward"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture
def browser_for(live_server, monkeypatch) -> Iterator[Callable]:
    """Open a logged-in browser page for a person; each call is a separate context."""
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse the test's own database access without this.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        expect.set_options(timeout=STEP_TIMEOUT_MS)

        def open_page(user, viewport=PHONE):
            client = Client()
            client.force_login(user)
            context = browser.new_context(base_url=live_server.url, viewport=viewport)
            context.set_default_timeout(STEP_TIMEOUT_MS)
            context.add_cookies(
                [
                    {
                        "name": "sessionid",
                        "value": client.cookies["sessionid"].value,
                        "url": live_server.url,
                    }
                ]
            )
            return context.new_page()

        yield open_page
        browser.close()


@pytest.fixture
def assessment(workspace, owner, candor_v1):
    offering = OfferingFactory(
        vendor__workspace=workspace, vendor__name="Northwind AI", name="Northwind Chat"
    )
    return AssessmentFactory(offering=offering, framework=candor_v1, owner=owner)


def _question(page, key: str):
    return page.locator(f"#q-{key}")


def _answer(assessment, key: str) -> Answer:
    return Answer.objects.get(assessment=assessment, question__key=key)


def test_long_names_do_not_widen_the_page_on_a_phone(
    browser_for, owner, workspace, candor_v1
):
    vendor = VendorFactory(
        workspace=workspace,
        name="N" * 120,
        website="https://vendor.example.com/" + "a" * 150,
        notes="https://vendor.example.com/" + "b" * 200,
    )
    offering = OfferingFactory(vendor=vendor, name="C" * 120, version="v" + "9" * 59)
    page = browser_for(owner)

    widths = {}
    for url in (
        vendor.get_absolute_url(),
        offering.get_absolute_url(),
        reverse("assessment_create", args=[offering.pk]),
    ):
        page.goto(url)
        widths[url] = page.evaluate("document.documentElement.scrollWidth")

    assert widths == dict.fromkeys(widths, PHONE["width"])


def test_a_refused_source_says_not_saved_and_keeps_the_option(
    browser_for, owner, assessment
):
    page = browser_for(owner)
    page.goto(assessment.get_absolute_url())
    question = _question(page, CHOICE)
    question.get_by_label("Task success and verified user outcomes").check()
    expect(question.locator(".question-status")).to_contain_text("Last saved by you")

    question.locator("input[name=source_url]").fill("bad url")
    question.locator("input[name=source_url]").press("Tab")
    expect(question.locator(".field-error")).to_contain_text("Enter a full web address")
    _question(page, CHOICE).get_by_label("Thumbs-up ratings from end users").check()

    status = _question(page, CHOICE).locator(".question-status")
    expect(status).to_contain_text("Not saved")
    expect(status).not_to_contain_text("Last saved")
    expect(_question(page, CHOICE).get_by_label("Thumbs-up ratings")).to_be_checked()
    assert _answer(assessment, CHOICE).value == "user_outcomes"


def test_clear_answer_empties_a_single_choice_question(browser_for, owner, assessment):
    page = browser_for(owner)
    page.goto(assessment.get_absolute_url())
    _question(page, YES_NO).get_by_label("Yes", exact=True).check()
    expect(_question(page, YES_NO).locator(".question-status")).to_contain_text(
        "Last saved by you"
    )

    _question(page, YES_NO).get_by_role("button", name="Clear answer").click()

    question = _question(page, YES_NO)
    expect(question.locator(".question-status")).to_contain_text("Not answered")
    expect(question.locator("input[name=value]:checked")).to_have_count(0)
    expect(question.get_by_role("button", name="Clear answer")).to_be_hidden()
    assert _answer(assessment, YES_NO).value is None


def test_use_mine_keeps_what_the_other_person_added(
    browser_for, owner, workspace, assessment
):
    priya = MembershipFactory(
        workspace=workspace, role="editor", user__username="priya"
    ).user
    theirs, mine = browser_for(priya), browser_for(owner)
    theirs.goto(assessment.get_absolute_url())
    mine.goto(assessment.get_absolute_url())
    question = _question(theirs, YES_NO)
    question.get_by_label("Yes", exact=True).check()
    question.locator("input[name=source_url]").fill("https://northwind.example/p")
    question.locator("textarea[name=note]").fill("Published in March.")
    question.locator("textarea[name=note]").blur()
    # The form's base is the stored answer once the last save has landed.
    expect(question.locator("input[name=base]")).to_have_value(
        re.compile("Published in March")
    )

    _question(mine, YES_NO).get_by_label("Partly", exact=True).check()
    conflict = _question(mine, YES_NO).locator(".conflict")
    expect(conflict).to_contain_text("priya changed this answer")
    expect(conflict.locator("tbody tr")).to_have_count(1)
    conflict.get_by_role("button", name="Use mine").click()

    expect(_question(mine, YES_NO).locator(".conflict")).to_have_count(0)
    answer = _answer(assessment, YES_NO)
    assert (answer.value, answer.source_url, answer.note) == (
        "partly",
        "https://northwind.example/p",
        "Published in March.",
    )
