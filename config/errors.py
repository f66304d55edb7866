"""Error pages Django renders itself, with a word on why when it helps."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

TOO_MUCH = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Render 400.html, saying so when the request was too large to read."""
    # Like Django's own handler this renders without the request: a bad request
    # (a forged Host header, say) can break the context processors as well.
    context = {
        "too_big": isinstance(exception, TOO_MUCH),
        "max_form_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    }
    template = loader.get_template("400.html")
    return HttpResponseBadRequest(template.render(context))
