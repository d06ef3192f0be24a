"""The scheduler: Flask-APScheduler configured from the app's config, registered tasks only.

One scheduler object per app; it starts only where ``start_scheduler`` is called
(the serving process, see run.py), never twice under the debug reloader (Flask-
APScheduler skips the reloader's parent) and never on a host outside
``SCHEDULER_ALLOWED_HOSTS``.
"""

from __future__ import annotations

from typing import Any

from apscheduler.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from flask_apscheduler import APScheduler

from webapp.extensions import db
from webapp.jobs import history, registry


class TimedThreadPoolExecutor(history.TimedSubmission, ThreadPoolExecutor):
    """The thread pool, noting when each run starts (for the run history)."""


class TimedProcessPoolExecutor(history.TimedSubmission, ProcessPoolExecutor):
    """The process pool, noting when each run starts (for the run history)."""


class ConsoleScheduler(APScheduler):
    """Flask-APScheduler whose jobs can only run registered tasks.

    ``func`` names a registered task (by name or ``module:function``); the job
    stores keep the one entry point ``registry.run_task`` with the task's name as
    its argument, and the parameters typed and checked.
    """

    def add_job(self, id: str, func: str, **kwargs: Any) -> Any:
        registered = registry.get_task(str(func))
        if kwargs.get("args"):
            from webapp.services.errors import ValidationError

            raise ValidationError({"args": ["Tasks take named parameters (kwargs), not args."]})
        kwargs["kwargs"] = registry.validate_kwargs(registered, kwargs.get("kwargs"))
        kwargs["args"] = [registered.name]
        kwargs.setdefault("name", id)
        return super().add_job(id, registry.RUNNER_REF, **kwargs)


def default_config(app: Flask) -> dict[str, Any]:
    """Scheduler settings unless the app's config gives its own (Flask-APScheduler's keys)."""
    with app.app_context():  # the app's own database, through the app's engine
        engine = db.engine
    stores: dict[str, Any] = {"default": SQLAlchemyJobStore(engine=engine), "memory": MemoryJobStore()}
    if app.config.get("SCHEDULER_REDIS_URL"):
        from apscheduler.jobstores.redis import RedisJobStore
        from redis import Redis

        stores["redis"] = RedisJobStore(connection_pool=Redis.from_url(
            app.config["SCHEDULER_REDIS_URL"]).connection_pool)
    return {
        "SCHEDULER_JOBSTORES": stores,
        "SCHEDULER_EXECUTORS": {"default": TimedThreadPoolExecutor(20),
                                "process": TimedProcessPoolExecutor(2)},
        "SCHEDULER_JOB_DEFAULTS": {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        "SCHEDULER_TIMEZONE": "UTC",
        "SCHEDULER_API_ENABLED": False,
    }


def configure_scheduler(app: Flask) -> ConsoleScheduler:
    """Create this app's scheduler (not started) and record run history from its events."""
    for key, value in default_config(app).items():
        app.config.setdefault(key, value)
    scheduler = ConsoleScheduler(scheduler=BackgroundScheduler())
    scheduler.init_app(app)
    scheduler.add_listener(history.listener(app), history.EVENTS)
    registry.bind_app(app)
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
    return scheduler.running
