from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.selectors import membership_current, workspace_choices


def workspace_exempt(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view that must never see a workspace, such as the vendor-link pages."""
    view.workspace_exempt = True
    return view


class WorkspaceMiddleware:
    """Attach the signed-in person's current membership as ``request.membership``.

    The membership follows the workspace chosen in the switcher (kept in the
    session). Views marked ``workspace_exempt`` get none, even for a person who
    is signed in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        request.workspace_choices = []
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> None:
        if getattr(view, "workspace_exempt", False):
            return None
        if request.user.is_authenticated:
            user = request.user
            request.membership = membership_current(user, request.session)
            request.workspace_choices = SimpleLazyObject(
                lambda: workspace_choices(user)
            )
        return None
