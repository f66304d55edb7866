"""Page benchmark: Candor's pages on a large generated portfolio, against a trivial
page in the same run, over a real gunicorn server; plus autosave and the PDF.

One invocation, in a throwaway folder unless ``--database`` names one:

1. Migrates a fresh SQLite database (with ``--postgres``, a throwaway PostgreSQL
   cluster) and fills it with ``manage.py generate_portfolio`` (500 vendors, 1,000
   offerings, 2,000 assessments with answers and scores, 500 runs with samples;
   ``--scale`` shrinks or grows it), timing the generation.
2. Starts a Redis (answer saves enqueue a rescoring, as in production) and
   gunicorn (``--workers 1``, sync) serving Candor with the bench's URL conf
   (``bench/pages_urls.py``): Candor's URLs plus a trivial page, a signed-in page
   in the site's layout with nothing on it, and a bare one that only answers
   "ok". Every process it starts is stopped when it ends.
3. Signs the portfolio's owner in (a session row, as a login makes) and requests,
   round-robin in a shuffled order each round so that load from elsewhere falls
   on all alike: the trivial and bare pages, the vendor list, an assessment's
   questionnaire, its dashboard and a full run's page. Each page's time is the
   median of ``--requests`` rounds, both as the server measured it (gunicorn's
   access log, ``%(D)s``) and as the client saw it (loopback HTTP, a new
   connection per request). Ratio = the page's server median over the trivial
   page's. Then ``--cpu-requests`` more of each page, the pages taking turns in
   blocks of ten, while the gunicorn worker's CPU time is read from /proc: CPU
   ratio = its CPU per request over the trivial page's, on which the targets are
   judged. The queries column comes from rendering the page once in this process.
4. Autosave: ``--saves`` htmx posts of one answer, alternating its value, with
   the version the page would hold (server median and 95th percentile).
5. PDF: ``--pdfs`` reports of the same assessment printed by the Celery job's own
   function (``dashboards.services.report_print``) in this process: wall time,
   and CPU of this process plus the Chromium it starts.

Targets (``../shared/DESIGN.md`` §9): pages within 3× the trivial page, autosave
under 50 ms of server time, a PDF under 3 s. A missed target is reported, not an
error: the exit status is non-zero only when something failed to run.

Usage (from the project root): see bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from runner_bench import (
    CLOCK_TICKS,
    Background,
    Children,
    _redis_answers,
    free_port,
    say,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
USERNAME = "portfolio"
PASSWORD = "portfolio-bench-password"
PAGE_TARGET = 3.0
AUTOSAVE_TARGET_MS = 50.0
PDF_TARGET_S = 3.0
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"
# Requests of one page in a row while its CPU is measured.
CPU_BLOCK = 10


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    note: str = ""


@dataclass
class Timing:
    server_ms: list[float]
    client_ms: list[float]
    cpu_ms: float = 0.0

    @property
    def server(self) -> float:
        return statistics.median(self.server_ms)

    @property
    def client(self) -> float:
        return statistics.median(self.client_ms)


# --- The environment and the processes ---------------------------------------------


def bench_environment(
    folder: Path, database_url: str, redis_port: int
) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "pages_settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH)]),
            "DJANGO_SECRET_KEY": "bench-only-secret-key",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CANDOR_VAR_DIR": str(folder / "var"),
            "CANDOR_ENCRYPTION_KEY": env.get("CANDOR_ENCRYPTION_KEY")
            or Fernet.generate_key().decode(),
            "CANDOR_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class ThrowawayPostgres:
    """A PostgreSQL cluster in a folder of its own, made and stopped by bin/setup.sh."""

    def __init__(self) -> None:
        # A folder of its own: as root, bin/setup.sh hands it to the postgres user.
        self.folder = Path(tempfile.mkdtemp(prefix="candor-pages-bench-postgres-"))
        self.port = free_port()
        self.url = f"postgres://candor@127.0.0.1:{self.port}/candor"

    def start(self) -> None:
        say(f"starting PostgreSQL on port {self.port}")
        self._setup_sh(f'start_postgres {self.port} "{self.folder}"')

    def cpu_seconds(self) -> float:
        """CPU of the server and its backends, ended ones included."""
        postmaster_pid = self.folder / "data" / "postmaster.pid"
        server = int(postmaster_pid.read_text().split("\n", 1)[0])
        return processes_cpu_seconds(descendants(server))

    def stop(self) -> None:
        self._setup_sh(f'stop_postgres "{self.folder}"')
        shutil.rmtree(self.folder, ignore_errors=True)

    def _setup_sh(self, command: str) -> None:
        subprocess.run(
            ["bash", "-c", f'source "{ROOT}/bin/setup.sh" && {command}'], check=True
        )


def redis_start(children: Children, env: dict[str, str], port: int) -> None:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("redis-server is not installed (bin/setup.sh installs it)")
    redis = children.start(
        "redis",
        [
            redis_server,
            "--port",
            str(port),
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
    wait_until(lambda: _redis_answers(port), 10, "starting Redis", redis)


def gunicorn_start(children: Children, env: dict[str, str], port: int) -> Path:
    access_log = children.folder / "access.log"
    server = children.start(
        "gunicorn",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            "sync",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            ACCESS_FORMAT,
            "--no-control-socket",
        ],
        env,
    )
    wait_until(lambda: _status(port, "/login/") == 200, 60, "starting gunicorn", server)
    return access_log


def descendants(pid: int) -> list[int]:
    """The process and every process under it (gunicorn's workers, Chromium)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue  # the thread or its process ended after the listing
            queue.extend(int(child) for child in children)
    return found


def _status(port: int, path: str) -> int:
    try:
        return request(port, "GET", path)[0]
    except OSError:
        return 0


# --- HTTP ----------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, bytes, http.client.HTTPMessage]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.headers
    finally:
        connection.close()


class AccessLog:
    """Read gunicorn's access log line by line, as requests finish."""

    def __init__(self, path: Path) -> None:
        self.file = path.open()
        self.file.seek(0, os.SEEK_END)
        self.partial = ""

    def next_ms(self, method: str, path: str) -> float:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            line = self.partial + self.file.readline()
            # A line gunicorn is still writing is kept until its end arrives.
            if not line.endswith("\n"):
                self.partial = line
                time.sleep(0.001)
                continue
            self.partial = ""
            logged_method, logged_path, _, micros = line.split()
            if (logged_method, logged_path) == (method, path.split("?")[0]):
                return int(micros) / 1000
        raise RuntimeError(f"gunicorn logged no {method} {path}")


# --- What is measured --------------------------------------------------------------


def portfolio_targets() -> tuple[list[Page], object, object]:
    """The pages to time, the assessment they show and the question autosave uses."""
    from django.db.models import Count, Q

    from assessments.models import Answer, Assessment
    from evals.models import Run

    # The fullest assessment among those whose offering has a completed run: the
    # questionnaire, dashboard and PDF then have everything to show.
    assessment = (
        Assessment.objects.filter(
            workspace__memberships__user__username=USERNAME,
            offering__runs__status=Run.Status.COMPLETED,
        )
        .exclude(status=Assessment.Status.DECIDED)
        .annotate(answered=Count("answers", distinct=True))
        .order_by("-answered", "pk")
        .first()
    )
    if assessment is None:
        raise RuntimeError("the portfolio has no assessment of a measured offering")
    run = (
        Run.objects.filter(workspace=assessment.workspace, status=Run.Status.COMPLETED)
        .annotate(n=Count("samples", filter=Q(samples__status="done")))
        .order_by("-n", "pk")
        .first()
    )
    answer = (
        Answer.objects.filter(assessment=assessment, question__kind="yes_no")
        .select_related("question")
        .order_by("question__pillar__order", "question__order")
        .first()
    )
    pages = [
        Page("trivial page", "/bench/trivial/", "signed-in, site layout, no content"),
        Page("bare response", "/bench/bare/", "signed-in, middleware only"),
        Page("vendor list", "/vendors/", "first page"),
        Page(
            "assessment",
            f"/assessments/{assessment.pk}/",
            f"{assessment.answers.count()} answers",
        ),
        Page("dashboard", f"/assessments/{assessment.pk}/dashboard/"),
        Page("run", f"/runs/{run.pk}/", f"{run.samples.count()} samples"),
    ]
    return pages, assessment, answer


def session_cookie() -> str:
    """Sign the owner in as a login would, and return the Cookie header."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}"


def query_count(cookie: str, path: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_COOKIE=cookie, SERVER_NAME="127.0.0.1")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code} in process")
    return len(queries.captured_queries)


def pages_time(
    port: int, log: AccessLog, pages: list[Page], cookie: str, rounds: int
) -> dict[str, Timing]:
    headers = {"Cookie": cookie}
    timings = {page.name: Timing([], []) for page in pages}
    for round_number in range(rounds + 3):
        order = pages[:]
        random.shuffle(order)
        for page in order:
            started = time.perf_counter()
            status, body, _ = request(port, "GET", page.path, headers=headers)
            client_ms = (time.perf_counter() - started) * 1000
            server_ms = log.next_ms("GET", page.path)
            if status != 200:
                raise RuntimeError(f"{page.path} answered {status}: {body[:300]!r}")
            if round_number >= 3:  # the first rounds warm caches up
                timings[page.name].server_ms.append(server_ms)
                timings[page.name].client_ms.append(client_ms)
    return timings


def pages_cpu(
    port: int,
    log: AccessLog,
    pages: list[Page],
    cookie: str,
    rounds: int,
    worker_pid: int,
    timings: dict[str, Timing],
) -> None:
    """Add each page's CPU per request in the gunicorn worker.

    CPU time is what the server itself spends, whatever else the machine runs.
    It is read from the scheduler's own account (nanoseconds) rather than
    /proc's utime and stime, whose 10 ms ticks made a block of 30 trivial pages
    (about 100 ms) uncertain by a tenth. The pages take turns in blocks of
    CPU_BLOCK requests, in a shuffled order each turn, so that a rare cost of
    the process (a full garbage collection takes several milliseconds) falls
    on every page alike instead of on whichever page happened to run then.
    """
    headers = {"Cookie": cookie}
    spent = {page.name: 0 for page in pages}
    turns = max(1, rounds // CPU_BLOCK)
    for _ in range(turns):
        order = pages[:]
        random.shuffle(order)
        for page in order:
            before = process_cpu_ns(worker_pid)
            for _ in range(CPU_BLOCK):
                request(port, "GET", page.path, headers=headers)
                log.next_ms("GET", page.path)
            spent[page.name] += process_cpu_ns(worker_pid) - before
    for page in pages:
        timings[page.name].cpu_ms = spent[page.name] / 1e6 / (turns * CPU_BLOCK)


def process_cpu_ns(pid: int) -> int:
    """Nanoseconds every thread of a live process has run, from /proc schedstat."""
    return sum(
        int(schedstat.read_text().split()[0])
        for schedstat in Path(f"/proc/{pid}/task").glob("*/schedstat")
    )


def autosave_time(
    port: int, log: AccessLog, assessment, answer, cookie: str, saves: int
) -> Timing:
    from assessments.models import Answer

    path = f"/assessments/{assessment.pk}/"
    status, _, headers = request(port, "GET", path, headers={"Cookie": cookie})
    log.next_ms("GET", path)
    csrf = _cookie_value(headers, "csrftoken")
    if status != 200 or not csrf:
        raise RuntimeError(f"the questionnaire answered {status} without a CSRF cookie")
    save_path = f"/assessments/{assessment.pk}/answers/{answer.question.key}/"
    post_headers = {
        "Cookie": f"{cookie}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "HX-Request": "true",
        "HX-Target": f"q-{answer.question.key}-status",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    timing = Timing([], [])
    fields = ("value", "tier", "source_url", "note")
    for index in range(saves + 2):
        # What the form holds: the stored answer's fields, its version and base.
        stored = Answer.objects.values(*fields, "version").get(pk=answer.pk)
        base = {name: stored[name] for name in fields}
        form = {**base, "value": "no" if stored["value"] == "yes" else "yes"}
        body = urlencode(
            {**form, "version": stored["version"], "base": json.dumps(base)}
        )
        started = time.perf_counter()
        status, content, _ = request(
            port, "POST", save_path, headers=post_headers, body=body
        )
        client_ms = (time.perf_counter() - started) * 1000
        server_ms = log.next_ms("POST", save_path)
        if status != 200:
            raise RuntimeError(f"autosave answered {status}: {content[:300]!r}")
        if index >= 2:
            timing.server_ms.append(server_ms)
            timing.client_ms.append(client_ms)
    return timing


def _cookie_value(headers: http.client.HTTPMessage, name: str) -> str:
    for header in headers.get_all("Set-Cookie") or []:
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    return ""


def pdf_time(assessment, pdfs: int) -> tuple[list[float], list[float]]:
    from dashboards.models import Report
    from dashboards.services import report_print

    walls, cpus = [], []
    for _ in range(pdfs + 1):
        report = Report.objects.create(assessment=assessment)
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        report_print(report.pk)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        report.refresh_from_db()
        if report.status != Report.Status.DONE:
            raise RuntimeError(f"the PDF was not printed: {report.error}")
        walls.append(wall)
        cpus.append(cpu)
    # The first print pays for imports and a cold Chromium; it is left out.
    return walls[1:], cpus[1:]


def _cpu_seconds() -> float:
    """CPU of this process and every process under it, ended or still running.

    The printer keeps its Chromium running between reports, so Chromium's CPU
    is read from /proc (with what its ended renderers left in it) rather than
    from the rusage of reaped children only.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return total + processes_cpu_seconds(descendants(os.getpid())[1:])


def processes_cpu_seconds(pids: list[int]) -> float:
    """CPU of these processes and of the children they have reaped, from /proc."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # ended meanwhile: its parent's reaped-children time has it
        # utime, stime, cutime and cstime are fields 14-17 (1-based).
        total += sum(int(value) for value in fields[11:15]) / CLOCK_TICKS
    return total


# --- The report ----------------------------------------------------------------------


def report(
    pages: list[Page],
    timings: dict[str, Timing],
    queries: dict[str, int],
    autosave: Timing,
    pdf: tuple[list[float], list[float]] | None,
    generation: str,
    rounds: int,
    cpu_requests: int,
    background: float,
) -> list[str]:
    trivial = timings[pages[0].name]
    missed = []
    rows = [
        "| page | queries | server ms (median) | client ms (median) | ratio "
        "| server CPU ms | CPU ratio | target (on CPU) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for page in pages:
        timing = timings[page.name]
        ratio = timing.server / trivial.server
        cpu_ratio = timing.cpu_ms / trivial.cpu_ms
        is_target = not page.path.startswith("/bench/")
        verdict = "—"
        if is_target:
            verdict = f"≤ {PAGE_TARGET:g}x {_verdict(cpu_ratio <= PAGE_TARGET)}"
            if cpu_ratio > PAGE_TARGET:
                missed.append(f"{page.name} {cpu_ratio:.2f}x")
        label = f"{page.name} ({page.note})" if page.note else page.name
        rows.append(
            f"| {label} | {queries[page.name]} | {timing.server:.1f} | "
            f"{timing.client:.1f} | {ratio:.2f}x | {timing.cpu_ms:.1f} | "
            f"{cpu_ratio:.2f}x | {verdict} |"
        )
    save_p95 = statistics.quantiles(autosave.server_ms, n=20)[-1]
    save_ok = autosave.server < AUTOSAVE_TARGET_MS
    if not save_ok:
        missed.append(f"autosave {autosave.server:.1f} ms")
    rows += [
        "",
        f"Autosave round trip: server {autosave.server:.1f} ms median, "
        f"{save_p95:.1f} ms p95; client {autosave.client:.1f} ms median "
        f"({len(autosave.server_ms)} saves; target < {AUTOSAVE_TARGET_MS:g} ms: "
        f"{'met' if save_ok else 'MISSED'}).",
    ]
    if pdf is not None:
        walls, cpus = pdf
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        if wall >= PDF_TARGET_S:
            missed.append(f"PDF wall {wall:.2f} s")
        if cpu >= PDF_TARGET_S:
            missed.append(f"PDF CPU {cpu:.2f} s")
        rows.append(
            f"PDF: {wall:.2f} s wall median ({min(walls):.2f}–{max(walls):.2f}), "
            f"{cpu:.2f} s CPU (this process and Chromium) over {len(walls)} reports; "
            f"target < {PDF_TARGET_S:g} s: wall {_verdict(wall < PDF_TARGET_S)}, "
            f"CPU {_verdict(cpu < PDF_TARGET_S)}."
        )
    rows += [
        f"Pages: median of {rounds} rounds; ratio = server median / trivial page's; "
        f"CPU ratio = the gunicorn worker's CPU per request over {cpu_requests} "
        f"requests of each page, in turns of {CPU_BLOCK}, / the trivial page's "
        "(the server's own work, whatever else "
        f"runs); other processes used {background:.0%} of the machine meanwhile "
        "(bg%).",
        generation,
        "Targets missed: " + (", ".join(missed) if missed else "none"),
    ]
    return rows


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        type=Path,
        help="an SQLite file already holding a generated portfolio (owner "
        f"{USERNAME!r}); default: generate one in the work folder",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="generate and serve the portfolio from a throwaway PostgreSQL cluster "
        "(Debian's postgresql) instead of SQLite",
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--requests", type=int, default=30, help="rounds of pages")
    parser.add_argument(
        "--cpu-requests",
        type=int,
        default=200,
        help=f"requests of each page whose CPU is measured, in turns of {CPU_BLOCK}",
    )
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--pdfs", type=int, default=3, help="0 skips the PDF")
    parser.add_argument(
        "--max-background",
        type=float,
        default=0.25,
        help="before timing pages, wait until other processes use at most this "
        "share of the machine's CPU (0-1; 1 = do not wait)",
    )
    parser.add_argument(
        "--patience",
        type=float,
        default=60,
        help="seconds to wait for a quiet machine before timing anyway",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    if args.postgres and args.database:
        parser.error("--database reuses an SQLite file; --postgres generates anew")

    sys.path[:0] = [str(ROOT), str(BENCH)]
    folder = Path(tempfile.mkdtemp(prefix="candor-pages-bench-"))
    postgres = ThrowawayPostgres() if args.postgres else None
    database = (
        args.database.resolve() if args.database else folder / "portfolio.sqlite3"
    )
    database_url = postgres.url if postgres else f"sqlite:///{database}"
    children = Children(folder)
    say(f"work folder {folder}, database {database_url}")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if postgres:
            postgres.start()
        redis_port, port = free_port(), free_port()
        env = bench_environment(folder, database_url, redis_port)
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        engine = "PostgreSQL" if postgres else "SQLite"
        generation = f"Portfolio: reused {database} (SQLite)."
        call_command("migrate", verbosity=0)
        if args.database is None:
            say("generating the portfolio")
            started = time.perf_counter()
            call_command(
                "generate_portfolio",
                scale=args.scale,
                username=USERNAME,
                password=PASSWORD,
                stdout=sys.stderr,
            )
            generation = (
                f"Portfolio generated (scale {args.scale:g}, {engine}) in "
                f"{time.perf_counter() - started:.1f} s."
            )

        redis_start(children, env, redis_port)
        access_log = gunicorn_start(children, env, port)
        log = AccessLog(access_log)
        pages, assessment, answer = portfolio_targets()
        cookie = session_cookie()
        say(f"gunicorn on port {port}; timing {len(pages)} pages")
        queries = {page.name: query_count(cookie, page.path) for page in pages}
        server_pids = descendants(children.started[-1].process.pid)
        load = Background([*server_pids, children.started[0].process.pid])
        load.wait_for_quiet(args.max_background, args.patience)
        load.start()
        database_cpu_before = postgres.cpu_seconds() if postgres else 0.0
        timings = pages_time(port, log, pages, cookie, args.requests)
        worker_pid = [pid for pid in server_pids if pid != server_pids[0]][0]
        pages_cpu(port, log, pages, cookie, args.cpu_requests, worker_pid, timings)
        # The database server worked for the pages too: it is not background.
        database_cpu = postgres.cpu_seconds() - database_cpu_before if postgres else 0.0
        background = load.stop(extra_cpu=database_cpu)
        say("timing autosave")
        autosave = autosave_time(port, log, assessment, answer, cookie, args.saves)
        pdf = None
        if args.pdfs:
            say("printing PDFs")
            pdf = pdf_time(assessment, args.pdfs)
        rows = report(
            pages,
            timings,
            queries,
            autosave,
            pdf,
            generation,
            args.requests,
            args.cpu_requests,
            background,
        )
        print("\n".join(rows))
        return 0
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        children.stop_all()
        if postgres:
            postgres.stop()
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
