"""CSRF: every POST is refused without a token, and htmx requests carry one."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.conftest import figure_add
from tests.security.url_cases import PUBLIC_URLS, URL_CASES
from tests.security.world import world_build

pytestmark = pytest.mark.django_db

POST_URLS = sorted(name for name, case in URL_CASES.items() if case.post is not None)
PUBLIC_POST_URLS = sorted(name for name, public in PUBLIC_URLS.items() if public.post)
HX_HEADERS = re.compile(r"<body[^>]*\shx-headers='([^']*)'")
HTMX_WRITE = re.compile(r"\shx-(post|put|patch|delete)=")


def _strict_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("name", POST_URLS)
def test_a_post_without_a_token_is_refused(name):
    world = world_build()
    case = URL_CASES[name]
    url = reverse(name, kwargs=case.kwargs(world) if case.kwargs else None)

    response = _strict_client(world.owner).post(url, case.data(world))

    figure_add("CSRF: POST endpoints refused without a token")
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()


@pytest.mark.parametrize("name", PUBLIC_POST_URLS)
def test_a_public_post_without_a_token_is_refused(name):
    world = world_build()
    public = PUBLIC_URLS[name]
    url = reverse(name, kwargs=public.kwargs(world) if public.kwargs else None)

    response = _strict_client().post(url, public.data(world))

    assert response.status_code == 403


def _hx_headers(html: str) -> dict:
    match = HX_HEADERS.search(html)
    assert match, "the page's <body> has no hx-headers"
    return json.loads(unescape(match.group(1)))


def test_htmx_requests_send_the_token_from_the_page():
    world = world_build()
    client = _strict_client(world.owner)
    page = client.get(reverse("vendor_detail", args=[world.vendor.pk]))
    headers = _hx_headers(page.content.decode())

    # What htmx does on a button press: the page's headers, nothing else.
    response = client.post(
        reverse("vendor_archive", args=[world.vendor.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=headers["X-CSRFToken"],
    )

    assert response.status_code == 200
    world.vendor.refresh_from_db()
    assert world.vendor.is_archived


def test_an_htmx_request_with_a_wrong_token_is_refused():
    world = world_build()
    client = _strict_client(world.owner)
    client.get(reverse("vendor_detail", args=[world.vendor.pk]))

    response = client.post(
        reverse("vendor_archive", args=[world.vendor.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN="x" * 64,
    )

    assert response.status_code == 403
    world.vendor.refresh_from_db()
    assert not world.vendor.is_archived


def test_every_page_that_posts_with_htmx_carries_the_token():
    world = world_build()
    client = _strict_client(world.owner)
    pages = [
        reverse(name, kwargs=case.kwargs(world) if case.kwargs else None)
        for name, case in URL_CASES.items()
        if case.get is not None
    ]
    portal = PUBLIC_URLS["vendor_portal"]
    public_pages = [reverse("vendor_portal", kwargs=portal.kwargs(world))]

    checked = 0
    for url in pages + public_pages:
        response = client.get(url) if url in pages else Client().get(url)
        if response.status_code != 200 or response.streaming:
            continue
        html = response.content.decode()
        if not HTMX_WRITE.search(html):
            continue
        assert _hx_headers(html).get("X-CSRFToken"), url
        checked += 1

    assert checked >= 5
