"""docker/'s start scripts run here as the image runs them, on the test database."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.integration.conftest import ROOT, shared_database_url, wait_until

pytestmark = pytest.mark.worker


def _free_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _health_once_the_worker_answers(url: str) -> tuple[int, bytes] | None:
    # The web answers 200 as soon as it serves, before the worker is up.
    status, body = _get(url)
    if status == 200 and json.loads(body)["worker"]:
        return status, body
    return None


def _command_line(process: subprocess.Popen) -> str:
    return (
        Path(f"/proc/{process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    )


@pytest.fixture
def image_env(transactional_db, tmp_path) -> dict[str, str]:
    """The environment the image sets, pointed at the test database and Redis."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "CANDOR_VAR_DIR": str(tmp_path / "var"),
        "CANDOR_STATIC_ROOT": str(tmp_path / "static"),
        "CANDOR_MANIFEST_STATIC": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PORT": str(_free_port()),
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        "CELERY_CONCURRENCY": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


@pytest.fixture
def start(image_env, tmp_path):
    """Start a docker/ script; stop every one started when the test ends."""
    started: list[subprocess.Popen] = []

    def start_script(name: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}.log").open("w")
        process = subprocess.Popen(
            [f"docker/{name}"],
            cwd=ROOT,
            env=image_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start_script

    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_web_worker_and_beat_start_and_report_healthy(start, image_env, tmp_path):
    base_url = f"http://127.0.0.1:{image_env['PORT']}"
    worker = start("start-worker.sh")
    beat = start("start-beat.sh")
    web = start("start-web.sh")

    status, body = wait_until(
        lambda: _health_once_the_worker_answers(f"{base_url}/healthz"), timeout=60
    )
    login_page = _get(f"{base_url}/login/")[1].decode()
    static_path = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', login_page)
    schedule = Path(image_env["CANDOR_VAR_DIR"]) / "celerybeat-schedule"
    wait_until(schedule.exists, timeout=30)

    logs = "\n".join(path.read_text() for path in tmp_path.glob("*.log"))
    assert json.loads(body) == {"database": True, "redis": True, "worker": True}
    assert static_path, login_page
    assert _get(base_url + static_path.group(1))[0] == 200, logs
    assert "gunicorn" in _command_line(web)
    assert "celery -A config worker" in _command_line(worker)
    assert "celery -A config beat" in _command_line(beat)


def test_web_access_log_names_link_paths_without_their_tokens(
    start, image_env, tmp_path
):
    base_url = f"http://127.0.0.1:{image_env['PORT']}"
    start("start-web.sh")
    wait_until(lambda: _get(f"{base_url}/healthz")[0] == 200, timeout=60)
    vendor_token, invitation_token = "vendorLinkSecret123", "invitationSecret456"

    assert _get(f"{base_url}/v/{vendor_token}/")[0] == 404
    assert _get(f"{base_url}/invitations/{invitation_token}/")[0] == 404
    web_log = tmp_path / "start-web.sh.log"
    wait_until(
        lambda: all(
            request in web_log.read_text()
            for request in ('"GET /v/', '"GET /invitations/')
        ),
        timeout=10,
    )

    access_log = web_log.read_text()
    assert "GET /v/[token]/" in access_log
    assert vendor_token not in access_log
    assert invitation_token not in access_log
