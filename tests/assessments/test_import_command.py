from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from assessments.models import EvidenceImport
from tests.assessments.fmti_helpers import (
    CREDIT,
    MINI_FOLDER,
    answers_by_key,
    copy_mini,
    make_assessment,
    make_framework,
    patch_rescore,
    row_counts,
)
from tests.conftest import FMTI_FOLDER, requires_fmti_data
from tests.factories import WorkspaceFactory


@pytest.fixture(autouse=True)
def rescore_calls(monkeypatch):
    return patch_rescore(monkeypatch)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("import_fmti", *args, stdout=out)
    return out.getvalue()


def test_command_imports_into_the_only_workspace_and_prints_a_summary(workspace):
    framework = make_framework()
    assessment = make_assessment(workspace, "Northwind AI", framework)

    output = _run(str(MINI_FOLDER))

    assert "Imported FMTI December 2025 into workspace 'Acme Robotics'" in output
    assert "developers:             3 (2 with a report)" in output
    assert "indicators:             6" in output
    assert "disclosures:            18" in output
    assert "vendors matched:        Northwind AI" in output
    assert "assessments pre-filled: 1" in output
    assert "answers pre-filled:     5" in output
    assert f"Credit: {CREDIT}" in output
    answers = answers_by_key(assessment)
    assert answers["changes"].value == "yes"
    assert answers["stages"].value == "unknown"


def test_command_takes_the_workspace_by_exact_name(workspace):
    other = WorkspaceFactory(name="Beta Labs")

    _run(str(MINI_FOLDER), "--workspace", "Beta Labs")

    assert EvidenceImport.objects.get().workspace == other


def test_command_takes_the_workspace_by_id(workspace):
    WorkspaceFactory()

    _run(str(MINI_FOLDER), "--workspace", str(workspace.pk))

    assert EvidenceImport.objects.get().workspace == workspace


def test_command_asks_which_workspace_when_several_exist(workspace):
    WorkspaceFactory(name="Beta Labs")

    with pytest.raises(CommandError, match="Several workspaces exist") as caught:
        _run(str(MINI_FOLDER))

    assert "Acme Robotics" in str(caught.value)
    assert "Beta Labs" in str(caught.value)
    assert EvidenceImport.objects.count() == 0


def test_command_refuses_an_unknown_workspace(workspace):
    with pytest.raises(CommandError, match="No workspace has the id or name 'Gamma'"):
        _run(str(MINI_FOLDER), "--workspace", "Gamma")


def test_command_refuses_an_ambiguous_workspace_name(workspace):
    WorkspaceFactory(name="Acme Robotics")

    with pytest.raises(CommandError, match="Several workspaces are named"):
        _run(str(MINI_FOLDER), "--workspace", "Acme Robotics")


def test_command_without_any_workspace_says_so(db):
    with pytest.raises(CommandError, match="There is no workspace yet"):
        _run(str(MINI_FOLDER))


def test_command_reports_bad_files_and_writes_nothing(workspace, tmp_path):
    make_assessment(workspace, "Northwind AI", make_framework())
    folder = copy_mini(tmp_path)
    scores = folder / "scores.csv"
    scores.write_bytes(scores.read_bytes().replace(b"log,1,1,1", b"log,1,2,1"))
    before = row_counts()

    with pytest.raises(CommandError) as caught:
        _run(str(folder))

    message = str(caught.value)
    assert message.startswith("Nothing was imported")
    assert "the score of Orbital Labs for 'Change log' is '2'" in message
    assert row_counts() == before


def test_command_refuses_a_folder_that_does_not_exist(workspace, tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        _run(str(tmp_path / "missing"))


@requires_fmti_data
def test_command_imports_the_real_edition(workspace):
    framework = make_framework()
    make_assessment(workspace, "OpenAI", framework)

    output = _run(str(FMTI_FOLDER), "--workspace", "Acme Robotics")

    assert "developers:             13 (3 with a report)" in output
    assert "indicators:             100" in output
    assert "disclosures:            1300" in output
    assert "vendors matched:        OpenAI" in output
