"""A real Celery worker process on the real Redis, for tests that must not be eager."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

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


def shared_database_url() -> str:
    """The URL of the test database, for a worker process to share it."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    if connection.vendor != "postgresql":
        pytest.skip(f"the worker fixture cannot share a {connection.vendor} database")
    userinfo = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        userinfo += ":" + quote(database["PASSWORD"], safe="")
    userinfo = f"{userinfo}@" if userinfo else ""
    # A host may be a socket folder, whose slashes must not end the host part.
    host = quote(database["HOST"] or "localhost", safe="")
    port = f":{database['PORT']}" if database["PORT"] else ""
    name = quote(database["NAME"], safe="")
    return f"postgres://{userinfo}{host}{port}/{name}"


# Every queue a worker consumes by default, as bin/run's and the Docker one do.
ALL_QUEUES = "celery,runs,reports"


def _broker_prepare() -> None:
    if not _redis_answers():
        pytest.skip(f"no Redis answers at {settings.REDIS_URL}; bin/test starts one")
    celery_app.conf.task_always_eager = False
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start a worker subprocess sharing the test database; stop it after."""
    _broker_prepare()
    worker = worker_launch(tmp_path / "worker.log")
    worker.wait_ready()

    yield worker

    worker.stop()
    celery_app.conf.task_always_eager = True


@pytest.fixture
def celery_workers(transactional_db, tmp_path):
    """Start worker subprocesses on demand; every one is stopped after the test.

    ``celery_workers("a", "b", queues=..., env=..., extra_args=...)`` starts the
    named workers side by side and returns them once all are ready (at once with
    ``wait=False``: then call ``wait_ready()`` on each).
    """
    _broker_prepare()
    started: list[WorkerProcess] = []

    def start(
        *names: str,
        queues: str = ALL_QUEUES,
        env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
        wait: bool = True,
    ) -> list[WorkerProcess]:
        workers = [
            worker_launch(
                tmp_path / f"{name}.log",
                name=name,
                queues=queues,
                env=env,
                extra_args=extra_args,
            )
            for name in names
        ]
        started.extend(workers)
        for worker in workers if wait else ():
            worker.wait_ready()
        return workers

    yield start

    for worker in started:
        worker.stop()
    celery_app.conf.task_always_eager = True


def worker_launch(
    log_path: Path,
    *,
    name: str = "test",
    queues: str = ALL_QUEUES,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> WorkerProcess:
    """Start a solo-pool worker sharing the test database, without waiting for it."""
    environment = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CANDOR_VAR_DIR": str(Path(settings.MEDIA_ROOT).parent),
        "CANDOR_RESCORE_DELAY_SECONDS": "0",
        **(env or {}),
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
                f"--queues={queues}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={name}-{os.getpid()}@%h",
                *extra_args,
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return WorkerProcess(process, log_path, name)


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path
    name: str = "test"

    def log(self) -> str:
        return self.log_path.read_text()

    def tasks_succeeded(self, task_name: str) -> int:
        return sum(
            1
            for line in self.log().splitlines()
            if f"Task {task_name}[" in line and "succeeded" in line
        )

    def wait_ready(self) -> None:
        _wait_for_ready(self.process, self.log_path)

    def stop(self) -> None:
        """Warm shutdown, or a kill when it takes longer than 20 s."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


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
