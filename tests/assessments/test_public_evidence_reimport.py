"""Importing an edition again, and files that belong in another slot or edition."""

from __future__ import annotations

import codecs
import dataclasses
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from assessments.models import EvidenceImport
from assessments.public_evidence import (
    FmtiFile,
    FmtiFiles,
    FmtiFormatError,
    evidence_import_create,
    fmti_files_from_folder,
    fmti_parse,
)
from tests.assessments.fmti_helpers import (
    MINI_FOLDER,
    answers_by_key,
    make_assessment,
    make_framework,
    mini_files,
    patch_rescore,
    row_counts,
)
from tests.conftest import FMTI_FOLDER, requires_fmti_data
from tests.factories import WorkspaceFactory


@pytest.fixture(autouse=True)
def rescore_calls(monkeypatch):
    return patch_rescore(monkeypatch)


@pytest.fixture
def framework(db):
    return make_framework()


def _with_scores(files: FmtiFiles, old: bytes, new: bytes) -> FmtiFiles:
    content = files.scores.content
    assert old in content
    scores = FmtiFile(files.scores.name, content.replace(old, new))
    return dataclasses.replace(files, scores=scores)


def _newer_edition() -> FmtiFiles:
    """fmti-mini with one score of Orbital Labs (which has no report) changed."""
    return _with_scores(
        mini_files(), b"Versioning protocol,1,0,0", b"Versioning protocol,1,1,0"
    )


def _problems(files: FmtiFiles) -> list[str]:
    with pytest.raises(FmtiFormatError) as caught:
        fmti_parse(files)
    return caught.value.problems


# --- The same edition again --------------------------------------------------


def test_the_same_edition_again_is_not_stored_twice(workspace):
    first = evidence_import_create(workspace=workspace, files=mini_files())
    before = row_counts()

    again = evidence_import_create(workspace=workspace, files=mini_files())

    assert again.already_imported
    assert again.evidence_import == first.evidence_import
    assert row_counts() == before
    assert not first.already_imported


def test_the_same_edition_again_changes_no_answer(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    evidence_import_create(workspace=workspace, files=mini_files())
    versions = {k: a.version for k, a in answers_by_key(assessment).items()}

    again = evidence_import_create(workspace=workspace, files=mini_files())

    assert again.answers_prefilled == again.assessments_prefilled == 0
    assert {k: a.version for k, a in answers_by_key(assessment).items()} == versions


def test_the_same_edition_again_is_logged_as_such(workspace, caplog):
    first = evidence_import_create(workspace=workspace, files=mini_files())
    caplog.set_level(logging.INFO, logger="assessments.public_evidence")

    evidence_import_create(workspace=workspace, files=mini_files())

    assert (
        f"evidence_import={first.evidence_import.pk} workspace={workspace.pk} "
        "edition='FMTI December 2025' already imported"
    ) in caplog.text


def test_reports_in_another_order_and_a_byte_order_mark_are_the_same_edition(
    workspace,
):
    files = mini_files()
    evidence_import_create(workspace=workspace, files=files)
    bom_indicators = FmtiFile(
        files.indicators.name, codecs.BOM_UTF8 + files.indicators.content
    )
    reordered = dataclasses.replace(
        files, indicators=bom_indicators, reports=tuple(reversed(files.reports))
    )

    again = evidence_import_create(workspace=workspace, files=reordered)

    assert again.already_imported
    assert EvidenceImport.objects.count() == 1


def test_the_same_edition_again_prefills_an_assessment_opened_since(
    workspace, framework
):
    evidence_import_create(workspace=workspace, files=mini_files())
    assessment = make_assessment(workspace, "Northwind AI", framework)

    again = evidence_import_create(workspace=workspace, files=mini_files())

    assert again.already_imported
    assert (again.assessments_prefilled, again.answers_prefilled) == (1, 5)
    assert answers_by_key(assessment)["changes"].evidence_import == (
        again.evidence_import
    )


def test_a_changed_score_is_a_new_import(workspace):
    evidence_import_create(workspace=workspace, files=mini_files())

    newer = evidence_import_create(workspace=workspace, files=_newer_edition())

    assert not newer.already_imported
    assert EvidenceImport.objects.count() == 2


def test_a_report_added_later_is_a_new_import(workspace):
    files = mini_files()
    evidence_import_create(
        workspace=workspace, files=dataclasses.replace(files, reports=())
    )

    with_reports = evidence_import_create(workspace=workspace, files=files)

    assert not with_reports.already_imported


def test_an_older_edition_again_after_a_newer_one_is_stored_again(workspace):
    evidence_import_create(workspace=workspace, files=mini_files())
    evidence_import_create(workspace=workspace, files=_newer_edition())

    back = evidence_import_create(workspace=workspace, files=mini_files())

    # It becomes the latest, which new assessments are pre-filled from.
    assert not back.already_imported
    assert EvidenceImport.objects.count() == 3


def test_another_workspace_gets_its_own_copy_of_the_edition(workspace):
    evidence_import_create(workspace=WorkspaceFactory(), files=mini_files())

    mine = evidence_import_create(workspace=workspace, files=mini_files())

    assert not mine.already_imported
    assert mine.evidence_import.workspace == workspace


# --- A file in the wrong slot, or of another edition -------------------------


def test_swapped_indicators_and_scores_are_named_plainly():
    files = mini_files()
    swapped = dataclasses.replace(
        files, indicators=files.scores, scores=files.indicators
    )

    problems = _problems(swapped)

    assert problems == [
        "scores.csv was given as the indicators file but has the columns of the "
        "scores file (scores.csv) — were the two files swapped?",
        "indicators.csv was given as the scores file but has the columns of the "
        "indicators file (indicators.csv) — were the two files swapped?",
    ]


def test_the_indicators_file_given_as_scores_is_one_line_not_one_per_cell():
    files = mini_files()

    problems = _problems(dataclasses.replace(files, scores=files.indicators))

    assert len(problems) == 1
    assert "has the columns of the indicators file (indicators.csv)" in problems[0]


def test_the_indicators_file_given_as_a_report_says_where_it_belongs():
    files = mini_files()

    problems = _problems(
        dataclasses.replace(files, reports=(files.indicators, *files.reports))
    )

    assert problems == [
        "indicators.csv was given as a developer report but has the columns of the "
        "indicators file (indicators.csv) — upload it as the indicators file instead."
    ]


def test_a_report_given_as_the_scores_file_says_where_it_belongs():
    files = mini_files()

    problems = _problems(dataclasses.replace(files, scores=files.reports[0]))

    assert len(problems) == 1
    assert problems[0].startswith(
        "reports/Northwind AI.csv was given as the scores file but has the columns "
        "of a developer report (such as OpenAI.csv)"
    )


def test_scores_of_another_scale_are_one_line_naming_the_columns():
    files = mini_files()
    percentages = files.scores.content.replace(b",0", b",45%").replace(b",1", b",80%")
    other = dataclasses.replace(files, scores=FmtiFile("scores.csv", percentages))

    problems = _problems(dataclasses.replace(other, reports=()))

    assert problems == [
        "scores.csv: the columns 'Northwind AI', 'Orbital Labs', 'Quillstone' hold "
        "no scores of 0 or 1 (the first is '80%'). A scores file of the December "
        "2025 edition has 'Indicator' and one column per developer, with 0 or 1 in "
        "every cell."
    ]


def test_a_single_bad_score_is_still_named_by_line_and_cell():
    files = _with_scores(mini_files(), b"Model stages,0,0,1", b"Model stages,0,x,1")

    problems = _problems(dataclasses.replace(files, reports=()))

    assert problems == [
        "scores.csv, line 4: the score of Orbital Labs for 'Model stages' is 'x'; "
        "scores must be 0 or 1."
    ]


def test_a_scores_header_with_columns_of_other_files_names_expected_and_found():
    files = mini_files()
    header = b"Indicator,Domain,Northwind AI"
    other = FmtiFile("scores.csv", header + b"\r\nModel objectives,Upstream,1\r\n")

    problems = _problems(dataclasses.replace(files, scores=other, reports=()))

    assert problems == [
        "scores.csv does not have the columns of a December 2025 scores file: "
        "expected 'Indicator' and one column per developer; found 'Indicator', "
        "'Domain', 'Northwind AI'."
    ]


def test_scores_naming_none_of_the_indicators_ask_about_the_edition():
    files = mini_files()
    renamed = files.scores.content
    for name in (b"Model objectives", b"Usage data", b"Model stages"):
        renamed = renamed.replace(name, b"Old " + name)
    for name in (b"Change log", b"Versioning", b"Whistleblower"):
        renamed = renamed.replace(name, b"Old " + name)
    other = FmtiFile("scores.csv", renamed)

    problems = _problems(dataclasses.replace(files, scores=other, reports=()))

    assert len(problems) == 1
    assert problems[0].startswith(
        "None of the 6 indicators in scores.csv is in the indicators file"
    )
    assert problems[0].endswith("are the two files from the same edition?")


@requires_fmti_data
def test_the_real_edition_swapped_gives_two_lines_not_hundreds():
    files = fmti_files_from_folder(FMTI_FOLDER)
    swapped = dataclasses.replace(
        files, indicators=files.scores, scores=files.indicators
    )

    problems = _problems(swapped)

    assert len(problems) == 2
    assert all("were the two files swapped?" in problem for problem in problems)


def test_the_command_says_when_the_edition_is_already_imported(workspace):
    first = evidence_import_create(workspace=workspace, files=mini_files())
    out = StringIO()

    call_command("import_fmti", str(MINI_FOLDER), stdout=out)

    on = f"{timezone.localdate(first.evidence_import.created_at):%-d %b %Y}"
    assert (
        f"FMTI December 2025 is already imported into workspace 'Acme Robotics' "
        f"(import {first.evidence_import.pk}, on {on}); nothing was stored again."
    ) in out.getvalue()
    assert EvidenceImport.objects.count() == 1
