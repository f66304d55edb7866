"""Import the Foundation Model Transparency Index and pre-fill answers from it.

Parsing is pure (bytes in, dataclasses out) and checks every file completely before
anything is written, so a bad upload never leaves half an import behind. The
services below it write one import in one transaction and pre-fill the open
assessments of every workspace vendor whose name matches an index developer.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Workspace
from assessments import services
from assessments.frameworks import UNKNOWN_VALUES
from assessments.models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceImport,
    EvidenceTier,
    IndicatorDisclosure,
    Question,
)
from vendors.models import Vendor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditionFormat:
    """The file names and columns of one edition of the index."""

    name: str
    credit: str
    home_url: str
    indicators_files: tuple[str, ...]
    scores_files: tuple[str, ...]
    reports_folder: str
    # Reports downloaded from the index's repository carry this after the name.
    report_suffix: str
    indicator_columns: frozenset[str]
    report_columns: frozenset[str]
    score_index_column: str = "Indicator"


FMTI_DEC2025 = EditionFormat(
    name="FMTI December 2025",
    credit=(
        "Foundation Model Transparency Index (Stanford CRFM), December 2025, CC BY 4.0"
    ),
    home_url="https://crfm.stanford.edu/fmti/",
    indicators_files=("indicators.csv", "Dec2025_indicators.csv"),
    scores_files=("scores.csv", "Dec2025_scores.csv"),
    reports_folder="reports",
    report_suffix="_fmtransparencyreport_Dec2025",
    indicator_columns=frozenset(
        {
            "Domain",
            "Subdomain",
            "Indicator",
            "Definition",
            "Notes",
            "Example disclosure",
        }
    ),
    report_columns=frozenset(
        {
            "Indicator",
            "Definition",
            "Notes",
            "Disclosure",
            "Justification",
            "References",
            "Score",
        }
    ),
)

# Problems are listed one per line; past this many a person learns nothing more.
MAX_LISTED_PROBLEMS = 20
MAX_LISTED_NAMES = 8
NOTE_EXCERPT_CHARS = 240

URL_PATTERN = re.compile(r"https?://[^\s<>\"'`\[\]{}|\\^]+", re.IGNORECASE)


class FmtiFormatError(Exception):
    """The files are not a complete, consistent edition; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class FmtiFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class FmtiFiles:
    indicators: FmtiFile
    scores: FmtiFile
    reports: tuple[FmtiFile, ...] = ()


@dataclass(frozen=True)
class Indicator:
    name: str
    domain: str
    subdomain: str
    definition: str


@dataclass(frozen=True)
class Disclosure:
    developer: str
    indicator: str
    score: int
    disclosure: str = ""
    justification: str = ""
    references: str = ""


@dataclass(frozen=True)
class FmtiEdition:
    format: EditionFormat
    indicators: tuple[Indicator, ...]
    developers: tuple[str, ...]
    reported_developers: tuple[str, ...]
    disclosures: tuple[Disclosure, ...]


@dataclass(frozen=True)
class ImportSummary:
    evidence_import: EvidenceImport
    developers: int
    reports: int
    indicators: int
    disclosures: int
    matched_vendors: tuple[str, ...]
    assessments_prefilled: int
    answers_prefilled: int
    # True when the files held exactly the workspace's latest import, which
    # was then used again instead of storing the same rows twice.
    already_imported: bool = False


# --- Reading files ---------------------------------------------------------


def fmti_files_from_folder(
    folder: str | Path, edition: EditionFormat = FMTI_DEC2025
) -> FmtiFiles:
    """Read an edition's files from a folder laid out as the index publishes it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FmtiFormatError([f"{folder} is not a folder."])

    problems: list[str] = []
    present = sorted(path.name for path in folder.iterdir() if path.is_file())
    indicators = _find_file(folder, edition.indicators_files, present, problems)
    scores = _find_file(folder, edition.scores_files, present, problems)
    if problems:
        raise FmtiFormatError(problems)

    reports_folder = folder / edition.reports_folder
    report_paths = []
    if reports_folder.is_dir():
        # Other files (a README, an operating system's index file) are not reports.
        report_paths = sorted(
            path
            for path in reports_folder.iterdir()
            if path.is_file() and path.suffix.lower() == ".csv"
        )
    return FmtiFiles(
        indicators=FmtiFile(indicators.name, indicators.read_bytes()),
        scores=FmtiFile(scores.name, scores.read_bytes()),
        reports=tuple(
            FmtiFile(f"{edition.reports_folder}/{path.name}", path.read_bytes())
            for path in report_paths
        ),
    )


def _find_file(
    folder: Path, names: tuple[str, ...], present: list[str], problems: list[str]
) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    alternatives = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
    problems.append(
        f"{names[0]}{alternatives} is missing from {folder}; "
        f"found: {_names(present) or 'no files'}. Other editions of the index name "
        "their files differently; this importer reads the December 2025 edition."
    )
    return folder / names[0]


# --- Parsing and checking --------------------------------------------------


def fmti_parse(files: FmtiFiles, edition: EditionFormat = FMTI_DEC2025) -> FmtiEdition:
    """Check every file of an edition completely and return its contents."""
    problems: list[str] = []

    indicators = _parse_indicators(files.indicators, edition, problems)
    scores = _parse_scores(files.scores, indicators, edition, problems)
    reports = _parse_reports(files, scores, edition, problems)
    if problems:
        raise FmtiFormatError(_capped(problems))

    developers = tuple(scores.developers)
    disclosures = []
    for developer in developers:
        report = reports.get(developer, {})
        for indicator in indicators:
            row = report.get(indicator.name)
            disclosures.append(
                Disclosure(
                    developer=developer,
                    indicator=indicator.name,
                    score=scores.values[developer][indicator.name],
                    disclosure=row.disclosure if row else "",
                    justification=row.justification if row else "",
                    references=row.references if row else "",
                )
            )
    return FmtiEdition(
        format=edition,
        indicators=tuple(indicators),
        developers=developers,
        reported_developers=tuple(sorted(reports, key=str.casefold)),
        disclosures=tuple(disclosures),
    )


@dataclass
class _Table:
    file: FmtiFile
    header: list[str]
    # (line number, {column: stripped value})
    rows: list[tuple[int, dict[str, str]]]


@dataclass
class _Scores:
    developers: list[str]
    values: dict[str, dict[str, int]]
    lines: dict[str, int]


def _parse_indicators(
    file: FmtiFile, edition: EditionFormat, problems: list[str]
) -> list[Indicator]:
    table = _read_table(
        file, problems, edition.indicator_columns, "indicators", edition
    )
    if table is None:
        return []

    indicators: list[Indicator] = []
    seen: set[str] = set()
    for line, row in table.rows:
        name = row["Indicator"]
        if not name:
            problems.append(f"{file.name}, line {line}: the Indicator cell is empty.")
        elif name in seen:
            problems.append(_repeated(file, line, name))
        else:
            seen.add(name)
            indicators.append(
                Indicator(name, row["Domain"], row["Subdomain"], row["Definition"])
            )
    return indicators


def _parse_scores(
    file: FmtiFile,
    indicators: list[Indicator],
    edition: EditionFormat,
    problems: list[str],
) -> _Scores:
    scores = _Scores(developers=[], values={}, lines={})
    table = _read_table(file, problems, role="scores", edition=edition)
    if table is None:
        return scores
    index_column = edition.score_index_column
    if index_column not in table.header:
        problems.append(
            f"{file.name} has no {index_column!r} column; found: "
            f"{_names(table.header)}. The scores file has one row per indicator and "
            "one column per developer."
        )
        return scores
    developers = [column for column in table.header if column != index_column]
    if set(developers) & (edition.indicator_columns | edition.report_columns):
        problems.append(
            f"{file.name} does not have the columns of a {_edition_date(edition)} "
            f"scores file: expected {index_column!r} and one column per developer; "
            f"found {_names(table.header)}."
        )
        return scores
    unnamed = [str(i + 1) for i, column in enumerate(table.header) if not column]
    repeated = sorted({c for c in table.header if c and table.header.count(c) > 1})
    if unnamed or repeated or not developers:
        if unnamed:
            problems.append(f"{file.name}: column {', '.join(unnamed)} has no name.")
        if repeated:
            problems.append(f"{file.name}: repeated columns {_names(repeated)}.")
        if not developers:
            problems.append(f"{file.name} has no developer columns.")
        return scores

    known = {indicator.name for indicator in indicators}
    scores.developers = developers
    scores.values = {developer: {} for developer in developers}
    unknown: list[str] = []
    bad_cells: dict[str, list[str]] = {developer: [] for developer in developers}
    for line, row in table.rows:
        name = row[index_column]
        if known and name not in known:
            unknown.append(name or f"(empty, line {line})")
            continue
        if name in scores.lines:
            problems.append(_repeated(file, line, name))
            continue
        scores.lines[name] = line
        for developer in developers:
            score = _score(row[developer])
            if score is None:
                bad_cells[developer].append(
                    f"{file.name}, line {line}: the score of {developer} for {name!r} "
                    f"is {_cell(row[developer])}; scores must be 0 or 1."
                )
            else:
                scores.values[developer][name] = score
    # A column without a single score is not a developer's column at all (a
    # file of another edition, or another file); one line says so instead of
    # one per cell.
    scoreless = [d for d in developers if scores.lines and not scores.values[d]]
    if scoreless:
        problems.append(
            f"{file.name}: the columns {_names(scoreless)} hold no scores of 0 or "
            f"1 (the first is {_cell(_first_value(table, scoreless[0]))}). A scores "
            f"file of the {_edition_date(edition)} edition has {index_column!r} "
            "and one column per developer, with 0 or 1 in every cell."
        )
    for developer in developers:
        if developer not in scoreless:
            problems.extend(bad_cells[developer])
    if unknown and known and not scores.lines:
        problems.append(
            f"None of the {len(unknown)} indicators in {file.name} is in the "
            f"indicators file (for example {_names(unknown[:3])}); are the two "
            "files from the same edition?"
        )
    elif unknown:
        problems.append(
            f"{file.name} names indicators that are not in the indicators file: "
            f"{_names(unknown)}."
        )
    missing = [i.name for i in indicators if i.name not in scores.lines]
    if missing and not unknown:
        problems.append(
            f"{file.name} has no row for {len(missing)} indicator(s): "
            f"{_names(missing)} (is the file cut short?)."
        )
    return scores


def _parse_reports(
    files: FmtiFiles,
    scores: _Scores,
    edition: EditionFormat,
    problems: list[str],
) -> dict[str, dict[str, Disclosure]]:
    reports: dict[str, dict[str, Disclosure]] = {}
    report_files: dict[str, str] = {}
    for file in files.reports:
        table = _read_table(file, problems, edition.report_columns, "report", edition)
        if table is None:
            continue
        if not scores.developers:
            # Without a valid scores file there is nothing to hold a report against.
            continue
        developer = _report_developer(file.name, scores.developers, edition)
        if developer is None:
            problems.append(
                f"{file.name}: the file name should be a developer of "
                f"{files.scores.name} "
                f"({_names(scores.developers)}), as in OpenAI.csv."
            )
            continue
        if developer in report_files:
            problems.append(
                f"{file.name} and {report_files[developer]} are both reports of "
                f"{developer}; upload one."
            )
            continue
        report_files[developer] = file.name
        reports[developer] = _parse_report(file, table, developer, scores, problems)
    return reports


def _parse_report(
    file: FmtiFile,
    table: _Table,
    developer: str,
    scores: _Scores,
    problems: list[str],
) -> dict[str, Disclosure]:
    known = scores.values[developer]
    rows: dict[str, Disclosure] = {}
    unknown: list[str] = []
    disagreements: list[str] = []
    for line, row in table.rows:
        name = row["Indicator"]
        if name not in scores.lines:
            unknown.append(name or f"(empty, line {line})")
            continue
        if name in rows:
            problems.append(_repeated(file, line, name))
            continue
        score = _score(row["Score"])
        if score is None:
            problems.append(
                f"{file.name}, line {line}: the score for {name!r} is "
                f"{_cell(row['Score'])}; scores must be 0 or 1."
            )
            continue
        if name in known and known[name] != score:
            disagreements.append(f"{name!r} (report {score}, scores {known[name]})")
        rows[name] = Disclosure(
            developer=developer,
            indicator=name,
            score=score,
            disclosure=row["Disclosure"],
            justification=row["Justification"],
            references=row["References"],
        )
    if unknown:
        problems.append(
            f"{file.name} names indicators that are not in the indicators file: "
            f"{_names(unknown)}."
        )
    if disagreements:
        problems.append(
            f"{file.name} disagrees with the scores file for {developer} on "
            f"{len(disagreements)} indicator(s): {_names(disagreements, quote=False)}."
        )
    missing = [name for name in scores.lines if name not in rows]
    if missing and not unknown:
        problems.append(
            f"{file.name} has no row for {len(missing)} indicator(s): "
            f"{_names(missing)} (is the file cut short?)."
        )
    return rows


def _read_table(
    file: FmtiFile,
    problems: list[str],
    columns: frozenset[str] | None = None,
    role: str = "",
    edition: EditionFormat = FMTI_DEC2025,
) -> _Table | None:
    """Read a CSV file whole, checking its columns first when they are fixed."""
    text = _decode(file, problems)
    if text is None:
        return None

    # strict=True turns a quoted field that never closes (a file cut off mid-cell)
    # into an error instead of quietly swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [column.strip() for column in next(reader, [])]
        kind = _header_kind(header, edition)
        if role and kind and kind != role:
            problems.append(_wrong_file(file, role, kind, edition))
            return None
        if columns is not None and not _has_columns(
            file, header, columns, role, problems
        ):
            return None
        rows: list[tuple[int, dict[str, str]]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(
                    f"{file.name}, line {reader.line_num}: {len(row)} cells where the "
                    f"header has {len(header)} (is the file cut short?)."
                )
                return None
            cells = [cell.strip() for cell in row]
            rows.append((reader.line_num, dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        problems.append(
            f"{file.name}, line {reader.line_num}: not readable as CSV ({error}); "
            "the file may be cut short."
        )
        return None

    if not rows:
        problems.append(f"{file.name} has a header but no rows.")
        return None
    return _Table(file=file, header=header, rows=rows)


def _decode(file: FmtiFile, problems: list[str]) -> str | None:
    if not file.content.strip():
        problems.append(f"{file.name} is empty.")
        return None
    if b"\x00" in file.content:
        problems.append(f"{file.name} is not a CSV text file (it holds binary data).")
        return None
    try:
        # utf-8-sig reads files with and without the byte-order mark alike.
        text = file.content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.append(
            f"{file.name} is not UTF-8 text (byte 0x{file.content[error.start]:02x} at "
            f"position {error.start}). Save it as CSV UTF-8 and try again."
        )
        return None
    if not text.strip():
        problems.append(f"{file.name} is empty.")
        return None
    return text


def _has_columns(
    file: FmtiFile,
    header: list[str],
    expected: frozenset[str],
    role: str,
    problems: list[str],
) -> bool:
    missing = sorted(expected - set(header))
    unexpected = sorted(set(header) - expected)
    repeated = sorted({c for c in header if header.count(c) > 1})
    if not (missing or unexpected or repeated):
        return True
    details = []
    if missing:
        details.append(f"missing {_names(missing)}")
    if unexpected:
        details.append(f"unexpected {_names([c or '(no name)' for c in unexpected])}")
    if repeated:
        details.append(f"repeated {_names(repeated)}")
    problems.append(
        f"{file.name} does not have the columns of a December 2025 {role} "
        f"file: {'; '.join(details)}. Expected exactly {_names(sorted(expected))}."
    )
    return False


def _header_kind(header: list[str], edition: EditionFormat) -> str:
    """Name the edition's file whose columns a header has, or return ""."""
    columns = set(header)
    if columns == edition.indicator_columns:
        return "indicators"
    if columns == edition.report_columns:
        return "report"
    index = edition.score_index_column
    others = columns - {index}
    fixed = edition.indicator_columns | edition.report_columns
    if index in columns and others and not others & fixed:
        return "scores"
    return ""


def _wrong_file(file: FmtiFile, role: str, kind: str, edition: EditionFormat) -> str:
    """Say that a file has the columns of another file of the edition."""
    names = {
        "indicators": f"the indicators file ({edition.indicators_files[0]})",
        "scores": f"the scores file ({edition.scores_files[0]})",
        "report": "a developer report (such as OpenAI.csv)",
    }
    given = "a developer report" if role == "report" else f"the {role} file"
    if {role, kind} == {"indicators", "scores"}:
        advice = "were the two files swapped?"
    elif kind == "report":
        advice = "upload it under the developer reports instead."
    else:
        advice = f"upload it as {names[kind].split(' (')[0]} instead."
    return (
        f"{file.name} was given as {given} but has the columns of {names[kind]} "
        f"— {advice}"
    )


def _edition_date(edition: EditionFormat) -> str:
    return edition.name.removeprefix("FMTI ")


def _first_value(table: _Table, column: str) -> str:
    return next((row[column] for _line, row in table.rows if row[column]), "")


def _report_developer(
    file_name: str, developers: list[str], edition: EditionFormat
) -> str | None:
    stem = PurePosixPath(file_name).name
    if stem.lower().endswith(".csv"):
        stem = stem[: -len(".csv")]
    if stem.endswith(edition.report_suffix):
        stem = stem[: -len(edition.report_suffix)]
    if stem in developers:
        return stem
    # The index's own file names write spaces as underscores (AI21_Labs).
    wanted = _file_name_key(stem)
    for developer in developers:
        if _file_name_key(developer) == wanted:
            return developer
    return None


def _file_name_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


def _repeated(file: FmtiFile, line: int, name: str) -> str:
    return f"{file.name}, line {line}: indicator {name!r} is repeated."


def _cell(value: str, limit: int = 40) -> str:
    """Quote a cell for a message, cut short so a stray blob cannot flood it."""
    return repr(value if len(value) <= limit else f"{value[:limit]}…")


def _score(value: str) -> int | None:
    return {"0": 0, "1": 1}.get(value.strip())


def _names(values: Iterable[str], quote: bool = True) -> str:
    values = list(values)
    shown = [_cell(v, 60) if quote else v for v in values[:MAX_LISTED_NAMES]]
    more = len(values) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_LISTED_PROBLEMS:
        return problems
    more = len(problems) - MAX_LISTED_PROBLEMS
    return [*problems[:MAX_LISTED_PROBLEMS], f"… and {more} more problems."]


# --- Importing and pre-filling ---------------------------------------------


def evidence_import_create(
    *, workspace: Workspace, files: FmtiFiles, user=None
) -> ImportSummary:
    """Check the files, then store the edition and pre-fill matching assessments."""
    edition = fmti_parse(files)

    with transaction.atomic():
        # Imports into one workspace take turns, so two uploads of the same
        # files cannot both find that edition not imported yet.
        list(
            Workspace.objects.select_for_update()
            .filter(pk=workspace.pk)
            .values_list("pk", flat=True)
        )
        existing = _latest_import_if_same(workspace, edition)
        if existing is not None:
            return _import_again(workspace, existing, edition)

        evidence_import = EvidenceImport.objects.create(
            workspace=workspace,
            edition=edition.format.name,
            credit=edition.format.credit,
            imported_by=user,
        )
        IndicatorDisclosure.objects.bulk_create(
            IndicatorDisclosure(
                evidence_import=evidence_import,
                developer=d.developer,
                indicator=d.indicator,
                score=d.score,
                disclosure=d.disclosure,
                justification=d.justification,
                references=d.references,
            )
            for d in edition.disclosures
        )
        matched, assessments, answers = _prefill_workspace(
            workspace, evidence_import, edition
        )

    logger.info(
        "evidence_import=%s workspace=%s edition=%r developers=%s vendors=%s "
        "assessments=%s answers=%s",
        evidence_import.pk,
        workspace.pk,
        edition.format.name,
        len(edition.developers),
        len(matched),
        assessments,
        answers,
    )
    return ImportSummary(
        evidence_import=evidence_import,
        developers=len(edition.developers),
        reports=len(edition.reported_developers),
        indicators=len(edition.indicators),
        disclosures=len(edition.disclosures),
        matched_vendors=tuple(matched),
        assessments_prefilled=assessments,
        answers_prefilled=answers,
    )


def _latest_import_if_same(
    workspace: Workspace, edition: FmtiEdition
) -> EvidenceImport | None:
    """Return the workspace's latest import if it holds exactly this edition."""
    # Only the latest counts: importing an older edition again after a newer
    # one makes it the one new assessments are pre-filled from, a real change.
    latest = (
        EvidenceImport.objects.filter(workspace=workspace)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None or latest.edition != edition.format.name:
        return None
    if latest.disclosures.count() != len(edition.disclosures):
        return None
    stored = set(latest.disclosures.values_list(*_DISCLOSURE_FIELDS))
    parsed = {
        tuple(getattr(disclosure, name) for name in _DISCLOSURE_FIELDS)
        for disclosure in edition.disclosures
    }
    return latest if stored == parsed else None


_DISCLOSURE_FIELDS = (
    "developer",
    "indicator",
    "score",
    "disclosure",
    "justification",
    "references",
)


def _import_again(
    workspace: Workspace, evidence_import: EvidenceImport, edition: FmtiEdition
) -> ImportSummary:
    # Nothing is stored twice, but assessments opened or reopened since, and
    # vendors renamed to match, are still pre-filled from the stored rows.
    matched, assessments, answers = _prefill_workspace(
        workspace, evidence_import, edition
    )
    logger.info(
        "evidence_import=%s workspace=%s edition=%r already imported; "
        "assessments=%s answers=%s",
        evidence_import.pk,
        workspace.pk,
        edition.format.name,
        assessments,
        answers,
    )
    return ImportSummary(
        evidence_import=evidence_import,
        developers=len(edition.developers),
        reports=len(edition.reported_developers),
        indicators=len(edition.indicators),
        disclosures=len(edition.disclosures),
        matched_vendors=tuple(matched),
        assessments_prefilled=assessments,
        answers_prefilled=answers,
        already_imported=True,
    )


def _prefill_workspace(
    workspace: Workspace, evidence_import: EvidenceImport, edition: FmtiEdition
) -> tuple[list[str], int, int]:
    """Pre-fill the open assessments of matching vendors; count what changed."""
    by_developer = _by_developer(edition.disclosures)
    matched: list[str] = []
    assessments = answers = 0
    for vendor in _matching_vendors(workspace, by_developer):
        matched.append(vendor.name)
        developer = _developer_for(vendor.name, by_developer)
        for assessment in _open_assessments(workspace.pk).filter(
            offering__vendor=vendor
        ):
            changed = _prefill(
                assessment,
                evidence_import,
                developer,
                by_developer[developer],
                reported=developer in edition.reported_developers,
            )
            if changed:
                assessments += 1
                answers += changed
    return matched, assessments, answers


def public_evidence_prefill(assessment: Assessment) -> int:
    """Pre-fill an assessment from its workspace's latest import; count answers set."""
    evidence_import = (
        EvidenceImport.objects.filter(workspace_id=assessment.workspace_id)
        .order_by("-created_at", "-pk")
        .first()
    )
    if evidence_import is None:
        return 0
    if not _open_assessments(assessment.workspace_id).filter(pk=assessment.pk).exists():
        return 0
    developers = (
        evidence_import.disclosures.values_list("developer", flat=True)
        .order_by()
        .distinct()
    )
    developer = _developer_for(assessment.offering.vendor.name, list(developers))
    if developer is None:
        return 0

    rows = evidence_import.disclosures.filter(developer=developer)
    disclosures = {row.indicator: row for row in rows}
    reported = any(_has_report_text(row) for row in disclosures.values())
    with transaction.atomic():
        changed = _prefill(
            assessment, evidence_import, developer, disclosures, reported=reported
        )
    return changed


def _prefill(
    assessment: Assessment,
    evidence_import: EvidenceImport,
    developer: str,
    disclosures: Mapping[str, Disclosure | IndicatorDisclosure],
    *,
    reported: bool,
) -> int:
    questions = [
        question
        for question in Question.objects.filter(framework_id=assessment.framework_id)
        if question.indicators and question.public_evidence
    ]
    answers = {
        answer.question_id: answer
        for answer in Answer.objects.filter(
            assessment=assessment, question__in=questions
        )
    }

    changed = 0
    for question in questions:
        proposal = _proposal(
            question, disclosures, developer, evidence_import, reported=reported
        )
        if proposal is None:
            continue
        answer = answers.get(question.pk)
        if answer is not None and not _may_prefill(answer):
            continue
        if _apply(assessment, question, answer, proposal, evidence_import):
            changed += 1

    if changed:
        logger.info(
            "assessment=%s evidence_import=%s developer=%r answers_prefilled=%s",
            assessment.pk,
            evidence_import.pk,
            developer,
            changed,
        )
        services.assessment_rescore_request(assessment)
    return changed


@dataclass(frozen=True)
class _Proposal:
    value: object
    source_url: str
    note: str


def _proposal(
    question: Question,
    disclosures: Mapping[str, Disclosure | IndicatorDisclosure],
    developer: str,
    evidence_import: EvidenceImport,
    *,
    reported: bool,
) -> _Proposal | None:
    names = list(question.indicators)
    if not any(n in disclosures for n in names):
        return None
    disclosed = [n for n in names if n in disclosures and disclosures[n].score == 1]
    if disclosed:
        key = "all" if len(disclosed) == len(names) else "some"
        value = question.public_evidence.get(key)
    else:
        # Silence is information: the index looked and found no disclosure, which
        # scores 0 like any "not disclosed" answer instead of leaving a gap that
        # would let a few disclosures read as a good grade.
        value = _undisclosed_value(question)
    if value in (None, "", []):
        return None
    missing = [n for n in names if n not in disclosures]
    if missing:
        logger.warning(
            "question=%s evidence_import=%s maps indicators not in the edition: %s",
            question.key,
            evidence_import.pk,
            ", ".join(missing),
        )

    disclosed_rows = [disclosures[n] for n in disclosed]
    source_url = _first_url(r.references for r in disclosed_rows) or _first_url(
        r.disclosure for r in disclosed_rows
    )
    note = _note(
        names,
        disclosures,
        developer,
        evidence_import,
        reported=reported,
        url_found=bool(source_url),
    )
    return _Proposal(
        value=value,
        source_url=source_url or FMTI_DEC2025.home_url,
        note=note,
    )


def _undisclosed_value(question: Question) -> str | None:
    """Return the question's "unknown / not disclosed" option value, if it has one."""
    for option in question.options:
        if option["value"] in UNKNOWN_VALUES:
            return option["value"]
    return None


def _note(
    names: list[str],
    disclosures: Mapping[str, Disclosure | IndicatorDisclosure],
    developer: str,
    evidence_import: EvidenceImport,
    *,
    reported: bool,
    url_found: bool,
) -> str:
    disclosed = [n for n in names if n in disclosures and disclosures[n].score == 1]
    withheld = [n for n in names if n in disclosures and disclosures[n].score == 0]
    absent = [n for n in names if n not in disclosures]

    lines = [f"{evidence_import.edition} on {developer}."]
    if disclosed:
        lines.append(f"Disclosed: {'; '.join(disclosed)}.")
    if withheld:
        lines.append(f"Not disclosed: {'; '.join(withheld)}.")
    if absent:
        lines.append(f"Not in this edition: {'; '.join(absent)}.")
    for name in names:
        row = disclosures.get(name)
        if row is not None and row.justification:
            lines.append(f"Index justification ({name}): {_excerpt(row.justification)}")
    if not url_found:
        references = [disclosures[n].references for n in disclosed]
        cited = " / ".join(_excerpt(r) for r in references if r)
        if cited:
            lines.append(f"References: {cited}")
    if not reported:
        lines.append(
            f"The index's report on {developer} was not imported, so only its "
            "scores are known here."
        )
    lines.append(f"Source: {evidence_import.credit}.")
    return "\n".join(lines)


def _apply(
    assessment: Assessment,
    question: Question,
    answer: Answer | None,
    proposal: _Proposal,
    evidence_import: EvidenceImport,
) -> bool:
    new = {
        "value": proposal.value,
        "tier": EvidenceTier.PUBLICLY_DISCLOSED.value,
        "source_url": proposal.source_url,
        "note": proposal.note,
    }
    if answer is None:
        try:
            with transaction.atomic():
                answer = Answer.objects.create(
                    assessment=assessment,
                    question=question,
                    evidence_import=evidence_import,
                    **new,
                )
        except IntegrityError:
            # Someone answered this question while the import ran; theirs stands.
            return False
        AnswerRevision.objects.create(
            answer=answer, old={}, new={**new, "evidence_import": evidence_import.pk}
        )
        return True

    # Conditional updates, like a person's save: an answer someone changed since
    # it was read here is theirs now and is left alone.
    unchanged_since_read = Answer.objects.filter(
        pk=answer.pk, version=answer.version, answered_by__isnull=True
    )
    old = {field: getattr(answer, field) for field in new}
    if old == new:
        # Same evidence from a newer import: point at it, nothing a person would see.
        unchanged_since_read.update(evidence_import=evidence_import)
        return False
    updated = unchanged_since_read.update(
        **new,
        evidence_import=evidence_import,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    if not updated:
        return False
    AnswerRevision.objects.create(
        answer=answer,
        old={**old, "evidence_import": answer.evidence_import_id},
        new={**new, "evidence_import": evidence_import.pk},
    )
    return True


def _may_prefill(answer: Answer) -> bool:
    """Only an empty answer or one an earlier import wrote may be (re)filled."""
    # Limitation: an answer an earlier import filled stays as it was when a newer
    # edition drops its indicators altogether (scoring them 0 does update it, to
    # "not disclosed"); clearing it would need a "withdrawn" state the
    # questionnaire does not have yet.
    if answer.answered_by_id is not None:
        return False
    if answer.evidence_import_id is not None:
        return True
    return not answer.is_answered and not answer.note.strip()


def _first_url(texts: Iterable[str]) -> str:
    validate = URLValidator(schemes=["http", "https"])
    for text in texts:
        for match in URL_PATTERN.finditer(text or ""):
            url = match.group(0).rstrip(".,;:!?)'\"»”’")
            if len(url) > Answer._meta.get_field("source_url").max_length:
                continue
            try:
                validate(url)
            except ValidationError:
                continue
            return url
    return ""


def _excerpt(text: str, limit: int = NOTE_EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(".,;:…")
    return f"{cut}…"


def _has_report_text(row: Disclosure | IndicatorDisclosure) -> bool:
    return bool(row.disclosure or row.justification or row.references)


def _by_developer(
    disclosures: Iterable[Disclosure],
) -> dict[str, dict[str, Disclosure]]:
    grouped: dict[str, dict[str, Disclosure]] = {}
    for disclosure in disclosures:
        grouped.setdefault(disclosure.developer, {})[disclosure.indicator] = disclosure
    return grouped


def _name_key(name: str) -> str:
    return name.strip().casefold()


def _developer_for(vendor_name: str, developers: Iterable[str]) -> str | None:
    wanted = _name_key(vendor_name)
    for developer in developers:
        if _name_key(developer) == wanted:
            return developer
    return None


def _matching_vendors(workspace: Workspace, developers: Iterable[str]) -> list[Vendor]:
    keys = {_name_key(developer) for developer in developers}
    vendors = Vendor.objects.filter(workspace=workspace, archived_at__isnull=True)
    return [vendor for vendor in vendors if _name_key(vendor.name) in keys]


def _open_assessments(workspace_id: int) -> QuerySet[Assessment]:
    """Assessments public evidence may still change."""
    # A decided assessment keeps the evidence its decision rested on.
    return (
        Assessment.objects.filter(
            workspace_id=workspace_id,
            offering__archived_at__isnull=True,
            offering__vendor__archived_at__isnull=True,
        )
        .exclude(status=Assessment.Status.DECIDED)
        .order_by("pk")
    )


# --- Reads for the pages ---------------------------------------------------


def evidence_import_list(workspace: Workspace) -> QuerySet[EvidenceImport]:
    """The workspace's imports, newest first, with what each one holds."""
    answers = (
        Answer.objects.filter(evidence_import=OuterRef("pk"))
        .order_by()
        .values("evidence_import")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        EvidenceImport.objects.filter(workspace=workspace)
        .select_related("imported_by")
        .annotate(
            developer_count=Count("disclosures__developer", distinct=True),
            indicator_count=Count("disclosures__indicator", distinct=True),
            disclosure_count=Count("disclosures"),
            answer_count=Coalesce(Subquery(answers), 0),
        )
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class DeveloperSummary:
    name: str
    disclosed: int
    total: int
    reported: bool
    vendors: tuple[Vendor, ...]
    answers: int

    @property
    def percent(self) -> int:
        return round(100 * self.disclosed / self.total) if self.total else 0


def evidence_import_developers(
    evidence_import: EvidenceImport,
) -> list[DeveloperSummary]:
    """Per developer: indicators disclosed, and the workspace vendors it matched."""
    rows = (
        evidence_import.disclosures.order_by()
        .values("developer")
        .annotate(
            total=Count("pk"),
            disclosed=Count("pk", filter=Q(score=1)),
            report_rows=Count(
                "pk",
                filter=~Q(disclosure="") | ~Q(justification="") | ~Q(references=""),
            ),
        )
    )
    vendors = Vendor.objects.filter(
        workspace_id=evidence_import.workspace_id, archived_at__isnull=True
    )
    vendors_by_key: dict[str, list[Vendor]] = {}
    for vendor in vendors:
        vendors_by_key.setdefault(_name_key(vendor.name), []).append(vendor)
    answers = dict(
        Answer.objects.filter(evidence_import=evidence_import)
        .order_by()
        .values_list("assessment__offering__vendor_id")
        .annotate(count=Count("pk"))
    )

    summaries = []
    for row in rows:
        matched = tuple(vendors_by_key.get(_name_key(row["developer"]), ()))
        summaries.append(
            DeveloperSummary(
                name=row["developer"],
                disclosed=row["disclosed"],
                total=row["total"],
                reported=row["report_rows"] > 0,
                vendors=matched,
                answers=sum(answers.get(vendor.pk, 0) for vendor in matched),
            )
        )
    # The founder's own vendors first, then the rest of the index by name.
    summaries.sort(key=lambda s: (not s.vendors, s.name.casefold()))
    return summaries
