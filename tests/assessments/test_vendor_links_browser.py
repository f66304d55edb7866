"""A vendor contact answers through their link and the founder accepts, in Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from assessments.models import Answer, EvidenceTier, Question
from assessments.services import vendor_link_create
from tests.factories import AssessmentFactory, OfferingFactory

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
STEP_TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture
def browser(live_server, monkeypatch) -> Iterator:
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse the test's own database access without this.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        yield browser
        browser.close()


def _page(browser, live_server, user=None):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    if user is not None:
        client = Client()
        client.force_login(user)
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


def test_contact_answers_and_founder_accepts(
    browser, live_server, workspace, owner, candor_v1
):
    assessment = AssessmentFactory(
        offering=OfferingFactory(vendor__workspace=workspace), framework=candor_v1
    )
    question = (
        Question.objects.filter(framework=candor_v1, vendor_facing=True, kind="yes_no")
        .order_by("pillar__order", "order")
        .first()
    )
    _, token = vendor_link_create(
        assessment=assessment, user=owner, contact_name="Jane Okafor"
    )
    contact = _page(browser, live_server)
    founder = _page(browser, live_server, owner)

    contact.goto(f"/v/{token}/")
    card = contact.locator(f"#q-{question.key}")
    card.get_by_label("Yes", exact=True).check()
    card.locator("textarea[name=comment]").fill("See our model card.")
    card.get_by_role("button", name="Send").click()
    expect(contact.locator(f"#q-{question.key} .status-line")).to_contain_text(
        "Just sent"
    )

    founder.goto(f"/assessments/{assessment.pk}/vendor-links/")
    expect(founder.locator(".review-item")).to_contain_text("See our model card.")
    founder.get_by_role("button", name="Accept as the answer").click()
    expect(founder.locator(".message-success")).to_contain_text("Accepted")

    answer = Answer.objects.get(assessment=assessment, question=question)
    assert answer.value == "yes"
    assert answer.tier == EvidenceTier.VENDOR_ASSERTED


def test_contact_sees_a_follow_up_and_answers_again(
    browser, live_server, workspace, owner, candor_v1
):
    assessment = AssessmentFactory(
        offering=OfferingFactory(vendor__workspace=workspace), framework=candor_v1
    )
    question = (
        Question.objects.filter(framework=candor_v1, vendor_facing=True, kind="yes_no")
        .order_by("pillar__order", "order")
        .first()
    )
    link, token = vendor_link_create(assessment=assessment, user=owner)
    contact = _page(browser, live_server)
    founder = _page(browser, live_server, owner)
    contact.goto(f"/v/{token}/")
    card = contact.locator(f"#q-{question.key}")
    card.get_by_label("Partly", exact=True).check()
    card.get_by_role("button", name="Send").click()
    expect(card.locator(".status-line")).to_contain_text("Just sent")

    founder.goto(f"/assessments/{assessment.pk}/vendor-links/")
    founder.get_by_text("Ask a follow-up").click()
    founder.get_by_label("Question for Vendor contact").fill("Which languages?")
    founder.get_by_role("button", name="Send follow-up").click()
    expect(founder.locator(".message-success")).to_contain_text("Follow-up sent")

    contact.reload()
    card = contact.locator(f"#q-{question.key}")
    expect(card.locator(".follow-up")).to_contain_text("Which languages?")
    card.get_by_label("Yes", exact=True).check()
    card.get_by_role("button", name="Send again").click()
    expect(card.locator(".status-line")).to_contain_text("Just sent")
    assert link.responses.get().value == "yes"
