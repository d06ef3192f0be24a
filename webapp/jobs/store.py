"""The persistent job store: APScheduler's SQLAlchemy store, one transaction per scheduler pass.

APScheduler's ``_process_jobs`` wakes up, reads the due jobs (``get_due_jobs``),
submits each one and writes its new next run time (``update_job``, one commit per
job), then asks for the store's next run time (``get_next_run_time``). On SQLite a
commit costs milliseconds, so the hundredth job of a wakeup was submitted only after
99 commits. Here the updates made by the scheduler's thread between those two calls
(and the removals of finished jobs) are kept, and written together in one
transaction once the pass is over:

- every job of the pass is submitted before anything is written;
- the write waits ``WRITE_AFTER`` (0.1 s) in a thread of its own, so that pickling
  the jobs and the SQL do not compete for the GIL with the runs just started;
- anything else that uses the store first writes what is waiting (the next pass,
  reads, and changes from other threads, which are written at once as before), so
  every caller sees the store as the last pass left it.

Crash safety: each pass is written atomically, within 0.1 s of its end. A process
that dies before that has not advanced those jobs, so after a restart they are due
again and run once more (within their misfire grace time): at least once, as stock
APScheduler is for the job it is writing. The job list's reads (``job_keys`` and
``jobs_by_ids``, see ``sql_keys``) read the table as it is, so they may see a pass's
jobs 0.1 s late.

On a SQLite file the store's connections use WAL (readers and the writer do not block
each other; the mode is a property of the database file, so the app's own connections
use it too) and ``synchronous=NORMAL`` (a commit does not wait for the disk; the
database stays consistent, and a power cut can lose the last commits).
"""

from __future__ import annotations

import gc
import logging
import pickle
import threading
import time
from typing import Any

from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from sqlalchemy import bindparam, event, select

from webapp.jobs.sql_keys import KeyedSQLAlchemyJobStore

WRITE_AFTER = 0.1  # seconds between the end of a pass and the write of its changes
EXCLUDE_MAX = 500  # beyond this many kept jobs, write them before reading the next run time
logger = logging.getLogger(__name__)


class PassBatchingJobStore(KeyedSQLAlchemyJobStore):
    """SQLAlchemy job store that writes a scheduler pass's job updates in one transaction
    (and lists by keys: see ``sql_keys``)."""

    def __init__(self, url: str | None = None, **options: Any) -> None:
        super().__init__(url=url, **options)
        self._pass_thread: int | None = None  # the scheduler's thread, during a pass
        self._pending: dict[str, Any] = {}  # this pass: job id -> the job to write, or None to delete
        self._unwritten: dict[str, Any] = {}  # finished passes waiting for the writer, the same way
        self._write_lock = threading.RLock()
        self._wake = threading.Condition()
        self._write_at: float | None = None
        self._writer: threading.Thread | None = None
        url_ = self.engine.url
        if url_.get_backend_name() == "sqlite" and url_.database not in (None, "", ":memory:"):
            event.listen(self.engine, "connect", _sqlite_pragmas)

    # -- the pass -------------------------------------------------------------------

    def start(self, scheduler: Any, alias: str) -> None:
        """Create the table if needed; the process's long-lived objects leave the collector's view."""
        super().start(scheduler, alias)
        freeze_startup_heap()

    def get_due_jobs(self, now: Any) -> list[Any]:
        """The jobs due at ``now``; a pass begins (updates from this thread are kept)."""
        self.write_now()
        self._pass_thread = threading.get_ident()
        try:
            return super().get_due_jobs(now)
        except Exception:  # APScheduler retries later, without ending this pass
            self._pass_thread = None
            raise

    def update_job(self, job: Any) -> None:
        """Write ``job``, or keep it for the end of the pass when the pass is updating it."""
        if self._in_pass():
            self._pending[job.id] = job
            return
        self.write_now()
        super().update_job(job)

    def remove_job(self, job_id: str) -> None:
        """Remove the job; during a pass (a finished job), with the pass's other writes."""
        if self._in_pass():
            self._pending[job_id] = None
            return
        self.write_now()
        super().remove_job(job_id)

    def get_next_run_time(self) -> Any:
        """The pass ends: its changes go to the writer; the next run time counts them already."""
        kept, self._pending, self._pass_thread = self._pending, {}, None
        with self._write_lock:
            self._unwritten.update(kept)
            unwritten = dict(self._unwritten)
        if not unwritten:
            return super().get_next_run_time()
        if len(unwritten) > EXCLUDE_MAX:
            self.write_now()
            return super().get_next_run_time()
        self._schedule_write()
        table = self.jobs_t
        query = (select(table.c.next_run_time)
                 .where(table.c.next_run_time.is_not(None), table.c.id.not_in(list(unwritten)))
                 .order_by(table.c.next_run_time).limit(1))
        with self.engine.begin() as connection:
            stored = connection.execute(query).scalar()
        times = [datetime_to_utc_timestamp(job.next_run_time) for job in unwritten.values()
                 if job is not None and job.next_run_time is not None]
        if stored is not None:
            times.append(stored)
        return utc_timestamp_to_datetime(min(times)) if times else None

    # -- everything else sees the store as the last pass left it ----------------------

    def lookup_job(self, job_id: str) -> Any:
        """The job (as the current pass has left it, in the pass's own thread)."""
        if self._in_pass() and job_id in self._pending:
            return self._pending[job_id]
        self.write_now()
        return super().lookup_job(job_id)

    def get_all_jobs(self) -> list[Any]:
        """Every job, sorted by next run time."""
        self.write_now()
        return super().get_all_jobs()

    def add_job(self, job: Any) -> None:
        """Add ``job`` (ConflictingIdError if its id is taken)."""
        self.write_now()
        super().add_job(job)

    def remove_all_jobs(self) -> None:
        """Remove every job."""
        with self._write_lock:
            self._pending.clear()
            self._unwritten.clear()
        super().remove_all_jobs()

    def shutdown(self) -> None:
        """Write what is waiting, stop the writer, close the connections."""
        self._pass_thread = None
        with self._wake:
            writer, self._writer, self._write_at = self._writer, None, None
            self._wake.notify_all()
        with self._write_lock:
            self._unwritten.update(self._pending)
            self._pending = {}
        self.write_now()
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=5)
        super().shutdown()

    # -- writing ------------------------------------------------------------------

    def write_now(self) -> None:
        """Write the finished passes' changes (one transaction), if any are waiting.

        A job that another process deleted meanwhile matches no row and stays deleted.
        """
        with self._write_lock:
            if not self._unwritten:
                return
            unwritten = self._unwritten
            table = self.jobs_t
            rows = [{"job_id": job.id, "next_run": datetime_to_utc_timestamp(job.next_run_time),
                     "state": pickle.dumps(job.__getstate__(), self.pickle_protocol)}
                    for job in unwritten.values() if job is not None]
            removed = [job_id for job_id, job in unwritten.items() if job is None]
            with self.engine.begin() as connection:
                if rows:
                    connection.execute(table.update().where(table.c.id == bindparam("job_id"))
                                       .values(next_run_time=bindparam("next_run"),
                                               job_state=bindparam("state")), rows)
                if removed:
                    connection.execute(table.delete().where(table.c.id.in_(removed)))
            self._unwritten = {}

    def _in_pass(self) -> bool:
        return self._pass_thread == threading.get_ident()

    def _schedule_write(self) -> None:
        with self._wake:
            self._write_at = time.monotonic() + WRITE_AFTER
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_later, name="job-store-writer",
                                                daemon=True)
                self._writer.start()
            self._wake.notify_all()

    def _write_later(self) -> None:
        me = threading.current_thread()
        while True:
            with self._wake:
                while self._writer is me and self._write_at is None:
                    self._wake.wait()
                if self._writer is not me:
                    return
                delay = self._write_at - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                self._write_at = None
            try:
                self.write_now()
            except Exception:  # the next pass, or any other use of the store, tries again
                logger.exception("Could not write the scheduler's job updates")


_frozen = False


def freeze_startup_heap() -> None:
    """Once per process: collect, then move every object alive now (modules, the app, its
    extensions) to the collector's permanent generation.

    A full collection walks every tracked object, a few hundred thousand in this app:
    100 ms or more with the GIL held, so every job due meanwhile starts that much late.
    Frozen objects are still freed by reference counting; only cycles among them are
    no longer collected, and objects alive at start-up live as long as the process.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
