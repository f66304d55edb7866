from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.selectors import membership_current


class WorkspaceMiddleware:
    """Attach the signed-in person's current membership as ``request.membership``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        if request.user.is_authenticated:
            request.membership = membership_current(request.user, request.session)
        return self.get_response(request)
