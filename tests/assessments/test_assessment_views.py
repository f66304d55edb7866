"""Starting an assessment and editing its review state."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments import services
from assessments.models import Assessment
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    OfferingFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(workspace):
    vendor = VendorFactory(workspace=workspace, name="Northwind AI")
    return OfferingFactory(vendor=vendor, name="Northwind Chat", version="3.1")


@pytest.fixture
def foreign_offering(outsider):
    return OfferingFactory(
        vendor=VendorFactory(workspace=outsider.memberships.get().workspace)
    )


@pytest.fixture
def assessment(offering, owner, candor_v1):
    return AssessmentFactory(offering=offering, framework=candor_v1, owner=owner)


class TestAssessmentCreate:
    def url(self, offering) -> str:
        return reverse("assessment_create", args=[offering.pk])

    def test_it_offers_every_use_case_profile_and_defaults_the_owner(
        self, owner_client, owner, offering, candor_v1
    ):
        response = owner_client.get(self.url(offering))

        html = response.content.decode()
        assert response.status_code == 200
        for profile in candor_v1.profiles.values():
            assert profile["label"] in html
        assert f'<option value="{owner.pk}" selected>' in html
        assert html.count('name="weight_') == candor_v1.pillars.count()

    def test_it_starts_an_assessment_of_the_latest_framework(
        self, owner_client, owner, offering, candor_v1
    ):
        with mock.patch(
            "assessments.public_evidence.public_evidence_prefill"
        ) as prefill:
            response = owner_client.post(
                self.url(offering),
                {
                    "profile": "regulated_domain",
                    "owner": owner.pk,
                    "due_date": "2027-01-31",
                },
            )

        assessment = Assessment.objects.get(offering=offering)
        assert response.status_code == 302
        assert response.url == assessment.get_absolute_url()
        assert assessment.framework == candor_v1
        assert assessment.profile == "regulated_domain"
        assert assessment.owner == owner
        assert assessment.due_date == datetime.date(2027, 1, 31)
        assert assessment.custom_weights == {}
        assert assessment.status == Assessment.Status.DRAFT
        prefill.assert_called_once_with(assessment)

    def test_starting_requests_a_score(self, owner_client, owner, offering, candor_v1):
        owner_client.post(
            self.url(offering), {"profile": "internal_tool", "owner": owner.pk}
        )

        assert Assessment.objects.get(offering=offering).rescore_pending

    def test_a_custom_profile_keeps_its_weights(
        self, owner_client, owner, offering, candor_v1
    ):
        response = owner_client.post(
            self.url(offering),
            {
                "profile": "custom",
                "owner": owner.pk,
                "weight_optimization_target": "50",
                "weight_environment_design": "0",
                "weight_values": "20",
                "weight_transparency": "30",
            },
        )

        assessment = Assessment.objects.get(offering=offering)
        assert response.status_code == 302
        assert assessment.custom_weights == {
            "optimization_target": 50,
            "environment_design": 0,
            "values": 20,
            "transparency": 30,
        }

    def test_a_custom_profile_needs_a_weight_above_zero(
        self, owner_client, owner, offering, candor_v1
    ):
        response = owner_client.post(
            self.url(offering),
            {
                "profile": "custom",
                "owner": owner.pk,
                "weight_optimization_target": "0",
                "weight_environment_design": "0",
                "weight_values": "0",
                "weight_transparency": "0",
            },
        )

        assert response.status_code == 200
        assert "At least one pillar needs a weight above 0" in response.content.decode()
        assert not Assessment.objects.filter(offering=offering).exists()

    def test_a_missing_custom_weight_is_named_and_the_rest_kept(
        self, owner_client, owner, offering, candor_v1
    ):
        response = owner_client.post(
            self.url(offering),
            {
                "profile": "custom",
                "owner": owner.pk,
                "weight_optimization_target": "40",
                "weight_environment_design": "",
                "weight_values": "20",
                "weight_transparency": "30",
            },
        )

        html = response.content.decode()
        assert "Give this pillar a weight" in html
        assert 'value="40"' in html
        assert not Assessment.objects.filter(offering=offering).exists()

    def test_an_unknown_profile_is_refused(
        self, owner_client, owner, offering, candor_v1
    ):
        response = owner_client.post(
            self.url(offering), {"profile": "vibes", "owner": owner.pk}
        )

        assert response.status_code == 200
        assert response.context["form"].errors["profile"]
        assert not Assessment.objects.exists()

    def test_the_owner_must_be_a_member_who_can_write(
        self, owner_client, viewer, outsider, offering, candor_v1
    ):
        as_viewer = owner_client.post(
            self.url(offering), {"profile": "internal_tool", "owner": viewer.pk}
        )
        as_outsider = owner_client.post(
            self.url(offering), {"profile": "internal_tool", "owner": outsider.pk}
        )

        assert as_viewer.context["form"].errors["owner"]
        assert as_outsider.context["form"].errors["owner"]
        assert not Assessment.objects.exists()

    def test_an_editor_can_own_it(self, owner_client, workspace, offering, candor_v1):
        editor = MembershipFactory(workspace=workspace, role="editor").user

        owner_client.post(
            self.url(offering), {"profile": "internal_tool", "owner": editor.pk}
        )

        assert Assessment.objects.get().owner == editor

    def test_htmx_renders_only_the_form(
        self, owner_client, offering, candor_v1, htmx_headers
    ):
        response = owner_client.get(self.url(offering), headers=htmx_headers)

        html = response.content.decode()
        assert "<html" not in html
        assert 'id="assessment-form"' in html

    def test_a_viewer_cannot_start_one(
        self, viewer_client, viewer, offering, candor_v1
    ):
        response = viewer_client.post(
            self.url(offering), {"profile": "internal_tool", "owner": viewer.pk}
        )

        assert response.status_code == 403
        assert not Assessment.objects.exists()

    def test_another_workspace_offering_is_not_found(
        self, owner_client, foreign_offering, candor_v1
    ):
        assert owner_client.get(self.url(foreign_offering)).status_code == 404

    def test_an_archived_offering_cannot_be_assessed(
        self, owner_client, owner, offering, candor_v1
    ):
        offering.archived_at = timezone.now()
        offering.save()

        response = owner_client.post(
            self.url(offering), {"profile": "internal_tool", "owner": owner.pk}
        )

        assert response.status_code == 302
        assert response.url == offering.get_absolute_url()
        assert not Assessment.objects.exists()
        page = owner_client.get(response.url).content.decode()
        assert "is archived, so no assessment can be started" in page

    def test_an_archived_offering_has_no_start_form(
        self, owner_client, offering, candor_v1, htmx_headers
    ):
        offering.archived_at = timezone.now()
        offering.save()

        full = owner_client.get(self.url(offering))
        partial = owner_client.get(self.url(offering), headers=htmx_headers)

        assert full.status_code == 302
        assert partial["HX-Redirect"] == offering.get_absolute_url()

    def test_an_archived_vendor_offering_cannot_be_assessed(
        self, owner_client, owner, offering, candor_v1
    ):
        offering.vendor.archived_at = timezone.now()
        offering.vendor.save()

        owner_client.post(
            self.url(offering), {"profile": "internal_tool", "owner": owner.pk}
        )

        assert not Assessment.objects.exists()

    def test_the_service_refuses_an_archived_offering(self, owner, offering, candor_v1):
        offering.archived_at = timezone.now()

        with pytest.raises(ValidationError, match="is archived"):
            services.assessment_start(
                offering=offering,
                framework=candor_v1,
                profile="internal_tool",
                user=owner,
            )

        assert not Assessment.objects.exists()

    def test_wrong_method_is_refused(self, owner_client, offering, candor_v1):
        assert owner_client.delete(self.url(offering)).status_code == 405

    def test_anonymous_is_sent_to_login(self, offering):
        response = Client().get(self.url(offering))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


class TestAssessmentEdit:
    def url(self, assessment) -> str:
        return reverse("assessment_edit", args=[assessment.pk])

    def test_it_shows_the_review_form(self, owner_client, assessment):
        response = owner_client.get(self.url(assessment))

        html = response.content.decode()
        assert response.status_code == 200
        for field in ("status", "decision", "rationale", "due_date"):
            assert f'name="{field}"' in html

    def test_it_is_called_decision_and_status(self, owner_client, assessment):
        html = owner_client.get(self.url(assessment)).content.decode()

        assert "<h1>Decision &amp; status</h1>" in html
        assert "<title>Decision &amp; status · " in html
        assert "Review and decide" not in html

    def test_it_records_a_decision_and_its_rationale(
        self, owner_client, owner, assessment
    ):
        response = owner_client.post(
            self.url(assessment),
            {
                "status": "decided",
                "decision": "conditions",
                "rationale": "Pin the version; re-run the pushback probes monthly.",
                "due_date": "2027-02-01",
                "owner": owner.pk,
            },
        )

        assessment.refresh_from_db()
        assert response.status_code == 302
        assert response.url == assessment.get_absolute_url()
        assert assessment.status == "decided"
        assert assessment.decision == "conditions"
        assert assessment.rationale.startswith("Pin the version")
        assert assessment.due_date == datetime.date(2027, 2, 1)

    def test_deciding_without_a_decision_is_a_form_error(
        self, owner_client, assessment
    ):
        response = owner_client.post(
            self.url(assessment),
            {"status": "decided", "decision": "", "rationale": "Looks fine"},
        )

        assessment.refresh_from_db()
        assert response.status_code == 200
        assert "Choose a decision before marking" in response.content.decode()
        assert "Looks fine" in response.content.decode()
        assert assessment.status == "draft"

    def test_htmx_renders_only_the_form(self, owner_client, assessment, htmx_headers):
        response = owner_client.get(self.url(assessment), headers=htmx_headers)

        html = response.content.decode()
        assert "<html" not in html
        assert 'id="assessment-edit-form"' in html

    def test_a_viewer_cannot_edit(self, viewer_client, assessment):
        response = viewer_client.post(
            self.url(assessment), {"status": "decided", "decision": "approve"}
        )

        assessment.refresh_from_db()
        assert response.status_code == 403
        assert assessment.status == "draft"

    def test_another_workspace_assessment_is_not_found(
        self, outsider_client, assessment
    ):
        response = outsider_client.post(self.url(assessment), {"status": "in_review"})

        assessment.refresh_from_db()
        assert response.status_code == 404
        assert assessment.status == "draft"

    def test_wrong_method_is_refused(self, owner_client, assessment):
        assert owner_client.delete(self.url(assessment)).status_code == 405

    def test_anonymous_is_sent_to_login(self, assessment):
        assert Client().get(self.url(assessment)).status_code == 302
