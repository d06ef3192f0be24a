"""Run history from APScheduler's events: one JobRun row per (job id, scheduled run time)."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import JobRun
from webapp.models.types import utcnow

EVENTS = (EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
          | EVENT_JOB_MAX_INSTANCES)
FINAL = {"succeeded", "failed", "missed", "skipped"}

#: When each run was handed to its executor, noted by the executors below. A fast job
#: can finish (EXECUTED) before the scheduler thread reports it SUBMITTED, so the
#: start time cannot come from the events' order.
_submitted_at: dict[tuple[str, datetime], datetime] = {}


class TimedSubmission:
    """Executor mixin: note the moment a run is submitted (in the scheduler's thread)."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> Any:
        now = utcnow()
        for run_time in run_times:
            _submitted_at[(job.id, _utc(run_time))] = now
        return super()._do_submit_job(job, run_times)  # type: ignore[misc]


STATUS = {EVENT_JOB_SUBMITTED: "submitted", EVENT_JOB_EXECUTED: "succeeded", EVENT_JOB_ERROR: "failed",
          EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "skipped"}


def listener(app: Flask) -> Any:
    """An APScheduler listener that records every run of every job in ``app``'s database."""

    def record(event: Any) -> None:
        times = getattr(event, "scheduled_run_times", None) or [event.scheduled_run_time]
        with app.app_context():
            for scheduled in times:
                _record(event, _utc(scheduled))
            db.session.remove()

    return record


def _record(event: Any, scheduled_at: datetime) -> None:
    """Insert or update the run's row. SUBMITTED and a fast job's EXECUTED/ERROR can race
    to insert it: the loser of the unique key retries as an update."""
    for _attempt in range(3):
        try:
            _apply(event, scheduled_at)
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()


def _apply(event: Any, scheduled_at: datetime) -> None:
    status = STATUS[event.code]
    now = utcnow()
    key = (event.job_id, scheduled_at)
    run = db.session.scalar(select(JobRun).where(JobRun.job_id == event.job_id,
                                                 JobRun.scheduled_at == scheduled_at))
    if run is None:
        run = JobRun(job_id=event.job_id, scheduled_at=scheduled_at, status=status)
        db.session.add(run)
    if not (status == "submitted" and run.status in FINAL):  # never undo a finished run
        run.status = status
    run.started_at = run.started_at or _submitted_at.get(key) or (now if status == "submitted" else None)
    if event.code in (EVENT_JOB_EXECUTED, EVENT_JOB_ERROR):
        _submitted_at.pop(key, None)
        run.finished_at = now
        started = run.started_at or now
        run.duration_ms = round((now - started).total_seconds() * 1000, 3)
        if event.exception is not None:
            run.error = f"{type(event.exception).__name__}: {event.exception}"[:2000]
            run.traceback = "".join(traceback.format_exception(event.exception)) or event.traceback
    db.session.flush()


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
