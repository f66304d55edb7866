from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _signup_form(**overrides) -> dict[str, str]:
    return {
        "username": "ada",
        "email": "ada@example.com",
        "workspace_name": "Analytical Engines",
        "password1": TEST_PASSWORD,
        "password2": TEST_PASSWORD,
        **overrides,
    }


def test_signup_creates_a_workspace_owned_by_the_new_person(client):
    response = client.post(reverse("signup"), _signup_form())

    assert response.status_code == 302
    assert response.url == reverse("vendor_list")
    membership = Membership.objects.get(user__username="ada")
    assert membership.workspace.name == "Analytical Engines"
    assert membership.role == Membership.Role.OWNER


def test_signup_logs_the_person_in(client):
    client.post(reverse("signup"), _signup_form())

    response = client.get(reverse("vendor_list"))

    assert response.status_code == 200
    assert "Analytical Engines" in response.text


def test_signup_with_mismatched_passwords_keeps_what_was_typed(client):
    response = client.post(reverse("signup"), _signup_form(password2="something else"))

    assert response.status_code == 200
    assert "didn’t match" in response.text or "didn't match" in response.text
    assert 'value="ada@example.com"' in response.text
    assert 'value="Analytical Engines"' in response.text
    assert not Membership.objects.exists()


def test_signup_refuses_a_taken_username(client, owner):
    response = client.post(reverse("signup"), _signup_form(username=owner.username))

    assert response.status_code == 200
    assert "already exists" in response.text
    assert Membership.objects.filter(user__username=owner.username).count() == 1


def test_signup_page_sends_a_signed_in_person_to_their_vendors(owner_client):
    response = owner_client.get(reverse("signup"))

    assert response.status_code == 302
    assert response.url == reverse("vendor_list")


def test_signup_refuses_other_methods(client):
    response = client.put(reverse("signup"))

    assert response.status_code == 405


def test_login_with_the_right_password_opens_the_vendor_list(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.username, "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("vendor_list")


def test_login_with_a_wrong_password_says_so(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.username, "password": "wrong"}
    )

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(reverse("vendor_list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_logout_ends_the_session(owner_client):
    response = owner_client.post(reverse("logout"))

    assert response.status_code == 302
    assert owner_client.get(reverse("vendor_list")).status_code == 302


def test_person_without_a_workspace_is_refused(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())

    response = client.get(reverse("vendor_list"))

    assert response.status_code == 403
