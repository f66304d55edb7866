"""Candor's own 400, 403, 404 and 500 pages, and the favicon."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from config.errors import bad_request
from tests.factories import VendorFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

STYLESHEET = '<link rel="stylesheet" href="/static/candor/candor.css">'


def _assert_styled(html: str) -> None:
    assert STYLESHEET in html
    assert 'class="error-page"' in html
    assert f'href="{reverse("vendor_list")}" role="button"' in html


def test_a_missing_page_renders_the_styled_404(owner_client, settings):
    assert not settings.DEBUG

    response = owner_client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "We can't find that page" in html
    _assert_styled(html)


def test_another_workspaces_vendor_gets_the_same_404(owner_client):
    vendor = VendorFactory(workspace=WorkspaceFactory())

    response = owner_client.get(reverse("vendor_detail", args=[vendor.pk]))

    assert response.status_code == 404
    assert "belongs to a workspace you are not a member of" in (
        response.content.decode()
    )


def test_a_viewer_writing_gets_the_styled_403_with_the_reason(viewer_client):
    response = viewer_client.post(reverse("vendor_create"), {"name": "Northwind"})

    html = response.content.decode()
    assert response.status_code == 403
    assert "You can't do that here" in html
    assert "Viewers can read but not change this workspace." in html
    _assert_styled(html)


def test_a_request_too_large_to_read_gets_a_readable_400(owner_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = owner_client.post(
        reverse("vendor_create"), {"name": "Northwind", "notes": "n" * 2000}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "That was too much to send at once" in html
    assert "Text fields take up to 1000\xa0bytes in one go" in html
    _assert_styled(html)


def test_another_bad_request_gets_the_general_400():
    request = RequestFactory().get("/")

    response = bad_request(request, Exception("broken"))

    html = response.content.decode()
    assert response.status_code == 400
    assert "Candor could not read that request" in html
    _assert_styled(html)


def test_the_500_page_is_styled_and_needs_no_database(django_assert_num_queries):
    request = RequestFactory().get("/")

    with django_assert_num_queries(0):
        response = defaults.server_error(request)

    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    _assert_styled(html)


def test_every_page_links_the_favicon(owner_client):
    response = owner_client.get(reverse("vendor_list"))

    assert (
        '<link rel="icon" href="/static/candor/favicon.svg" type="image/svg+xml">'
        in response.content.decode()
    )
    assert finders.find("candor/favicon.svg")
