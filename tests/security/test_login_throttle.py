"""Login throttling: repeated wrong passwords lock the username from that address."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, address="203.0.113.7"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def person():
    return MembershipFactory().user


def _fail(client: Client, username: str, times: int, address="203.0.113.7"):
    return [_login(client, username, "wrong", address) for _ in range(times)]


def test_throttling_is_on_with_the_configured_limit():
    assert settings.AXES_ENABLED
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_wrong_passwords_below_the_limit_show_the_login_form_again(person):
    client = Client()

    responses = _fail(client, person.username, settings.AXES_FAILURE_LIMIT - 1)

    assert [r.status_code for r in responses] == [200] * 4
    assert "Please enter a correct username and password" in (
        responses[-1].content.decode()
    )


def test_the_limit_locks_the_login_with_a_clear_message(person):
    client = Client()

    responses = _fail(client, person.username, settings.AXES_FAILURE_LIMIT)

    locked = responses[-1]
    html = locked.content.decode()
    assert locked.status_code == 429
    assert "Too many failed logins" in html
    assert "After 5 wrong passwords" in html
    assert "paused for 15 minutes" in html


def test_a_locked_login_refuses_even_the_right_password(person):
    client = Client()
    _fail(client, person.username, settings.AXES_FAILURE_LIMIT)

    response = _login(client, person.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_holds_from_a_new_browser_at_the_same_address(person):
    _fail(Client(), person.username, settings.AXES_FAILURE_LIMIT)

    response = _login(Client(), person.username, TEST_PASSWORD)

    assert response.status_code == 429


def test_the_lock_does_not_reach_other_people_or_other_addresses(person):
    colleague = MembershipFactory().user
    _fail(Client(), person.username, settings.AXES_FAILURE_LIMIT)

    colleague_login = _login(Client(), colleague.username, TEST_PASSWORD)
    elsewhere = _login(Client(), person.username, TEST_PASSWORD, "198.51.100.9")

    assert colleague_login.status_code == 302
    assert elsewhere.status_code == 302


def test_a_forged_forwarded_for_header_does_not_reset_the_count(person):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": person.username, "password": "wrong"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )

    response = _login(client, person.username, TEST_PASSWORD)

    assert response.status_code == 429


def test_the_lock_lifts_after_the_cool_off(person):
    _fail(Client(), person.username, settings.AXES_FAILURE_LIMIT)
    long_ago = datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME * 2
    AccessAttempt.objects.update(attempt_time=long_ago)

    response = _login(Client(), person.username, TEST_PASSWORD)

    assert response.status_code == 302


def test_a_successful_login_clears_earlier_failures(person):
    client = Client()
    _fail(client, person.username, settings.AXES_FAILURE_LIMIT - 1)
    _login(client, person.username, TEST_PASSWORD)
    client.post(reverse("logout"))

    responses = _fail(client, person.username, settings.AXES_FAILURE_LIMIT - 1)

    assert responses[-1].status_code == 200
