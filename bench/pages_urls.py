"""Candor's URLs plus two trivial pages, the yardstick of ``pages_bench.py``."""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

TRIVIAL_PAGE = (
    '{% extends "base.html" %}{% block content %}<p>Nothing here.</p>{% endblock %}'
)


@functools.cache
def _trivial_template():
    return engines["django"].from_string(TRIVIAL_PAGE)


def trivial_page(request: HttpRequest) -> HttpResponse:
    """A signed-in page in the site's layout with nothing on it."""
    return HttpResponse(_trivial_template().render({}, request))


def bare(request: HttpRequest) -> HttpResponse:
    """The least a signed-in request can cost: the middleware, then a word."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial_page, name="bench_trivial"),
    path("bench/bare/", bare, name="bench_bare"),
    path("", include("config.urls")),
]
