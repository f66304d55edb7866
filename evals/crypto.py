"""Encryption at rest for endpoint API keys, with the keys in CANDOR_ENCRYPTION_KEY.

Fernet tokens carry their own integrity check, so a token encrypted under a key
Candor no longer has is detected, never decrypted into garbage. Several keys may be
configured (comma-separated): the first encrypts, all of them decrypt.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables


class SecretError(Exception):
    """A secret cannot be encrypted or decrypted; the message says why, readably."""


class EncryptionKeyMissing(SecretError):
    def __init__(self) -> None:
        super().__init__(
            "Candor cannot store API keys yet: the operator has not set "
            "CANDOR_ENCRYPTION_KEY. bin/run creates one; a production set-up "
            "needs its own."
        )


class SecretUnreadable(SecretError):
    def __init__(self) -> None:
        super().__init__(
            "The stored API key cannot be decrypted: CANDOR_ENCRYPTION_KEY has "
            "changed since it was saved. Enter the API key again."
        )


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current_fernet() -> MultiFernet:
    # Read on every call rather than at import, so that tests and a rotated
    # configuration see the keys of the moment.
    keys = tuple(settings.CANDOR_ENCRYPTION_KEY)
    if not keys:
        raise EncryptionKeyMissing
    return _fernet(keys)


@sensitive_variables("plain")
def secret_encrypt(plain: str) -> str:
    """Encrypt ``plain`` under the first configured key; a Fernet token as text."""
    return _current_fernet().encrypt(plain.encode("utf-8")).decode("ascii")


@sensitive_variables()
def secret_decrypt(token: str) -> str:
    """Decrypt a token made by ``secret_encrypt`` with any configured key."""
    try:
        return _current_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable from None
