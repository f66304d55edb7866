"""Secrets: keys and tokens appear in no page, log line, PDF or error report."""

from __future__ import annotations

import logging
import sys

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from config.log_filters import TokenRedaction
from dashboards import pdf
from evals import crypto
from evals.models import Endpoint, JudgeProfile
from evals.simulated import simulated_vendor_start
from tests.evals.run_helpers import run_through
from tests.security.conftest import figure_add
from tests.security.url_cases import URL_CASES
from tests.security.world import API_KEY, JUDGE_API_KEY, World, world_build

pytestmark = pytest.mark.django_db

NEW_KEY = "sk-typed-SECRET-5e6f7a8b9c0d1e2f3a4b"


def _secrets(world: World) -> dict[str, str]:
    """Every secret of the world, by what it is."""
    found = {
        "endpoint key": API_KEY,
        "judge key": JUDGE_API_KEY,
        "new key": NEW_KEY,
        "endpoint key, encrypted": world.endpoint.api_key_encrypted,
        "judge key, encrypted": world.judge.api_key_encrypted,
    }
    if "vendor_link_token" in world.extra:
        found["vendor link token"] = world.extra["vendor_link_token"]
    if "invitation_token" in world.extra:
        found["invitation token"] = world.extra["invitation_token"]
    return found


def _assert_no_secret(text: str, world: World, where: str, allowed=()) -> None:
    for name, secret in _secrets(world).items():
        if name not in allowed:
            assert secret not in text, f"{where} shows the {name}"


def _owner(world: World) -> Client:
    client = Client()
    client.force_login(world.owner)
    return client


def test_no_page_shows_a_key_or_a_token():
    world = world_build()
    client = _owner(world)

    for name, case in URL_CASES.items():
        if case.get is None:
            continue
        url = reverse(name, kwargs=case.kwargs(world) if case.kwargs else None)
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, follow=True, **headers)
            body = (
                b"".join(response.streaming_content)
                if response.streaming
                else response.content
            )
            _assert_no_secret(body.decode(errors="replace"), world, url)
            figure_add("secrets: pages checked")


def test_the_vendor_portal_shows_no_key_and_only_its_own_token():
    world = world_build()
    token = world.extra["vendor_link_token"]

    response = Client().get(reverse("vendor_portal", args=[token]))

    # The contact's own token is in the links of their page: it is their key.
    _assert_no_secret(
        response.content.decode(), world, "vendor portal", allowed={"vendor link token"}
    )


def test_a_saved_key_is_never_sent_back_in_the_form():
    world = world_build()
    client = _owner(world)

    saved = client.post(
        reverse("endpoint_edit", args=[world.offering.pk]),
        {
            "api_kind": "openai_chat",
            "base_url": "https://api.vendor.example.com/v1",
            "model_name": "m",
            "api_key": NEW_KEY,
            "max_concurrency": 4,
            "requests_per_minute": 60,
            "timeout_seconds": 30,
        },
        follow=True,
    )
    refused = client.post(
        reverse("endpoint_edit", args=[world.offering.pk]),
        {"api_kind": "openai_chat", "base_url": "not a url", "api_key": NEW_KEY},
    )
    form = client.get(reverse("endpoint_edit", args=[world.offering.pk]))

    assert (
        crypto.secret_decrypt(
            Endpoint.objects.get(offering=world.offering).api_key_encrypted
        )
        == NEW_KEY
    )
    for where, response in (("saved", saved), ("refused", refused), ("form", form)):
        assert response.status_code == 200
        assert NEW_KEY not in response.content.decode(), where


def test_the_pdf_print_page_shows_no_key():
    world = world_build()

    _assert_no_secret(pdf.report_html(world.assessment), world, "print page")


def test_no_log_line_carries_a_key(
    caplog, settings, django_capture_on_commit_callbacks
):
    settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True
    world = world_build()
    client = _owner(world)
    vendor = simulated_vendor_start("127.0.0.1", 0)
    caplog.set_level(logging.DEBUG)
    try:
        client.post(
            reverse("endpoint_edit", args=[world.offering.pk]),
            {
                "api_kind": "openai_chat",
                "base_url": vendor.url,
                "model_name": "candid",
                "api_key": NEW_KEY,
                "max_concurrency": 4,
                "requests_per_minute": 6000,
                "timeout_seconds": 10,
            },
        )
        assert Endpoint.objects.get(offering=world.offering).base_url == vendor.url
        client.post(reverse("endpoint_test", args=[world.offering.pk]))
        run = run_through(
            django_capture_on_commit_callbacks,
            world.offering,
            world.owner,
            ["pushback"],
        )
        client.post(reverse("judge_edit", args=[world.judge.pk]), {"api_key": NEW_KEY})
    finally:
        vendor.stop()

    assert run.done > 0
    lines = [record.getMessage() for record in caplog.records]
    lines += [str(record.__dict__) for record in caplog.records]
    figure_add("secrets: log records checked", len(caplog.records))
    for line in lines:
        _assert_no_secret(line, world, "a log record")


def test_the_error_report_of_a_crash_hides_the_typed_key(monkeypatch, settings):
    settings.ADMINS = [("Operator", "operator@example.com")]
    settings.DEBUG = False
    world = world_build()
    client = _owner(world)
    client.raise_request_exception = False

    def crash():
        raise RuntimeError("the encryption backend fell over")

    # Deep inside the save, so every frame from the view down holds the key.
    monkeypatch.setattr(crypto, "_current_fernet", crash)
    reports: list[str] = []
    monkeypatch.setattr(
        "django.utils.log.AdminEmailHandler.send_mail",
        lambda handler, subject, message, *args, **kwargs: reports.append(
            subject + message + str(kwargs.get("html_message") or "")
        ),
    )
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("django.request").addHandler(handler)
    try:
        response = client.post(
            reverse("endpoint_edit", args=[world.offering.pk]),
            {
                "api_kind": "openai_chat",
                "base_url": "https://api.vendor.example.com/v1",
                "model_name": "m",
                "api_key": NEW_KEY,
                "max_concurrency": 4,
                "requests_per_minute": 60,
                "timeout_seconds": 30,
            },
        )
    finally:
        logging.getLogger("django.request").removeHandler(handler)

    assert response.status_code == 500
    _assert_no_secret(response.content.decode(), world, "the 500 page")
    crash_record = next(r for r in records if r.exc_info)
    report = ExceptionReporter(
        crash_record.request, *crash_record.exc_info, is_email=True
    )
    text, html = report.get_traceback_text(), report.get_traceback_html()
    assert "the encryption backend fell over" in text
    assert "api_key" in html  # the parameter is listed, its value hidden
    for where, body in (("text report", text), ("html report", html)):
        _assert_no_secret(body, world, where)
    for sent in reports:
        _assert_no_secret(sent, world, "the emailed report")
    assert not mail.outbox or all(NEW_KEY not in m.body for m in mail.outbox)


def test_the_settings_in_an_error_report_hide_the_encryption_key(rf, settings):
    settings.DEBUG = False
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        report = ExceptionReporter(rf.get("/"), *sys.exc_info())
        html = report.get_traceback_html()

    for key in settings.CANDOR_ENCRYPTION_KEY:
        assert key not in html
    assert settings.SECRET_KEY not in html


def test_judge_keys_are_hidden_like_endpoint_keys():
    world = world_build()
    client = _owner(world)

    response = client.post(
        reverse("judge_edit", args=[world.judge.pk]),
        {
            "name": "Judge",
            "api_kind": "openai_chat",
            "base_url": "not a url",
            "model_name": "j",
            "api_key": NEW_KEY,
        },
    )

    assert response.status_code == 200
    assert NEW_KEY not in response.content.decode()
    assert JudgeProfile.objects.get(pk=world.judge.pk).api_key_encrypted == (
        world.judge.api_key_encrypted
    )


def test_the_error_report_of_a_crashed_signup_hides_the_password(monkeypatch, rf):
    password = "correct-SECRET-horse-battery-42"
    client = Client(raise_request_exception=False)

    def crash(*args, **kwargs):
        raise RuntimeError("the workspace table is locked")

    monkeypatch.setattr("accounts.services.Membership.objects.create", crash)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("django.request").addHandler(handler)
    try:
        response = client.post(
            reverse("signup"),
            {
                "username": "newfounder",
                "email": "new@example.com",
                "workspace_name": "New",
                "password1": password,
                "password2": password,
            },
        )
    finally:
        logging.getLogger("django.request").removeHandler(handler)

    assert response.status_code == 500
    crash_record = next(r for r in records if r.exc_info)
    report = ExceptionReporter(
        crash_record.request, *crash_record.exc_info, is_email=True
    )
    assert "the workspace table is locked" in report.get_traceback_text()
    assert password not in report.get_traceback_text()
    assert password not in report.get_traceback_html()


def test_a_vendor_link_or_invitation_token_in_a_refused_request_is_not_logged(
    caplog,
):
    world = world_build()
    token = world.extra["vendor_link_token"]
    question = world.extra["vendor_question"]
    caplog.set_level(logging.DEBUG)

    # A refused answer (422), a wrong method (405), an unknown question (404)
    # and a revoked link (410) are each logged by django.request with the path.
    Client().post(
        reverse("vendor_portal_answer", args=[token, question.key]),
        {"value": "not one of the options"},
    )
    Client().post(reverse("vendor_portal", args=[token]))
    Client().post(reverse("vendor_portal_answer", args=[token, "no-such-question"]))
    Client().put(reverse("invitation_accept", args=[world.extra["invitation_token"]]))
    world.extra["vendor_link"].revoked_at = world.extra["vendor_link"].created_at
    world.extra["vendor_link"].save()
    Client().get(reverse("vendor_portal", args=[token]))

    assert any(r.name == "django.request" for r in caplog.records)
    for record in caplog.records:
        _assert_no_secret(record.getMessage(), world, f"log of {record.name}")


@pytest.mark.parametrize(
    "message",
    [
        "Gone: /v/SECRETtoken123/",
        "Not Found: /v/SECRETtoken123/questions/q1/",
        "Method Not Allowed (PUT): /invitations/SECRETtoken123/",
        "Bad Request: /signup/?invitation=SECRETtoken123&x=1",
    ],
)
def test_token_redaction_keeps_the_path_and_drops_the_token(message):
    record = logging.LogRecord(
        "django.request", logging.WARNING, "", 0, "%s", (message,), None
    )

    TokenRedaction().filter(record)

    assert "SECRETtoken123" not in record.getMessage()
    assert "[token]" in record.getMessage()
