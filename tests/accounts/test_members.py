from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _membership(user, workspace) -> Membership:
    return Membership.objects.get(user=user, workspace=workspace)


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class TestMembersPage:
    def test_owner_sees_members_with_roles(self, owner_client, editor, viewer):
        response = owner_client.get(reverse("members"))

        assert response.status_code == 200
        assert editor.username in response.text
        assert viewer.username in response.text
        assert 'value="editor" selected' in response.text

    def test_members_of_other_workspaces_are_not_listed(self, owner_client, outsider):
        response = owner_client.get(reverse("members"))

        assert outsider.username not in response.text

    def test_editor_and_viewer_are_refused(self, editor, viewer):
        assert _logged_in(editor).get(reverse("members")).status_code == 403
        assert _logged_in(viewer).get(reverse("members")).status_code == 403

    def test_header_links_to_members_for_owners_only(self, owner_client, editor):
        owner_page = owner_client.get(reverse("vendor_list"))
        editor_page = _logged_in(editor).get(reverse("vendor_list"))

        assert reverse("members") in owner_page.text
        assert reverse("members") not in editor_page.text

    def test_htmx_request_gets_the_panel(self, owner_client, htmx_headers):
        response = owner_client.get(reverse("members"), headers=htmx_headers)

        assert 'id="members-panel"' in response.text
        assert "<html" not in response.text


class TestRoles:
    def test_owner_changes_a_role(self, owner_client, editor, workspace):
        membership = _membership(editor, workspace)

        response = owner_client.post(
            reverse("member_role_change", args=[membership.pk]), {"role": "viewer"}
        )

        assert response.status_code == 302
        membership.refresh_from_db()
        assert membership.role == Membership.Role.VIEWER

    def test_last_owner_cannot_be_demoted(self, owner, owner_client, workspace):
        membership = _membership(owner, workspace)

        response = owner_client.post(
            reverse("member_role_change", args=[membership.pk]),
            {"role": "editor"},
            follow=True,
        )

        membership.refresh_from_db()
        assert membership.role == Membership.Role.OWNER
        assert "only owner" in response.text

    def test_an_owner_may_step_down_when_another_owner_remains(
        self, owner, owner_client, workspace
    ):
        MembershipFactory(workspace=workspace, role=Membership.Role.OWNER)
        membership = _membership(owner, workspace)

        response = owner_client.post(
            reverse("member_role_change", args=[membership.pk]), {"role": "editor"}
        )

        membership.refresh_from_db()
        assert membership.role == Membership.Role.EDITOR
        assert response.url == reverse("vendor_list")

    def test_an_unknown_role_changes_nothing(self, owner_client, editor, workspace):
        membership = _membership(editor, workspace)

        owner_client.post(
            reverse("member_role_change", args=[membership.pk]), {"role": "admin"}
        )

        membership.refresh_from_db()
        assert membership.role == Membership.Role.EDITOR

    def test_other_workspace_member_is_a_404(self, owner_client, outsider):
        membership = Membership.objects.get(user=outsider)

        response = owner_client.post(
            reverse("member_role_change", args=[membership.pk]), {"role": "viewer"}
        )

        assert response.status_code == 404
        membership.refresh_from_db()
        assert membership.role == Membership.Role.OWNER

    def test_editor_cannot_change_roles(self, editor, viewer, workspace):
        membership = _membership(viewer, workspace)

        response = _logged_in(editor).post(
            reverse("member_role_change", args=[membership.pk]), {"role": "owner"}
        )

        assert response.status_code == 403
        membership.refresh_from_db()
        assert membership.role == Membership.Role.VIEWER


class TestRemove:
    def test_owner_removes_a_member(self, owner_client, editor, workspace):
        membership = _membership(editor, workspace)

        owner_client.post(reverse("member_remove", args=[membership.pk]))

        assert not Membership.objects.filter(pk=membership.pk).exists()

    def test_removed_member_loses_access(self, owner_client, editor, workspace):
        editor_client = _logged_in(editor)
        membership = _membership(editor, workspace)

        owner_client.post(reverse("member_remove", args=[membership.pk]))
        response = editor_client.post(reverse("vendor_create"), {"name": "X"})

        assert response.status_code == 403

    def test_last_owner_cannot_be_removed(self, owner, owner_client, workspace):
        membership = _membership(owner, workspace)

        response = owner_client.post(
            reverse("member_remove", args=[membership.pk]),
            headers={"HX-Request": "true"},
        )

        assert Membership.objects.filter(pk=membership.pk).exists()
        assert "only owner" in response.text

    def test_remove_refuses_get(self, owner_client, editor, workspace):
        membership = _membership(editor, workspace)

        response = owner_client.get(reverse("member_remove", args=[membership.pk]))

        assert response.status_code == 405
