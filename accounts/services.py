from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Invitation, Membership, Workspace
from accounts.selectors import CURRENT_WORKSPACE_SESSION_KEY
from accounts.tokens import token_hash, token_new

logger = logging.getLogger(__name__)


# Every variable: transaction.atomic's own frame holds the keyword arguments too.
@sensitive_variables()
@transaction.atomic
def user_signup(*, username: str, email: str, password: str, workspace_name: str):
    """Create a person and the workspace they own."""
    user = get_user_model().objects.create_user(
        username=username, email=email, password=password
    )
    workspace = Workspace.objects.create(name=workspace_name)
    Membership.objects.create(
        user=user, workspace=workspace, role=Membership.Role.OWNER
    )
    logger.info("signup user=%s workspace=%s", user.pk, workspace.pk)
    return user


# --- Invitations -------------------------------------------------------------


class InvitationUnusable(Exception):
    """The link is unknown, expired, revoked or already used; ``state`` says which."""

    def __init__(self, state: str, invitation: Invitation | None = None) -> None:
        super().__init__(f"invitation is {state}")
        self.state = state
        self.invitation = invitation


def invitation_create(
    *,
    workspace: Workspace,
    email: str,
    role: str,
    invited_by,
    link_for: Callable[[str], str],
) -> Invitation:
    """Invite someone to a workspace by email; ``link_for`` turns a token into a URL.

    A new invitation to the same address replaces the ones still pending, so
    only the latest email's link works.
    """
    email = email.strip()
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose owner, editor or viewer."})
    if Membership.objects.filter(
        workspace=workspace, user__email__iexact=email
    ).exists():
        raise ValidationError({"email": f"{email} is already a member."})

    token, hashed = token_new()
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            workspace=workspace,
            email__iexact=email,
            accepted_at=None,
            revoked_at=None,
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            workspace=workspace,
            email=email,
            role=role,
            token_hash=hashed,
            expires_at=now + datetime.timedelta(days=settings.CANDOR_INVITATION_DAYS),
            invited_by=invited_by,
        )
    _invitation_email_send(invitation, link_for(token))
    logger.info(
        "invitation sent invitation=%s workspace=%s role=%s user=%s",
        invitation.pk,
        workspace.pk,
        role,
        invited_by.pk,
    )
    return invitation


def _invitation_email_send(invitation: Invitation, link: str) -> None:
    inviter = invitation.invited_by
    who = (inviter.get_full_name() or inviter.get_username()) if inviter else "Someone"
    expires = timezone.localtime(invitation.expires_at)
    send_mail(
        subject=f"{who} invited you to {invitation.workspace.name} on Candor",
        message=(
            f"{who} invited you to join {invitation.workspace.name} on Candor as "
            f"{invitation.get_role_display().lower()}.\n\n"
            f"Accept the invitation here:\n{link}\n\n"
            f"The link works once and expires on {expires:%d %b %Y at %H:%M %Z}. "
            "If you did not expect it, ignore this email."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_for_token(token: str) -> Invitation:
    """Return the pending invitation a link's token belongs to, or raise."""
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable("unknown")
    if not invitation.is_pending:
        raise InvitationUnusable(invitation.state, invitation)
    return invitation


def invitation_accept(*, token: str, user, session: SessionBase) -> Membership:
    """Join the invitation's workspace with its role and make it the current one.

    The link is single-use: accepting marks it used with a conditional update,
    so two clicks racing on one link give one membership. Someone already in
    the workspace keeps the role they have. The person's own email need not be
    the invited address: the link is the credential, as people often read work
    mail under one address and sign in with another.
    """
    with transaction.atomic():
        invitation = invitation_for_token(token)
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at=None, revoked_at=None
        ).update(accepted_at=timezone.now(), accepted_by=user)
        if claimed != 1:
            raise InvitationUnusable(Invitation.State.ACCEPTED, invitation)
        membership, created = Membership.objects.get_or_create(
            user=user,
            workspace=invitation.workspace,
            defaults={"role": invitation.role},
        )
    session[CURRENT_WORKSPACE_SESSION_KEY] = membership.workspace_id
    logger.info(
        "invitation accepted invitation=%s workspace=%s user=%s new_member=%s",
        invitation.pk,
        invitation.workspace_id,
        user.pk,
        created,
    )
    return membership


@sensitive_variables()
@transaction.atomic
def user_signup_invited(*, username: str, email: str, password: str, token: str):
    """Create a person who joins the inviting workspace instead of starting one."""
    invitation_for_token(token)
    user = get_user_model().objects.create_user(
        username=username, email=email, password=password
    )
    logger.info("signup by invitation user=%s", user.pk)
    return user


def invitation_revoke(*, invitation: Invitation, user) -> None:
    """Stop a pending invitation's link from working."""
    revoked = Invitation.objects.filter(
        pk=invitation.pk, accepted_at=None, revoked_at=None
    ).update(revoked_at=timezone.now())
    if revoked:
        logger.info(
            "invitation revoked invitation=%s workspace=%s user=%s",
            invitation.pk,
            invitation.workspace_id,
            user.pk,
        )


# --- Members -------------------------------------------------------------------

LAST_OWNER_MESSAGE = (
    "{name} is the workspace's only owner. Make someone else an owner first, "
    "so that someone can still manage members."
)


def _owner_guard(membership: Membership) -> None:
    """Refuse a change that would leave the workspace with no owner."""
    if membership.role != Membership.Role.OWNER:
        return
    # Locking the owners' rows serializes two owners demoting each other at once.
    owners = list(
        Membership.objects.select_for_update()
        .filter(workspace_id=membership.workspace_id, role=Membership.Role.OWNER)
        .values_list("pk", flat=True)
    )
    if owners == [membership.pk]:
        name = membership.user.get_username()
        raise ValidationError(LAST_OWNER_MESSAGE.format(name=name))


def membership_role_change(*, membership: Membership, role: str, user) -> Membership:
    """Give a member another role, keeping at least one owner."""
    if role not in Membership.Role.values:
        raise ValidationError("Choose owner, editor or viewer.")
    if role == membership.role:
        return membership
    with transaction.atomic():
        if role != Membership.Role.OWNER:
            _owner_guard(membership)
        old_role = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
    logger.info(
        "member role changed membership=%s workspace=%s %s->%s user=%s",
        membership.pk,
        membership.workspace_id,
        old_role,
        role,
        user.pk,
    )
    return membership


def membership_remove(*, membership: Membership, user) -> None:
    """Take someone out of a workspace, keeping at least one owner."""
    with transaction.atomic():
        _owner_guard(membership)
        membership.delete()
    logger.info(
        "member removed workspace=%s member=%s user=%s",
        membership.workspace_id,
        membership.user_id,
        user.pk,
    )


def workspace_switch(*, user, workspace_id: int, session: SessionBase) -> Membership:
    """Make one of the person's workspaces the current one for this session."""
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace_id=workspace_id)
        .first()
    )
    if membership is None:
        raise ValidationError("You are not a member of that workspace.")
    session[CURRENT_WORKSPACE_SESSION_KEY] = membership.workspace_id
    return membership
