"""How jobs execute: the process pool runs registered tasks; shutdown waits for running jobs."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tests.test_scheduler import make_app, runs, wait_until  # noqa: F401
from webapp.extensions import db
from webapp.jobs import registry
from webapp.jobs.scheduler import readable_scheduler, start_scheduler
from webapp.models import MemorySample
from webapp.models.types import utcnow


def test_the_process_pool_runs_a_registered_task_in_its_own_app(make_app, tmp_path, monkeypatch):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    monkeypatch.setenv("WEBAPP_DATABASE_URL", url)  # what a worker process builds its app from
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    start_scheduler(app)
    readable_scheduler(app).add_job("sample", "record_memory_sample", trigger="date", run_date=utcnow(),
                                    executor="process")
    wait_until(lambda: [r.status for r in runs(app, "sample")] == ["succeeded"], timeout=30)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MemorySample)) == 1


@pytest.fixture
def slow_task() -> Iterator[list[str]]:
    """A task registered for this test only: sleeps, then notes that it finished."""
    finished: list[str] = []

    @registry.task("test_sleep_then_note", "Sleep, then note", "For the shutdown test.")
    def sleep_then_note() -> None:
        time.sleep(0.5)
        finished.append(threading.current_thread().name)

    yield finished
    registry.REGISTRY.pop("test_sleep_then_note", None)


def test_shutdown_waits_for_running_jobs(make_app, slow_task):  # noqa: F811
    app = make_app()
    start_scheduler(app)
    readable_scheduler(app).add_job("slow", "test_sleep_then_note", trigger="date", run_date=utcnow())
    wait_until(lambda: bool(runs(app, "slow")))  # submitted: the task is sleeping now
    assert slow_task == []
    app.extensions["scheduler"].shutdown(wait=True)
    assert len(slow_task) == 1  # shutdown returned only after the run ended


@pytest.mark.parametrize("executor", ["default", "process"])
def test_a_job_written_into_the_store_directly_runs_only_a_registered_task(make_app, tmp_path, monkeypatch,  # noqa: F811
                                                                           executor):
    """Whatever the job table holds, only registered tasks run: a row naming os:system
    (written with SQL, not through the console) is refused and recorded as a failed run."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    monkeypatch.setenv("WEBAPP_DATABASE_URL", url)
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    start_scheduler(app)
    scheduler = app.extensions["scheduler"]
    scheduler.add_job("template", "log_message", trigger="interval", hours=1, next_run_time=None)
    marker = tmp_path / "pwned"
    with app.app_context():
        table = db.Table("apscheduler_jobs", db.MetaData(), autoload_with=db.engine)
        state = pickle.loads(db.session.execute(select(table.c.job_state).where(table.c.id == "template"))
                             .scalar_one())
        state.update(id="smuggled", func="os:system", args=(f"touch {marker}",), kwargs={}, executor=executor,
                     next_run_time=utcnow())
        db.session.execute(table.insert().values(id="smuggled", next_run_time=utcnow().timestamp(),
                                                 job_state=pickle.dumps(state)))
        db.session.commit()
    scheduler.scheduler.wakeup()
    wait_until(lambda: [r.status for r in runs(app, "smuggled")] == ["failed"], timeout=30)
    run = runs(app, "smuggled")[0]
    assert "Refused" in run.error and "os:system" in run.error and "not a registered task" in run.error
    assert not marker.exists()
