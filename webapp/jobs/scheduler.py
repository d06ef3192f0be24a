"""The scheduler: Flask-APScheduler configured from the app's config, registered tasks only.

One scheduler object per app; it starts only where ``start_scheduler`` is called
(the serving process, see run.py), never twice under the debug reloader (Flask-
APScheduler skips the reloader's parent) and never on a host outside
``SCHEDULER_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import BasePoolExecutor, ProcessPoolExecutor
from apscheduler.jobstores.base import BaseJobStore, JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from flask import Flask
from flask_apscheduler import APScheduler
from flask_babel import gettext as _

from webapp.jobs import extra_run, history, registry, rules
from webapp.jobs.claims import RunClaims
from webapp.jobs.keys import KeyedMemoryJobStore
from webapp.jobs.limits import JOB_DEFAULTS
from webapp.jobs.store import PassBatchingJobStore
from webapp.services.errors import ValidationError

JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,191}$")
logger = logging.getLogger(__name__)


class _AppContextPool:
    """A thread pool that runs each job inside its app's context (one app per scheduler)."""

    def __init__(self, pool: Any, app: Flask) -> None:
        self._pool, self._app = pool, app

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        app = self._app

        def in_app_context() -> Any:
            with app.app_context():
                return fn(*args, **kwargs)

        return self._pool.submit(in_app_context)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


class RegisteredTasksOnly:
    """Executor mixin: every run is checked as it is submitted, whatever the job store holds.

    A job that does not call the registry's entry point (a row written into the store
    directly, say) is disarmed before it runs: it calls :func:`registry.refuse_run`
    with the reason instead of its function, so the run fails and the run history
    records it, and the job is stored that way when the scheduler writes it back.
    Where runs are claimed (webapp/jobs/claims.py), a run already claimed elsewhere
    is left out.
    """

    claims: RunClaims | None = None

    def submit_job(self, job: Any, run_times: list[Any]) -> None:
        """Submit ``job`` (disarmed if refused); note a paused job's extra run (see extra_run)."""
        if self.claims is not None:
            run_times = self.claims.claim(job.id, run_times)
            if not run_times:
                logger.info("Job %s: its due run was claimed by another scheduler; skipped", job.id)
                return
        reason = registry.refusal(job)
        if reason is not None:
            logger.warning("Refused to run job %s: %s", job.id, reason)
            _disarm(job, reason)
        else:
            extra_run.note_submission(job, run_times)
        super().submit_job(job, run_times)  # type: ignore[misc]


def _disarm(job: Any, reason: str) -> None:
    """Make ``job`` call ``refuse_run(reason)``, keeping its id, trigger, times and settings
    (through the job's own pickling protocol, as a job store restores a job)."""
    state = job.__getstate__()
    state.update(func=registry.REFUSED_REF, args=(reason,), kwargs={})
    job.__setstate__(state)


class TimedThreadPoolExecutor(RegisteredTasksOnly, history.TimedSubmission, BasePoolExecutor):
    """APScheduler's thread pool executor over a pool that runs jobs in the app's context and
    notes when each run starts."""

    def __init__(self, app: Flask, max_workers: int) -> None:
        self.claims = RunClaims(app)
        self.timing_pool = history.StartTimingPool(_AppContextPool(ThreadPoolExecutor(max_workers), app),
                                                   max_workers)
        super().__init__(self.timing_pool)

    def start(self, scheduler: Any, alias: str) -> None:
        """Start, with every worker thread running already (none is created while jobs wait)."""
        super().start(scheduler, alias)
        self.timing_pool.start_workers()


class TimedProcessPoolExecutor(RegisteredTasksOnly, history.TimedSubmission, ProcessPoolExecutor):
    """The process pool, noting when each run starts (for the run history)."""

    def __init__(self, max_workers: int, claims: RunClaims | None = None) -> None:
        self.claims = claims
        super().__init__(max_workers)


class ConsoleScheduler(APScheduler):
    """Flask-APScheduler whose jobs can only run registered tasks, on schedules that keep the
    rules of ``webapp.jobs.rules``.

    ``func`` names a registered task (by name or ``module:function``); the job
    stores keep the one entry point ``registry.run_task`` with the task's name as
    its argument, and the parameters (positional ``args`` given to the task's
    parameters in order) typed and checked by name.

    It keeps its own record of the job stores and executors it was configured with
    (``stores``, ``executors``), which the screens list and the job list reads.
    """

    def __init__(self, scheduler: Any = None, app: Flask | None = None) -> None:
        #: Job stores by alias: the configured instances (or their settings, for a store
        #: the scheduler builds from them). APScheduler adds a memory store as "default"
        #: when none is configured, and a thread pool as the "default" executor.
        self.stores: dict[str, Any] = {}
        self.executors: dict[str, Any] = {}
        super().__init__(scheduler, app)

    def init_app(self, app: Flask) -> None:
        """Configure from ``app``'s config (Flask-APScheduler's keys), noting the stores and
        executors."""
        self.stores = {"default": None, **(app.config.get("SCHEDULER_JOBSTORES") or {})}
        self.executors = {"default": None, **(app.config.get("SCHEDULER_EXECUTORS") or {})}
        super().init_app(app)

    def add_jobstore(self, store: BaseJobStore, alias: str = "default") -> None:
        """Add a job store (noted with the configured ones)."""
        self.scheduler.add_jobstore(store, alias)
        self.stores[alias] = store

    def add_executor(self, executor: BaseExecutor, alias: str = "default") -> None:
        """Add an executor (noted with the configured ones)."""
        self.scheduler.add_executor(executor, alias)
        self.executors[alias] = executor

    def store_of(self, job_id: str) -> str | None:
        """The alias of the job store that holds the job, or None."""
        for alias in self.stores:
            if self.scheduler.get_job(job_id, alias) is not None:
                return alias
        return None

    def started_store(self, alias: str) -> Any:
        """The store instance behind ``alias`` once the scheduler has started (the stores
        are started then), or None: not started, or built by the scheduler itself."""
        store = self.stores.get(alias)
        return store if isinstance(store, BaseJobStore) and self.state != STATE_STOPPED else None

    def add_job(self, id: str, func: str, **kwargs: Any) -> Any:
        """Add a job: registered task, checked schedule, the job defaults for unset options."""
        if not isinstance(id, str) or not JOB_ID.fullmatch(id) or id in {".", ".."}:
            raise ValidationError({"id": [_("Use 1 to 191 letters, digits, dots, dashes, underscores "
                                            "or colons.")]})
        registered = registry.get_task(str(func))
        kwargs["kwargs"] = registry.validate_kwargs(
            registered, registry.bind_args(registered, kwargs.pop("args", None), kwargs.get("kwargs")))
        kwargs["args"] = [registered.name]
        kwargs["trigger"] = self._checked_trigger(kwargs, kwargs.get("misfire_grace_time"))
        rules.check_next_run_time(kwargs.get("next_run_time"))
        rules.with_defaults(kwargs, creating=True)
        kwargs.setdefault("name", id)
        return super().add_job(id, registry.RUNNER_REF, **kwargs)

    def modify_job(self, id: str, jobstore: str | None = None, **changes: Any) -> Any:
        """Change a job's settings, trigger, task and parameters; everything is checked before
        anything changes."""
        job = self.get_job(id, jobstore)
        if job is None:
            raise JobLookupError(id)
        if {"func", "args", "kwargs"} & set(changes):
            task_name = changes.pop("func", None) or (job.args[0] if job.args else "")
            registered = registry.get_task(str(task_name))
            changes["kwargs"] = registry.validate_kwargs(
                registered, registry.bind_args(registered, changes.pop("args", None), changes.get("kwargs")))
            changes.update(func=registry.RUNNER_REF, args=(registered.name,))
        trigger = None
        if "trigger" in changes:
            grace = changes.get("misfire_grace_time", job.misfire_grace_time)
            trigger = self._checked_trigger(changes, grace)
        rules.check_next_run_time(changes.get("next_run_time"))
        rules.with_defaults(changes, creating=False)
        if trigger is not None:
            self.reschedule_job(id, jobstore, trigger)
        return self.scheduler.modify_job(id, jobstore, **changes) if changes else self.get_job(id, jobstore)

    def reschedule_job(self, id: str, jobstore: str | None, trigger: BaseTrigger) -> Any:
        """Give the job a new trigger (checked); its next run time follows from it."""
        rules.check_schedule(trigger, "trigger", self._grace_of(id, jobstore))
        return self.scheduler.reschedule_job(id, jobstore, trigger=trigger)

    def run_now(self, id: str, jobstore: str | None = None) -> Any:
        """One extra run now, through the scheduler (so it is recorded); the job keeps its
        schedule (see ``extra_run``)."""
        job = self.get_job(id, jobstore)
        if job is None:
            raise JobLookupError(id)
        trigger, when = extra_run.with_extra_run(job)
        return self.scheduler.modify_job(id, jobstore, trigger=trigger, next_run_time=when)

    def run_job(self, id: str, jobstore: str | None = None) -> None:
        """Flask-APScheduler's "run": an extra run through the scheduler, never in this thread."""
        self.run_now(id, jobstore)

    def _checked_trigger(self, options: dict[str, Any], grace: Any) -> BaseTrigger:
        """Pop the trigger (an object, or a kind with Flask-APScheduler's flat fields) from
        ``options`` and check it against the schedule rules."""
        trigger = options.pop("trigger", None)
        if isinstance(trigger, dict):  # Flask-APScheduler's older {"trigger": {"type": ...}}
            nested = dict(trigger)
            trigger = nested.pop("type", "date")
            options.update(nested)
        if isinstance(trigger, BaseTrigger):
            never = "trigger"
        else:
            kind = trigger if isinstance(trigger, str) else "date"
            fields = {key: options.pop(key) for key in rules.TRIGGER_FIELDS.get(kind, ()) if key in options}
            trigger = rules.make_trigger(kind, fields, self.scheduler.timezone)
            never = rules.never_fires_field(kind, fields)
        rules.check_schedule(trigger, never, rules.grace_of(grace))
        return trigger

    def _grace_of(self, id: str, jobstore: str | None) -> Any:
        job = self.get_job(id, jobstore)
        return job.misfire_grace_time if job is not None else JOB_DEFAULTS["misfire_grace_time"]

    def _load_jobs(self) -> None:
        """JOBS from the config replace their stored copies at start (not a conflict). A job
        whose schedule is over (a one-off date that has passed) is left out, with a warning."""
        for job in self.app.config.get("SCHEDULER_JOBS") or self.app.config.get("JOBS") or []:
            try:
                self.add_job(**{"replace_existing": True, **job})
            except rules.NeverFires:
                logger.warning("Configured job %s never fires from now on; not added.", job.get("id"))


def default_config(app: Flask) -> dict[str, Any]:
    """Scheduler settings unless the app's config gives its own (Flask-APScheduler's keys)."""
    # The app's own database, through a pool of the job store's own: sharing the app's
    # engine would share a single connection between threads on in-memory SQLite.
    stores: dict[str, Any] = {"default": PassBatchingJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"]),
                              "memory": KeyedMemoryJobStore()}
    if app.config.get("SCHEDULER_REDIS_URL"):
        from redis import Redis

        from webapp.jobs.redis_store import KeyedRedisJobStore

        stores["redis"] = KeyedRedisJobStore(connection_pool=Redis.from_url(
            app.config["SCHEDULER_REDIS_URL"]).connection_pool)
    return {
        "SCHEDULER_JOBSTORES": stores,
        "SCHEDULER_EXECUTORS": {"default": TimedThreadPoolExecutor(app, 20),
                                "process": TimedProcessPoolExecutor(2, RunClaims(app))},
        "SCHEDULER_JOB_DEFAULTS": dict(JOB_DEFAULTS),
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
    scheduler.add_listener(extra_run.pause_after_extra_runs(scheduler), extra_run.EVENTS)
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
