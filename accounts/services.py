from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Membership, Workspace

logger = logging.getLogger(__name__)


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
