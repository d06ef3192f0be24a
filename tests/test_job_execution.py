"""How jobs execute: the process pool runs registered tasks; shutdown waits for running jobs."""

from __future__ import annotations

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
