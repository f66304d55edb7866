"""Length limits on the vendor and offering forms, and notes that wrap."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import OfferingFactory, VendorFactory
from vendors.forms import NOTES_MAX_CHARS, WEBSITE_MAX_CHARS
from vendors.models import Offering, Vendor

pytestmark = pytest.mark.django_db


def test_vendor_notes_over_the_limit_are_refused_with_a_clear_message(
    owner_client, workspace
):
    notes = "n" * (NOTES_MAX_CHARS + 1)

    response = owner_client.post(
        reverse("vendor_create"), {"name": "Northwind AI", "notes": notes}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f"Keep notes to {NOTES_MAX_CHARS} characters (these have "
        f"{NOTES_MAX_CHARS + 1}). Link to a longer document instead of pasting it."
    ) in html
    assert 'value="Northwind AI"' in html
    assert not Vendor.objects.exists()


def test_vendor_notes_at_the_limit_are_saved(owner_client, workspace):
    response = owner_client.post(
        reverse("vendor_create"), {"name": "Northwind AI", "notes": "n" * 5000}
    )

    assert response.status_code == 302
    assert len(Vendor.objects.get().notes) == NOTES_MAX_CHARS


def test_a_website_over_the_limit_gets_one_clear_message(owner_client, workspace):
    website = "https://northwind.example.com/" + "a" * WEBSITE_MAX_CHARS

    response = owner_client.post(
        reverse("vendor_create"), {"name": "Northwind AI", "website": website}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["website"] == [
        f"A web address may have at most {WEBSITE_MAX_CHARS} characters (this one "
        f"has {len(website)}); use the vendor's home page."
    ]


def test_the_form_tells_the_browser_the_limits(owner_client, workspace):
    response = owner_client.get(reverse("vendor_create"))

    html = response.content.decode()
    assert f'maxlength="{NOTES_MAX_CHARS}"' in html
    assert f'maxlength="{WEBSITE_MAX_CHARS}"' in html


def test_offering_notes_over_the_limit_are_refused(owner_client, workspace):
    vendor = VendorFactory(workspace=workspace)

    response = owner_client.post(
        reverse("offering_create", args=[vendor.pk]),
        {"name": "Northwind Chat", "notes": "n" * (NOTES_MAX_CHARS + 1)},
    )

    assert response.status_code == 200
    assert "Keep notes to 5000 characters" in response.content.decode()
    assert not Offering.objects.exists()


def test_an_offering_edit_with_long_notes_keeps_the_saved_notes(
    owner_client, workspace
):
    offering = OfferingFactory(
        vendor=VendorFactory(workspace=workspace), notes="Short and sweet."
    )

    response = owner_client.post(
        reverse("offering_edit", args=[offering.pk]),
        {"name": offering.name, "notes": "n" * (NOTES_MAX_CHARS + 1)},
    )

    offering.refresh_from_db()
    assert response.status_code == 200
    assert offering.notes == "Short and sweet."


def test_the_vendor_page_shortens_an_offerings_long_unbroken_notes(
    owner_client, workspace
):
    # Older rows may predate the limit; one long word is not cut by words.
    vendor = VendorFactory(workspace=workspace)
    OfferingFactory(vendor=vendor, notes="x" * 20000)

    response = owner_client.get(reverse("vendor_detail", args=[vendor.pk]))

    html = response.content.decode()
    assert 'class="muted offering-notes"' in html
    assert "x" * 240 not in html
    assert "x" * 239 + "…" in html
