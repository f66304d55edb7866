from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership
from accounts.tokens import token_hash
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _invite(client: Client, email: str = "grace@example.com", role: str = "editor"):
    return client.post(reverse("invitation_create"), {"email": email, "role": role})


def _link_from(mailoutbox) -> str:
    match = re.search(r"https?://\S+/invitations/(\S+)/", mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return reverse("invitation_accept", args=[match.group(1)])


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class TestInvite:
    def test_owner_invites_by_email_with_a_link(self, owner_client, mailoutbox):
        response = _invite(owner_client)

        assert response.status_code == 302
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["grace@example.com"]
        assert "Acme Robotics" in mailoutbox[0].subject
        assert "/invitations/" in mailoutbox[0].body

    def test_the_token_is_stored_only_as_its_hash(self, owner_client, mailoutbox):
        _invite(owner_client)
        token = _link_from(mailoutbox).rstrip("/").rsplit("/", 1)[-1]

        invitation = Invitation.objects.get()

        assert invitation.token_hash == token_hash(token)
        assert token not in invitation.token_hash
        assert not Invitation.objects.filter(token_hash=token).exists()

    def test_invitation_expires_after_the_configured_days(
        self, owner_client, mailoutbox, settings
    ):
        settings.CANDOR_INVITATION_DAYS = 3

        _invite(owner_client)

        expires_in = Invitation.objects.get().expires_at - timezone.now()
        assert datetime.timedelta(days=2, hours=23) < expires_in
        assert expires_in <= datetime.timedelta(days=3)

    def test_a_bad_email_keeps_what_was_typed(self, owner_client, mailoutbox):
        response = _invite(owner_client, email="not-an-email")

        assert response.status_code == 200
        assert 'value="not-an-email"' in response.text
        assert "valid email" in response.text
        assert not Invitation.objects.exists()
        assert not mailoutbox

    def test_inviting_a_member_again_is_refused(self, owner_client, editor, mailoutbox):
        response = _invite(owner_client, email=editor.email)

        assert "already a member" in response.text
        assert not mailoutbox

    def test_a_new_invitation_replaces_the_pending_one(self, owner_client, mailoutbox):
        _invite(owner_client)
        first_link = _link_from(mailoutbox)
        _invite(owner_client)

        response = Client().get(first_link)

        assert response.status_code == 410
        assert "withdrawn" in response.text

    def test_editor_cannot_invite(self, workspace, editor, mailoutbox):
        response = _invite(_logged_in(editor))

        assert response.status_code == 403
        assert not mailoutbox

    def test_htmx_invite_renders_the_members_panel(
        self, owner_client, htmx_headers, mailoutbox
    ):
        response = owner_client.post(
            reverse("invitation_create"),
            {"email": "grace@example.com", "role": "viewer"},
            headers=htmx_headers,
        )

        assert response.status_code == 200
        assert 'id="members-panel"' in response.text
        assert "<html" not in response.text
        assert "grace@example.com" in response.text


class TestAccept:
    def test_invite_then_accept_gives_the_role(
        self, owner_client, workspace, mailoutbox
    ):
        _invite(owner_client, role="viewer")
        link = _link_from(mailoutbox)
        grace = UserFactory(email="grace@example.com")
        client = _logged_in(grace)

        page = client.get(link)
        response = client.post(link)

        assert "Join Acme Robotics" in page.text
        assert response.status_code == 302
        membership = Membership.objects.get(user=grace, workspace=workspace)
        assert membership.role == Membership.Role.VIEWER
        assert Invitation.objects.get().accepted_by == grace

    def test_the_accepted_workspace_becomes_the_current_one(
        self, owner_client, mailoutbox
    ):
        _invite(owner_client)
        link = _link_from(mailoutbox)
        grace = MembershipFactory(workspace__name="Grace's own").user
        client = _logged_in(grace)

        client.post(link)
        page = client.get(reverse("vendor_list"))

        assert page.context["request"].membership.workspace.name == "Acme Robotics"

    def test_accepted_editor_can_write_and_viewer_cannot(
        self, owner_client, mailoutbox
    ):
        _invite(owner_client, email="ed@example.com", role="editor")
        editor_link = _link_from(mailoutbox)
        _invite(owner_client, email="vi@example.com", role="viewer")
        viewer_link = _link_from(mailoutbox)
        ed, vi = _logged_in(UserFactory()), _logged_in(UserFactory())
        ed.post(editor_link)
        vi.post(viewer_link)

        by_editor = ed.post(reverse("vendor_create"), {"name": "Orbital AI"})
        by_viewer = vi.post(reverse("vendor_create"), {"name": "Other AI"})

        assert by_editor.status_code == 302
        assert by_viewer.status_code == 403

    def test_acceptance_is_logged_without_the_token(
        self, owner_client, workspace, mailoutbox, caplog
    ):
        caplog.set_level("INFO", logger="accounts.services")
        _invite(owner_client)
        link = _link_from(mailoutbox)
        grace = UserFactory()

        _logged_in(grace).post(link)

        invitation = Invitation.objects.get()
        assert (
            f"invitation accepted invitation={invitation.pk} "
            f"workspace={workspace.pk} user={grace.pk} new_member=True"
        ) in caplog.text
        assert link.rstrip("/").rsplit("/", 1)[-1] not in caplog.text

    def test_anonymous_visitor_is_offered_log_in_or_sign_up(
        self, owner_client, mailoutbox
    ):
        _invite(owner_client)
        link = _link_from(mailoutbox)

        page = Client().get(link)

        assert page.status_code == 200
        assert "Log in to accept" in page.text
        assert "Create an account" in page.text

    def test_anonymous_post_is_sent_to_log_in(self, owner_client, mailoutbox):
        _invite(owner_client)
        link = _link_from(mailoutbox)

        response = Client().post(link)

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        assert not Invitation.objects.get().accepted_at

    def test_sign_up_from_the_link_joins_the_inviting_workspace(
        self, owner_client, workspace, mailoutbox
    ):
        _invite(owner_client, role="editor")
        token = _link_from(mailoutbox).rstrip("/").rsplit("/", 1)[-1]
        client = Client()

        form = client.get(reverse("signup") + f"?invitation={token}")
        response = client.post(
            reverse("signup") + f"?invitation={token}",
            {
                "username": "grace",
                "email": "grace@example.com",
                "password1": TEST_PASSWORD,
                "password2": TEST_PASSWORD,
            },
        )

        assert "Company or team name" not in form.text
        assert 'value="grace@example.com"' in form.text
        assert response.status_code == 302
        memberships = Membership.objects.filter(user__username="grace")
        assert [(m.workspace, m.role) for m in memberships] == [(workspace, "editor")]

    def test_used_link_shows_a_clear_page(self, owner_client, mailoutbox):
        _invite(owner_client)
        link = _link_from(mailoutbox)
        _logged_in(UserFactory()).post(link)
        late = UserFactory()

        response = _logged_in(late).post(link)

        assert response.status_code == 410
        assert "already used" in response.text
        assert not Membership.objects.filter(user=late).exists()

    def test_expired_link_shows_a_clear_page(self, owner_client, mailoutbox):
        _invite(owner_client)
        link = _link_from(mailoutbox)
        Invitation.objects.update(expires_at=timezone.now())
        person = UserFactory()

        response = _logged_in(person).post(link)

        assert response.status_code == 410
        assert "expired" in response.text
        assert not Membership.objects.filter(user=person).exists()

    def test_revoked_link_shows_a_clear_page(self, owner_client, mailoutbox):
        _invite(owner_client)
        link = _link_from(mailoutbox)
        owner_client.post(
            reverse("invitation_revoke", args=[Invitation.objects.get().pk])
        )

        response = Client().get(link)

        assert response.status_code == 410
        assert "withdrawn" in response.text

    def test_unknown_link_is_a_404_with_a_message(self, client):
        response = client.get(reverse("invitation_accept", args=["made-up-token"]))

        assert response.status_code == 404
        assert "not valid" in response.text

    def test_sign_up_from_a_used_link_creates_nobody(self, owner_client, mailoutbox):
        _invite(owner_client)
        token = _link_from(mailoutbox).rstrip("/").rsplit("/", 1)[-1]
        Invitation.objects.update(revoked_at=timezone.now())

        response = Client().post(
            reverse("signup") + f"?invitation={token}",
            {
                "username": "grace",
                "email": "grace@example.com",
                "password1": TEST_PASSWORD,
                "password2": TEST_PASSWORD,
            },
        )

        assert response.status_code == 410
        assert not Membership.objects.filter(user__username="grace").exists()


class TestRevoke:
    def test_other_workspace_cannot_revoke(
        self, owner_client, outsider_client, mailoutbox
    ):
        _invite(owner_client)
        invitation = Invitation.objects.get()

        response = outsider_client.post(
            reverse("invitation_revoke", args=[invitation.pk])
        )

        assert response.status_code == 404
        invitation.refresh_from_db()
        assert invitation.revoked_at is None

    def test_revoke_refuses_get(self, owner_client, mailoutbox):
        _invite(owner_client)

        response = owner_client.get(
            reverse("invitation_revoke", args=[Invitation.objects.get().pk])
        )

        assert response.status_code == 405
