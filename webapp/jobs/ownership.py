"""One scheduler owner among the workers, and a standby that takes over.

Every worker process waits for the owner lock: a PostgreSQL session-level advisory
lock on a connection of its own (or, on SQLite, an exclusive lock on
``instance/scheduler.lock``). The holder runs the scheduler and the memory sampler.
PostgreSQL releases the lock the moment the holder's connection closes, which the
kernel does when the process dies, even by ``kill -9``; a standby retries every
``RETRY_SECONDS`` and so takes over within a couple of seconds. An owner that
loses its connection pauses its scheduler at once and goes back to waiting. Runs are
claimed in the database before they start (claims.py), so a run the old owner
began is not run again by the new one.

The owner re-reads the job stores every ``SCHEDULER_WAKEUP_SECONDS``: web
processes change jobs in the shared stores, and this is how the change reaches it.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path
from typing import IO, Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection

from webapp.extensions import db

logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # a standby tries the lock this often; the owner checks it as often


class AdvisoryLock:
    """A PostgreSQL advisory lock held on a connection kept for the purpose."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.key = int(app.config["SCHEDULER_LOCK_KEY"])
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free; False if another process holds it."""
        try:
            with self.app.app_context():
                connection = db.engine.connect()
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
            connection.commit()  # no transaction left open; the lock belongs to the session
        except Exception:
            logger.warning("scheduler lock: database unreachable; trying again", exc_info=True)
            return False
        if got:
            self._connection = connection
        else:
            connection.close()
        return bool(got)

    def held(self) -> bool:
        """Whether the lock's connection is still alive (the lock with it)."""
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            logger.error("scheduler lock: connection lost; giving up the scheduler")
            self.release()
            return False
        return True

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                connection.commit()
            except Exception:  # closing the connection releases it anyway
                pass
            connection.invalidate()  # never back into the pool with a session lock


class FileLock:
    """The same on one machine, for SQLite: an exclusive ``flock`` on a file in ``instance/``."""

    def __init__(self, app: Flask) -> None:
        self.path = Path(app.instance_path) / "scheduler.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()  # closing the file releases the lock


def owner_lock(app: Flask) -> AdvisoryLock | FileLock:
    """The lock for ``app``'s database."""
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    return AdvisoryLock(app) if url.startswith("postgresql") else FileLock(app)


class SchedulerOwner:
    """A worker's loop: wait for the lock, own the scheduler and the sampler, give them up."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = owner_lock(app)
        self._stop = threading.Event()

    @property
    def owning(self) -> bool:
        return bool(self.app.extensions.get("scheduler_owner"))

    def run(self) -> None:
        """Until :meth:`stop`: take the lock when free and own; go back to waiting if it is lost."""
        while not self._stop.is_set():
            if self.lock.acquire():
                logger.info("scheduler lock taken: this worker owns the scheduler")
                self._own()
            self._stop.wait(RETRY_SECONDS)
        self._release()

    def stop(self) -> None:
        """Leave the loop: the scheduler shuts down after its running jobs finish."""
        self._stop.set()

    def _own(self) -> None:
        from webapp.jobs.scheduler import start_scheduler

        scheduler: Any = self.app.extensions["scheduler"]
        if scheduler.running:  # owned before, paused when the lock was lost
            scheduler.resume()
            self.app.extensions["scheduler_owner"] = True
        elif not start_scheduler(self.app):
            logger.error("scheduler lock taken, but the scheduler did not start here")
            self.lock.release()
            return
        self.app.extensions["monitor.sampler"].start_always()
        wakeup = float(self.app.config["SCHEDULER_WAKEUP_SECONDS"])
        checked = 0.0
        while not self._stop.wait(wakeup):
            scheduler.scheduler.wakeup()  # jobs another process added or changed
            checked += wakeup
            if checked >= RETRY_SECONDS:
                checked = 0.0
                if not self.lock.held():
                    self._give_up(scheduler)
                    return

    def _give_up(self, scheduler: Any) -> None:
        """The lock is gone: stop sampling and starting runs (running ones go on), wait again."""
        self.app.extensions["monitor.sampler"].stop()
        scheduler.pause()
        self.app.extensions["scheduler_owner"] = False

    def _release(self) -> None:
        """Stop sampling and scheduling (running jobs finish first), then free the lock."""
        scheduler: Any = self.app.extensions["scheduler"]
        self.app.extensions["monitor.sampler"].stop()
        if scheduler.running:
            scheduler.shutdown(wait=True)
            logger.info("scheduler stopped after its running jobs finished")
        self.app.extensions["scheduler_owner"] = False
        self.lock.release()
