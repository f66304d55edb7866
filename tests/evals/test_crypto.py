"""Encryption of API keys at rest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from evals.crypto import (
    EncryptionKeyMissing,
    SecretUnreadable,
    secret_decrypt,
    secret_encrypt,
)

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-live-0123456789-SECRET"


def test_a_key_survives_the_round_trip_and_is_not_stored_readably():
    token = secret_encrypt(API_KEY)

    assert API_KEY not in token
    assert secret_decrypt(token) == API_KEY


def test_a_token_from_another_encryption_key_says_the_key_changed(settings):
    token = secret_encrypt(API_KEY)
    settings.CANDOR_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    with pytest.raises(SecretUnreadable) as caught:
        secret_decrypt(token)

    assert "CANDOR_ENCRYPTION_KEY has changed" in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_a_garbled_token_is_unreadable_not_a_crash():
    with pytest.raises(SecretUnreadable):
        secret_decrypt("not a token at all ✓")


def test_an_old_key_kept_behind_a_new_one_still_decrypts(settings, encryption_key):
    token = secret_encrypt(API_KEY)
    new_key = Fernet.generate_key().decode()
    settings.CANDOR_ENCRYPTION_KEY = [new_key, encryption_key]

    assert secret_decrypt(token) == API_KEY
    assert Fernet(new_key).decrypt(secret_encrypt(API_KEY).encode()) == API_KEY.encode()


def test_without_an_encryption_key_nothing_is_encrypted(settings):
    settings.CANDOR_ENCRYPTION_KEY = []

    with pytest.raises(EncryptionKeyMissing) as caught:
        secret_encrypt(API_KEY)

    assert "CANDOR_ENCRYPTION_KEY" in str(caught.value)


def test_a_malformed_encryption_key_stops_start_up_with_a_clear_message():
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CANDOR_ENCRYPTION_KEY": "not-a-fernet-key-SECRET",
    }

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "CANDOR_ENCRYPTION_KEY: key 1 is not a Fernet key" in result.stderr
    assert "not-a-fernet-key-SECRET" not in result.stderr
