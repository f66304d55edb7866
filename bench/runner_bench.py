"""Runner benchmark: whole evaluation runs through Celery against the simulated vendor,
and the same items through inspect-ai, at the same latency and concurrency.

One invocation starts everything it needs in a throwaway folder — a Redis, the
simulated vendor (its own process), a migrated SQLite database and a real Celery
worker (``--pool=solo``, queue "runs") — then, for each concurrency C:

- Candor: creates a workspace, offering and endpoint (``max_concurrency=C``, a
  requests-per-minute limit far above what the run sends, so the shared limiter
  runs but never binds), starts a run with ``evals.services.run_start`` and waits
  for it to finish. Every single-turn probe family takes part, repeated until the
  run has N conversations, so each sample is one call. Reported: wall time from
  ``run_start`` to the finished status seen by this process, the worker's CPU (from
  /proc/<pid>/stat) per sample, and a check that every sample was saved, once,
  done, graded.
- inspect-ai (installed in bench/.venv-inspect, never in requirements.txt): the
  same conversations, graded by the same family graders, run by
  bench/inspect_driver.py with ``--max-connections C`` and ``max_samples`` equal,
  explicit retries and timeout, telemetry off, its data, cache and log folders
  pinned inside the throwaway folder; its log's status is checked, not its exit
  code. Reported: the in-process time and CPU of ``eval()``, and the whole
  process's wall and CPU (imports included) for reference.

The trials alternate Candor and inspect-ai so that load from elsewhere falls on
both alike. Before each trial the benchmark waits (``--max-background``,
``--patience``) for the rest of the machine to be quiet, and during each trial it
measures how busy the machine was with processes other than its own (``bg%``: the
machine's busy CPU from /proc/stat less the CPU of every process it started and
its own). The table shows the best (shortest) of the trials with the spread of
the ratios. The ratio is (N / wall) / (C / L): 1 means C calls always in flight.

Usage (from the project root): see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
INSPECT_VENV = BENCH / ".venv-inspect"
INSPECT_VERSION = "0.3.285"
API_KEY = "sk-bench-simulated-0123456789"
MODEL = "candid"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FINAL_STATUSES = ("completed", "inconclusive", "failed", "cancelled")


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- CPU accounting ----------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    line = Path("/proc/stat").read_text().split("\n", 1)[0]
    # user nice system idle iowait irq softirq steal; guest time is inside user.
    values = [int(value) for value in line.split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Background:
    """How busy the machine is with processes other than the benchmark's own.

    ``start`` then ``stop`` measure a window: the machine's busy CPU less the CPU
    that the given processes (and this one) used, as a share of all cores.
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def _own_cpu(self) -> float:
        own = os.times()
        return own.user + own.system + sum(map(process_cpu_seconds, self.pids))

    def start(self) -> None:
        self._ticks = machine_busy_ticks()
        self._own = self._own_cpu()

    def stop(self, extra_cpu: float = 0.0) -> float:
        busy, total = machine_busy_ticks()
        busy_seconds = (busy - self._ticks[0]) / CLOCK_TICKS
        total_seconds = (total - self._ticks[1]) / CLOCK_TICKS
        others = busy_seconds - (self._own_cpu() - self._own) - extra_cpu
        return max(0.0, others) / max(total_seconds, 1e-9)

    def wait_for_quiet(self, limit: float, patience: float) -> float:
        """Wait (up to ``patience`` s) until the rest of the machine is below limit."""
        deadline = time.monotonic() + patience
        while True:
            self.start()
            time.sleep(1)
            busy = self.stop()
            if busy <= limit or time.monotonic() >= deadline:
                return busy
            say(f"the machine is {busy:.0%} busy elsewhere; waiting for quiet")
            time.sleep(3)


# --- Processes this benchmark starts ---------------------------------------------


@dataclass
class Started:
    name: str
    process: subprocess.Popen
    log_path: Path


@dataclass
class Children:
    """Every process the benchmark started; ``stop_all`` ends each by its id."""

    folder: Path
    started: list[Started] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> Started:
        log_path = self.folder / f"{name}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        child = Started(name, process, log_path)
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.started):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in reversed(self.started):
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                say(f"{child.name} did not stop in 15 s; killing it")
                child.process.kill()
                child.process.wait(timeout=5)
        self.started.clear()


def wait_until(condition, timeout: float, what: str, child: Started | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.process.poll() is not None:
            log = child.log_path.read_text()[-3000:]
            raise RuntimeError(f"{child.name} exited while {what}:\n{log}")
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:g} s {what}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# --- The environment shared by the worker, the vendor and this process -------------


def bench_environment(folder: Path, redis_port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy") and not key.startswith("INSPECT_")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "bench-only-secret-key",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CANDOR_VAR_DIR": str(folder / "var"),
            "CANDOR_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "CANDOR_ENDPOINT_ALLOW_PRIVATE": "true",
            "CANDOR_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class Services:
    redis: Started
    vendor: Started
    worker: Started
    vendor_url: str


def services_start(
    children: Children, env: dict[str, str], redis_port: int, latency_ms: int
) -> Services:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("redis-server is not installed (bin/setup.sh installs it)")
    redis = children.start(
        "redis",
        [
            redis_server,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(children.folder),
        ],
        env,
    )
    wait_until(lambda: _redis_answers(redis_port), 10, "starting Redis", redis)

    vendor_port = free_port()
    vendor = children.start(
        "vendor",
        [
            sys.executable,
            "manage.py",
            "simulated_vendor",
            "--port",
            str(vendor_port),
            "--latency-ms",
            str(latency_ms),
        ],
        env,
    )
    vendor_url = f"http://127.0.0.1:{vendor_port}/v1"
    wait_until(
        lambda: _answers(f"{vendor_url}/models"), 30, "starting the vendor", vendor
    )

    worker = children.start(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--queues=runs",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=bench-{os.getpid()}@%h",
        ],
        env,
    )
    wait_until(
        lambda: "ready." in worker.log_path.read_text(),
        60,
        "starting the Celery worker",
        worker,
    )
    return Services(redis, vendor, worker, vendor_url)


# --- Candor's side -------------------------------------------------------------------


def single_turn_families() -> list[str]:
    from evals.probes import registry

    return [
        family.key
        for family in registry.families()
        if all(
            len(conversation.user_turns) == 1
            for item in family.items()
            for conversation in family.conversations(item)
        )
    ]


@dataclass
class Trial:
    system: str
    concurrency: int
    samples: int
    wall: float  # the figure the ratio is computed from
    cpu: float  # CPU seconds of the measured process over that wall
    background: float
    extra: dict = field(default_factory=dict)

    def ratio(self, latency: float) -> float:
        return (self.samples / self.wall) / (self.concurrency / latency)

    def cpu_ms_per_sample(self) -> float:
        return 1000 * self.cpu / self.samples


class CandorBench:
    def __init__(self, services: Services, families: list[str], repeats: int):
        from accounts.services import user_signup

        self.services = services
        self.families = families
        self.repeats = repeats
        self.user = user_signup(
            username=f"bench{os.getpid()}",
            email="bench@example.test",
            password="bench-password-unused",
            workspace_name="Runner benchmark",
        )
        self.workspace = self.user.memberships.get().workspace
        self.offerings: dict[int, object] = {}

    def offering(self, concurrency: int):
        from evals.services import endpoint_save
        from vendors.services import offering_create, vendor_create

        if concurrency not in self.offerings:
            vendor = vendor_create(
                workspace=self.workspace,
                user=self.user,
                name=f"Simulated vendor C={concurrency}",
            )
            offering = offering_create(
                vendor=vendor, user=self.user, name="Scripted model", version="bench"
            )
            endpoint = endpoint_save(
                offering=offering,
                user=self.user,
                api_kind="openai_chat",
                base_url=self.services.vendor_url,
                model_name=MODEL,
                max_concurrency=concurrency,
                # Far above what a run sends (C/L per second at most): the shared
                # limiter is asked for every call but never makes one wait.
                requests_per_minute=1_000_000,
                timeout_seconds=60,
                api_key=API_KEY,
            )
            endpoint.is_simulated = True
            endpoint.save(update_fields=["is_simulated"])
            self.offerings[concurrency] = offering
        return self.offerings[concurrency]

    def run(
        self, concurrency: int, background: Background, families=None, repeats=None
    ):
        from evals.models import Run, Sample
        from evals.services import run_start

        worker_pid = self.services.worker.process.pid
        offering = self.offering(concurrency)
        background.start()
        worker_cpu = process_cpu_seconds(worker_pid)
        redis_cpu = process_cpu_seconds(self.services.redis.process.pid)
        vendor_cpu = process_cpu_seconds(self.services.vendor.process.pid)
        started = time.monotonic()
        run = run_start(
            offering=offering,
            user=self.user,
            families=families or self.families,
            repeats=repeats or self.repeats,
            fresh=True,
            budget_tokens=None,
        )

        def finished():
            status = Run.objects.filter(pk=run.pk).values_list("status", flat=True)[0]
            return status in FINAL_STATUSES

        wait_until(
            finished,
            3600,
            f"waiting for run {run.pk}",
            self.services.worker,
        )
        wall = time.monotonic() - started
        busy_elsewhere = background.stop()
        worker_cpu = process_cpu_seconds(worker_pid) - worker_cpu
        redis_cpu = process_cpu_seconds(self.services.redis.process.pid) - redis_cpu
        vendor_cpu = process_cpu_seconds(self.services.vendor.process.pid) - vendor_cpu

        run.refresh_from_db()
        samples = Sample.objects.filter(run=run)
        identities = set(samples.values_list("family", "item_key", "variant", "repeat"))
        # Judge-graded checks read passed=None without a judge, but say why.
        graded = samples.filter(status="done").exclude(transcript=[])
        graded = graded.exclude(grade_reason="")
        problems = []
        if run.status != "completed":
            problems.append(f"status {run.status}: {run.status_reason}")
        if not (run.total == run.done == samples.count() == len(identities)):
            problems.append(
                f"total {run.total}, done {run.done}, rows {samples.count()}, "
                f"distinct {len(identities)}"
            )
        if run.errored or graded.count() != run.total:
            problems.append(f"{run.errored} errored, {graded.count()} graded")
        if problems:
            raise RuntimeError(f"run {run.pk} is not whole: " + "; ".join(problems))

        in_worker = (run.finished_at - run.started_at).total_seconds()
        return Trial(
            system="candor",
            concurrency=concurrency,
            samples=run.total,
            wall=wall,
            cpu=worker_cpu,
            background=busy_elsewhere,
            extra={
                "run": run.pk,
                "in_worker_wall": in_worker,
                "redis_cpu_ms": 1000 * redis_cpu / run.total,
                "vendor_cpu_ms": 1000 * vendor_cpu / run.total,
            },
        )


# --- inspect-ai's side ---------------------------------------------------------------


def inspect_install() -> Path:
    python = INSPECT_VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run(
            [str(python), "-c", "import inspect_ai, openai"], capture_output=True
        )
        if check.returncode == 0:
            return python
    say(f"installing inspect-ai {INSPECT_VERSION} into {INSPECT_VENV} (bench only)")
    subprocess.run([sys.executable, "-m", "venv", str(INSPECT_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"inspect-ai=={INSPECT_VERSION}",
            "openai",
        ],
        check=True,
    )
    return python


def items_write(path: Path, families: list[str], repeats: int) -> int:
    from evals.runner import run_work_list

    work = run_work_list(families, repeats)
    with path.open("w") as out:
        for entry in work:
            family, item_key, variant, repeat = entry.identity
            out.write(
                json.dumps(
                    {
                        "id": f"{family}/{item_key}/{variant}/{repeat}",
                        "family": family,
                        "item_key": item_key,
                        "variant": variant,
                        "system": entry.conversation.system,
                        "user": entry.conversation.user_turns[0],
                    }
                )
                + "\n"
            )
    return len(work)


def inspect_run(
    python: Path,
    folder: Path,
    items: Path,
    vendor_url: str,
    concurrency: int,
    trial: int,
    background: Background,
) -> Trial:
    run_folder = folder / f"inspect-c{concurrency}-t{trial}"
    run_folder.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy")
        # No telemetry or key-override hooks, whatever the caller's shell has.
        and not key.startswith("INSPECT_")
    }
    env.update(
        {
            "SIM_BASE_URL": vendor_url,
            "SIM_API_KEY": API_KEY,
            "XDG_DATA_HOME": str(folder / "inspect-xdg-data"),
            "XDG_CACHE_HOME": str(folder / "inspect-xdg-cache"),
            "XDG_CONFIG_HOME": str(folder / "inspect-xdg-config"),
            "INSPECT_LOG_DIR": str(run_folder / "logs"),
            "INSPECT_DISPLAY": "none",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    result_path = run_folder / "result.json"
    command = [
        str(python),
        str(BENCH / "inspect_driver.py"),
        "--items",
        str(items),
        "--model",
        f"openai-api/sim/{MODEL}",
        "--max-connections",
        str(concurrency),
        "--max-retries",
        "6",
        "--timeout",
        "60",
        "--log-dir",
        str(run_folder / "logs"),
        "--result",
        str(result_path),
    ]
    background.start()
    started = time.monotonic()
    with (run_folder / "driver.log").open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=BENCH,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _, _, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = 0  # reaped by wait4; its log decides, below
    process_wall = time.monotonic() - started
    process_cpu = usage.ru_utime + usage.ru_stime
    busy_elsewhere = background.stop(extra_cpu=process_cpu)
    if not result_path.exists():
        raise RuntimeError(
            "inspect-ai wrote no result:\n"
            + (run_folder / "driver.log").read_text()[-3000:]
        )
    result = json.loads(result_path.read_text())
    if result["status"] != "success" or result["completed"] != result["expected"]:
        raise RuntimeError(f"inspect-ai run is not whole: {result}")
    return Trial(
        system="inspect-ai",
        concurrency=concurrency,
        samples=result["completed"],
        wall=result["eval_wall"],
        cpu=result["eval_cpu"],
        background=busy_elsewhere,
        extra={
            "process_wall": process_wall,
            "process_cpu_ms": 1000 * process_cpu / result["completed"],
            "log_wall": result.get("log_wall"),
        },
    )


# --- Report --------------------------------------------------------------------------


def best(trials: list[Trial]) -> Trial:
    return min(trials, key=lambda trial: trial.wall)


def report(
    results: dict[tuple[str, int], list[Trial]], latency: float, samples: int
) -> str:
    lines = [
        f"N = {samples} single-turn samples, L = {latency * 1000:g} ms; "
        f"ratio = (N / wall) / (C / L); best of "
        f"{max(len(t) for t in results.values())} trials, spread min-max",
        "",
        f"{'C':>3}  {'system':<10} {'ideal s':>7} {'wall s':>7} {'ratio':>6} "
        f"{'spread':>11} {'CPU ms/sample':>13} {'bg%':>4}  notes",
    ]
    concurrencies = sorted({c for _, c in results})
    for concurrency in concurrencies:
        ideal = math.ceil(samples / concurrency) * latency
        for system in ("candor", "inspect-ai"):
            trials = results.get((system, concurrency), [])
            if not trials:
                continue
            top = best(trials)
            ratios = [trial.ratio(latency) for trial in trials]
            if system == "candor":
                notes = (
                    f"in-worker {top.extra['in_worker_wall']:.2f} s; redis "
                    f"{top.extra['redis_cpu_ms']:.2f} ms/sample; vendor "
                    f"{top.extra['vendor_cpu_ms']:.2f} ms/sample"
                )
            else:
                notes = (
                    f"process {top.extra['process_wall']:.2f} s, "
                    f"{top.extra['process_cpu_ms']:.2f} ms/sample with imports"
                )
            lines.append(
                f"{concurrency:>3}  {system:<10} {ideal:>7.2f} {top.wall:>7.2f} "
                f"{top.ratio(latency):>6.3f} "
                f"{min(ratios):>5.3f}-{max(ratios):<5.3f} "
                f"{top.cpu_ms_per_sample():>13.2f} "
                f"{top.background * 100:>4.0f}  {notes}"
            )
        candor = results.get(("candor", concurrency))
        inspect = results.get(("inspect-ai", concurrency))
        if candor and inspect:
            speed_up = best(inspect).wall / best(candor).wall
            lines.append(
                f"{concurrency:>3}  Candor is {speed_up:.2f}x as fast as inspect-ai"
            )
        lines.append("")
    lines.append(
        "Candor: wall from run_start to the finished status, CPU of the worker "
        "process. inspect-ai: wall and CPU of its eval() call (process start-up "
        "excluded). bg% = the machine's CPU busy with other processes during the "
        "best trial."
    )
    return "\n".join(lines)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--repeats",
        type=int,
        default=8,
        help="repeats of every single-turn conversation (224 each): N = 224 x this",
    )
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--skip-inspect", action="store_true")
    parser.add_argument("--skip-candor", action="store_true")
    parser.add_argument(
        "--max-background",
        type=float,
        default=0.25,
        help="before each trial, wait until other processes use at most this share "
        "of the machine's CPU (0-1; 1 = do not wait)",
    )
    parser.add_argument(
        "--patience",
        type=float,
        default=60,
        help="seconds to wait for a quiet machine before a trial runs anyway",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", type=Path, help="also write every trial here")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix="candor-bench-"))
    children = Children(folder)
    say(f"work folder {folder}")

    # SIGTERM ends the benchmark like Ctrl-C does, so the finally below runs.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        redis_port = free_port()
        env = bench_environment(folder, redis_port)
        os.environ.update(env)
        import django

        django.setup()
        logging.getLogger().setLevel(logging.WARNING)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        services = services_start(children, env, redis_port, args.latency_ms)
        say(f"vendor {services.vendor_url}, worker pid {services.worker.process.pid}")

        families = single_turn_families()
        samples = items_write(folder / "items.jsonl", families, args.repeats)
        say(f"{samples} conversations from {', '.join(families)}")
        latency = args.latency_ms / 1000

        candor = CandorBench(services, families, args.repeats)
        inspect_python = None if args.skip_inspect else inspect_install()
        background = Background(
            [
                services.redis.process.pid,
                services.vendor.process.pid,
                services.worker.process.pid,
            ]
        )
        if not args.skip_candor:
            # A worker is long-lived: warm it (imports, probe data) once first.
            candor.run(
                args.concurrency[0], background, families=families[-1:], repeats=1
            )

        results: dict[tuple[str, int], list[Trial]] = {}
        for trial in range(1, args.trials + 1):
            for concurrency in args.concurrency:
                if not args.skip_candor:
                    background.wait_for_quiet(args.max_background, args.patience)
                    outcome = candor.run(concurrency, background)
                    results.setdefault(("candor", concurrency), []).append(outcome)
                    say(
                        f"trial {trial} C={concurrency} candor "
                        f"wall {outcome.wall:.2f} s ratio {outcome.ratio(latency):.3f} "
                        f"cpu {outcome.cpu_ms_per_sample():.2f} ms/sample "
                        f"(bg {outcome.background:.0%})"
                    )
                if inspect_python is not None:
                    background.wait_for_quiet(args.max_background, args.patience)
                    outcome = inspect_run(
                        inspect_python,
                        folder,
                        folder / "items.jsonl",
                        services.vendor_url,
                        concurrency,
                        trial,
                        background,
                    )
                    results.setdefault(("inspect-ai", concurrency), []).append(outcome)
                    say(
                        f"trial {trial} C={concurrency} inspect-ai "
                        f"wall {outcome.wall:.2f} s ratio {outcome.ratio(latency):.3f} "
                        f"cpu {outcome.cpu_ms_per_sample():.2f} ms/sample "
                        f"(bg {outcome.background:.0%})"
                    )

        print(report(results, latency, samples))
        if args.json:
            args.json.write_text(
                json.dumps(
                    [
                        {
                            **trial.__dict__,
                            "ratio": trial.ratio(latency),
                            "cpu_ms_per_sample": trial.cpu_ms_per_sample(),
                        }
                        for trials in results.values()
                        for trial in trials
                    ],
                    indent=2,
                )
            )
        return 0
    finally:
        children.stop_all()
        if args.keep:
            say(f"kept {folder}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)


if __name__ == "__main__":
    sys.exit(main())
