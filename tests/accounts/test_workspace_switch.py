from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership
from tests.factories import MembershipFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_workspace(owner):
    """A second workspace the owner belongs to, as a viewer."""
    return MembershipFactory(
        user=owner, workspace__name="Side Project", role=Membership.Role.VIEWER
    ).workspace


def test_switching_shows_the_other_workspaces_vendors(
    owner_client, workspace, second_workspace
):
    VendorFactory(workspace=workspace, name="Home Vendor")
    VendorFactory(workspace=second_workspace, name="Side Vendor")

    before = owner_client.get(reverse("vendor_list"))
    owner_client.post(reverse("workspace_switch"), {"workspace": second_workspace.pk})
    after = owner_client.get(reverse("vendor_list"))

    assert "Home Vendor" in before.text and "Side Vendor" not in before.text
    assert "Side Vendor" in after.text and "Home Vendor" not in after.text


def test_the_role_follows_the_current_workspace(owner_client, second_workspace):
    owner_client.post(reverse("workspace_switch"), {"workspace": second_workspace.pk})

    response = owner_client.post(reverse("vendor_create"), {"name": "Orbital AI"})

    assert response.status_code == 403


def test_switcher_lists_every_workspace_of_the_person(
    owner_client, workspace, second_workspace
):
    response = owner_client.get(reverse("vendor_list"))

    assert "workspace-switcher" in response.text
    assert "Side Project" in response.text
    assert "Acme Robotics" in response.text


def test_no_switcher_with_a_single_workspace(owner_client):
    response = owner_client.get(reverse("vendor_list"))

    assert "workspace-switcher" not in response.text


def test_cannot_switch_into_a_workspace_one_is_not_in(
    owner_client, workspace, outsider
):
    foreign = Membership.objects.get(user=outsider).workspace
    VendorFactory(workspace=foreign, name="Secret Vendor")

    response = owner_client.post(
        reverse("workspace_switch"), {"workspace": foreign.pk}, follow=True
    )

    assert "not a member" in response.text
    assert "Secret Vendor" not in response.text


def test_a_malformed_choice_is_refused_without_error(owner_client):
    response = owner_client.post(reverse("workspace_switch"), {"workspace": "x"})

    assert response.status_code == 302


def test_switch_refuses_get(owner_client):
    assert owner_client.get(reverse("workspace_switch")).status_code == 405
