"""Fixtures and the figures the security tests report."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

# A throwaway key for this folder's tests, which store endpoint and judge keys.
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def encryption_key(settings) -> str:
    settings.CANDOR_ENCRYPTION_KEY = [TEST_ENCRYPTION_KEY]
    return TEST_ENCRYPTION_KEY


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Every world has four people; a deliberately slow hasher would dominate."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# What the tests counted, by figure, and outputs worth reading; printed at the
# end of the run.
FIGURES: dict[str, int] = {}
OUTPUTS: dict[str, str] = {}


def figure_add(name: str, count: int = 1) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + count


def pytest_terminal_summary(terminalreporter) -> None:
    from tests.security import test_isolation_matrix

    checks = test_isolation_matrix.CHECKS
    if checks:
        detail = ", ".join(f"{kind} {count}" for kind, count in sorted(checks.items()))
        terminalreporter.write_line(
            f"security: isolation matrix checked {sum(checks.values())} URL × role "
            f"cases over {len(test_isolation_matrix.ALL_URLS)} URL patterns "
            f"({detail})"
        )
    for figure, count in sorted(FIGURES.items()):
        terminalreporter.write_line(f"security: {figure}: {count}")
    for name, output in sorted(OUTPUTS.items()):
        terminalreporter.write_line(f"security: {name}:")
        for line in output.strip().splitlines():
            terminalreporter.write_line(f"    {line}")
