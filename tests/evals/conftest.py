"""Fixtures for evaluation tests: an encryption key, and the simulated vendor."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from evals.simulated import simulated_vendor_start

# A throwaway key for the whole test session; tests that need another set their own.
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def encryption_key(settings) -> str:
    settings.CANDOR_ENCRYPTION_KEY = [TEST_ENCRYPTION_KEY]
    return TEST_ENCRYPTION_KEY


@pytest.fixture
def allow_private_endpoints(settings) -> None:
    """Let the guarded client call loopback, where the simulated vendor listens."""
    settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True


@pytest.fixture
def refuse_private_endpoints(settings) -> None:
    settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = False


@pytest.fixture(scope="session")
def simulated_vendor():
    """The simulated vendor on 127.0.0.1 at a free port, for the whole session.

    Counters of ``first=<n>`` faults are shared; call ``simulated_vendor.reset()``
    or send a request body no other test sends.
    """
    vendor = simulated_vendor_start("127.0.0.1", 0)
    yield vendor
    vendor.stop()
