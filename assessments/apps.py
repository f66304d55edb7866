from __future__ import annotations

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _load_builtin_frameworks(sender, using: str = "default", **kwargs) -> None:
    """Load the shipped questionnaires after migrate, so a fresh install has them."""
    from assessments.frameworks import framework_load_builtin
    from assessments.models import Framework

    # Migrating the app backwards leaves no table to load into.
    if Framework._meta.db_table not in connections[using].introspection.table_names():
        return
    framework_load_builtin()


class AssessmentsConfig(AppConfig):
    name = "assessments"

    def ready(self) -> None:
        post_migrate.connect(
            _load_builtin_frameworks,
            sender=self,
            dispatch_uid="assessments_load_builtin_frameworks",
        )
