from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase

from accounts.models import Membership

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
