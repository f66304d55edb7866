from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from accounts.models import Invitation, Membership

CURRENT_WORKSPACE_SESSION_KEY = "workspace_id"


def membership_current(user, session: SessionBase) -> Membership | None:
    """Return the membership of the workspace the person last chose, or their first."""
    memberships = Membership.objects.filter(user=user).select_related("workspace")
    chosen = session.get(CURRENT_WORKSPACE_SESSION_KEY)
    if chosen is not None:
        membership = memberships.filter(workspace_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.order_by("created_at", "pk").first()


def membership_list(workspace) -> list[Membership]:
    """Return a workspace's members, owners first, then by name."""
    role_order = {role: position for position, role in enumerate(Membership.Role)}
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    return sorted(
        members,
        key=lambda m: (role_order[m.role], m.user.get_username().lower()),
    )


def invitation_list_pending(workspace) -> list[Invitation]:
    """Return the workspace's invitations whose links still work, newest first."""
    return list(
        Invitation.objects.filter(
            workspace=workspace,
            accepted_at=None,
            revoked_at=None,
            expires_at__gt=timezone.now(),
        ).select_related("invited_by")
    )


def workspace_choices(user) -> list[Membership]:
    """Return every membership of a person, for the workspace switcher."""
    return list(
        Membership.objects.filter(user=user)
        .select_related("workspace")
        .order_by("workspace__name", "pk")
    )
