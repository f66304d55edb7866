from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Workspace
from assessments.public_evidence import (
    FmtiFormatError,
    evidence_import_create,
    fmti_files_from_folder,
)


class Command(BaseCommand):
    help = (
        "Import a Foundation Model Transparency Index edition (indicators.csv, "
        "scores.csv, reports/*.csv) into a workspace and pre-fill the assessments "
        "of vendors it covers."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("folder", help="folder holding the edition's CSV files")
        parser.add_argument(
            "--workspace",
            help="workspace id or exact name (may be left out if only one exists)",
        )

    def handle(self, *args, folder: str, workspace: str | None, **options) -> None:
        target = _workspace(workspace)

        try:
            files = fmti_files_from_folder(folder)
            summary = evidence_import_create(workspace=target, files=files)
        except FmtiFormatError as error:
            problems = "\n".join(f"  - {problem}" for problem in error.problems)
            raise CommandError(
                f"Nothing was imported; the files need fixing first:\n{problems}"
            ) from error

        matched = ", ".join(summary.matched_vendors) or "none"
        headline = (
            f"Imported {summary.evidence_import.edition} into workspace "
            f"{target.name!r} (import {summary.evidence_import.pk})."
        )
        if summary.already_imported:
            imported_on = timezone.localdate(summary.evidence_import.created_at)
            headline = (
                f"{summary.evidence_import.edition} is already imported into "
                f"workspace {target.name!r} (import {summary.evidence_import.pk}, "
                f"on {imported_on:%-d %b %Y}); nothing was stored again."
            )
        lines = [
            headline,
            f"  developers:             {summary.developers} "
            f"({summary.reports} with a report)",
            f"  indicators:             {summary.indicators}",
            f"  disclosures:            {summary.disclosures}",
            f"  vendors matched:        {matched}",
            f"  assessments pre-filled: {summary.assessments_prefilled}",
            f"  answers pre-filled:     {summary.answers_prefilled}",
            f"Credit: {summary.evidence_import.credit}",
        ]
        self.stdout.write("\n".join(lines))


def _workspace(value: str | None) -> Workspace:
    if value is None:
        workspaces = list(Workspace.objects.order_by("pk")[:11])
        if len(workspaces) == 1:
            return workspaces[0]
        if not workspaces:
            raise CommandError("There is no workspace yet; sign up first.")
        raise CommandError(
            "Several workspaces exist; choose one with --workspace <id or name>: "
            f"{_listed(workspaces)}."
        )

    value = value.strip()
    if value.isdigit():
        workspace = Workspace.objects.filter(pk=int(value)).first()
        if workspace is not None:
            return workspace
    named = list(Workspace.objects.filter(name=value).order_by("pk")[:11])
    if len(named) == 1:
        return named[0]
    if named:
        raise CommandError(
            f"Several workspaces are named {value!r}; pass the id instead: "
            f"{_listed(named)}."
        )
    raise CommandError(f"No workspace has the id or name {value!r}.")


def _listed(workspaces: list[Workspace]) -> str:
    shown = ", ".join(f"{w.pk} ({w.name})" for w in workspaces[:10])
    return shown + (", …" if len(workspaces) > 10 else "")
