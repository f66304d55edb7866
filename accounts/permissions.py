"""Role checks shared by every app's views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def write_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse with 403 unless the person may write in their current workspace."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.membership is None or not request.membership.can_write:
            raise PermissionDenied("Viewers can read but not change this workspace.")
        return view(request, *args, **kwargs)

    return wrapper


def current_workspace(request: HttpRequest):
    """Return the workspace of the request, refusing people who belong to none."""
    if request.membership is None:
        raise PermissionDenied("You do not belong to a workspace yet.")
    return request.membership.workspace


def owner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse with 403 unless the person owns their current workspace."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        membership = request.membership
        if membership is None or membership.role != membership.Role.OWNER:
            raise PermissionDenied("Only the workspace's owners manage its members.")
        return view(request, *args, **kwargs)

    return wrapper
