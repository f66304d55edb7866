from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessments.frameworks import BUILTIN_DIR, FrameworkFileError, framework_sync


class Command(BaseCommand):
    help = "Load the built-in questionnaires, or the given framework files."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "paths", nargs="*", help="YAML files (default: every built-in file)"
        )

    def handle(self, *args, paths: list[str], **options) -> None:
        files = [Path(path) for path in paths] or sorted(BUILTIN_DIR.glob("*.yaml"))
        for path in files:
            try:
                load = framework_sync(path)
            except FrameworkFileError as error:
                raise CommandError(str(error)) from error
            framework = load.framework
            self.stdout.write(
                f"{framework.key} version {framework.version} ({path.name}): "
                f"{load.status}"
            )
