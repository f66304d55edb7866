"""A real Celery worker process on the real Redis, for tests that must not be eager."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def _redis_answers() -> bool:
    try:
        return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start a worker subprocess sharing the test database; stop it after."""
    if not _redis_answers():
        pytest.skip(f"no Redis answers at {settings.REDIS_URL}; bin/test starts one")
    if connection.vendor != "sqlite":
        pytest.skip("the worker fixture shares the SQLite test database file")
    celery_app.conf.task_always_eager = False
    redis.Redis.from_url(settings.REDIS_URL).flushdb()

    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CANDOR_VAR_DIR": str(Path(settings.MEDIA_ROOT).parent),
        "CANDOR_RESCORE_DELAY_SECONDS": "0",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--queues=celery,runs",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _wait_for_ready(process, log_path)

    yield WorkerProcess(process, log_path)

    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    celery_app.conf.task_always_eager = True


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def tasks_succeeded(self, task_name: str) -> int:
        return sum(
            1
            for line in self.log().splitlines()
            if f"Task {task_name}[" in line and "succeeded" in line
        )


def _wait_for_ready(process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{log_path.read_text()}")
        if "ready." in log_path.read_text():
            return
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the worker did not start in 30 s:\n{log_path.read_text()}")


def wait_until(condition, timeout: float = 30, interval: float = 0.2):
    """Poll ``condition`` until it returns something truthy, or fail on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
