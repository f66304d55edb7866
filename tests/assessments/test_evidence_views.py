from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments.models import EvidenceImport, EvidenceTier
from assessments.public_evidence import (
    FmtiFile,
    FmtiFiles,
    evidence_import_create,
)
from tests.assessments.fmti_helpers import (
    CREDIT,
    MINI_FOLDER,
    answers_by_key,
    make_assessment,
    make_framework,
    mini_files,
    patch_rescore,
    row_counts,
)
from tests.conftest import FMTI_FOLDER, requires_fmti_data
from tests.factories import VendorFactory, WorkspaceFactory

LIST_URL = reverse("evidence_import")


@pytest.fixture(autouse=True)
def rescore_calls(monkeypatch):
    return patch_rescore(monkeypatch)


def _upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), "text/csv")


def _mini_upload(folder: Path = MINI_FOLDER) -> dict:
    return {
        "indicators": _upload(folder / "indicators.csv"),
        "scores": _upload(folder / "scores.csv"),
        "reports": [
            _upload(folder / "reports" / "Northwind AI.csv"),
            _upload(folder / "reports" / "Quillstone.csv"),
        ],
    }


def _corrected_mini_files() -> FmtiFiles:
    """fmti-mini with one score of Orbital Labs changed: a newer edition."""
    files = mini_files()
    scores = files.scores.content.replace(
        b"Versioning protocol,1,0,0", b"Versioning protocol,1,1,0"
    )
    assert scores != files.scores.content
    return dataclasses.replace(files, scores=FmtiFile(files.scores.name, scores))


@pytest.fixture
def evidence_import(workspace) -> EvidenceImport:
    return evidence_import_create(
        workspace=workspace, files=mini_files()
    ).evidence_import


# --- The list and upload form ------------------------------------------------


def test_list_shows_the_workspace_imports_with_credit_and_counts(
    owner_client, workspace, evidence_import
):
    make_assessment(workspace, "Northwind AI", make_framework())
    evidence_import_create(workspace=workspace, files=_corrected_mini_files())

    response = owner_client.get(LIST_URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Public evidence · Candor</title>" in page
    assert page.count("FMTI December 2025</strong>") == 2
    assert CREDIT in page
    assert '<td data-label="Developers" class="num">3</td>' in page
    assert '<td data-label="Disclosures" class="num">18</td>' in page
    # Northwind AI: three answers disclosed, two not disclosed.
    assert '<td data-label="Answers" class="num">5</td>' in page
    assert reverse("evidence_import_detail", args=[evidence_import.pk]) in page


def test_list_offers_an_upload_form_with_multiple_report_files(owner_client):
    response = owner_client.get(LIST_URL)

    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" name="indicators"' in page
    assert 'type="file" name="scores"' in page
    assert 'name="reports" accept=".csv,text/csv"' in page
    assert "multiple" in page
    assert "No index imported yet." in page


def test_list_hides_imports_of_other_workspaces(outsider_client, evidence_import):
    response = outsider_client.get(LIST_URL)

    assert response.status_code == 200
    assert reverse("evidence_import_detail", args=[evidence_import.pk]) not in (
        response.content.decode()
    )
    assert "No index imported yet." in response.content.decode()


def test_list_htmx_request_renders_the_panel_only(
    owner_client, evidence_import, htmx_headers
):
    response = owner_client.get(LIST_URL, headers=htmx_headers)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="evidence-panel"')
    assert "<html" not in page
    assert "FMTI December 2025" in page


def test_viewer_reads_the_list_without_an_upload_form(viewer_client, evidence_import):
    response = viewer_client.get(LIST_URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "FMTI December 2025" in page
    assert 'type="file"' not in page
    assert "An owner or editor can import a new edition." in page


def test_viewer_cannot_upload(viewer_client, workspace):
    before = row_counts()

    response = viewer_client.post(LIST_URL, _mini_upload())

    assert response.status_code == 403
    assert row_counts() == before


def test_anonymous_visitor_is_sent_to_login(client, evidence_import):
    get = client.get(LIST_URL)
    post = client.post(LIST_URL, _mini_upload())

    assert get.status_code == post.status_code == 302
    assert get.url.startswith(reverse("login"))
    assert EvidenceImport.objects.count() == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_list_refuses_other_methods(owner_client, method):
    response = getattr(owner_client, method)(LIST_URL)

    assert response.status_code == 405


def test_upload_imports_prefills_and_redirects_to_the_import(owner_client, workspace):
    assessment = make_assessment(workspace, "Northwind AI", make_framework())

    response = owner_client.post(LIST_URL, _mini_upload(), follow=True)

    evidence_import = EvidenceImport.objects.get()
    page = response.content.decode()
    assert response.redirect_chain == [
        (reverse("evidence_import_detail", args=[evidence_import.pk]), 302)
    ]
    assert "Imported FMTI December 2025: 3 developers, 6 indicators." in page
    assert "Pre-filled 5 answers in 1 assessment." in page
    assert evidence_import.workspace == workspace
    assert evidence_import.imported_by.memberships.get().workspace == workspace
    answer = answers_by_key(assessment)["changes"]
    assert (answer.value, answer.tier) == ("yes", EvidenceTier.PUBLICLY_DISCLOSED)
    stages = answers_by_key(assessment)["stages"]
    assert (stages.value, stages.tier) == ("unknown", EvidenceTier.PUBLICLY_DISCLOSED)


def test_editor_can_upload(editor, workspace, client):
    client.force_login(editor)

    response = client.post(LIST_URL, _mini_upload())

    assert response.status_code == 302
    assert EvidenceImport.objects.get().imported_by == editor


def test_upload_without_reports_imports_scores_only(owner_client, workspace):
    data = _mini_upload()
    del data["reports"]

    response = owner_client.post(LIST_URL, data)

    assert response.status_code == 302
    evidence_import = EvidenceImport.objects.get()
    assert evidence_import.disclosures.exclude(justification="").count() == 0


def test_htmx_upload_renders_the_result_in_the_panel(
    owner_client, workspace, htmx_headers
):
    make_assessment(workspace, "Quillstone", make_framework())

    response = owner_client.post(LIST_URL, _mini_upload(), headers=htmx_headers)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="evidence-panel"')
    assert "Imported FMTI December 2025" in page
    assert "Pre-filled <strong>4 answers</strong>" in page
    assert "See what each developer disclosed" in page
    assert CREDIT in page


def _assert_refused(response, *fragments: str) -> None:
    page = response.content.decode()
    assert response.status_code == 200
    for fragment in fragments:
        assert fragment in page, fragment
    assert EvidenceImport.objects.count() == 0


def test_upload_with_a_bad_score_lists_the_problem_and_writes_nothing(
    owner_client, workspace, tmp_path
):
    make_assessment(workspace, "Northwind AI", make_framework())
    scores = (MINI_FOLDER / "scores.csv").read_bytes().replace(b"1,1,1", b"1,2,1")
    data = _mini_upload()
    data["scores"] = SimpleUploadedFile("scores.csv", scores, "text/csv")
    before = row_counts()

    response = owner_client.post(LIST_URL, data)

    _assert_refused(
        response,
        "Nothing was imported.",
        "the score of Orbital Labs for &#x27;Change log&#x27; is &#x27;2&#x27;",
    )
    assert row_counts() == before


def test_htmx_upload_with_bad_files_shows_the_errors_in_the_panel(
    owner_client, htmx_headers
):
    data = _mini_upload()
    data["indicators"] = SimpleUploadedFile(
        "indicators.csv", b"Indicator,Definition\r\nA,B\r\n", "text/csv"
    )

    response = owner_client.post(LIST_URL, data, headers=htmx_headers)

    _assert_refused(response, 'id="evidence-panel"', "missing &#x27;Domain&#x27;")
    assert "<html" not in response.content.decode()


def test_upload_refuses_a_txt_file(owner_client):
    data = _mini_upload()
    data["reports"] = [SimpleUploadedFile("notes.txt", b"Indicator\r\n", "text/plain")]

    response = owner_client.post(LIST_URL, data)

    _assert_refused(response, "“notes.txt” is not a .csv file.")


def test_upload_refuses_an_oversized_file(owner_client, settings):
    settings.CANDOR_MAX_IMPORT_BYTES = 1000

    response = owner_client.post(LIST_URL, _mini_upload())

    _assert_refused(
        response,
        "“indicators.csv” is 1.7\xa0KB; each file may be at most 1000\xa0bytes.",
        "“Northwind AI.csv” is 1.9\xa0KB",
    )


def test_upload_refuses_an_empty_file(owner_client):
    data = _mini_upload()
    data["scores"] = SimpleUploadedFile("scores.csv", b"", "text/csv")

    response = owner_client.post(LIST_URL, data)

    _assert_refused(response, "“scores.csv” is empty.")


def test_upload_refuses_a_file_not_in_utf8(owner_client):
    data = _mini_upload()
    latin1 = "Indicator,Café\r\nModel objectives,1\r\n".encode("latin-1")
    data["scores"] = SimpleUploadedFile("scores.csv", latin1, "text/csv")

    response = owner_client.post(LIST_URL, data)

    _assert_refused(response, "scores.csv is not UTF-8 text (byte 0xe9")


def test_upload_refuses_a_truncated_report(owner_client):
    data = _mini_upload()
    content = (MINI_FOLDER / "reports" / "Quillstone.csv").read_bytes()
    data["reports"] = [SimpleUploadedFile("Quillstone.csv", content[:700], "text/csv")]

    response = owner_client.post(LIST_URL, data)

    _assert_refused(response, "Quillstone.csv", "cut short")


def test_an_upload_over_the_total_limit_is_refused_before_it_is_read(
    owner_client, settings, monkeypatch
):
    settings.CANDOR_MAX_IMPORT_TOTAL_BYTES = 2000
    # Parsing the body at all (for the CSRF check or the form) fails the test.
    monkeypatch.setattr(MultiPartParser, "parse", _body_must_not_be_read)

    response = owner_client.post(LIST_URL, _mini_upload())

    _assert_refused(
        response,
        "Nothing was imported.",
        "Candor takes at most 2.0\xa0KB in one import and 5.0\xa0MB a file.",
        'name="indicators"',
    )


def test_htmx_upload_over_the_total_limit_shows_the_reason_in_the_panel(
    owner_client, settings, htmx_headers, monkeypatch
):
    settings.CANDOR_MAX_IMPORT_TOTAL_BYTES = 2000
    monkeypatch.setattr(MultiPartParser, "parse", _body_must_not_be_read)

    response = owner_client.post(LIST_URL, _mini_upload(), headers=htmx_headers)

    _assert_refused(response, 'id="evidence-panel"', "The upload is ")
    assert "<html" not in response.content.decode()


def test_a_viewer_is_refused_before_the_size_of_the_upload(
    viewer_client, settings, monkeypatch
):
    settings.CANDOR_MAX_IMPORT_TOTAL_BYTES = 2000
    monkeypatch.setattr(MultiPartParser, "parse", _body_must_not_be_read)

    response = viewer_client.post(LIST_URL, _mini_upload())

    assert response.status_code == 403


def test_the_upload_still_needs_its_csrf_token(owner, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(LIST_URL, _mini_upload())

    assert response.status_code == 403
    assert EvidenceImport.objects.count() == 0


def test_the_page_names_both_size_limits(owner_client, settings):
    settings.CANDOR_MAX_IMPORT_TOTAL_BYTES = 20 * 1024 * 1024

    response = owner_client.get(LIST_URL)

    assert "at most 5.0\xa0MB each and 20.0\xa0MB in all" in (response.content.decode())


def _body_must_not_be_read(*args, **kwargs):
    raise AssertionError("the upload's body was read")


def test_uploading_the_same_edition_again_says_nothing_changed(
    owner_client, workspace, evidence_import
):
    response = owner_client.post(LIST_URL, _mini_upload(), follow=True)

    on = f"{timezone.localdate(evidence_import.created_at):%-d %b %Y}"
    assert response.redirect_chain == [(_detail_url(evidence_import), 302)]
    assert (
        f"This edition is already imported (on {on}); nothing changed."
        in response.content.decode()
    )
    assert EvidenceImport.objects.count() == 1


def test_htmx_upload_of_the_same_edition_says_so_in_the_panel(
    owner_client, workspace, evidence_import, htmx_headers
):
    response = owner_client.post(LIST_URL, _mini_upload(), headers=htmx_headers)

    page = response.content.decode()
    assert "This edition is already imported (on " in page
    assert "; nothing changed.</strong>" in page
    assert "no rows were added" in page
    assert EvidenceImport.objects.count() == 1


def test_uploading_the_same_edition_prefills_an_assessment_opened_since(
    owner_client, workspace, evidence_import
):
    make_assessment(workspace, "Northwind AI", make_framework())

    response = owner_client.post(LIST_URL, _mini_upload(), follow=True)

    assert (
        "so it was not stored again. Pre-filled 5 answers in 1 assessment from it."
        in response.content.decode()
    )
    assert EvidenceImport.objects.count() == 1


def test_swapped_files_are_named_in_one_line_each(owner_client):
    data = _mini_upload()
    data["indicators"], data["scores"] = (
        _upload(MINI_FOLDER / "scores.csv"),
        _upload(MINI_FOLDER / "indicators.csv"),
    )

    response = owner_client.post(LIST_URL, data)

    _assert_refused(
        response,
        "indicators.csv was given as the scores file but has the columns of the "
        "indicators file (indicators.csv) — were the two files swapped?",
    )
    assert "scores must be 0 or 1" not in response.content.decode()


def test_upload_needs_the_scores_file_and_keeps_nothing_typed(owner_client):
    data = _mini_upload()
    del data["scores"]

    response = owner_client.post(LIST_URL, data)

    _assert_refused(response, "This field is required.")
    # Browsers never refill file inputs; the page must not echo file contents.
    assert "Northwind" not in response.content.decode()


# --- One import ----------------------------------------------------------------


def _detail_url(evidence_import: EvidenceImport) -> str:
    return reverse("evidence_import_detail", args=[evidence_import.pk])


def test_detail_shows_each_developer_and_the_matched_vendors(
    owner_client, workspace, evidence_import
):
    vendor = VendorFactory(workspace=workspace, name="quillstone")

    response = owner_client.get(_detail_url(evidence_import))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>FMTI December 2025</h1>" in page
    assert CREDIT in page
    assert '<span class="evidence-count">3 / 6</span>' in page
    assert '<span class="evidence-count">1 / 6</span>' in page
    assert f'<a href="{vendor.get_absolute_url()}">quillstone</a>' in page
    assert "Scores only" in page
    assert "disclosed 3 of 6" in page


def test_detail_without_matching_vendors_says_how_matching_works(
    owner_client, evidence_import
):
    response = owner_client.get(_detail_url(evidence_import))

    assert "None of your vendors matches a developer in this import." in (
        response.content.decode()
    )


def test_detail_htmx_request_renders_the_developer_table_only(
    owner_client, evidence_import, htmx_headers
):
    response = owner_client.get(_detail_url(evidence_import), headers=htmx_headers)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="developers"')
    assert "Northwind AI" in page
    assert "<html" not in page


def test_detail_of_another_workspace_is_not_found(outsider_client, evidence_import):
    response = outsider_client.get(_detail_url(evidence_import))

    assert response.status_code == 404


def test_detail_is_readable_by_a_viewer(viewer_client, evidence_import):
    response = viewer_client.get(_detail_url(evidence_import))

    assert response.status_code == 200


def test_detail_refuses_post(owner_client, evidence_import):
    response = owner_client.post(_detail_url(evidence_import))

    assert response.status_code == 405


def test_detail_sends_anonymous_visitor_to_login(client, evidence_import):
    response = client.get(_detail_url(evidence_import))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_detail_of_a_missing_import_is_not_found(owner_client, db):
    response = owner_client.get(reverse("evidence_import_detail", args=[999]))

    assert response.status_code == 404


# --- The real edition -----------------------------------------------------------


@requires_fmti_data
def test_uploading_the_real_edition_prefills_a_matching_vendor(
    owner_client, workspace, candor_v1
):
    assessment = make_assessment(workspace, "Anthropic", candor_v1)
    data = {
        "indicators": _upload(FMTI_FOLDER / "indicators.csv"),
        "scores": _upload(FMTI_FOLDER / "scores.csv"),
        "reports": [
            _upload(path) for path in sorted((FMTI_FOLDER / "reports").glob("*.csv"))
        ],
    }

    response = owner_client.post(LIST_URL, data, follow=True)

    page = response.content.decode()
    assert "13 developers, 100 indicators" in page
    assert '<span class="evidence-count">' in page
    assert assessment.answers.filter(tier=EvidenceTier.PUBLICLY_DISCLOSED).exists()


def test_other_workspace_imports_do_not_count_on_the_list(owner_client, workspace):
    evidence_import_create(workspace=WorkspaceFactory(), files=mini_files())

    response = owner_client.get(LIST_URL)

    assert "No index imported yet." in response.content.decode()
