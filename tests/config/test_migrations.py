"""Every model change has a migration, and every migration can be undone."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

CANDOR_APPS = ["accounts", "vendors", "assessments", "evals", "dashboards"]


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    output = StringIO()

    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=output)
    except SystemExit:
        pytest.fail(f"models changed without a migration:\n{output.getvalue()}")


def _candor_tables() -> set[str]:
    prefixes = tuple(f"{app}_" for app in CANDOR_APPS)
    return {
        table
        for table in connection.introspection.table_names()
        if table.startswith(prefixes)
    }


@pytest.mark.django_db(transaction=True)
def test_every_migration_reverses_to_zero_and_applies_again():
    tables_before = _candor_tables()
    executor = MigrationExecutor(connection)
    every_app_to_zero = [(app, None) for app in executor.loader.migrated_apps]

    executor.migrate(every_app_to_zero)
    tables_at_zero = _candor_tables()
    call_command("migrate", verbosity=0)

    assert tables_before
    assert tables_at_zero == set()
    assert _candor_tables() == tables_before
    assert not MigrationExecutor(connection).migration_plan(
        MigrationExecutor(connection).loader.graph.leaf_nodes()
    )
