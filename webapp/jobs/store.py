"""The persistent job store: APScheduler's SQLAlchemy store, one transaction per scheduler pass.

APScheduler's ``_process_jobs`` wakes up, reads the due jobs (``get_due_jobs``),
submits each one and writes its new next run time (``update_job``, one commit per
job), then asks for the store's next run time (``get_next_run_time``). On SQLite a
commit costs milliseconds, so the hundredth job of a wakeup was submitted only after
99 commits. Here the updates made by the scheduler's thread between those two calls
(and the removals of finished jobs) are kept and written together, in one transaction,
by ``get_next_run_time``: every job is submitted first, and each pass is written
atomically.

Crash safety: a process that dies between submitting a pass's runs and that commit
has not advanced those jobs, so after a restart they are due again and run once more
(within their misfire grace time): at least once, as stock APScheduler is for the one
job it is writing. Updates from any other thread (pausing, editing, run now) are
written at once, as before.

On a SQLite file the store's connections use WAL (readers and the writer do not block
each other; the mode is a property of the database file, so the app's own connections
use it too) and ``synchronous=NORMAL`` (a commit does not wait for the disk; the
database stays consistent, and a power cut can lose the last commits).
"""

from __future__ import annotations

import gc
import pickle
import threading
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import bindparam, event


class PassBatchingJobStore(SQLAlchemyJobStore):
    """SQLAlchemy job store that writes a scheduler pass's job updates in one transaction."""

    def __init__(self, url: str | None = None, **options: Any) -> None:
        super().__init__(url=url, **options)
        self._pass_thread: int | None = None  # the scheduler's thread, during a pass
        self._pending: dict[str, Any] = {}  # job id -> the job to write, or None to delete it
        self._written: dict[bytes, Any] = {}  # the last pass's jobs, by the state written for them
        url_ = self.engine.url
        if url_.get_backend_name() == "sqlite" and url_.database not in (None, "", ":memory:"):
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def start(self, scheduler: Any, alias: str) -> None:
        """Create the table if needed; the process's long-lived objects leave the collector's view."""
        super().start(scheduler, alias)
        freeze_startup_heap()

    def get_due_jobs(self, now: Any) -> list[Any]:
        """The jobs due at ``now``; a pass begins (updates from this thread are kept)."""
        self._write_pending()  # a pass that was interrupted before get_next_run_time
        jobs = super().get_due_jobs(now)
        self._pass_thread = threading.get_ident()
        return jobs

    def update_job(self, job: Any) -> None:
        """Write ``job``, or keep it for the end of the pass when the pass is updating it."""
        if self._pass_thread == threading.get_ident():
            self._pending[job.id] = job
            return
        super().update_job(job)

    def remove_job(self, job_id: str) -> None:
        """Remove the job; during a pass (a finished job), with the pass's other writes."""
        if self._pass_thread == threading.get_ident():
            self._pending[job_id] = None
            return
        self._pending.pop(job_id, None)
        super().remove_job(job_id)

    def lookup_job(self, job_id: str) -> Any:
        """The job, as the current pass has left it (written or not yet)."""
        if self._pass_thread == threading.get_ident() and job_id in self._pending:
            return self._pending[job_id]
        return super().lookup_job(job_id)

    def get_next_run_time(self) -> Any:
        """The pass ends: its updates are written in one transaction, then the next run time read."""
        self._pass_thread = None
        self._write_pending()
        return super().get_next_run_time()

    def shutdown(self) -> None:
        """Write what is kept, then close the connections."""
        self._pass_thread = None
        self._write_pending()
        super().shutdown()

    def _reconstitute_job(self, job_state: bytes) -> Any:
        """A job from its stored state; the very state this store wrote last pass gives back
        the job it was written from (as the memory store does), skipping the unpickling."""
        job = self._written.get(job_state)
        return job if job is not None else super()._reconstitute_job(job_state)

    def _write_pending(self) -> None:
        """The kept updates (one executemany) and removals, in one transaction. A job that
        another process deleted meanwhile matches no row and stays deleted."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        table = self.jobs_t
        statement = (table.update().where(table.c.id == bindparam("job_id"))
                     .values(next_run_time=bindparam("next_run"), job_state=bindparam("state")))
        written = {pickle.dumps(job.__getstate__(), self.pickle_protocol): job
                   for job in pending.values() if job is not None}
        rows = [{"job_id": job.id, "next_run": datetime_to_utc_timestamp(job.next_run_time), "state": state}
                for state, job in written.items()]
        removed = [job_id for job_id, job in pending.items() if job is None]
        self._written = {}
        with self.engine.begin() as connection:
            if rows:
                connection.execute(statement, rows)
            if removed:
                connection.execute(table.delete().where(table.c.id.in_(removed)))
        self._written = written


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
