"""The production topology on loopback, started the way an operator does: ``make cluster-up``.

Two web processes (gunicorn, gevent), two workers (one owns the scheduler, one
waits), PostgreSQL and Redis. The module starts one cluster on ports, a database,
a Redis database and an instance folder of its own, and checks:
- a Socket.IO client on each web port receives the owner's memory samples;
- a 1 s job added through web 1 runs once a second in total, with no gap, and web 2
  lists it;
- after ``kill -9`` of the owner, the standby runs the job within 10 s and no
  scheduled time runs twice (every run of the task writes a row of its own, which is
  compared with the claimed times);
- a pause through web 2 takes effect within a second;
- ``make cluster-down`` leaves no process behind.
With CI=true a missing PostgreSQL or Redis fails the run (as everywhere).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio as sio_client
from sqlalchemy import func, select

from tests.conftest import PASSWORD, app_config
from tests.test_monitor import run_in_own_loop
from webapp import create_app
from webapp.extensions import db
from webapp.models import JobRun, MemorySample
from webapp.services import tokens
from webapp.services.users import UserData, create_user_as_system

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("web-1", "web-2", "worker-1", "worker-2")


@dataclass
class Cluster:
    env: dict[str, str]
    web: list[str]  # base URLs
    worker_ports: list[int]
    instance: Path
    app: Any  # an app on the cluster's database, for the test's own reads
    token: str

    def api(self, method: str, web: int, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.web[web] + path, method=method, data=json.dumps(body).encode() if body else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def pid(self, name: str) -> int:
        return int((self.instance / "run" / f"{name}.pid").read_text().split()[0])

    def runs(self, job_id: str) -> list[tuple[datetime, str]]:
        with self.app.app_context():
            rows = db.session.execute(select(JobRun.scheduled_at, JobRun.status)
                                      .where(JobRun.job_id == job_id).order_by(JobRun.scheduled_at)).all()
            db.session.remove()
        return [(when, status) for when, status in rows]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def make(target: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Cluster]:
    instance = tmp_path_factory.mktemp("cluster") / "instance"
    database = f"webapp_cluster_test_{os.getpid()}"
    ports = free_ports(4)
    env = {**os.environ, "WEBAPP_INSTANCE_PATH": str(instance), "CLUSTER_DB": database,
           "CLUSTER_REDIS_URL": "redis://127.0.0.1:6379/14",
           "CLUSTER_WEB_PORTS": f"{ports[0]},{ports[1]}", "CLUSTER_WORKER_PORTS": f"{ports[2]},{ports[3]}"}
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {database}"], check=True, capture_output=True)
    subprocess.run(["redis-cli", "-n", "14", "flushdb"], check=True, capture_output=True)
    started = make("cluster-up", env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        app = create_app(app_config(SQLALCHEMY_DATABASE_URI=url))
        with app.app_context():
            admin = create_user_as_system(UserData("admin", "admin@example.com", "admin", True, PASSWORD))
            _, token = tokens.create_token(admin, "cluster test")
            db.session.remove()
        web = [f"http://127.0.0.1:{port}" for port in ports[:2]]
        yield Cluster(env, web, ports[2:], instance, app, token)
        with app.app_context():
            db.engine.dispose()
    finally:
        make("cluster-down", env)
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)


def health(cluster: Cluster, port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return json.loads(answer.read())


def owner_name(cluster: Cluster) -> str:
    owners = [name for name, port in zip(NAMES[2:], cluster.worker_ports, strict=True)
              if health(cluster, port)["scheduler"] == "owner"]
    assert len(owners) == 1, owners
    return owners[0]


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie has exited and only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(condition: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


# -- the tests, in order (they share the one cluster) -----------------------------------


def test_the_setup_page_greets_the_first_visit_and_every_process_is_healthy(cluster: Cluster) -> None:
    fresh = urllib.request.urlopen(cluster.web[1] + "/auth/login", timeout=5)  # admin exists by now
    assert fresh.status == 200
    reports = [health(cluster, int(url.rsplit(":", 1)[1])) for url in cluster.web]
    assert all(r["status"] == "ok" and r["scheduler"] == "none" and r["queue"] == "ok" for r in reports)
    assert sorted(health(cluster, port)["scheduler"] for port in cluster.worker_ports) == ["owner", "standby"]


async def login_cookie(session: aiohttp.ClientSession, base: str) -> str:
    page = await (await session.get(base + "/auth/login")).text()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    answer = await session.post(base + "/auth/login", allow_redirects=False,
                                data={"login": "admin", "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status == 302
    return "; ".join(f"{cookie.key}={cookie.value}" for cookie in session.cookie_jar)


def test_browsers_on_either_web_process_receive_the_owners_samples(cluster: Cluster) -> None:
    async def watch(base: str) -> list[int]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            cookie = await login_cookie(session, base)
        seqs: list[int] = []
        client = sio_client.AsyncClient(reconnection=False)
        client.on("memory", lambda sample: seqs.append(sample["seq"]), namespace="/ws")
        client.on("history", lambda data: None, namespace="/ws")
        await client.connect(base, namespaces=["/ws"], transports=["websocket"], headers={"Cookie": cookie})
        assert await client.call("subscribe", {"interval": 1}, namespace="/ws") == {"ok": True, "interval": 1}
        await asyncio.sleep(3.5)
        await client.disconnect()
        return seqs

    async def both() -> list[list[int]]:
        return list(await asyncio.gather(*(watch(base) for base in cluster.web)))

    first, second = run_in_own_loop(both)
    assert len(first) >= 3 and len(second) >= 3, (first, second)
    assert set(first) & set(second)  # the same samples: one sampler, in the owning worker


def test_a_one_second_job_added_on_web_1_runs_once_a_second_and_web_2_lists_it(cluster: Cluster) -> None:
    cluster.api("POST", 0, "/api/v1/jobs", {"id": "every-second", "task": "record_memory_sample",
                                              "trigger": "interval", "trigger_args": {"seconds": 1}})
    listed = cluster.api("GET", 1, "/api/v1/jobs?per_page=100")
    assert "every-second" in [job["id"] for job in listed["items"]]
    wait_for(lambda: len(cluster.runs("every-second")) >= 11, 20, "fewer than 11 runs in 20 s")
    times = [when for when, _status in cluster.runs("every-second")][:11]
    assert [(b - a).total_seconds() for a, b in pairwise(times)] == [1.0] * 10


def test_the_standby_takes_over_after_kill_9_and_no_time_runs_twice(cluster: Cluster) -> None:
    owner = owner_name(cluster)
    standby_port = cluster.worker_ports[1 - NAMES[2:].index(owner)]
    os.kill(cluster.pid(owner), signal.SIGKILL)
    killed = datetime.now(UTC)
    wait_for(lambda: any(when > killed + timedelta(seconds=1) and status == "succeeded"
                         for when, status in cluster.runs("every-second")), 10,
             "the standby did not run the job within 10 s of the kill")
    assert health(cluster, standby_port)["scheduler"] == "owner"
    runs = cluster.runs("every-second")
    with cluster.app.app_context():
        executions = db.session.scalar(select(func.count()).select_from(MemorySample))
        db.session.remove()
    succeeded = sum(status == "succeeded" for _when, status in runs)
    # Each execution of the task stores one sample; each scheduled time has one row
    # (claimed once). A time run twice would leave more samples than rows.
    assert succeeded <= executions <= len(runs), (succeeded, executions, len(runs))


def test_a_pause_through_web_2_takes_effect_within_a_second(cluster: Cluster) -> None:
    cluster.api("POST", 1, "/api/v1/jobs/every-second/pause")
    paused = datetime.now(UTC)
    time.sleep(3)
    late = [when for when, _status in cluster.runs("every-second") if when > paused + timedelta(seconds=1)]
    assert late == []


def test_cluster_down_leaves_no_process_behind(cluster: Cluster) -> None:
    pids = [cluster.pid(name) for name in NAMES if (cluster.instance / "run" / f"{name}.pid").exists()]
    stopped = make("cluster-down", cluster.env, timeout=90)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert [pid for pid in pids if running(pid)] == []
    ports = "|".join(str(port) for port in [*(int(u.rsplit(":", 1)[1]) for u in cluster.web),
                                            *cluster.worker_ports])
    leftover = subprocess.run(["pgrep", "-af", ports], capture_output=True, text=True).stdout
    assert [line for line in leftover.splitlines() if "pgrep" not in line] == []
