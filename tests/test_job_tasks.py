"""The task registry: only registered tasks run, with typed parameters, in an app context."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import app_config
from webapp import create_app
from webapp.extensions import db
from webapp.jobs import registry
from webapp.models import Blog, JobRun, MemorySample, User
from webapp.models.types import utcnow
from webapp.services import blogs as blog_service
from webapp.services.blogs import BlogData
from webapp.services.errors import ValidationError


def test_every_task_has_a_title_a_description_and_typed_parameters():
    names = [t.name for t in registry.all_tasks()]
    assert names == ["backup_database", "log_message", "print_test", "publish_due_blogs",
                     "purge_run_history", "record_memory_sample"]
    for registered in registry.all_tasks():
        assert str(registered.title) and str(registered.description)
        assert all(p.type in registry.PARAM_TYPES for p in registered.params)


@pytest.mark.parametrize("func", ["os:system", "subprocess:call", "webapp.jobs.registry:run_task",
                                  "builtins:eval", "", "log_message; rm -rf /"])
def test_anything_but_a_registered_task_is_refused(func):
    with pytest.raises(ValidationError) as err:
        registry.get_task(func)
    assert "is not a registered task" in err.value.fields["func"][0]


def test_a_task_is_found_by_name_or_by_its_module_path():
    assert registry.get_task("log_message") is registry.get_task("webapp.jobs.tasks:log_message")


@pytest.mark.parametrize("kwargs,field", [
    ({"days": "abc"}, "days"), ({"days": 0}, "days"), ({"days": True}, "days"),
    ({"days": 5, "evil": "x"}, "evil"),
])
def test_parameters_are_typed_and_bounded(kwargs, field):
    with pytest.raises(ValidationError) as err:
        registry.validate_kwargs(registry.get_task("purge_run_history"), kwargs)
    assert field in err.value.fields


def test_parameters_get_their_defaults_and_types():
    assert registry.validate_kwargs(registry.get_task("purge_run_history"), {"days": "12"}) == {"days": 12}
    assert registry.validate_kwargs(registry.get_task("log_message"), {}) == {"name": "world"}


def test_run_task_runs_the_task_in_the_app_context(app, caplog):
    with app.app_context():
        with caplog.at_level(logging.INFO, logger="webapp.jobs.tasks"):
            assert registry.run_task("log_message", name="scheduler") == "Hello, scheduler"
        assert "Hello, scheduler" in caplog.text
        sample_id = registry.run_task("record_memory_sample")  # needs the database
    with app.app_context():
        sample = db.session.get(MemorySample, sample_id)
        assert sample.ram_total > 0 and 0 < sample.ram_used <= sample.ram_total


def test_run_task_refuses_unregistered_tasks_even_from_a_job_store(app):
    with app.app_context(), pytest.raises(ValidationError):
        registry.run_task("os:system", command="true")


def test_publish_due_blogs_publishes_only_due_drafts(app, admin):
    with app.app_context():
        actor = db.session.get(User, admin.id)
        now = utcnow()
        for title, when in (("due", now - timedelta(minutes=1)), ("later", now + timedelta(days=1)),
                            ("no time", None)):
            blog_service.create_blog(BlogData(title=title, publish_at=when), actor)
        assert registry.run_task("publish_due_blogs") == 1
        statuses = dict(db.session.execute(select(Blog.title, Blog.status)).all())
    assert statuses == {"due": "published", "later": "draft", "no time": "draft"}


def test_purge_run_history_keeps_recent_runs(app):
    with app.app_context():
        now = utcnow()
        db.session.execute(insert(JobRun), [
            {"job_id": "j", "scheduled_at": now - timedelta(days=d), "status": "succeeded",
             "created_at": now - timedelta(days=d)} for d in (1, 10, 40, 400)])
        db.session.commit()
        assert registry.run_task("purge_run_history", days=30) == 2
        assert db.session.scalar(select(func.count(JobRun.id))) == 2


def test_backup_copies_the_sqlite_database_and_keeps_the_newest(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'live.sqlite'}"))
    with app.app_context():
        db.create_all()
        db.session.execute(insert(MemorySample).values(ram_total=1, ram_used=1, ram_percent=100.0,
                                                       swap_total=0, swap_used=0))
        db.session.commit()
        paths = [registry.run_task("backup_database", keep=2) for _ in range(3)]
        db.engine.dispose()
    kept = sorted((tmp_path / "instance" / "backups").iterdir())
    assert [str(p) for p in kept] == paths[1:]
    with sqlite3.connect(kept[-1]) as copy:
        assert copy.execute("SELECT count(*) FROM memory_samples").fetchone() == (1,)


def test_backup_explains_itself_on_an_in_memory_database(app):
    with app.app_context(), pytest.raises(ValidationError) as err:
        registry.run_task("backup_database", keep=1)
    assert "pg_dump" in err.value.message


# -- run history: recorded from the scheduler's events, written in batches ----------

def _runs(app, job_id: str) -> list[JobRun]:
    with app.app_context():
        rows = db.session.scalars(select(JobRun).where(JobRun.job_id == job_id)
                                  .order_by(JobRun.scheduled_at)).all()
        db.session.expunge_all()
        return list(rows)


def _event(code: int, scheduled, at, started=None, exception=None):
    from webapp.jobs.history import RunEvent

    return RunEvent(code, "j", scheduled, at, started, exception, None)


def test_history_batches_insert_or_update_by_job_and_scheduled_time(app):
    from datetime import UTC, datetime

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED

    writer = app.extensions["job_history"]
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    ms = timedelta(milliseconds=1)
    # One batch: a fast run's EXECUTED before its SUBMITTED; the finished status stays.
    writer.write([_event(EVENT_JOB_EXECUTED, t0, t0 + 9 * ms, started=t0 + 2 * ms),
                  _event(EVENT_JOB_SUBMITTED, t0, t0 + 10 * ms, started=t0 + ms)])
    # Two batches: SUBMITTED (queued at +1 ms), then the run (begun at +5 ms) fails.
    t1 = t0 + timedelta(seconds=1)
    writer.write([_event(EVENT_JOB_SUBMITTED, t1, t1 + ms, started=t1 + ms)])
    try:
        raise RuntimeError("boom")
    except RuntimeError as err:
        failure = err
    writer.write([_event(EVENT_JOB_ERROR, t1, t1 + 25 * ms, started=t1 + 5 * ms, exception=failure)])
    # A late SUBMITTED in a batch of its own does not undo a finished run either.
    writer.write([_event(EVENT_JOB_SUBMITTED, t0, t0 + 30 * ms)])
    first, second = _runs(app, "j")
    assert (first.status, first.started_at, first.duration_ms) == ("succeeded", t0 + 2 * ms, 7.0)
    assert (second.status, second.started_at, second.duration_ms) == ("failed", t1 + 5 * ms, 20.0)
    assert second.error == "RuntimeError: boom" and "raise RuntimeError" in second.traceback


def test_the_history_thread_writes_queued_events_and_flush_waits_for_them(app):
    from datetime import UTC, datetime

    from apscheduler.events import EVENT_JOB_MISSED

    writer = app.extensions["job_history"]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(3):
        writer.put(_event(EVENT_JOB_MISSED, t0 + timedelta(minutes=i), t0))
    assert writer.flush(timeout=5)
    assert [(r.status, r.started_at) for r in _runs(app, "j")] == [("missed", None)] * 3


def test_a_run_starts_when_its_worker_takes_it_up_not_when_it_is_queued():
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from webapp.jobs import history

    class Job:
        id = "queued-job"

    pool = history.StartTimingPool(ThreadPoolExecutor(1))
    release = threading.Event()
    pool.submit(lambda *_: release.wait(5), Job(), "default", [])  # the only worker is busy
    scheduled = datetime(2026, 1, 1, tzinfo=UTC)
    queued_at = datetime.now(UTC)
    done = pool.submit(lambda *_: datetime.now(UTC), Job(), "default", [scheduled], "logger")
    time.sleep(0.2)
    release.set()
    entered = done.result(5)
    started = history._started_at.pop(("queued-job", scheduled))
    assert started - queued_at >= timedelta(seconds=0.2) and started <= entered
    pool.shutdown()


def test_every_run_is_recorded_and_written_by_the_time_the_scheduler_is_shut_down(tmp_path, monkeypatch):
    import time
    from datetime import UTC, datetime

    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'jobs.sqlite'}"))
    with app.app_context():
        db.create_all()
    scheduler = app.extensions["scheduler"]
    scheduler.start()
    when = datetime.now(UTC) + timedelta(seconds=0.5)
    for i in range(30):
        scheduler.add_job(f"burst-{i}", "log_message", trigger="date", run_date=when)
    deadline = time.monotonic() + 10
    while [j for j in scheduler.get_jobs() if j.id.startswith("burst-")]:  # run, then removed
        assert time.monotonic() < deadline
        time.sleep(0.05)
    scheduler.shutdown(wait=True)  # no waiting after this: every run is written
    with app.app_context():
        rows = db.session.scalars(select(JobRun).where(JobRun.job_id.startswith("burst-"))).all()
        assert len(rows) == 30 and {r.status for r in rows} == {"succeeded"}
        assert all(r.started_at >= r.scheduled_at and r.duration_ms is not None for r in rows)
        db.engine.dispose()
    with sqlite3.connect(tmp_path / "jobs.sqlite") as connection:
        left = connection.execute("SELECT count(*) FROM apscheduler_jobs WHERE id LIKE 'burst-%'")
        assert left.fetchone() == (0,)  # the finished date jobs are gone from the store too
