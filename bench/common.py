"""Shared pieces of the benchmarks: a fresh instance, a production server, a load generator."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
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
def gunicorn_process(app_spec: str, env: dict[str, str],
                     threads: int) -> Iterator[tuple[str, psutil.Process]]:
    """gunicorn serving ``app_spec`` with one worker; yields the URL and the worker process."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-w", "1", "--threads", str(threads), "-b", f"127.0.0.1:{port}",
               "--log-level", "warning", "--timeout", "120", "--graceful-timeout", "3", app_spec]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
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
    command = [ensure_wrk(), "-H", f"User-Agent: {USER_AGENT}", "-t1", f"-c{connections}", f"-d{seconds}s",
               "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
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
