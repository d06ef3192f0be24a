"""Shared pieces of the benchmarks: a fresh instance, a production server, a load generator."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: One browser signs in and then browses: the sign-in and the load send the same
#: User-Agent. (Flask-Login's session protection compares it with the one seen at
#: sign-in; a mismatch marks the session non-fresh and rewrites the cookie, which
#: a browser would store once but wrk's fixed Cookie header would replay forever.)
USER_AGENT = "webapp-bench/1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    """wrk drives the load from C, so the client does not compete with Python for the GIL."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
        return shutil.which("wrk") or "wrk"
    sys.exit("The benchmark needs wrk: sudo apt-get install wrk")


def instance_env(instance: Path) -> dict[str, str]:
    return {**os.environ, "WEBAPP_INSTANCE_PATH": str(instance), "WEBAPP_SECRET_KEY": "bench-secret",
            "WEBAPP_LOG_LEVEL": "WARNING"}


@contextmanager
def temporary_instance() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="webapp-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def gunicorn(instance: Path, threads: int = 100) -> Iterator[str]:
    """The production setup from the README: gunicorn, one worker process, many threads."""
    with gunicorn_process("webapp:create_app()", instance_env(instance), threads) as (url, _worker):
        yield url


@contextmanager
def gunicorn_process(app_spec: str, env: dict[str, str], threads: int, worker_class: str | None = None,
                     own_session: bool = False) -> Iterator[tuple[str, psutil.Process]]:
    """gunicorn serving ``app_spec`` with one worker; yields the URL and the worker process.

    ``worker_class`` (``gevent`` for a web process) replaces the threaded worker.
    ``own_session`` starts it in a session of its own, as a service runs (and as
    scripts/cluster starts each process): with Linux's autogroup scheduling a busy
    machine shares its cores between sessions first, then between their processes."""
    port = free_port()
    workers = ["--threads", str(threads)] if worker_class is None else ["-k", worker_class]
    command = [str(BIN / "gunicorn"), "-w", "1", *workers, "-b", f"127.0.0.1:{port}",
               "--log-level", "warning", "--timeout", "120", "--graceful-timeout", "3", app_spec]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=own_session)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield url, psutil.Process(process.pid).children()[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # sockets still open: do not wait for them
            process.kill()
            process.wait()


def login_cookie(url: str, username: str, password: str) -> str:
    """Sign in through the real form and return the Cookie header value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(url + "/auth/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "login": username, "password": password}).encode()
    opener.open(url + "/auth/login", data=data).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url: str, cookie: str | None, seconds: int, connections: int = 8) -> float:
    """Requests per second that wrk measured (non-2xx answers make the run fail)."""
    return wrk_run(url, cookie, seconds, connections)[0]


def wrk_run(url: str, cookie: str | None, seconds: int, connections: int = 8) -> tuple[float, int]:
    """Requests per second and requests completed, as wrk measured them."""
    command = wrk_command(url, cookie, seconds, connections)
    return wrk_result(url, subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def wrk_command(url: str, cookie: str | None, seconds: int, connections: int = 8) -> list[str]:
    """One wrk thread, ``connections`` connections, the bench's User-Agent (and cookie)."""
    command = [ensure_wrk(), "-H", f"User-Agent: {USER_AGENT}", "-t1", f"-c{connections}", f"-d{seconds}s",
               "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    return command


def wrk_result(url: str, output: str) -> tuple[float, int]:
    """(requests per second, requests completed) from wrk's output; errors fail."""
    if "Non-2xx or 3xx responses" in output:
        raise RuntimeError(f"{url} answered with errors:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return rate, int(re.search(r"(\d+) requests in", output).group(1))


#: Per page: one (requests per second, server CPU ms per request) pair per round.
Runs = dict[str, list[tuple[float, float]]]


def measure_interleaved(url: str, cookie: str, pages: dict[str, str], seconds: int, rounds: int,
                        worker: psutil.Process) -> Runs:
    """Every page in turn, round after round, so that work that comes and goes on a
    shared machine falls on all of them alike; ``seconds`` per page over all rounds."""
    per_round = max(seconds // rounds, 1)
    results: Runs = {name: [] for name in pages}
    for _ in range(rounds):
        for name, path in pages.items():
            before = worker.cpu_times()
            rate, requests = wrk_run(url + path, cookie, per_round)
            after = worker.cpu_times()
            cpu = (after.user - before.user) + (after.system - before.system)
            results[name].append((rate, cpu * 1000 / max(requests, 1)))
    return results


def ratio_table(results: Runs, hello: str,
                extra: dict[str, dict[str, object]] | None = None) -> dict[str, Any]:
    """Print rates, ratios to ``hello`` (median of the per-round ratios, with their range)
    and CPU per request; return them for the JSON line."""
    first = results[hello]
    rates = {name: statistics.median(r for r, _ in runs) for name, runs in results.items()}
    ratios = {name: sorted(r / h for (r, _), (h, _) in zip(runs, first, strict=True))
              for name, runs in results.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in results.items()}
    columns = list((extra or {}).keys())
    print(f"\n{'page':<24}{'req/s':>8}{'vs hello':>10}{'(range)':>17}{'CPU ms/req':>12}{'CPU vs hello':>14}"
          + "".join(f"{c:>9}" for c in columns))
    for name, rate in rates.items():
        spread = f"{ratios[name][0]:.1%}-{ratios[name][-1]:.1%}"
        print(f"{name:<24}{rate:>8.0f}{statistics.median(ratios[name]):>10.1%}{spread:>17}"
              f"{cpu[name]:>12.2f}{cpu[hello] / cpu[name]:>14.1%}"
              + "".join(f"{extra[c][name]!s:>9}" for c in columns))  # type: ignore[index]
    return {"rates": rates, "ratio_median": {n: round(statistics.median(v), 4) for n, v in ratios.items()},
            "ratios": {n: [round(r, 4) for r in v] for n, v in ratios.items()},
            "cpu_ms_per_request": {n: round(v, 3) for n, v in cpu.items()}}


# --- CPU of the parties of a run -------------------------------------------------------------


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (gunicorn's master and its worker)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def postgres_backends(database: str) -> list[psutil.Process]:
    """PostgreSQL's server processes for connections to ``database`` (named in their title)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        words = " ".join(process.info["cmdline"] or []).split()
        if process.info["name"] == "postgres" and database in words:
            found.append(process)
    return found


class CpuMeter:
    """CPU time of named groups of processes between :meth:`start` and :meth:`stop`.

    Each party is a function returning its processes, called at both edges (a process
    started in between counts from its start). ``reaped``, when given, names the child
    processes of this one that ended and were waited for in between (wrk), read from
    ``getrusage``. The machine's busy time (every process, also other people's) is
    given as "machine". After :meth:`stop`, ``waits`` holds each party's time spent
    runnable but waiting for a core (Linux's /proc/<pid>/task/*/schedstat), as % of
    the window: what a party lost to the others on a busy machine.
    """

    def __init__(self, parties: Mapping[str, Callable[[], Iterable[psutil.Process]]],
                 reaped: str | None = None) -> None:
        self.parties = parties
        self.reaped = reaped
        self.waits: dict[str, float] = {}
        self._start: dict[str, dict[int, tuple[float, float]]] = {}
        self._began = self._children = self._machine = 0.0

    @staticmethod
    def _machine_busy() -> float:
        """Busy CPU seconds of the whole machine (Linux counts guest time in user time too)."""
        times = psutil.cpu_times()
        idle = ("idle", "iowait", "guest", "guest_nice")
        return sum(value for name, value in times._asdict().items() if name not in idle)

    @staticmethod
    def _run_queue_wait(pid: int) -> float:
        """Seconds the process's threads have waited for a core since they started."""
        total = 0
        for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            with suppress(OSError, IndexError, ValueError):
                total += int(task.read_text().split()[1])
        return total / 1e9

    def _read(self) -> dict[str, dict[int, tuple[float, float]]]:
        seconds: dict[str, dict[int, tuple[float, float]]] = {}
        for name, find in self.parties.items():
            seconds[name] = {}
            for process in find():
                try:
                    times, waited = process.cpu_times(), self._run_queue_wait(process.pid)
                    seconds[name][process.pid] = (times.user + times.system, waited)
                except psutil.NoSuchProcess:
                    pass
        return seconds

    def start(self) -> None:
        self._start = self._read()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._children = usage.ru_utime + usage.ru_stime
        self._machine, self._began = self._machine_busy(), time.monotonic()

    def stop(self) -> dict[str, float]:
        """Per party, and for the machine: CPU time as % of one core over the window."""
        machine, wall = self._machine_busy() - self._machine, time.monotonic() - self._began
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        end = self._read()

        def spent(name: str, field: int) -> float:
            begun = self._start[name]
            return sum(now[field] - begun.get(pid, (0.0, 0.0))[field] for pid, now in end[name].items())

        percent = {name: spent(name, 0) / wall * 100 for name in end}
        self.waits = {name: round(spent(name, 1) / wall * 100, 1) for name in end}
        if self.reaped:
            percent[self.reaped] = (usage.ru_utime + usage.ru_stime - self._children) / wall * 100
        percent["machine"] = machine / wall * 100
        return {name: round(value, 1) for name, value in percent.items()}


# --- PostgreSQL and the multi-process topology (scripts/cluster) ------------------------------

PSQL = ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qtA"]


def postgres_url(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def create_database(database: str) -> None:
    """A fresh, empty PostgreSQL database (dropped first if it exists)."""
    drop_database(database)
    subprocess.run([*PSQL, "-c", f'CREATE DATABASE "{database}"'], check=True, stdout=subprocess.DEVNULL)


def drop_database(database: str) -> None:
    subprocess.run([*PSQL, "-c", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cluster_env(instance: Path, database: str, redis_url: str, web_ports: Iterable[int],
                worker_ports: Iterable[int]) -> dict[str, str]:
    """The environment for scripts/cluster (and for the app on the cluster's database)."""
    return {**instance_env(instance), "CLUSTER_DB": database, "CLUSTER_REDIS_URL": redis_url,
            "CLUSTER_WEB_PORTS": ",".join(map(str, web_ports)),
            "CLUSTER_WORKER_PORTS": ",".join(map(str, worker_ports)), "CLUSTER_STOP_TIMEOUT": "15",
            "WEBAPP_DATABASE_URL": postgres_url(database), "WEBAPP_SOCKETIO_MESSAGE_QUEUE": redis_url}


@contextmanager
def cluster(env: dict[str, str]) -> Iterator[dict[str, int]]:
    """``scripts/cluster up`` with ``env``; yields each member's pid (web-1, ..., worker-2).

    ``scripts/cluster down`` runs on the way out, also after an error."""
    script = str(ROOT / "scripts" / "cluster")
    run = Path(env["WEBAPP_INSTANCE_PATH"]) / "run"
    try:
        started = subprocess.run([script, "up"], cwd=ROOT, env=env, capture_output=True, text=True)
        if started.returncode != 0:
            raise RuntimeError(f"scripts/cluster up failed:\n{started.stdout}{started.stderr}")
        yield {path.stem: int(path.read_text().split()[0]) for path in sorted(run.glob("*-*.pid"))}
    finally:
        subprocess.run([script, "down"], cwd=ROOT, env=env, capture_output=True)


def scheduler_owner(worker_ports: Iterable[int], timeout: float = 30) -> int:
    """The index (0, 1, ...) of the worker whose /healthz says it owns the scheduler."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, port in enumerate(worker_ports):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    if json.loads(answer.read()).get("scheduler") == "owner":
                        return index
            except OSError:
                pass
        time.sleep(0.5)
    raise RuntimeError("no worker took the scheduler's owner lock")
