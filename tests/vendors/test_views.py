"""The vendor and offering pages."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments.models import Assessment, ScoreCard
from tests.factories import AssessmentFactory, OfferingFactory, VendorFactory
from vendors.models import Offering, Vendor

pytestmark = pytest.mark.django_db


def _login_url(url: str) -> str:
    return f"{reverse('login')}?next={url}"


def _scored(assessment: Assessment, grade: str) -> Assessment:
    ScoreCard.objects.create(
        assessment=assessment, data={"grade": grade}, method_version="1"
    )
    return assessment


@pytest.fixture
def vendor(workspace) -> Vendor:
    return VendorFactory(workspace=workspace, name="Northwind AI")


@pytest.fixture
def offering(vendor) -> Offering:
    return OfferingFactory(vendor=vendor, name="Northwind Chat", version="3.1")


@pytest.fixture
def foreign_vendor(outsider) -> Vendor:
    return VendorFactory(workspace=outsider.memberships.get().workspace)


@pytest.fixture
def foreign_offering(foreign_vendor) -> Offering:
    return OfferingFactory(vendor=foreign_vendor)


# --- Home and vendor list ------------------------------------------------------


def test_home_redirects_to_the_vendor_list(owner_client):
    response = owner_client.get("/")

    assert response.status_code == 302
    assert response.url == reverse("vendor_list")


class TestVendorList:
    url = reverse("vendor_list")

    def test_it_lists_vendors_with_offerings_latest_status_and_grade(
        self, owner_client, workspace, candor_v1
    ):
        vendor = VendorFactory(workspace=workspace, name="Northwind AI")
        older = AssessmentFactory(offering=OfferingFactory(vendor=vendor))
        _scored(older, "D")
        newest = AssessmentFactory(
            offering=OfferingFactory(vendor=vendor, name="Northwind Pro"),
            status=Assessment.Status.IN_REVIEW,
        )
        _scored(newest, "B")
        Assessment.objects.filter(pk=older.pk).update(
            created_at=timezone.now() - timezone.timedelta(days=3)
        )
        VendorFactory(workspace=workspace, name="Quillstone")

        response = owner_client.get(self.url)

        assert response.status_code == 200
        vendors = {v.name: v for v in response.context["vendors"]}
        assert set(vendors) == {"Northwind AI", "Quillstone"}
        assert vendors["Northwind AI"].offerings_count == 2
        assert vendors["Northwind AI"].latest.grade == "B"
        assert vendors["Northwind AI"].latest.status_label == "In review"
        assert vendors["Quillstone"].latest is None
        html = response.content.decode()
        assert 'class="grade grade-small grade-B"' in html
        assert "Not assessed yet" in html

    def test_it_shows_nothing_from_another_workspace(
        self, owner_client, foreign_vendor
    ):
        response = owner_client.get(self.url)

        assert foreign_vendor.name not in response.content.decode()

    def test_a_new_workspace_sees_first_steps(self, owner_client):
        response = owner_client.get(self.url)

        html = response.content.decode()
        assert "Assess your first AI vendor" in html
        assert reverse("vendor_create") in html
        assert 'type="search"' not in html

    def test_search_matches_vendor_and_offering_names(self, owner_client, workspace):
        VendorFactory(workspace=workspace, name="Northwind AI")
        quill = VendorFactory(workspace=workspace, name="Quillstone")
        OfferingFactory(vendor=quill, name="Scribe")

        by_vendor = owner_client.get(self.url, {"q": "north"})
        by_offering = owner_client.get(self.url, {"q": "scri"})

        assert [v.name for v in by_vendor.context["vendors"]] == ["Northwind AI"]
        assert [v.name for v in by_offering.context["vendors"]] == ["Quillstone"]

    def test_search_without_matches_says_so(self, owner_client, vendor):
        response = owner_client.get(self.url, {"q": "zzz"})

        assert "No vendor or model matches “zzz”" in response.content.decode()

    def test_htmx_search_renders_only_the_table(
        self, owner_client, vendor, htmx_headers
    ):
        response = owner_client.get(self.url, {"q": "north"}, headers=htmx_headers)

        html = response.content.decode()
        assert html.lstrip().startswith('<div id="vendor-table">')
        assert "<html" not in html
        assert "Northwind AI" in html

    def test_full_page_has_a_plain_search_form(self, owner_client, vendor):
        response = owner_client.get(self.url)

        html = response.content.decode()
        assert "<html" in html
        assert f'method="get" action="{self.url}"' in html
        assert 'name="q"' in html

    def test_archived_vendors_are_hidden_unless_asked_for(
        self, owner_client, workspace
    ):
        VendorFactory(workspace=workspace, name="Active")
        VendorFactory(workspace=workspace, name="Gone", archived_at=timezone.now())

        default = owner_client.get(self.url)
        with_archived = owner_client.get(self.url, {"archived": "1"})

        assert [v.name for v in default.context["vendors"]] == ["Active"]
        assert "Show archived (1)" in default.content.decode()
        assert [v.name for v in with_archived.context["vendors"]] == [
            "Active",
            "Gone",
        ]

    def test_query_count_does_not_grow_with_vendors(
        self, owner_client, workspace, candor_v1
    ):
        def add_vendors(count: int) -> None:
            for _ in range(count):
                offering = OfferingFactory(vendor=VendorFactory(workspace=workspace))
                _scored(AssessmentFactory(offering=offering), "C")

        add_vendors(3)
        with CaptureQueriesContext(connection) as few:
            owner_client.get(self.url)
        add_vendors(27)
        with CaptureQueriesContext(connection) as many:
            response = owner_client.get(self.url)

        assert response.context["page"].paginator.count == 30
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_a_long_list_comes_in_pages_that_keep_the_search(
        self, owner_client, workspace
    ):
        for number in range(30):
            VendorFactory(workspace=workspace, name=f"Northwind {number:02}")

        first = owner_client.get(self.url, {"q": "north"})
        second = owner_client.get(self.url, {"q": "north", "page": 2})

        first_names = [v.name for v in first.context["vendors"]]
        second_names = [v.name for v in second.context["vendors"]]
        assert first_names[0] == "Northwind 00" and len(first_names) == 25
        assert second_names == [f"Northwind {n}" for n in range(25, 30)]
        html = first.content.decode()
        assert "1–25 of 30 vendors matching “north”" in html
        assert 'href="?q=north&amp;page=2"' in html

    def test_search_finds_a_vendor_beyond_the_first_page(self, owner_client, workspace):
        for number in range(30):
            VendorFactory(workspace=workspace, name=f"Aster {number:02}")
        VendorFactory(workspace=workspace, name="Zephyr Labs")

        first_page = owner_client.get(self.url)
        found = owner_client.get(self.url, {"q": "zeph"})

        assert "Zephyr Labs" not in first_page.content.decode()
        assert [v.name for v in found.context["vendors"]] == ["Zephyr Labs"]

    def test_wrong_method_is_refused(self, owner_client):
        assert owner_client.post(self.url).status_code == 405

    def test_anonymous_is_sent_to_login(self):
        response = Client().get(self.url)

        assert response.status_code == 302
        assert response.url == _login_url(self.url)


# --- Creating and editing vendors ----------------------------------------------


class TestVendorCreate:
    url = reverse("vendor_create")

    def test_it_shows_the_form(self, owner_client):
        response = owner_client.get(self.url)

        assert response.status_code == 200
        assert 'name="name"' in response.content.decode()

    def test_it_adds_a_vendor_and_opens_its_page(self, owner_client, workspace):
        response = owner_client.post(
            self.url, {"name": "Northwind AI", "website": "https://northwind.example"}
        )

        vendor = Vendor.objects.get(workspace=workspace)
        assert vendor.name == "Northwind AI"
        assert response.status_code == 302
        assert response.url == vendor.get_absolute_url()

    def test_a_duplicate_name_is_a_form_error_not_a_crash(
        self, owner_client, workspace, vendor
    ):
        response = owner_client.post(self.url, {"name": "northwind ai"})

        assert response.status_code == 200
        html = response.content.decode()
        assert "You already have a vendor named “Northwind AI”" in html
        assert 'value="northwind ai"' in html
        assert Vendor.objects.filter(workspace=workspace).count() == 1

    def test_the_same_name_is_fine_in_another_workspace(
        self, owner_client, workspace, foreign_vendor
    ):
        response = owner_client.post(self.url, {"name": foreign_vendor.name})

        assert response.status_code == 302
        assert Vendor.objects.filter(workspace=workspace).count() == 1

    def test_a_bad_website_keeps_what_was_typed(self, owner_client):
        response = owner_client.post(
            self.url, {"name": "Northwind AI", "website": "not a site"}
        )

        assert response.status_code == 200
        assert 'value="Northwind AI"' in response.content.decode()
        assert response.context["form"].errors["website"]

    def test_htmx_renders_only_the_form(self, owner_client, htmx_headers):
        response = owner_client.get(self.url, headers=htmx_headers)

        html = response.content.decode()
        assert "<html" not in html
        assert 'id="vendor-form"' in html

    def test_htmx_post_redirects_on_the_client(self, owner_client, htmx_headers):
        response = owner_client.post(
            self.url, {"name": "Northwind AI"}, headers=htmx_headers
        )

        assert response.status_code == 200
        assert response["HX-Redirect"].startswith("/vendors/")

    def test_a_viewer_cannot_add_vendors(self, viewer_client, workspace):
        response = viewer_client.post(self.url, {"name": "Northwind AI"})

        assert response.status_code == 403
        assert not Vendor.objects.filter(workspace=workspace).exists()

    def test_wrong_method_is_refused(self, owner_client):
        assert owner_client.delete(self.url).status_code == 405

    def test_anonymous_is_sent_to_login(self):
        response = Client().get(self.url)

        assert response.url == _login_url(self.url)


class TestVendorDetail:
    def test_it_shows_offerings_with_their_assessments(
        self, owner_client, offering, candor_v1
    ):
        assessment = _scored(AssessmentFactory(offering=offering), "A")

        response = owner_client.get(offering.vendor.get_absolute_url())

        html = response.content.decode()
        assert response.status_code == 200
        assert "Northwind Chat" in html
        assert reverse("assessment_detail", args=[assessment.pk]) in html
        assert reverse("assessment_dashboard", args=[assessment.pk]) in html
        assert reverse("assessment_create", args=[offering.pk]) in html
        assert "grade-A" in html

    def test_archived_offerings_are_hidden_unless_asked_for(self, owner_client, vendor):
        OfferingFactory(vendor=vendor, name="Current")
        OfferingFactory(vendor=vendor, name="Retired", archived_at=timezone.now())

        default = owner_client.get(vendor.get_absolute_url())
        with_archived = owner_client.get(vendor.get_absolute_url(), {"archived": "1"})

        assert [o.name for o in default.context["offerings"]] == ["Current"]
        assert [o.name for o in with_archived.context["offerings"]] == [
            "Current",
            "Retired",
        ]

    def test_htmx_renders_only_the_offerings(
        self, owner_client, offering, htmx_headers
    ):
        response = owner_client.get(
            offering.vendor.get_absolute_url(), headers=htmx_headers
        )

        html = response.content.decode()
        assert html.lstrip().startswith('<section id="offerings">')
        assert "Northwind Chat" in html

    def test_a_viewer_sees_no_write_buttons(self, viewer_client, offering):
        response = viewer_client.get(offering.vendor.get_absolute_url())

        html = response.content.decode()
        assert response.status_code == 200
        assert reverse("vendor_edit", args=[offering.vendor.pk]) not in html
        assert reverse("assessment_create", args=[offering.pk]) not in html

    def test_another_workspace_vendor_is_not_found(self, owner_client, foreign_vendor):
        response = owner_client.get(foreign_vendor.get_absolute_url())

        assert response.status_code == 404

    def test_wrong_method_is_refused(self, owner_client, vendor):
        assert owner_client.post(vendor.get_absolute_url()).status_code == 405

    def test_anonymous_is_sent_to_login(self, vendor):
        response = Client().get(vendor.get_absolute_url())

        assert response.status_code == 302


class TestVendorEdit:
    def url(self, vendor) -> str:
        return reverse("vendor_edit", args=[vendor.pk])

    def test_it_saves_changes(self, owner_client, vendor):
        response = owner_client.post(
            self.url(vendor), {"name": "Northwind Labs", "notes": "Met at a fair."}
        )

        vendor.refresh_from_db()
        assert response.status_code == 302
        assert (vendor.name, vendor.notes) == ("Northwind Labs", "Met at a fair.")

    def test_renaming_to_a_taken_name_is_a_form_error(
        self, owner_client, workspace, vendor
    ):
        VendorFactory(workspace=workspace, name="Quillstone")

        response = owner_client.post(self.url(vendor), {"name": "Quillstone"})

        vendor.refresh_from_db()
        assert response.status_code == 200
        assert "already have a vendor named “Quillstone”" in response.content.decode()
        assert vendor.name == "Northwind AI"

    def test_keeping_its_own_name_is_fine(self, owner_client, vendor):
        response = owner_client.post(self.url(vendor), {"name": "Northwind AI"})

        assert response.status_code == 302

    def test_htmx_renders_only_the_form(self, owner_client, vendor, htmx_headers):
        response = owner_client.get(self.url(vendor), headers=htmx_headers)

        html = response.content.decode()
        assert "<html" not in html
        assert 'value="Northwind AI"' in html

    def test_a_viewer_cannot_edit(self, viewer_client, vendor):
        response = viewer_client.post(self.url(vendor), {"name": "Hacked"})

        vendor.refresh_from_db()
        assert response.status_code == 403
        assert vendor.name == "Northwind AI"

    def test_another_workspace_vendor_is_not_found(self, owner_client, foreign_vendor):
        response = owner_client.get(self.url(foreign_vendor))

        assert response.status_code == 404

    def test_wrong_method_is_refused(self, owner_client, vendor):
        assert owner_client.delete(self.url(vendor)).status_code == 405

    def test_anonymous_is_sent_to_login(self, vendor):
        response = Client().get(self.url(vendor))

        assert response.url == _login_url(self.url(vendor))


class TestVendorArchive:
    def test_archiving_hides_and_restoring_brings_back(self, owner_client, vendor):
        archive = owner_client.post(reverse("vendor_archive", args=[vendor.pk]))
        hidden = owner_client.get(reverse("vendor_list"))
        restore = owner_client.post(reverse("vendor_unarchive", args=[vendor.pk]))
        shown = owner_client.get(reverse("vendor_list"))

        assert archive.status_code == 302
        assert restore.status_code == 302
        assert list(hidden.context["vendors"]) == []
        assert [v.name for v in shown.context["vendors"]] == ["Northwind AI"]

    def test_an_archived_vendor_page_offers_restore(self, owner_client, vendor):
        owner_client.post(reverse("vendor_archive", args=[vendor.pk]))

        response = owner_client.get(vendor.get_absolute_url())

        html = response.content.decode()
        assert "Archived" in html
        assert reverse("vendor_unarchive", args=[vendor.pk]) in html

    def test_htmx_archive_redirects_on_the_client(
        self, owner_client, vendor, htmx_headers
    ):
        response = owner_client.post(
            reverse("vendor_archive", args=[vendor.pk]), headers=htmx_headers
        )

        assert response["HX-Redirect"] == vendor.get_absolute_url()

    def test_a_viewer_cannot_archive(self, viewer_client, vendor):
        response = viewer_client.post(reverse("vendor_archive", args=[vendor.pk]))

        vendor.refresh_from_db()
        assert response.status_code == 403
        assert vendor.archived_at is None

    def test_another_workspace_vendor_is_not_found(self, owner_client, foreign_vendor):
        archive = owner_client.post(reverse("vendor_archive", args=[foreign_vendor.pk]))
        restore = owner_client.post(
            reverse("vendor_unarchive", args=[foreign_vendor.pk])
        )

        assert (archive.status_code, restore.status_code) == (404, 404)

    def test_get_is_refused(self, owner_client, vendor):
        response = owner_client.get(reverse("vendor_archive", args=[vendor.pk]))

        assert response.status_code == 405

    def test_anonymous_is_sent_to_login(self, vendor):
        response = Client().post(reverse("vendor_archive", args=[vendor.pk]))

        vendor.refresh_from_db()
        assert response.status_code == 302
        assert vendor.archived_at is None


# --- Offerings -------------------------------------------------------------------


class TestOfferingCreate:
    def url(self, vendor) -> str:
        return reverse("offering_create", args=[vendor.pk])

    def test_it_adds_an_offering_and_opens_its_page(self, owner_client, vendor):
        response = owner_client.post(
            self.url(vendor), {"name": "Northwind Chat", "version": "3.1"}
        )

        offering = vendor.offerings.get()
        assert str(offering) == "Northwind Chat 3.1"
        assert response.url == offering.get_absolute_url()

    def test_the_same_name_and_version_twice_is_a_form_error(
        self, owner_client, offering
    ):
        response = owner_client.post(
            self.url(offering.vendor),
            {"name": "northwind chat", "version": "3.1", "notes": "Again"},
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "Northwind AI already has “Northwind Chat 3.1”" in html
        assert "Again</textarea>" in html
        assert offering.vendor.offerings.count() == 1

    def test_an_archived_duplicate_is_named_as_such(self, owner_client, offering):
        offering.archived_at = timezone.now()
        offering.save()

        response = owner_client.post(
            self.url(offering.vendor), {"name": "Northwind Chat", "version": "3.1"}
        )

        assert "(archived: restore it instead)" in response.content.decode()
        assert offering.vendor.offerings.count() == 1

    def test_another_version_of_the_same_model_is_fine(self, owner_client, offering):
        owner_client.post(
            self.url(offering.vendor), {"name": "Northwind Chat", "version": "3.2"}
        )

        assert offering.vendor.offerings.count() == 2

    def test_the_database_refuses_a_duplicate_too(self, offering):
        with pytest.raises(IntegrityError), transaction.atomic():
            Offering.objects.create(
                vendor=offering.vendor, name=offering.name, version=offering.version
            )

    def test_a_missing_name_keeps_what_was_typed(self, owner_client, vendor):
        response = owner_client.post(self.url(vendor), {"version": "3.1"})

        assert response.status_code == 200
        assert 'value="3.1"' in response.content.decode()
        assert not vendor.offerings.exists()

    def test_htmx_renders_only_the_form(self, owner_client, vendor, htmx_headers):
        response = owner_client.get(self.url(vendor), headers=htmx_headers)

        html = response.content.decode()
        assert "<html" not in html
        assert 'id="offering-form"' in html

    def test_a_viewer_cannot_add_offerings(self, viewer_client, vendor):
        response = viewer_client.post(self.url(vendor), {"name": "Northwind Chat"})

        assert response.status_code == 403
        assert not vendor.offerings.exists()

    def test_another_workspace_vendor_is_not_found(self, owner_client, foreign_vendor):
        response = owner_client.post(self.url(foreign_vendor), {"name": "Sneaky"})

        assert response.status_code == 404
        assert not foreign_vendor.offerings.exists()

    def test_wrong_method_is_refused(self, owner_client, vendor):
        assert owner_client.delete(self.url(vendor)).status_code == 405

    def test_anonymous_is_sent_to_login(self, vendor):
        assert Client().get(self.url(vendor)).status_code == 302


class TestOfferingDetail:
    def test_it_lists_assessments_and_offers_to_start_one(
        self, owner_client, offering, candor_v1
    ):
        assessment = AssessmentFactory(offering=offering)

        response = owner_client.get(offering.get_absolute_url())

        html = response.content.decode()
        assert response.status_code == 200
        assert "Customer-facing assistant" in html
        assert reverse("assessment_detail", args=[assessment.pk]) in html
        assert "Start assessment" in html

    def test_without_assessments_it_explains_what_one_is(self, owner_client, offering):
        response = owner_client.get(offering.get_absolute_url())

        html = response.content.decode()
        assert "No assessment of Northwind Chat 3.1 yet" in html
        assert "Start the first assessment" in html

    def test_htmx_renders_only_the_assessments(
        self, owner_client, offering, htmx_headers
    ):
        response = owner_client.get(offering.get_absolute_url(), headers=htmx_headers)

        html = response.content.decode()
        assert html.lstrip().startswith('<section id="assessments">')

    def test_a_viewer_cannot_start_assessments(self, viewer_client, offering):
        response = viewer_client.get(offering.get_absolute_url())

        assert response.status_code == 200
        assert "Start assessment" not in response.content.decode()

    def test_another_workspace_offering_is_not_found(
        self, owner_client, foreign_offering
    ):
        response = owner_client.get(foreign_offering.get_absolute_url())

        assert response.status_code == 404

    def test_wrong_method_is_refused(self, owner_client, offering):
        assert owner_client.post(offering.get_absolute_url()).status_code == 405

    def test_anonymous_is_sent_to_login(self, offering):
        assert Client().get(offering.get_absolute_url()).status_code == 302


class TestOfferingEdit:
    def url(self, offering) -> str:
        return reverse("offering_edit", args=[offering.pk])

    def test_it_saves_changes(self, owner_client, offering):
        response = owner_client.post(
            self.url(offering), {"name": "Northwind Chat", "version": "3.2"}
        )

        offering.refresh_from_db()
        assert response.url == offering.get_absolute_url()
        assert offering.version == "3.2"

    def test_renaming_onto_another_offering_is_a_form_error(
        self, owner_client, offering
    ):
        other = OfferingFactory(
            vendor=offering.vendor, name="Northwind Chat", version="3.2"
        )

        response = owner_client.post(
            self.url(other), {"name": "Northwind Chat", "version": "3.1"}
        )

        other.refresh_from_db()
        assert response.status_code == 200
        assert "already has “Northwind Chat 3.1”" in response.content.decode()
        assert other.version == "3.2"

    def test_htmx_renders_only_the_form(self, owner_client, offering, htmx_headers):
        response = owner_client.get(self.url(offering), headers=htmx_headers)

        html = response.content.decode()
        assert "<html" not in html
        assert 'value="3.1"' in html

    def test_a_viewer_cannot_edit(self, viewer_client, offering):
        response = viewer_client.post(self.url(offering), {"name": "Hacked"})

        assert response.status_code == 403

    def test_another_workspace_offering_is_not_found(
        self, owner_client, foreign_offering
    ):
        assert owner_client.get(self.url(foreign_offering)).status_code == 404

    def test_wrong_method_is_refused(self, owner_client, offering):
        assert owner_client.delete(self.url(offering)).status_code == 405

    def test_anonymous_is_sent_to_login(self, offering):
        assert Client().get(self.url(offering)).status_code == 302


class TestOfferingArchive:
    def test_archiving_hides_it_from_the_vendor_and_restoring_brings_it_back(
        self, owner_client, offering
    ):
        vendor_url = offering.vendor.get_absolute_url()

        archive = owner_client.post(reverse("offering_archive", args=[offering.pk]))
        hidden = owner_client.get(vendor_url)
        restore = owner_client.post(reverse("offering_unarchive", args=[offering.pk]))
        shown = owner_client.get(vendor_url)

        assert archive.url == vendor_url
        assert restore.url == offering.get_absolute_url()
        assert list(hidden.context["offerings"]) == []
        assert [o.name for o in shown.context["offerings"]] == ["Northwind Chat"]

    def test_htmx_archive_redirects_on_the_client(
        self, owner_client, offering, htmx_headers
    ):
        response = owner_client.post(
            reverse("offering_archive", args=[offering.pk]), headers=htmx_headers
        )

        assert response["HX-Redirect"] == offering.vendor.get_absolute_url()

    def test_a_viewer_cannot_archive(self, viewer_client, offering):
        response = viewer_client.post(reverse("offering_archive", args=[offering.pk]))

        offering.refresh_from_db()
        assert response.status_code == 403
        assert offering.archived_at is None

    def test_another_workspace_offering_is_not_found(
        self, owner_client, foreign_offering
    ):
        response = owner_client.post(
            reverse("offering_archive", args=[foreign_offering.pk])
        )

        assert response.status_code == 404

    def test_get_is_refused(self, owner_client, offering):
        response = owner_client.get(reverse("offering_archive", args=[offering.pk]))

        assert response.status_code == 405

    def test_anonymous_is_sent_to_login(self, offering):
        response = Client().post(reverse("offering_archive", args=[offering.pk]))

        assert response.status_code == 302
