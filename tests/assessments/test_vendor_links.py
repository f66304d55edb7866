from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from assessments.models import (
    Answer,
    AnswerRevision,
    EvidenceTier,
    Question,
    VendorLink,
    VendorResponse,
)
from tests.factories import (
    AnswerFactory,
    AssessmentFactory,
    MembershipFactory,
    OfferingFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(workspace, candor_v1):
    return AssessmentFactory(
        offering=OfferingFactory(
            vendor__workspace=workspace, vendor__name="Orbital AI"
        ),
        framework=candor_v1,
    )


@pytest.fixture
def yes_no_question(candor_v1) -> Question:
    return (
        Question.objects.filter(framework=candor_v1, vendor_facing=True, kind="yes_no")
        .order_by("pillar__order", "order")
        .first()
    )


@pytest.fixture
def hidden_question(candor_v1) -> Question:
    return Question.objects.filter(framework=candor_v1, vendor_facing=False).first()


def _create_link(owner_client, assessment, **fields) -> str:
    """Create a link through the page and return its path, as shown once."""
    response = owner_client.post(
        reverse("vendor_link_create", args=[assessment.pk]),
        {"contact_name": "Jane Vendor", "contact_email": "", "days": 14, **fields},
    )
    assert response.status_code == 200
    match = re.search(r'value="https?://[^/"]+(/v/[^"]+/)"', response.text)
    assert match, response.text
    return match.group(1)


def _answer_path(link_path: str, question: Question) -> str:
    return f"{link_path}questions/{question.key}/"


def _first_value(question: Question) -> str:
    return question.options[0]["value"]


@pytest.fixture
def link_path(owner_client, assessment) -> str:
    return _create_link(owner_client, assessment)


@pytest.fixture
def pending(link_path, yes_no_question) -> VendorResponse:
    Client().post(
        _answer_path(link_path, yes_no_question),
        {"value": "yes", "comment": "See our model card.", "source_url": ""},
    )
    return VendorResponse.objects.get()


class TestCreateLink:
    def test_link_is_shown_once_and_stored_hashed(
        self, owner_client, assessment, link_path
    ):
        token = link_path.strip("/").split("/")[-1]

        list_page = owner_client.get(reverse("vendor_links", args=[assessment.pk]))

        assert token not in list_page.text
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM assessments_vendorlink")
            rows = cursor.fetchall()
        assert rows and token not in repr(rows)

    def test_the_link_records_contact_and_expiry(self, owner_client, assessment):
        _create_link(
            owner_client, assessment, contact_email="jane@vendor.example", days=3
        )

        link = VendorLink.objects.get()
        assert link.contact_email == "jane@vendor.example"
        days = (link.expires_at - timezone.now()).total_seconds() / 86400
        assert 2.9 < days <= 3

    def test_a_bad_expiry_keeps_what_was_typed(self, owner_client, assessment):
        response = owner_client.post(
            reverse("vendor_link_create", args=[assessment.pk]),
            {"contact_name": "Jane Vendor", "days": 400},
        )

        assert response.status_code == 200
        assert 'value="Jane Vendor"' in response.text
        assert "less than or equal to 90" in response.text
        assert not VendorLink.objects.exists()

    def test_viewer_cannot_create_a_link(self, viewer_client, assessment):
        response = viewer_client.post(
            reverse("vendor_link_create", args=[assessment.pk]), {"days": 14}
        )

        assert response.status_code == 403
        assert not VendorLink.objects.exists()

    def test_editor_can_create_a_link(self, workspace, assessment):
        editor = MembershipFactory(workspace=workspace, role=Membership.Role.EDITOR)
        client = Client()
        client.force_login(editor.user)

        _create_link(client, assessment)

        assert VendorLink.objects.get().created_by == editor.user

    def test_another_workspace_gets_a_404(self, outsider_client, assessment):
        response = outsider_client.post(
            reverse("vendor_link_create", args=[assessment.pk]), {"days": 14}
        )

        assert response.status_code == 404


class TestContactPage:
    def test_contact_sees_vendor_facing_questions_only(
        self, link_path, yes_no_question, hidden_question
    ):
        response = Client().get(link_path)

        assert response.status_code == 200
        assert yes_no_question.text in response.text
        assert hidden_question.text not in response.text

    def test_contact_sees_no_scores_notes_or_other_vendors(
        self, owner_client, assessment, workspace, yes_no_question, link_path
    ):
        AnswerFactory(
            assessment=assessment,
            question=yes_no_question,
            note="Founder's private doubt",
        )
        OfferingFactory(vendor__workspace=workspace, vendor__name="Rival Labs")
        flagged = next(
            option["label"]
            for q in Question.objects.filter(
                framework=assessment.framework, vendor_facing=True
            )
            for option in q.options
            if option.get("red_flag")
        )

        page = Client().get(link_path).text

        assert "Founder&#x27;s private doubt" not in page
        assert "Founder's private doubt" not in page
        assert "Rival Labs" not in page
        assert "red flag" not in page.lower() and "blocker" not in page.lower()
        assert "score" not in page.lower()
        assert flagged in page

    def test_contact_page_has_no_navigation_into_the_app(self, link_path):
        page = Client().get(link_path).text

        for name in ("vendor_list", "evidence_import", "login", "signup"):
            assert f'href="{reverse(name)}"' not in page

    def test_a_signed_in_founder_opening_the_link_sees_no_workspace(
        self, owner_client, link_path
    ):
        response = owner_client.get(link_path)

        assert response.context["request"].membership is None
        assert f'href="{reverse("vendor_list")}"' not in response.text

    def test_contact_answer_arrives_pending_as_vendor_asserted(
        self, assessment, yes_no_question, pending
    ):
        assert pending.status == VendorResponse.Status.PENDING
        assert pending.value == "yes"
        assert pending.comment == "See our model card."
        assert pending.link.contact_name == "Jane Vendor"
        assert not Answer.objects.filter(assessment=assessment).exists()

    def test_contact_answer_does_not_overwrite_the_founders(
        self, assessment, yes_no_question, link_path
    ):
        answer = AnswerFactory(
            assessment=assessment, question=yes_no_question, value="no"
        )

        Client().post(_answer_path(link_path, yes_no_question), {"value": "yes"})

        answer.refresh_from_db()
        assert answer.value == "no"
        assert VendorResponse.objects.get().value == "yes"

    def test_a_received_answer_is_logged_with_its_ids(
        self, assessment, link_path, yes_no_question, caplog
    ):
        caplog.set_level("INFO", logger="assessments.services")

        Client().post(_answer_path(link_path, yes_no_question), {"value": "yes"})

        response = VendorResponse.objects.get()
        assert (
            f"vendor answer received link={response.link_id} "
            f"assessment={assessment.pk} question={yes_no_question.key} "
            f"response={response.pk}"
        ) in caplog.text
        assert link_path.strip("/").split("/")[-1] not in caplog.text

    def test_htmx_answer_returns_the_question_only(self, link_path, yes_no_question):
        response = Client().post(
            _answer_path(link_path, yes_no_question),
            {"value": "yes"},
            headers={"HX-Request": "true"},
        )

        assert response.status_code == 200
        assert "<html" not in response.text
        assert "Just sent" in response.text

    def test_a_conditional_question_says_when_it_applies_after_sending(
        self, link_path, candor_v1
    ):
        question = next(
            q
            for q in Question.objects.filter(framework=candor_v1, vendor_facing=True)
            if q.depends_on and q.options
        )

        response = Client().post(
            _answer_path(link_path, question),
            {"value": _first_value(question)},
            headers={"HX-Request": "true"},
        )

        assert "Only if your answer to" in response.text

    def test_a_bad_answer_is_refused_and_kept(self, link_path, yes_no_question):
        response = Client().post(
            _answer_path(link_path, yes_no_question),
            {"value": "yes", "source_url": "not a url", "comment": "Kept"},
        )

        assert response.status_code == 422
        assert 'value="not a url"' in response.text
        assert ">Kept</textarea>" in response.text
        assert "https://" in response.text
        assert not VendorResponse.objects.exists()

    def test_an_empty_answer_is_refused(self, link_path, yes_no_question):
        response = Client().post(_answer_path(link_path, yes_no_question), {})

        assert response.status_code == 422
        assert "Give an answer" in response.text

    def test_a_question_that_is_not_vendor_facing_is_a_404(
        self, link_path, hidden_question
    ):
        response = Client().post(
            _answer_path(link_path, hidden_question), {"value": "x"}
        )

        assert response.status_code == 404
        assert not VendorResponse.objects.exists()

    def test_posting_needs_a_csrf_token(self, link_path, yes_no_question):
        client = Client(enforce_csrf_checks=True)

        response = client.post(_answer_path(link_path, yes_no_question), {"value": "y"})

        assert response.status_code == 403
        assert not VendorResponse.objects.exists()

    def test_contact_page_refuses_other_methods(self, link_path):
        assert Client().put(link_path).status_code == 405


class TestReview:
    def test_review_page_lists_the_pending_answer(
        self, owner_client, assessment, pending
    ):
        page = owner_client.get(reverse("vendor_links", args=[assessment.pk]))

        assert "To review" in page.text
        assert "From <strong>Jane Vendor</strong>" in page.text
        assert "See our model card." in page.text

    def test_questionnaire_links_to_answers_waiting(
        self, owner_client, assessment, pending
    ):
        page = owner_client.get(assessment.get_absolute_url())

        assert reverse("vendor_links", args=[assessment.pk]) in page.text
        assert 'title="Answers waiting for your review">1<' in page.text

    def test_accept_makes_it_the_answer_as_a_vendor_asserted_revision(
        self, owner, owner_client, assessment, yes_no_question, pending
    ):
        AnswerFactory(
            assessment=assessment,
            question=yes_no_question,
            value="no",
            tier=EvidenceTier.PUBLICLY_DISCLOSED,
        )

        response = owner_client.post(
            reverse("vendor_response_accept", args=[assessment.pk, pending.pk])
        )

        assert response.status_code == 302
        answer = Answer.objects.get(assessment=assessment, question=yes_no_question)
        assert answer.value == "yes"
        assert answer.tier == EvidenceTier.VENDOR_ASSERTED
        revision = AnswerRevision.objects.get(answer=answer)
        assert revision.changed_by == owner
        assert revision.vendor_response == pending
        assert revision.old["value"] == "no"
        pending.refresh_from_db()
        assert pending.status == VendorResponse.Status.ACCEPTED

    def test_accepted_answer_history_names_the_contact(
        self, owner_client, assessment, yes_no_question, pending
    ):
        owner_client.post(
            reverse("vendor_response_accept", args=[assessment.pk, pending.pk])
        )

        page = owner_client.get(
            reverse("answer_history", args=[assessment.pk, yes_no_question.key])
        )

        assert "accepting the answer of Jane Vendor (vendor contact)" in page.text

    def test_follow_up_is_visible_to_the_contact_who_can_answer_again(
        self, owner_client, assessment, link_path, yes_no_question, pending
    ):
        owner_client.post(
            reverse("vendor_response_follow_up", args=[assessment.pk, pending.pk]),
            {"follow_up": "Which evaluation shows that?"},
        )

        contact_page = Client().get(link_path)
        Client().post(
            _answer_path(link_path, yes_no_question),
            {"value": "partly", "comment": "Only for English."},
        )

        assert "Which evaluation shows that?" in contact_page.text
        pending.refresh_from_db()
        assert pending.status == VendorResponse.Status.PENDING
        assert pending.value == "partly"
        assert pending.times_submitted == 2

    def test_an_empty_follow_up_is_refused(self, owner_client, assessment, pending):
        response = owner_client.post(
            reverse("vendor_response_follow_up", args=[assessment.pk, pending.pk]),
            {"follow_up": "  "},
            headers={"HX-Request": "true"},
        )

        assert "Write the question" in response.text
        pending.refresh_from_db()
        assert pending.status == VendorResponse.Status.PENDING

    def test_htmx_accept_renders_the_review_panel(
        self, owner_client, assessment, pending
    ):
        response = owner_client.post(
            reverse("vendor_response_accept", args=[assessment.pk, pending.pk]),
            headers={"HX-Request": "true"},
        )

        assert 'id="vendor-review"' in response.text
        assert "<html" not in response.text
        assert "Accepted (1)" in response.text

    def test_viewer_reads_but_cannot_accept(self, viewer_client, assessment, pending):
        page = viewer_client.get(reverse("vendor_links", args=[assessment.pk]))
        response = viewer_client.post(
            reverse("vendor_response_accept", args=[assessment.pk, pending.pk])
        )

        assert page.status_code == 200
        assert "Accept as the answer" not in page.text
        assert response.status_code == 403
        assert not Answer.objects.exists()

    def test_another_workspace_cannot_accept(
        self, outsider_client, assessment, pending
    ):
        response = outsider_client.post(
            reverse("vendor_response_accept", args=[assessment.pk, pending.pk])
        )

        assert response.status_code == 404
        assert not Answer.objects.exists()

    def test_accept_refuses_get(self, owner_client, assessment, pending):
        response = owner_client.get(
            reverse("vendor_response_accept", args=[assessment.pk, pending.pk])
        )

        assert response.status_code == 405

    def test_accepting_into_a_decided_assessment_is_refused_clearly(
        self, owner_client, assessment, pending
    ):
        assessment.status = "decided"
        assessment.decision = "approve"
        assessment.save()

        response = owner_client.post(
            reverse("vendor_response_accept", args=[assessment.pk, pending.pk]),
            follow=True,
        )

        assert "Reopen it to change answers" in response.text
        pending.refresh_from_db()
        assert pending.status == VendorResponse.Status.PENDING


class TestClosedLinks:
    def test_revoke_stops_access(self, owner_client, assessment, link_path):
        link = VendorLink.objects.get()

        owner_client.post(reverse("vendor_link_revoke", args=[assessment.pk, link.pk]))
        response = Client().get(link_path)

        assert response.status_code == 410
        assert "withdrawn" in response.text

    def test_revoked_link_accepts_no_answers(
        self, owner_client, assessment, link_path, yes_no_question
    ):
        VendorLink.objects.update(revoked_at=timezone.now())

        response = Client().post(
            _answer_path(link_path, yes_no_question), {"value": "yes"}
        )

        assert response.status_code == 410
        assert not VendorResponse.objects.exists()

    def test_expired_link_shows_a_clear_page(self, link_path):
        VendorLink.objects.update(expires_at=timezone.now())

        response = Client().get(link_path)

        assert response.status_code == 410
        assert "expired" in response.text

    def test_unknown_token_is_a_404_with_a_message(self, db):
        response = Client().get(reverse("vendor_portal", args=["nope"]))

        assert response.status_code == 404
        assert "does not work" in response.text

    def test_a_link_opens_only_its_own_assessment(
        self, owner_client, assessment, workspace, link_path, yes_no_question
    ):
        other = AssessmentFactory(
            offering=OfferingFactory(vendor__workspace=workspace),
            framework=assessment.framework,
        )

        Client().post(_answer_path(link_path, yes_no_question), {"value": "yes"})

        assert VendorResponse.objects.get().link.assessment == assessment
        assert not VendorResponse.objects.filter(link__assessment=other).exists()

    def test_viewer_cannot_revoke(self, viewer_client, assessment, link_path):
        link = VendorLink.objects.get()

        response = viewer_client.post(
            reverse("vendor_link_revoke", args=[assessment.pk, link.pk])
        )

        assert response.status_code == 403
        assert Client().get(link_path).status_code == 200
