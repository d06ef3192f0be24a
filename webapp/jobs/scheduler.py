"""The scheduler: Flask-APScheduler configured from the app's config, registered tasks only.

One scheduler object per app; it starts only where ``start_scheduler`` is called
(the serving process, see run.py), never twice under the debug reloader (Flask-
APScheduler skips the reloader's parent) and never on a host outside
``SCHEDULER_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import re
from typing import Any

from apscheduler.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from flask_apscheduler import APScheduler

from webapp.jobs import history, registry
from webapp.jobs.store import PassBatchingJobStore
from webapp.services.errors import ValidationError

JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,191}$")


class _AppContextPool:
    """A thread pool that runs each job inside its app's context (one app per scheduler)."""

    def __init__(self, pool: Any, app: Flask) -> None:
        self._pool, self._app = pool, app
        self._max_workers = pool._max_workers

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        app = self._app

        def in_app_context() -> Any:
            with app.app_context():
                return fn(*args, **kwargs)

        return self._pool.submit(in_app_context)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


class TimedThreadPoolExecutor(history.TimedSubmission, ThreadPoolExecutor):
    """The thread pool: runs jobs in the app's context and notes when each run starts."""

    def __init__(self, app: Flask, max_workers: int) -> None:
        super().__init__(max_workers)
        self._pool = history.StartTimingPool(_AppContextPool(self._pool, app))

    def start(self, scheduler: Any, alias: str) -> None:
        """Start, with every worker thread running already (none is created while jobs wait)."""
        super().start(scheduler, alias)
        self._pool.start_workers()


class TimedProcessPoolExecutor(history.TimedSubmission, ProcessPoolExecutor):
    """The process pool, noting when each run starts (for the run history)."""


class ConsoleScheduler(APScheduler):
    """Flask-APScheduler whose jobs can only run registered tasks.

    ``func`` names a registered task (by name or ``module:function``); the job
    stores keep the one entry point ``registry.run_task`` with the task's name as
    its argument, and the parameters typed and checked.
    """

    def add_job(self, id: str, func: str, **kwargs: Any) -> Any:
        if not JOB_ID.fullmatch(str(id)) or str(id) in {".", ".."}:
            raise ValidationError({"id": ["Use 1 to 191 letters, digits, dots, dashes, underscores "
                                          "or colons."]})
        registered = registry.get_task(str(func))
        if kwargs.get("args"):
            raise ValidationError({"args": ["Tasks take named parameters (kwargs), not args."]})
        kwargs["kwargs"] = registry.validate_kwargs(registered, kwargs.get("kwargs"))
        kwargs["args"] = [registered.name]
        kwargs.setdefault("name", id)
        return super().add_job(id, registry.RUNNER_REF, **kwargs)

    def modify_job(self, id: str, jobstore: str | None = None, **changes: Any) -> Any:
        """Change a job's settings; its task and parameters only through a registered task."""
        if {"func", "args", "kwargs"} & set(changes):
            job = self.get_job(id, jobstore)
            task_name = changes.pop("func", None) or (job.args[0] if job and job.args else "")
            registered = registry.get_task(str(task_name))
            if changes.pop("args", None):
                raise ValidationError({"args": ["Tasks take named parameters (kwargs), not args."]})
            changes["kwargs"] = registry.validate_kwargs(registered, changes.get("kwargs"))
            changes.update(func=registry.RUNNER_REF, args=(registered.name,))
        return super().modify_job(id, jobstore, **changes)

    def _load_jobs(self) -> None:
        """JOBS from the config replace their stored copies at start (not a conflict)."""
        for job in self.app.config.get("SCHEDULER_JOBS") or self.app.config.get("JOBS") or []:
            self.add_job(**{"replace_existing": True, **job})


def default_config(app: Flask) -> dict[str, Any]:
    """Scheduler settings unless the app's config gives its own (Flask-APScheduler's keys)."""
    # The app's own database, through a pool of the job store's own: sharing the app's
    # engine would share a single connection between threads on in-memory SQLite.
    stores: dict[str, Any] = {"default": PassBatchingJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"]),
                              "memory": MemoryJobStore()}
    if app.config.get("SCHEDULER_REDIS_URL"):
        from apscheduler.jobstores.redis import RedisJobStore
        from redis import Redis

        stores["redis"] = RedisJobStore(connection_pool=Redis.from_url(
            app.config["SCHEDULER_REDIS_URL"]).connection_pool)
    return {
        "SCHEDULER_JOBSTORES": stores,
        "SCHEDULER_EXECUTORS": {"default": TimedThreadPoolExecutor(app, 20),
                                "process": TimedProcessPoolExecutor(2)},
        "SCHEDULER_JOB_DEFAULTS": {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        "SCHEDULER_TIMEZONE": "UTC",
        "SCHEDULER_API_ENABLED": True,  # guarded by webapp.jobs.rest_api
    }


def configure_scheduler(app: Flask) -> ConsoleScheduler:
    """Create this app's scheduler (not started) and record run history from its events."""
    for key, value in default_config(app).items():
        app.config.setdefault(key, value)
    scheduler = ConsoleScheduler(scheduler=BackgroundScheduler())
    scheduler.init_app(app)
    if scheduler.api_enabled:  # Flask-APScheduler's REST API: admins, registered tasks, audited
        from webapp.jobs.rest_api import protect_api

        protect_api(app)
    scheduler.add_listener(history.listener(app), history.EVENTS)
    app.extensions["scheduler"] = scheduler
    return scheduler


def readable_scheduler(app: Flask) -> ConsoleScheduler:
    """The app's scheduler, able to read and edit the job stores.

    A process that does not own the scheduler starts it paused: it then sees the
    shared stores and can change jobs, while only the owner runs them.
    """
    scheduler: ConsoleScheduler = app.extensions["scheduler"]
    if not scheduler.running:
        scheduler.start(paused=True)
    return scheduler


def start_scheduler(app: Flask) -> bool:
    """Start the app's scheduler here; False when this host or process may not run it."""
    scheduler: ConsoleScheduler = app.extensions["scheduler"]
    scheduler.start()
    # The screens offer pausing the whole scheduler only in the process that runs it.
    app.extensions["scheduler_owner"] = scheduler.running
    if scheduler.running:
        from webapp.jobs.retention import ensure_retention_job

        ensure_retention_job(app, scheduler)
    return scheduler.running
