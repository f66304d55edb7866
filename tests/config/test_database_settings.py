"""How DATABASE_URL shapes the connection Candor opens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

from tests.integration.conftest import ROOT

# Loads the settings under the given environment and tries one query.
CONNECT_ONCE = textwrap.dedent(
    """
    import django
    django.setup()
    from django.db import OperationalError, connection
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        print("refused:", exc)
    """
)


def _connect_once(database_url: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
    }
    finished = subprocess.run(
        [sys.executable, "-c", CONNECT_ONCE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return finished.stdout + finished.stderr


def test_a_postgres_host_that_never_answers_is_given_up_on():
    # A listening socket nobody reads: the TCP handshake succeeds, PostgreSQL's
    # greeting never comes, as with a host behind a firewall that drops packets.
    with socket.socket() as silent_host:
        silent_host.bind(("127.0.0.1", 0))
        silent_host.listen()
        port = silent_host.getsockname()[1]

        output = _connect_once(f"postgres://candor@127.0.0.1:{port}/candor")

    assert "refused:" in output
    assert "timeout expired" in output
