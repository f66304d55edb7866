"""An answer's history on the questionnaire: who changed it, when, from what to what."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import AssessmentFactory, OfferingFactory

pytestmark = pytest.mark.django_db

YES_NO = "ot_objectives_published"


@pytest.fixture
def assessment(workspace, candor_v1):
    offering = OfferingFactory(vendor__workspace=workspace)
    return AssessmentFactory(offering=offering, framework=candor_v1)


def _save(client, assessment, version: int, **fields):
    return client.post(
        reverse("answer_save", args=[assessment.pk, YES_NO]),
        {"version": version, **fields},
        headers={"HX-Request": "true"},
    )


def _history(client, assessment) -> str:
    page = client.get(assessment.get_absolute_url()).text
    start = page.index(f'id="q-{YES_NO}-status"')
    return page[start : page.index("</footer>", start)]


def test_history_names_who_and_when(owner_client, owner, assessment):
    _save(owner_client, assessment, 0, value="partly")

    history = _history(owner_client, assessment)

    assert owner.username in history
    assert "History (1 change)" in history
    assert '<li><span class="muted">' in history


def test_history_shows_old_and_new_value(owner_client, assessment):
    _save(owner_client, assessment, 0, value="partly")
    _save(owner_client, assessment, 1, value="no")

    history = _history(owner_client, assessment)

    assert "Partly → No" in history


def test_history_shows_old_and_new_source_and_note(owner_client, assessment):
    _save(
        owner_client,
        assessment,
        0,
        value="yes",
        source_url="https://vendor.example/old",
        note="First look",
    )
    _save(
        owner_client,
        assessment,
        1,
        value="yes",
        source_url="https://vendor.example/new",
        note="Checked again",
    )

    history = _history(owner_client, assessment)

    assert "source “https://vendor.example/old” → “https://vendor.example/new”" in (
        history
    )
    assert "note “First look” → “Checked again”" in history


def test_history_of_another_person_names_them(owner_client, editor, assessment, client):
    client.force_login(editor)
    _save(client, assessment, 0, value="yes")

    history = _history(owner_client, assessment)

    assert editor.username in history
