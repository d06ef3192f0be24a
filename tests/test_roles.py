"""Process roles: the health report, run claims, the owner lock and the shared monitor state.

The whole topology (two web processes, two workers, PostgreSQL, Redis, kill -9 of the
owner) is exercised by tests/test_cluster.py; these are the parts, one at a time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import app_config
from tests.test_job_execution import slow_task  # noqa: F401  (a fixture)
from webapp import create_app
from webapp.extensions import db
from webapp.jobs.claims import RunClaims
from webapp.jobs.ownership import FileLock, SchedulerOwner
from webapp.models import JobRun
from webapp.monitor.shared import RedisState

WHEN = datetime(2030, 1, 1, 3, 0, tzinfo=UTC)


def test_health_reports_the_database_the_queue_and_the_scheduler(app, client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"role": "all", "database": "ok", "queue": "none", "scheduler": "none",
                                 "status": "ok"}


def test_health_fails_with_a_reason_when_the_database_does_not_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"))
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "failing" and body["database"].startswith("error: OperationalError")


@pytest.mark.parametrize("config, message", [
    ({"ROLE": "scheduler"}, "ROLE must be one of all, web, worker"),
    ({"ROLE": "web"}, "needs SOCKETIO_MESSAGE_QUEUE"),
])
def test_a_wrong_role_stops_the_start_with_a_reason(tmp_path, monkeypatch, config, message):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ValueError, match=message):
        create_app(app_config(**config))


def test_a_run_is_claimed_once_whoever_asks(app):
    app.config["SCHEDULER_CLAIM_RUNS"] = True
    first, second = RunClaims(app), RunClaims(app)
    later = WHEN.replace(minute=1)
    assert first.claim("nightly", [WHEN]) == [WHEN]
    assert second.claim("nightly", [WHEN, later]) == [later]  # the first time was taken
    assert first.claim("other", [WHEN]) == [WHEN]  # per job
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 3


def test_without_claims_every_time_passes_and_nothing_is_written(app):
    assert RunClaims(app).claim("nightly", [WHEN, WHEN]) == [WHEN, WHEN]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_two_claimers_racing_for_the_same_run_get_it_once(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    config = app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'runs.sqlite'}",
                        SCHEDULER_CLAIM_RUNS=True)
    apps = [create_app(config) for _ in range(2)]
    with apps[0].app_context():
        db.create_all()
    won: list[list[datetime]] = []
    barrier = threading.Barrier(2)

    def claim(app) -> None:
        barrier.wait()
        won.append(RunClaims(app).claim("nightly", [WHEN]))

    threads = [threading.Thread(target=claim, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(len, won)) == [0, 1]


def test_the_file_lock_has_one_holder_until_it_lets_go(tmp_path):
    class Stub:
        instance_path = str(tmp_path)

    first, second = FileLock(Stub()), FileLock(Stub())  # type: ignore[arg-type]
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire() and second.held()
    second.release()


def test_a_standby_worker_takes_over_when_the_owner_stops(tmp_path, monkeypatch, redis_server):
    """Two workers on one SQLite file: one owns, the other waits, then owns."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    config = app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'owner.sqlite'}",
                        ROLE="worker", SOCKETIO_MESSAGE_QUEUE="redis://127.0.0.1:6379/15",
                        MONITOR_TICK_SECONDS=0.05)
    apps = [create_app(config) for _ in range(2)]
    with apps[0].app_context():
        db.create_all()
    owners = [SchedulerOwner(app) for app in apps]
    threads = [threading.Thread(target=owner.run, daemon=True) for owner in owners]
    threads[0].start()
    wait_for(lambda: owners[0].owning)
    threads[1].start()
    time.sleep(1.5)  # the standby has tried the lock and waits
    assert owners[0].owning and not owners[1].owning
    assert apps[0].extensions["monitor.sampler"].running  # the owner samples, the standby does not
    assert not apps[1].extensions["monitor.sampler"].running
    owners[0].stop()
    threads[0].join(10)
    wait_for(lambda: owners[1].owning, timeout=5)
    assert not owners[0].owning and apps[1].extensions["scheduler"].running
    owners[1].stop()
    threads[1].join(10)
    assert not apps[1].extensions["scheduler"].running


def test_the_redis_state_is_shared_between_processes(redis_server):
    writer, reader = (RedisState("redis://127.0.0.1:6379/15", history_size=3) for _ in range(2))
    for seq in range(5):
        writer.add_sample({"seq": seq})
    assert [sample["seq"] for sample in reader.history()] == [2, 3, 4]
    writer.set_processes({"ts": 1, "items": []})
    assert reader.processes() == {"ts": 1, "items": []}
    writer.connected("sid-a", 7, "session-1")
    writer.connected("sid-b", 7, None)
    assert sorted(reader.sids_of(7)) == ["sid-a", "sid-b"]
    assert reader.sids_of_session("session-1") == ["sid-a"]
    reader.disconnected("sid-a")
    assert writer.sids_of(7) == ["sid-b"] and writer.sids_of_session("session-1") == []


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_the_worker_module_answers_health_checks_only(tmp_path: Path, monkeypatch):
    from webapp.worker import health_app

    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config())
    from werkzeug.test import Client

    client = Client(health_app(app))
    assert client.get("/healthz").json["database"] == "ok"
    assert client.get("/auth/login").status_code == 404


def test_liveness_answers_without_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"))
    answer = app.test_client().get("/livez")
    assert (answer.status_code, answer.text) == (200, "ok")


def test_stopping_a_worker_lets_its_running_job_finish_first(tmp_path, monkeypatch, redis_server,
                                                             slow_task):  # noqa: F811
    """What SIGTERM does to ``python -m webapp.worker``: owner.stop(), then run() returns
    only once the running job has ended."""
    from webapp.jobs.scheduler import readable_scheduler
    from webapp.models.types import utcnow

    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'stop.sqlite'}",
                                ROLE="worker", SOCKETIO_MESSAGE_QUEUE="redis://127.0.0.1:6379/15"))
    with app.app_context():
        db.create_all()
    owner = SchedulerOwner(app)
    thread = threading.Thread(target=owner.run, daemon=True)
    thread.start()
    wait_for(lambda: owner.owning)
    readable_scheduler(app).add_job("slow", "test_sleep_then_note", trigger="date", run_date=utcnow())
    wait_for(lambda: bool(RunClaims(app).enabled and claimed(app, "slow")))  # claimed: it runs now
    owner.stop()
    thread.join(10)
    assert not thread.is_alive() and len(slow_task) == 1


def claimed(app, job_id: str) -> bool:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job_id == job_id)) > 0


def test_an_app_without_a_queue_keeps_none_after_an_app_with_one(tmp_path, monkeypatch, redis_server):
    """Flask-SocketIO reuses the Redis manager it built for an earlier app unless told otherwise."""
    from webapp.extensions import socketio

    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    create_app(app_config(SOCKETIO_MESSAGE_QUEUE="redis://127.0.0.1:6379/15"))
    assert type(socketio.server.manager).__name__ == "RedisManager"
    plain = create_app(app_config())
    assert type(socketio.server.manager).__name__ == "Manager"
    assert socketio.test_client(plain, namespace="/ws").is_connected("/ws") is False  # refused, not an error
