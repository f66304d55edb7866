from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import logging
from pathlib import Path

import pytest

from assessments.models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceImport,
    EvidenceTier,
    IndicatorDisclosure,
)
from assessments.public_evidence import (
    FmtiFile,
    FmtiFormatError,
    evidence_import_create,
    evidence_import_developers,
    fmti_files_from_folder,
    fmti_parse,
    public_evidence_prefill,
)
from assessments.services import assessment_rescore
from tests.assessments.fmti_helpers import (
    CREDIT,
    MINI_FOLDER,
    answers_by_key,
    copy_mini,
    make_assessment,
    make_framework,
    mini_files,
    patch_rescore,
    row_counts,
)
from tests.conftest import FMTI_FOLDER, requires_fmti_data
from tests.factories import UserFactory, VendorFactory, WorkspaceFactory

INDEX_SITE = "https://crfm.stanford.edu/fmti/"
# The options that say "unknown / not disclosed"; each scores 0.
NOT_DISCLOSED_VALUES = {"unknown", "not_disclosed"}


@pytest.fixture(autouse=True)
def rescore_calls(monkeypatch):
    return patch_rescore(monkeypatch)


@pytest.fixture
def framework(db):
    return make_framework()


def _replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    """Edit a CSV file in place, keeping its line endings and byte-order mark."""
    raw = path.read_bytes()
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    text = raw.decode("utf-8-sig")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_bytes(bom + text.replace(old, new, count).encode("utf-8"))


def _drop_indicator(folder: Path, name: str) -> None:
    """Remove an indicator from every file of an edition, as if it never had it."""
    for path in [
        folder / "indicators.csv",
        folder / "scores.csv",
        *sorted((folder / "reports").glob("*.csv")),
    ]:
        raw = path.read_bytes()
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        column = rows[0].index("Indicator")
        kept = [row for row in rows if row[column] != name]
        assert len(kept) == len(rows) - 1, f"{name!r} not once in {path.name}"
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(kept)
        path.write_bytes(bom + out.getvalue().encode("utf-8"))


def _option_score(question, value: str) -> float:
    return next(o["score"] for o in question.options if o["value"] == value)


def _problems(folder: Path) -> str:
    with pytest.raises(FmtiFormatError) as caught:
        fmti_parse(fmti_files_from_folder(folder))
    return "\n".join(caught.value.problems)


# --- Parsing ---------------------------------------------------------------


def test_mini_fixture_parses_every_developer_and_indicator():
    edition = fmti_parse(mini_files())

    assert edition.format.name == "FMTI December 2025"
    assert edition.developers == ("Northwind AI", "Orbital Labs", "Quillstone")
    assert edition.reported_developers == ("Northwind AI", "Quillstone")
    assert len(edition.indicators) == 6
    assert len(edition.disclosures) == 18


def test_reports_add_text_and_developer_without_report_has_scores_only():
    edition = fmti_parse(mini_files())

    rows = {(d.developer, d.indicator): d for d in edition.disclosures}
    quillstone = rows["Quillstone", "Model objectives"]
    orbital = rows["Orbital Labs", "Change log"]
    assert quillstone.score == 1
    assert '"concise, correct"' in quillstone.disclosure
    assert quillstone.references.startswith("Technical report")
    assert orbital.score == 1
    assert (orbital.disclosure, orbital.justification, orbital.references) == (
        "",
        "",
        "",
    )


def test_files_with_and_without_byte_order_mark_read_alike(tmp_path):
    folder = copy_mini(tmp_path)
    indicators = folder / "indicators.csv"
    indicators.write_bytes(b"\xef\xbb\xbf" + indicators.read_bytes())

    edition = fmti_parse(fmti_files_from_folder(folder))

    assert edition.indicators[0].name == "Model objectives"
    assert edition.indicators[0].domain == "Upstream"


def test_file_names_of_the_index_repository_are_accepted(tmp_path):
    folder = copy_mini(tmp_path)
    (folder / "indicators.csv").rename(folder / "Dec2025_indicators.csv")
    (folder / "scores.csv").rename(folder / "Dec2025_scores.csv")
    (folder / "reports" / "Northwind AI.csv").rename(
        folder / "reports" / "Northwind_AI_fmtransparencyreport_Dec2025.csv"
    )
    (folder / "reports" / ".DS_Store").write_bytes(b"\x00\x01")

    edition = fmti_parse(fmti_files_from_folder(folder))

    assert edition.reported_developers == ("Northwind AI", "Quillstone")


# --- Bad files: a clear message, nothing written ---------------------------


@pytest.fixture
def prefilled_world(db, workspace, framework):
    """A workspace with a matching vendor, so a bad import has something to spoil."""
    return make_assessment(workspace, "Northwind AI", framework)


def _import_fails(workspace, folder: Path) -> str:
    before = row_counts()
    with pytest.raises(FmtiFormatError) as caught:
        evidence_import_create(
            workspace=workspace, files=fmti_files_from_folder(folder)
        )
    assert row_counts() == before
    return "\n".join(caught.value.problems)


def test_missing_column_names_the_file_and_column(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    _replace_in(folder / "indicators.csv", "Definition,Notes,", "Definition,")

    message = _import_fails(workspace, folder)

    assert "indicators.csv does not have the columns" in message
    assert "missing 'Notes'" in message


def test_unexpected_report_column_names_missing_and_unexpected(
    workspace, prefilled_world, tmp_path
):
    folder = copy_mini(tmp_path)
    _replace_in(
        folder / "reports" / "Quillstone.csv", "References,Score", "Sources,Score"
    )

    message = _import_fails(workspace, folder)

    assert "reports/Quillstone.csv does not have the columns" in message
    assert "missing 'References'" in message
    assert "unexpected 'Sources'" in message


def test_renamed_file_is_reported_as_missing(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    (folder / "scores.csv").rename(folder / "May2024_scores.csv")

    message = _import_fails(workspace, folder)

    assert "scores.csv (or Dec2025_scores.csv) is missing" in message
    assert "'May2024_scores.csv'" in message


def test_score_of_two_is_refused_with_developer_and_indicator(
    workspace, prefilled_world, tmp_path
):
    folder = copy_mini(tmp_path)
    _replace_in(folder / "scores.csv", "Model stages,0,0,1", "Model stages,0,2,1")

    message = _import_fails(workspace, folder)

    assert "scores.csv, line 4" in message
    assert "Orbital Labs for 'Model stages' is '2'; scores must be 0 or 1" in message


def test_score_of_two_in_a_report_is_refused(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    report = folder / "reports" / "Quillstone.csv"
    _replace_in(report, '""Pipeline"" section",1', '""Pipeline"" section",2')

    message = _import_fails(workspace, folder)

    assert "reports/Quillstone.csv" in message
    assert "the score for 'Model stages' is '2'" in message


def test_report_indicator_unknown_to_indicators_file_is_refused(
    workspace, prefilled_world, tmp_path
):
    folder = copy_mini(tmp_path)
    _replace_in(
        folder / "reports" / "Quillstone.csv", "\nChange log,", "\nSecret sauce,"
    )

    message = _import_fails(workspace, folder)

    assert "reports/Quillstone.csv names indicators that are not in the indicators" in (
        message
    )
    assert "'Secret sauce'" in message


def test_report_disagreeing_with_scores_names_the_indicators(
    workspace, prefilled_world, tmp_path
):
    folder = copy_mini(tmp_path)
    _replace_in(folder / "scores.csv", "Change log,1,1,1", "Change log,1,1,0")

    message = _import_fails(workspace, folder)

    assert "reports/Quillstone.csv disagrees with the scores file for Quillstone" in (
        message
    )
    assert "'Change log' (report 1, scores 0)" in message


def test_file_cut_off_inside_a_cell_is_refused(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    report = folder / "reports" / "Quillstone.csv"
    content = report.read_bytes()
    report.write_bytes(content[: content.index(b"reward model favours") + 10])

    message = _import_fails(workspace, folder)

    assert "reports/Quillstone.csv" in message
    assert "cut short" in message


def test_file_cut_off_between_rows_is_refused(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    report = folder / "reports" / "Northwind AI.csv"
    content = report.read_bytes()
    report.write_bytes(content[: content.index(b"\r\nChange log,") + 2])

    message = _import_fails(workspace, folder)

    assert "reports/Northwind AI.csv has no row for 3 indicator(s)" in message
    assert "'Change log'" in message


def test_file_cut_off_mid_row_is_refused(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    scores = folder / "scores.csv"
    content = scores.read_bytes()
    cut = content.index(b"Whistleblower protection,") + len(
        b"Whistleblower protection,"
    )
    scores.write_bytes(content[:cut] + b"0")

    message = _import_fails(workspace, folder)

    assert "scores.csv, line 7: 2 cells where the header has 4" in message


def test_empty_file_is_refused(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    (folder / "scores.csv").write_bytes(b"")

    message = _import_fails(workspace, folder)

    assert "scores.csv is empty." in message


def test_header_without_rows_is_refused(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    (folder / "indicators.csv").write_text(
        "Domain,Subdomain,Indicator,Definition,Notes,Example disclosure\r\n"
    )

    message = _import_fails(workspace, folder)

    assert "indicators.csv has a header but no rows." in message


def test_file_not_in_utf8_is_refused(workspace, prefilled_world, tmp_path):
    folder = copy_mini(tmp_path)
    report = folder / "reports" / "Quillstone.csv"
    text = report.read_text(encoding="utf-8").replace("pre-training", "pré-training")
    report.write_bytes(text.encode("latin-1"))

    message = _import_fails(workspace, folder)

    assert "reports/Quillstone.csv is not UTF-8 text (byte 0xe9" in message


def test_report_of_a_developer_missing_from_scores_is_refused(
    workspace, prefilled_world, tmp_path
):
    folder = copy_mini(tmp_path)
    (folder / "reports" / "Quillstone.csv").rename(folder / "reports" / "Acme.csv")

    message = _import_fails(workspace, folder)

    assert "reports/Acme.csv: the file name should be a developer of scores.csv" in (
        message
    )


def test_every_problem_is_listed_at_once(tmp_path):
    folder = copy_mini(tmp_path)
    _replace_in(folder / "scores.csv", "Model stages,0,0,1", "Model stages,0,0,x")
    (folder / "reports" / "Northwind AI.csv").write_bytes(b"  \n")

    message = _problems(folder)

    assert "is 'x'; scores must be 0 or 1" in message
    assert "reports/Northwind AI.csv is empty." in message


def test_one_bad_report_among_good_files_imports_nothing(
    workspace, prefilled_world, tmp_path
):
    folder = copy_mini(tmp_path)
    _replace_in(folder / "reports" / "Quillstone.csv", "\nChange log,", "\nNonsense,")

    _import_fails(workspace, folder)

    assert prefilled_world.answers.count() == 0


def test_folder_that_does_not_exist_is_refused(tmp_path):
    message = _problems(tmp_path / "nowhere")

    assert "nowhere is not a folder." in message


def test_binary_content_is_refused():
    files = mini_files()
    broken = dataclasses.replace(
        files, indicators=FmtiFile("indicators.csv", b"PK\x03\x04\x00\x00")
    )

    with pytest.raises(FmtiFormatError) as caught:
        fmti_parse(broken)

    assert "indicators.csv is not a CSV text file" in caught.value.problems[0]


# --- Storing the import -----------------------------------------------------


def test_import_stores_edition_credit_and_every_disclosure(workspace):
    user = UserFactory()

    summary = evidence_import_create(workspace=workspace, files=mini_files(), user=user)

    evidence_import = summary.evidence_import
    assert evidence_import.workspace == workspace
    assert evidence_import.edition == "FMTI December 2025"
    assert evidence_import.credit == CREDIT
    assert evidence_import.imported_by == user
    assert evidence_import.disclosures.count() == 18
    row = evidence_import.disclosures.get(
        developer="Northwind AI", indicator="Change log"
    )
    assert row.score == 1
    assert row.justification == "A dated change log is published."
    assert (summary.developers, summary.reports, summary.indicators) == (3, 2, 6)


def test_import_is_logged_with_its_id(workspace, caplog):
    caplog.set_level(logging.INFO, logger="assessments.public_evidence")

    summary = evidence_import_create(workspace=workspace, files=mini_files())

    assert f"evidence_import={summary.evidence_import.pk}" in caplog.text
    assert f"workspace={workspace.pk}" in caplog.text


# --- Pre-filling ------------------------------------------------------------


def test_all_disclosed_prefills_the_all_value(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    answers = answers_by_key(assessment)
    assert answers["objectives"].value == "yes"
    assert answers["changes"].value == "yes"
    assert answers["changes_strict"].value == "yes"


def test_some_disclosed_prefills_the_some_value(workspace, framework):
    assessment = make_assessment(workspace, "Quillstone", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    answers = answers_by_key(assessment)
    assert answers["objectives"].value == "partly"
    assert answers["changes"].value == "partly"
    assert answers["stages"].value == "yes"


def test_some_disclosed_without_a_some_value_is_left_open(workspace, framework):
    assessment = make_assessment(workspace, "Quillstone", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    assert "changes_strict" not in answers_by_key(assessment)


def test_nothing_disclosed_prefills_not_disclosed_naming_the_withheld_indicators(
    workspace, framework
):
    assessment = make_assessment(workspace, "Orbital Labs", framework)

    summary = evidence_import_create(workspace=workspace, files=mini_files())

    answers = answers_by_key(assessment)
    assert {key: answer.value for key, answer in answers.items()} == {
        "objectives": "unknown",
        "changes": "partly",
        "stages": "unknown",
        "whistleblowing": "unknown",
    }
    objectives = answers["objectives"]
    assert objectives.tier == EvidenceTier.PUBLICLY_DISCLOSED
    assert objectives.evidence_import == summary.evidence_import
    assert objectives.answered_by is None
    assert objectives.source_url == INDEX_SITE
    assert "Not disclosed: Model objectives; Usage data used in training." in (
        objectives.note
    )
    assert "Disclosed:" not in objectives.note
    assert objectives.note.endswith(f"Source: {CREDIT}.")
    question = framework.questions.get(key="objectives")
    assert _option_score(question, objectives.value) == 0


def test_withheld_indicator_brings_the_index_justification_into_the_note(
    workspace, framework
):
    assessment = make_assessment(workspace, "Northwind AI", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    answer = answers_by_key(assessment)["stages"]
    assert answer.value == "unknown"
    assert answer.source_url == INDEX_SITE
    assert answer.note.splitlines()[1:3] == [
        "Not disclosed: Model stages.",
        'Index justification (Model stages): No list of stages beyond "pre-training '
        'and alignment".',
    ]
    assert "Disclosed:" not in answer.note
    assert "was not imported" not in answer.note


def test_question_without_indicators_is_never_prefilled(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    assert set(answers_by_key(assessment)) == {
        "objectives",
        "changes",
        "changes_strict",
        "stages",
        "whistleblowing",
    }


def test_question_whose_indicators_are_missing_from_the_edition_is_not_prefilled(
    workspace, framework, tmp_path
):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    folder = copy_mini(tmp_path)
    _drop_indicator(folder, "Whistleblower protection")

    evidence_import_create(workspace=workspace, files=fmti_files_from_folder(folder))

    answers = answers_by_key(assessment)
    assert "whistleblowing" not in answers
    assert answers["stages"].value == "unknown"


def test_prefilled_answer_carries_tier_source_note_and_credit(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)

    summary = evidence_import_create(workspace=workspace, files=mini_files())

    answer = answers_by_key(assessment)["objectives"]
    assert answer.tier == EvidenceTier.PUBLICLY_DISCLOSED
    assert answer.evidence_import == summary.evidence_import
    assert answer.answered_by is None
    assert answer.source_url == "https://northwind.example/model-card#training"
    assert "Disclosed: Model objectives; Usage data used in training." in answer.note
    assert "Index justification (Model objectives): The card names an objective" in (
        answer.note
    )
    assert answer.note.endswith(f"Source: {CREDIT}.")


def test_source_is_the_first_url_of_the_disclosed_indicators(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    # The change log's reference ends a sentence: the full stop is not part of it.
    assert answers_by_key(assessment)["changes"].source_url == (
        "https://northwind.example/changelog"
    )


def test_references_without_url_fall_back_to_the_index_site(workspace, framework):
    assessment = make_assessment(workspace, "Quillstone", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    answer = answers_by_key(assessment)["stages"]
    assert answer.source_url == INDEX_SITE
    assert 'References: Technical report, "Pipeline" section' in answer.note


def test_note_names_what_was_not_disclosed(workspace, framework):
    assessment = make_assessment(workspace, "Quillstone", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    note = answers_by_key(assessment)["objectives"].note
    assert "Disclosed: Model objectives." in note
    assert "Not disclosed: Usage data used in training." in note


def test_developer_without_report_is_prefilled_from_scores(workspace, framework):
    assessment = make_assessment(workspace, "Orbital Labs", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    answer = answers_by_key(assessment)["changes"]
    assert answer.source_url == INDEX_SITE
    assert "report on Orbital Labs was not imported" in answer.note
    assert CREDIT in answer.note


def test_prefill_keeps_a_revision_of_each_answer(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    revision = AnswerRevision.objects.get(answer=answers_by_key(assessment)["changes"])
    assert revision.old == {}
    assert revision.new["value"] == "yes"
    assert revision.new["tier"] == "publicly_disclosed"


def test_vendor_name_matches_ignoring_case_and_surrounding_spaces(workspace, framework):
    assessment = make_assessment(workspace, "  northwind ai ", framework)

    summary = evidence_import_create(workspace=workspace, files=mini_files())

    assert summary.matched_vendors == ("  northwind ai ",)
    assert answers_by_key(assessment)["changes"].value == "yes"


def test_similar_but_different_vendor_name_does_not_match(workspace, framework):
    assessment = make_assessment(workspace, "Northwind", framework)

    summary = evidence_import_create(workspace=workspace, files=mini_files())

    assert summary.matched_vendors == ()
    assert assessment.answers.count() == 0


def test_summary_counts_assessments_and_answers(workspace, framework):
    make_assessment(workspace, "Northwind AI", framework)
    make_assessment(workspace, "Northwind AI", framework)
    make_assessment(workspace, "Orbital Labs", framework)
    make_assessment(workspace, "Unrelated Co", framework)

    summary = evidence_import_create(workspace=workspace, files=mini_files())

    assert summary.assessments_prefilled == 3
    # Northwind AI twice (3 disclosed, 2 not), Orbital Labs (1 disclosed, 3 not).
    assert summary.answers_prefilled == 5 + 5 + 4
    assert set(summary.matched_vendors) == {"Northwind AI", "Orbital Labs"}


def test_persons_answer_is_never_overwritten(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    person = UserFactory()
    question = framework.questions.get(key="changes")
    Answer.objects.create(
        assessment=assessment,
        question=question,
        value="no",
        note="The vendor told us on a call.",
        answered_by=person,
    )

    evidence_import_create(workspace=workspace, files=mini_files())

    answer = answers_by_key(assessment)["changes"]
    assert (answer.value, answer.tier, answer.evidence_import) == (
        "no",
        EvidenceTier.VENDOR_ASSERTED,
        None,
    )
    assert answer.note == "The vendor told us on a call."
    assert answer.version == 1


def test_answer_given_through_a_vendor_link_is_not_overwritten(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    question = framework.questions.get(key="changes")
    Answer.objects.create(assessment=assessment, question=question, value="partly")

    evidence_import_create(workspace=workspace, files=mini_files())

    assert answers_by_key(assessment)["changes"].value == "partly"


@pytest.mark.parametrize("by_a_person", [True, False], ids=["person", "vendor-link"])
def test_given_answer_is_not_overwritten_with_not_disclosed(
    workspace, framework, by_a_person
):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    question = framework.questions.get(key="stages")
    Answer.objects.create(
        assessment=assessment,
        question=question,
        value="yes",
        note="Stages listed in the contract annex.",
        answered_by=UserFactory() if by_a_person else None,
    )

    evidence_import_create(workspace=workspace, files=mini_files())

    answer = answers_by_key(assessment)["stages"]
    assert (answer.value, answer.evidence_import, answer.version) == ("yes", None, 1)
    assert answer.note == "Stages listed in the contract annex."


def test_empty_answer_row_is_filled(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    question = framework.questions.get(key="changes")
    Answer.objects.create(assessment=assessment, question=question, value=None)

    evidence_import_create(workspace=workspace, files=mini_files())

    answer = answers_by_key(assessment)["changes"]
    assert (answer.value, answer.version) == ("yes", 2)


def test_second_import_neither_duplicates_nor_overwrites(workspace, framework):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    question = framework.questions.get(key="objectives")
    Answer.objects.create(
        assessment=assessment, question=question, value="no", answered_by=UserFactory()
    )
    evidence_import_create(workspace=workspace, files=mini_files())
    answers_before = Answer.objects.count()
    revisions_before = AnswerRevision.objects.count()

    second = evidence_import_create(workspace=workspace, files=mini_files())

    answers = answers_by_key(assessment)
    assert Answer.objects.count() == answers_before
    assert AnswerRevision.objects.count() == revisions_before
    assert second.answers_prefilled == 0
    assert answers["objectives"].value == "no"
    assert answers["objectives"].evidence_import is None
    assert answers["changes"].evidence_import == second.evidence_import
    assert answers["changes"].version == 1


def test_newer_import_updates_answers_an_earlier_import_wrote(
    workspace, framework, tmp_path
):
    assessment = make_assessment(workspace, "Quillstone", framework)
    evidence_import_create(workspace=workspace, files=mini_files())
    folder = copy_mini(tmp_path)
    _replace_in(
        folder / "scores.csv", "Versioning protocol,1,0,0", "Versioning protocol,1,0,1"
    )
    _replace_in(
        folder / "reports" / "Quillstone.csv",
        '""Models"" page",0',
        '""Models"" page",1',
    )

    summary = evidence_import_create(
        workspace=workspace, files=fmti_files_from_folder(folder)
    )

    answer = answers_by_key(assessment)["changes"]
    assert summary.answers_prefilled == 2
    assert (answer.value, answer.version) == ("yes", 2)
    assert answer.evidence_import == summary.evidence_import
    assert answer.revisions.count() == 2


def test_newer_import_that_withdraws_every_disclosure_prefills_not_disclosed(
    workspace, framework, tmp_path
):
    assessment = make_assessment(workspace, "Northwind AI", framework)
    evidence_import_create(workspace=workspace, files=mini_files())
    folder = copy_mini(tmp_path)
    _replace_in(folder / "scores.csv", "Change log,1,1,1", "Change log,0,1,1")
    _replace_in(
        folder / "scores.csv", "Versioning protocol,1,0,0", "Versioning protocol,0,0,0"
    )
    report = folder / "reports" / "Northwind AI.csv"
    _replace_in(
        report, "northwind.example/changelog.,1", "northwind.example/changelog.,0"
    )
    _replace_in(
        report, "northwind.example/docs/versions,1", "northwind.example/docs/versions,0"
    )

    summary = evidence_import_create(
        workspace=workspace, files=fmti_files_from_folder(folder)
    )

    answer = answers_by_key(assessment)["changes"]
    assert summary.answers_prefilled == 2
    assert (answer.value, answer.version) == ("unknown", 2)
    assert answer.source_url == INDEX_SITE
    assert "Not disclosed: Change log; Versioning protocol." in answer.note
    assert answer.revisions.latest("pk").old["value"] == "yes"


def test_decided_assessment_keeps_its_evidence(workspace, framework):
    assessment = make_assessment(
        workspace, "Northwind AI", framework, status=Assessment.Status.DECIDED
    )

    evidence_import_create(workspace=workspace, files=mini_files())

    assert assessment.answers.count() == 0


def test_archived_offering_and_vendor_are_left_alone(workspace, framework):
    archived_offering = make_assessment(
        workspace, "Northwind AI", framework, offering_archived=True
    )
    archived_vendor = make_assessment(workspace, "Quillstone", framework)
    vendor = archived_vendor.offering.vendor
    vendor.archived_at = vendor.created_at
    vendor.save()

    summary = evidence_import_create(workspace=workspace, files=mini_files())

    assert summary.answers_prefilled == 0
    assert archived_offering.answers.count() == 0
    assert archived_vendor.answers.count() == 0


def test_vendor_of_another_workspace_is_not_prefilled(workspace, framework):
    other = make_assessment(WorkspaceFactory(), "Northwind AI", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    assert other.answers.count() == 0


def test_rescoring_is_requested_once_per_changed_assessment(
    workspace, framework, rescore_calls
):
    northwind = make_assessment(workspace, "Northwind AI", framework)
    orbital = make_assessment(workspace, "Orbital Labs", framework)
    make_assessment(workspace, "Unrelated Co", framework)

    evidence_import_create(workspace=workspace, files=mini_files())

    assert sorted(rescore_calls.assessment_ids) == sorted([northwind.pk, orbital.pk])


def test_developer_who_disclosed_little_gets_a_low_score_not_an_a(workspace, framework):
    # Orbital Labs disclosed one of the six indicators: the change log.
    assessment = make_assessment(workspace, "Orbital Labs", framework)
    evidence_import_create(workspace=workspace, files=mini_files())

    data = assessment_rescore(assessment.pk).data

    # changes "partly" (50); objectives, stages, whistleblowing "unknown" (0).
    assert (data["answered"], data["applicable"]) == (4, 6)
    assert data["overall"] == 12.5
    assert data["grade"] == "F"
    assert data["recommended_decision"] == "reject"


def test_three_disclosures_do_not_read_as_an_a(workspace, framework, tmp_path):
    folder = copy_mini(tmp_path)
    scores = folder / "scores.csv"
    _replace_in(scores, "Model stages,0,0,1", "Model stages,0,1,1")
    _replace_in(scores, "Versioning protocol,1,0,0", "Versioning protocol,1,1,0")
    assessment = make_assessment(workspace, "Orbital Labs", framework)
    evidence_import_create(workspace=workspace, files=fmti_files_from_folder(folder))

    data = assessment_rescore(assessment.pk).data

    # Three "yes" (100) and two "unknown" (0). Left open, the two would have let
    # the three answers cover half the weight at 100: an A.
    assert (data["answered"], data["applicable"]) == (5, 6)
    assert data["overall"] == 60.0
    assert data["grade"] == "C"


def test_failed_rescoring_request_rolls_the_whole_import_back(
    workspace, framework, monkeypatch
):
    make_assessment(workspace, "Northwind AI", framework)

    def refuse(assessment):
        raise RuntimeError("broker down")

    monkeypatch.setattr("assessments.services.assessment_rescore_request", refuse)
    before = row_counts()

    with pytest.raises(RuntimeError):
        evidence_import_create(workspace=workspace, files=mini_files())

    assert row_counts() == before


# --- Pre-filling a new assessment -------------------------------------------


def test_new_assessment_is_prefilled_from_the_latest_import(
    workspace, framework, rescore_calls, tmp_path
):
    evidence_import_create(workspace=workspace, files=mini_files())
    folder = copy_mini(tmp_path)
    _replace_in(folder / "scores.csv", "Model stages,0,0,1", "Model stages,1,0,1")
    _replace_in(
        folder / "reports" / "Northwind AI.csv",
        ",,0\r\nChange log",
        ",,1\r\nChange log",
    )
    latest = evidence_import_create(
        workspace=workspace, files=fmti_files_from_folder(folder)
    ).evidence_import
    assessment = make_assessment(workspace, "Northwind AI", framework)

    changed = public_evidence_prefill(assessment)

    answers = answers_by_key(assessment)
    assert changed == 5
    assert answers["stages"].value == "yes"
    assert answers["whistleblowing"].value == "unknown"
    assert {a.evidence_import for a in answers.values()} == {latest}
    assert rescore_calls.assessment_ids == [assessment.pk]


def test_prefill_is_a_no_op_without_any_import(workspace, framework, rescore_calls):
    assessment = make_assessment(workspace, "Northwind AI", framework)

    changed = public_evidence_prefill(assessment)

    assert changed == 0
    assert assessment.answers.count() == 0
    assert rescore_calls.assessment_ids == []


def test_prefill_is_a_no_op_for_a_vendor_the_index_lacks(
    workspace, framework, rescore_calls
):
    evidence_import_create(workspace=workspace, files=mini_files())
    assessment = make_assessment(workspace, "Unrelated Co", framework)

    changed = public_evidence_prefill(assessment)

    assert changed == 0
    assert rescore_calls.assessment_ids == []


def test_prefill_ignores_imports_of_other_workspaces(workspace, framework):
    evidence_import_create(workspace=WorkspaceFactory(), files=mini_files())
    assessment = make_assessment(workspace, "Northwind AI", framework)

    assert public_evidence_prefill(assessment) == 0


# --- The detail summary -----------------------------------------------------


def test_developer_summary_counts_disclosures_and_matches_vendors(workspace, framework):
    make_assessment(workspace, "Quillstone", framework)
    VendorFactory(workspace=WorkspaceFactory(), name="Northwind AI")
    evidence_import = evidence_import_create(
        workspace=workspace, files=mini_files()
    ).evidence_import

    developers = evidence_import_developers(evidence_import)

    by_name = {d.name: d for d in developers}
    assert developers[0].name == "Quillstone"
    assert (by_name["Quillstone"].disclosed, by_name["Quillstone"].total) == (3, 6)
    assert [v.name for v in by_name["Quillstone"].vendors] == ["Quillstone"]
    # Objectives, changes and stages disclosed; whistleblowing not disclosed.
    assert by_name["Quillstone"].answers == 4
    assert by_name["Northwind AI"].vendors == ()
    assert by_name["Orbital Labs"].reported is False


# --- The real Candor v1 framework -------------------------------------------


def test_candor_v1_is_prefilled_from_the_mini_fixture(workspace, candor_v1):
    assessment = make_assessment(workspace, "Northwind AI", candor_v1)
    with (MINI_FOLDER / "indicators.csv").open(encoding="utf-8-sig", newline="") as f:
        in_fixture = {row["Indicator"] for row in csv.DictReader(f)}
    touched = {
        question.key
        for question in candor_v1.questions.all()
        if any(name in in_fixture for name in question.indicators)
    }

    evidence_import_create(workspace=workspace, files=mini_files())

    answers = answers_by_key(assessment)
    assert set(answers) == touched
    # Data retention and deletion policy is not in the fixture at all.
    assert "t_retention_policy" not in answers
    assert answers["t_change_log"].value == "yes"
    assert answers["t_versioning"].value == "yes"
    # Capabilities taxonomy is not in the fixture, so it counts as not disclosed.
    assert answers["ot_objectives_published"].value == "partly"
    assert answers["ed_stages_published"].value == "unknown"
    oversight = answers["v_oversight"]
    assert oversight.value == "unknown"
    assert "Not disclosed: Whistleblower protection." in oversight.note
    assert "Not in this edition: Oversight mechanism." in oversight.note
    assert all(a.tier == EvidenceTier.PUBLICLY_DISCLOSED for a in answers.values())


def _real_scores(developer: str) -> dict[str, str]:
    with (FMTI_FOLDER / "scores.csv").open(encoding="utf-8-sig", newline="") as f:
        return {row["Indicator"]: row[developer] for row in csv.DictReader(f)}


def _mapped_questions(framework) -> list:
    return [
        question
        for question in framework.questions.all()
        if question.indicators and question.public_evidence
    ]


def _expected_from_scores_csv(framework, developer: str) -> dict[str, str]:
    """What the rule predicts, read straight from scores.csv with the csv module."""
    scores = _real_scores(developer)
    expected = {}
    for question in _mapped_questions(framework):
        in_edition = [name for name in question.indicators if name in scores]
        if not in_edition:
            continue
        disclosed = sum(scores[name] == "1" for name in in_edition)
        if disclosed == len(question.indicators):
            case = "all"
        elif disclosed:
            case = "some"
        else:
            (expected[question.key],) = (
                option["value"]
                for option in question.options
                if option["value"] in NOT_DISCLOSED_VALUES
            )
            continue
        if case in question.public_evidence:
            expected[question.key] = question.public_evidence[case]
    return expected


@requires_fmti_data
def test_real_edition_holds_100_indicators_and_13_developers():
    edition = fmti_parse(fmti_files_from_folder(FMTI_FOLDER))

    assert len(edition.indicators) == 100
    assert len(edition.developers) == 13
    assert edition.reported_developers == ("Anthropic", "Mistral", "OpenAI")


@requires_fmti_data
@pytest.mark.parametrize("developer", ["OpenAI", "Anthropic", "Mistral"])
def test_real_import_prefills_what_scores_csv_predicts(workspace, candor_v1, developer):
    assessment = make_assessment(workspace, developer, candor_v1)
    expected = _expected_from_scores_csv(candor_v1, developer)

    evidence_import_create(
        workspace=workspace, files=fmti_files_from_folder(FMTI_FOLDER)
    )

    answers = answers_by_key(assessment)
    scores = _real_scores(developer)
    mapped = _mapped_questions(candor_v1)
    in_edition = [q for q in mapped if any(n in scores for n in q.indicators)]
    disclosing = [q for q in mapped if any(scores.get(n) == "1" for n in q.indicators)]
    silent = {k: a for k, a in answers.items() if a.value in NOT_DISCLOSED_VALUES}
    assert {key: answer.value for key, answer in answers.items()} == expected
    assert len(answers) == len(in_edition)
    assert len(answers) - len(silent) == len(disclosing)
    assert disclosing, f"the index shows some disclosure by {developer}"
    assert silent, f"the index shows something {developer} did not disclose"
    questions = {q.key: q for q in mapped}
    for key, answer in silent.items():
        assert _option_score(questions[key], answer.value) == 0
        assert "Not disclosed: " in answer.note
        assert "Disclosed:" not in answer.note


@requires_fmti_data
@pytest.mark.parametrize("developer", ["OpenAI", "Anthropic", "Mistral"])
def test_real_prefilled_answers_carry_tier_source_and_credit(
    workspace, candor_v1, developer
):
    assessment = make_assessment(workspace, developer, candor_v1)

    evidence_import_create(
        workspace=workspace, files=fmti_files_from_folder(FMTI_FOLDER)
    )

    for answer in assessment.answers.all():
        assert answer.tier == EvidenceTier.PUBLICLY_DISCLOSED
        assert answer.source_url.startswith(("https://", "http://"))
        assert answer.note.endswith(f"Source: {CREDIT}.")


@requires_fmti_data
def test_real_sources_come_from_the_developers_report(workspace, candor_v1):
    assessment = make_assessment(workspace, "Anthropic", candor_v1)
    report = (FMTI_FOLDER / "reports" / "Anthropic.csv").read_text(encoding="utf-8-sig")

    evidence_import_create(
        workspace=workspace, files=fmti_files_from_folder(FMTI_FOLDER)
    )

    sources = [a.source_url for a in assessment.answers.all()]
    from_report = [url for url in sources if url != INDEX_SITE]
    assert from_report
    assert all(url in report for url in from_report)


@requires_fmti_data
def test_real_import_stores_every_developer_score(workspace):
    summary = evidence_import_create(
        workspace=workspace, files=fmti_files_from_folder(FMTI_FOLDER)
    )

    report = FMTI_FOLDER / "reports" / "OpenAI.csv"
    with report.open(encoding="utf-8-sig", newline="") as f:
        justified = sum(bool(row["Justification"].strip()) for row in csv.DictReader(f))

    rows = IndicatorDisclosure.objects.filter(evidence_import=summary.evidence_import)
    assert rows.count() == 1300
    assert rows.filter(developer="Google").exclude(justification="").count() == 0
    assert (
        rows.filter(developer="OpenAI").exclude(justification="").count() == justified
    )
    assert EvidenceImport.objects.count() == 1


def test_import_requests_a_real_rescoring_of_prefilled_assessments(
    workspace, framework, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.undo()  # use the real assessment_rescore_request
    assessment = make_assessment(workspace, "Northwind AI", framework)
    untouched = make_assessment(workspace, "Unrelated Co", framework)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        evidence_import_create(workspace=workspace, files=mini_files())

    assert len(callbacks) == 1
    assessment.refresh_from_db()
    untouched.refresh_from_db()
    assert hasattr(assessment, "scorecard")
    assert not hasattr(untouched, "scorecard")


# --- Saves racing an import ---------------------------------------------------


def _proposal_for(framework):
    from assessments.public_evidence import _Proposal

    question = framework.questions.get(key="changes")
    proposal = _Proposal(value="yes", source_url=INDEX_SITE, note="From the index.")
    return question, proposal


def test_answer_saved_by_a_person_during_the_import_stands(workspace, framework):
    from assessments.public_evidence import _apply

    assessment = make_assessment(workspace, "Northwind AI", framework)
    evidence_import = evidence_import_create(
        workspace=workspace, files=mini_files()
    ).evidence_import
    question, proposal = _proposal_for(framework)
    read_by_import = Answer.objects.get(assessment=assessment, question=question)
    Answer.objects.filter(pk=read_by_import.pk).update(
        value="no", answered_by=UserFactory(), version=2
    )

    changed = _apply(assessment, question, read_by_import, proposal, evidence_import)

    answer = Answer.objects.get(pk=read_by_import.pk)
    assert changed is False
    assert (answer.value, answer.version) == ("no", 2)


def test_answer_created_by_a_person_during_the_import_stands(workspace, framework):
    from assessments.public_evidence import _apply

    assessment = make_assessment(workspace, "Unrelated Co", framework)
    evidence_import = evidence_import_create(
        workspace=workspace, files=mini_files()
    ).evidence_import
    question, proposal = _proposal_for(framework)
    Answer.objects.create(
        assessment=assessment, question=question, value="no", answered_by=UserFactory()
    )

    changed = _apply(assessment, question, None, proposal, evidence_import)

    assert changed is False
    assert Answer.objects.get(assessment=assessment, question=question).value == "no"
