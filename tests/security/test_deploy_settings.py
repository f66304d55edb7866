"""Production settings: ``check --deploy`` is clean; cookies and HSTS hold."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from tests.security.conftest import OUTPUTS

BASE_DIR = Path(settings.BASE_DIR)
PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS",
    "SECURE_REFERRER_POLICY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE",
]
print(json.dumps({name: getattr(s, name) for name in names}))
"""


def _environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a production install, as docker/.env.example sets it."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CANDOR_", "DATABASE_URL", "EMAIL_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="candor.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://candor.example.com",
        CANDOR_HTTPS="true",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.com",
        EMAIL_USE_TLS="true",
        CANDOR_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CANDOR_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'candor.sqlite3'}",
    )
    environment.update(overrides)
    return environment


def _run(arguments: list[str], environment: dict[str, str]):
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _check_deploy(environment: dict[str, str]):
    return _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], environment
    )


def test_check_deploy_reports_no_issues_with_production_settings(tmp_path):
    result = _check_deploy(_environment(tmp_path))

    output = (result.stdout + result.stderr).strip()
    OUTPUTS["manage.py check --deploy --fail-level WARNING (production env)"] = output
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output


def test_check_deploy_fails_without_https_settings(tmp_path):
    # The same check does fail when the production switches are off, so the test
    # above is not passing by accident.
    result = _check_deploy(_environment(tmp_path, CANDOR_HTTPS="false"))

    output = result.stdout + result.stderr
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012"):
        assert warning in output


@pytest.fixture
def production_settings(tmp_path) -> dict:
    result = _run(["-c", PRINT_SETTINGS], _environment(tmp_path))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_are_secure_and_hidden_from_scripts(production_settings):
    assert production_settings["DEBUG"] is False
    assert production_settings["SESSION_COOKIE_SECURE"] is True
    assert production_settings["CSRF_COOKIE_SECURE"] is True
    assert production_settings["SESSION_COOKIE_HTTPONLY"] is True
    assert production_settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production_settings["CSRF_COOKIE_SAMESITE"] == "Lax"


def test_production_forces_https_for_a_year(production_settings):
    assert production_settings["SECURE_SSL_REDIRECT"] is True
    assert production_settings["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert production_settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production_settings["SECURE_HSTS_PRELOAD"] is True


def test_production_pages_cannot_be_framed_or_sniffed(production_settings):
    assert production_settings["X_FRAME_OPTIONS"] == "DENY"
    assert production_settings["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production_settings["SECURE_REFERRER_POLICY"] == "same-origin"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run(["manage.py", "check"], _environment(tmp_path, DJANGO_SECRET_KEY=""))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
