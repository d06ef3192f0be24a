"""Run history from APScheduler's events: one JobRun row per (job id, scheduled run time).

The listener only notes each event (with the moment it happened) on a queue; one
writer thread per app turns everything queued into rows, in one transaction per
batch. A run's SUBMITTED and EXECUTED usually land in the same batch and become a
single INSERT. So neither the scheduler's thread nor the worker threads wait for
the database, and a burst of runs costs one commit rather than two per run.

Durability: rows are written within milliseconds, but events still queued when the
process dies abruptly are lost (a clean shutdown, or interpreter exit, writes them).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    EVENT_SCHEDULER_SHUTDOWN,
)
from flask import Flask
from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.models import JobRun
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

EVENTS = (EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
          | EVENT_JOB_MAX_INSTANCES | EVENT_SCHEDULER_SHUTDOWN)
FINAL = {"succeeded", "failed", "missed", "skipped"}
STATUS = {EVENT_JOB_SUBMITTED: "submitted", EVENT_JOB_EXECUTED: "succeeded", EVENT_JOB_ERROR: "failed",
          EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "skipped"}
BATCH_MAX = 500  # events per transaction
LINGER_SECONDS = 0.25  # after a first event, collect for this long, then write them all
IDLE_SECONDS = 30.0  # an idle writer thread ends; the next event starts another
KEYS_PER_QUERY = 200  # (job id, time) pairs per lookup, well under SQLite's bound-parameter limit

#: When each run was handed to its executor (noted in the scheduler's thread) and when
#: it began in its worker thread (thread pool only). A fast job can finish (EXECUTED)
#: before the scheduler thread reports it SUBMITTED, so times cannot come from events.
_submitted_at: dict[tuple[str, datetime], datetime] = {}
_started_at: dict[tuple[str, datetime], datetime] = {}


class TimedSubmission:
    """Executor mixin: note the moment a run is submitted (in the scheduler's thread)."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> Any:
        now = utcnow()
        for run_time in run_times:
            _submitted_at[(job.id, _utc(run_time))] = now
        return super()._do_submit_job(job, run_times)  # type: ignore[misc]


class StartTimingPool:
    """Wraps an executor's pool: notes when each run begins in its worker thread.

    APScheduler submits ``run_job(job, jobstore_alias, run_times, logger_name)``; the
    moment the worker takes it up is the run's start, just before the task is called.
    Runs coalesced into one submission (``coalesce=False`` catching up) run back to
    back and share that start.
    """

    def __init__(self, pool: Any, max_workers: int = 0) -> None:
        """``max_workers``: the wrapped pool's size, the threads ``start_workers`` starts."""
        self._pool = pool
        self._max_workers = max_workers

    def submit(self, fn: Any, job: Any, jobstore_alias: str, run_times: list[datetime],
               *args: Any) -> Any:
        """Submit ``fn`` with APScheduler's arguments, noting the start when it begins."""

        def timed(*call: Any) -> Any:
            now = utcnow()
            for run_time in run_times:
                _started_at[(job.id, _utc(run_time))] = now
            return fn(*call)

        return self._pool.submit(timed, job, jobstore_alias, run_times, *args)

    def start_workers(self) -> None:
        """Start every worker thread now: one created in a busy second costs a thread switch
        (the new thread must take the GIL) for each of the first runs."""
        barrier = threading.Barrier(self._max_workers + 1)
        for _ in range(self._max_workers):
            self._pool.submit(barrier.wait, 5)
        with contextlib.suppress(threading.BrokenBarrierError):  # slow: the rest start with the runs
            barrier.wait(5)

    def shutdown(self, wait: bool = True) -> None:
        """Shut the wrapped pool down."""
        self._pool.shutdown(wait)


@dataclass(frozen=True)
class RunEvent:
    """One event about one run, as noted when it happened."""

    code: int
    job_id: str
    scheduled_at: datetime
    at: datetime
    started_at: datetime | None = None
    exception: BaseException | None = None
    traceback: str | None = None


def listener(app: Flask) -> Any:
    """An APScheduler listener that records every run of every job in ``app``'s database."""
    writer = RunWriter(app)
    app.extensions["job_history"] = writer

    def record(event: Any) -> None:
        if event.code == EVENT_SCHEDULER_SHUTDOWN:
            writer.flush()
            return
        at = utcnow()
        times = getattr(event, "scheduled_run_times", None) or [event.scheduled_run_time]
        for scheduled in times:
            writer.put(_note(event, _utc(scheduled), at))

    return record


def _note(event: Any, scheduled_at: datetime, at: datetime) -> RunEvent:
    key = (event.job_id, scheduled_at)
    if event.code == EVENT_JOB_SUBMITTED:
        started = _started_at.get(key) or _submitted_at.get(key)
    else:  # a final event: the run's notes are no longer needed
        started = _started_at.pop(key, None) or _submitted_at.get(key)
        _submitted_at.pop(key, None)
        if event.code not in (EVENT_JOB_EXECUTED, EVENT_JOB_ERROR):
            started = None  # missed or skipped: it never started
    return RunEvent(event.code, event.job_id, scheduled_at, at, started,
                    getattr(event, "exception", None), getattr(event, "traceback", None))


class RunWriter:
    """Writes queued run events from one thread, many events per transaction."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._queue: queue.SimpleQueue[RunEvent] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0  # events put and not yet written (or given up on)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._at_exit = False
        self._hurry = threading.Event()  # set by flush(): write without lingering

    def put(self, event: RunEvent) -> None:
        """Queue ``event``; it is written shortly, in the writer's thread."""
        with self._idle:
            self._pending += 1
        self._queue.put(event)
        with self._start_lock:  # after the put: a thread that is leaving has seen it, or is gone
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="job-history-writer", daemon=True)
                self._thread.start()
                if not self._at_exit:
                    atexit.register(self.flush, 5.0)
                    self._at_exit = True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._hurry.set()
                self._idle.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():  # idle: the next put starts a new thread
                        self._thread = None
                        return
                continue
            self._hurry.wait(LINGER_SECONDS)  # the rest of the burst: its runs' SUBMITTED and EXECUTED
            self._hurry.clear()
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.write(batch)
            finally:
                with self._idle:
                    self._pending -= len(batch)
                    self._idle.notify_all()

    def write(self, batch: list[RunEvent]) -> None:
        """Insert or update the rows of ``batch`` in one transaction (retried, then logged)."""
        for attempt in range(3):
            with self.app.app_context():
                try:
                    _apply(batch)
                    db.session.commit()
                    return
                except Exception as err:
                    db.session.rollback()
                    if attempt == 2 or not isinstance(err, SQLAlchemyError):  # retry database errors
                        logger.exception("Could not record %d job run events", len(batch))
                        return
                finally:
                    db.session.remove()
            time.sleep(0.05 * (attempt + 1))


COLUMNS = ("status", "started_at", "finished_at", "duration_ms", "error", "traceback")


def _apply(batch: list[RunEvent]) -> None:
    """Apply the events in order to their runs' rows: one lookup, then bulk INSERT and UPDATE."""
    table = JobRun.__table__
    rows = _existing({(e.job_id, e.scheduled_at) for e in batch})
    new: dict[tuple[str, datetime], dict[str, Any]] = {}
    changed: set[tuple[str, datetime]] = set()
    for event in batch:
        key = (event.job_id, event.scheduled_at)
        if key in rows:
            _merge(rows[key], event)
            changed.add(key)
        else:
            if key not in new:
                new[key] = {"job_id": event.job_id, "scheduled_at": event.scheduled_at,
                            **dict.fromkeys(COLUMNS)}
            _merge(new[key], event)
    if new:
        now = utcnow()
        db.session.execute(insert(table), [{**row, "created_at": now} for row in new.values()])
    if changed:
        db.session.execute(
            update(table).where(table.c.id == bindparam("run_id"))
            .values({name: bindparam(f"new_{name}") for name in COLUMNS}),
            [{"run_id": rows[key]["id"], **{f"new_{n}": rows[key][n] for n in COLUMNS}} for key in changed])


def _merge(run: dict[str, Any], event: RunEvent) -> None:
    """One event applied to a run's row: insert-or-update by (job id, scheduled time)."""
    status = STATUS[event.code]
    if not (status == "submitted" and run["status"] in FINAL):  # never undo a finished run
        run["status"] = status
    if event.code in (EVENT_JOB_EXECUTED, EVENT_JOB_ERROR):
        started = run["started_at"] = event.started_at or run["started_at"] or event.at  # worker's wins
        run["finished_at"] = event.at
        run["duration_ms"] = round(max((event.at - started).total_seconds(), 0) * 1000, 3)
        if event.exception is not None:
            run["error"] = f"{type(event.exception).__name__}: {event.exception}"[:2000]
            run["traceback"] = "".join(traceback.format_exception(event.exception)) or event.traceback
    else:
        run["started_at"] = run["started_at"] or event.started_at or (
            event.at if status == "submitted" else None)


def _existing(keys: Iterable[tuple[str, datetime]]) -> dict[tuple[str, datetime], dict[str, Any]]:
    """The rows already recorded for these (job id, scheduled time) keys, as dicts."""
    table = JobRun.__table__
    keys = list(keys)
    found: dict[tuple[str, datetime], dict[str, Any]] = {}
    columns = [table.c.id, table.c.job_id, table.c.scheduled_at, *(table.c[n] for n in COLUMNS)]
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start:start + KEYS_PER_QUERY]
        query = select(*columns).where(tuple_(table.c.job_id, table.c.scheduled_at).in_(chunk))
        for row in db.session.execute(query).mappings():
            found[(row["job_id"], _utc(row["scheduled_at"]))] = dict(row)
    return found


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
