"""An answer's history: who changed it, when, from what to what.

The questionnaire shows how many changes there are; the list itself loads from
its own view when a person opens it (or follows the link without JavaScript).
"""

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


def _history_url(assessment, key: str = YES_NO) -> str:
    return reverse("answer_history", args=[assessment.pk, key])


def _history(client, assessment) -> str:
    return client.get(_history_url(assessment), headers={"HX-Request": "true"}).text


def _status_line(client, assessment) -> str:
    page = client.get(assessment.get_absolute_url()).text
    start = page.index(f'id="q-{YES_NO}-status"')
    return page[start : page.index("</footer>", start)]


def test_history_names_who_and_when(owner_client, owner, assessment):
    _save(owner_client, assessment, 0, value="partly")

    history = _history(owner_client, assessment)

    assert owner.username in history
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


def test_questionnaire_shows_the_count_and_loads_the_list_when_opened(
    owner_client, owner, assessment
):
    _save(owner_client, assessment, 0, value="partly")

    status = _status_line(owner_client, assessment)

    assert "Last saved by you" in status
    assert "History (1 change)" in status
    assert 'hx-trigger="toggle once"' in status
    assert f'href="{_history_url(assessment)}"' in status
    assert "Partly" not in status


def test_an_unchanged_answer_shows_no_history(owner_client, assessment):
    status = _status_line(owner_client, assessment)

    assert "History (" not in status
    assert "answer_history" not in status


def test_the_partial_is_only_the_list(owner_client, assessment):
    _save(owner_client, assessment, 0, value="partly")

    history = _history(owner_client, assessment)

    assert history.lstrip().startswith('<div class="history-list"')
    assert "<html" not in history


def test_without_javascript_the_link_opens_a_page_with_the_history(
    owner_client, assessment
):
    _save(owner_client, assessment, 0, value="partly")

    page = owner_client.get(_history_url(assessment)).text

    assert "<html" in page
    assert "History of an answer" in page
    assert "Partly" in page
    assert f"?pillar=optimization_target#q-{YES_NO}" in page


def test_a_viewer_may_read_the_history(viewer_client, owner_client, assessment):
    _save(owner_client, assessment, 0, value="partly")

    response = viewer_client.get(_history_url(assessment))

    assert response.status_code == 200
    assert "Partly" in response.text


def test_another_workspace_gets_a_404(outsider_client, owner_client, assessment):
    _save(owner_client, assessment, 0, value="partly")

    response = outsider_client.get(_history_url(assessment))

    assert response.status_code == 404


def test_an_unknown_question_gets_a_404(owner_client, assessment):
    response = owner_client.get(_history_url(assessment, "no_such_question"))

    assert response.status_code == 404


def test_it_refuses_a_post(owner_client, assessment):
    response = owner_client.post(_history_url(assessment))

    assert response.status_code == 405


def test_a_long_history_shows_the_latest_and_says_so(owner_client, assessment):
    for version in range(12):
        _save(owner_client, assessment, version, value="yes" if version % 2 else "no")

    history = _history(owner_client, assessment)
    status = _status_line(owner_client, assessment)

    assert history.count("<li>") == 10
    assert "Showing the latest 10 of 12." in history
    assert "History (12 changes)" in status
