"""Scheduled jobs: list, add, edit, pause, resume, run now, delete; the scheduler itself.

Pages and the JSON API call these; every change is audited. Jobs run registered
tasks only (``webapp.jobs.registry``) and triggers come from ``webapp.jobs.triggers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from webapp.extensions import db
from webapp.jobs import listing, registry, rules, triggers
from webapp.jobs.limits import OPTION_LIMITS
from webapp.jobs.scheduler import JOB_ID, readable_scheduler
from webapp.models import JobRun, Role, User
from webapp.services import audit
from webapp.services.access import require_role
from webapp.services.errors import Conflict, DomainError, NotFound, ValidationError
from webapp.services.paging import Page

ACTIONS = ("pause", "resume", "run", "delete")
#: Words the job screens use in their own URLs (/jobs/new, /jobs/status ...).
RESERVED_IDS = frozenset({"new", "status", "preview", "scheduler", "export", "history"})


def scheduler() -> Any:
    """This app's scheduler, able to read and change the job stores."""
    return readable_scheduler(current_app)


def find_job(job_id: str) -> Any | None:
    """The job with this id in any store, or None (finished, deleted, or never added)."""
    return scheduler().get_job(job_id)


def get_job(job_id: str) -> Any:
    """The job with this id in any store, or NotFound."""
    job = find_job(job_id)
    if job is None:
        raise NotFound(_("No job with id %(id)s.", id=job_id[:100]))
    return job


def store_of(job_id: str) -> str | None:
    """The alias of the job store that holds the job, or None."""
    return scheduler().store_of(job_id)  # type: ignore[no-any-return]


def list_jobs(page: int = 1, per_page: int = 20, sort: str = "next_run", desc: bool = False,
              search: str = "", state: str = "") -> listing.JobPage:
    """One page of jobs from every store (read-only: change them through this module), with
    each job's store in ``stores``; only that page's jobs are loaded."""
    wanted = listing.JobFilter(sort="id" if sort == "id" else "next_run", desc=desc, search=search,
                               state=state if state in ("paused", "scheduled") else "")
    return listing.page_of_jobs(scheduler(), wanted, page, per_page)


def jobs_by_id(ids: list[str]) -> list[Any]:
    """The jobs with these ids that still exist (for the list's live updates; read-only)."""
    return listing.jobs_by_ids(scheduler(), ids)


# -- the scheduler ---------------------------------------------------------------

@dataclass(frozen=True)
class SchedulerState:
    """What the scheduler panel shows."""

    state: str  # running / paused / elsewhere (not owned by this process) / stopped
    owned: bool
    host: str
    allowed_hosts: list[str]
    host_allowed: bool
    executors: list[str]
    stores: list[str]
    timezone: str


def scheduler_state() -> SchedulerState:
    """The scheduler as this process sees it."""
    owner = current_app.extensions["scheduler"]
    owned = bool(current_app.extensions.get("scheduler_owner"))
    engine = owner.scheduler
    if owned:
        state = {STATE_RUNNING: "running", STATE_PAUSED: "paused"}.get(owner.state, "stopped")
    else:
        state = "elsewhere"
    hosts = list(owner.allowed_hosts)
    return SchedulerState(
        state=state, owned=owned, host=owner.host_name, allowed_hosts=hosts,
        host_allowed=owner.host_name in hosts or "*" in hosts,
        executors=sorted(owner.executors), stores=sorted(owner.stores),
        timezone=str(engine.timezone),
    )


def scheduler_held() -> bool:
    """Whether the whole scheduler is paused here, so that no job runs until it is resumed.

    Only the process that runs the jobs knows; elsewhere this is False.
    """
    return scheduler_state().state == "paused"


def set_scheduler_running(running: bool, actor: User) -> SchedulerState:
    """Pause or resume the whole scheduler (the process that owns it)."""
    require_role(actor, Role.ADMIN)
    owner = current_app.extensions["scheduler"]
    if not current_app.extensions.get("scheduler_owner"):
        raise DomainError(_("The scheduler does not run in this process; pause or resume it "
                            "where it runs."))
    before = scheduler_state().state
    owner.resume() if running else owner.pause()
    after = scheduler_state().state
    audit.record_change(actor, "update", "scheduler", owner.host_name, owner.host_name,
                        {"state": [before, after]})
    db.session.commit()
    return scheduler_state()


# -- adding and editing ------------------------------------------------------------

def preview(data: Mapping[str, Any], count: int = 5) -> list[datetime]:
    """The next ``count`` fire times of the trigger ``data`` describes (ValidationError if bad)."""
    return triggers.next_fire_times(_trigger(data), count)


def upcoming(job: Any, count: int = 5) -> list[datetime]:
    """The job's next ``count`` fire times by its trigger (also while it is paused)."""
    return triggers.next_fire_times(job.trigger, count, first=job.next_run_time)


def create_job(data: Mapping[str, Any], actor: User) -> Any:
    """Add a job; ``data`` as the form and the API give it (see :func:`_job_options`)."""
    require_role(actor, Role.ADMIN)
    job_id = str(data.get("id") or "").strip()
    errors: dict[str, list[str]] = {}
    if not JOB_ID.fullmatch(job_id) or job_id in {".", ".."}:
        errors["id"] = [_("Use 1 to 191 letters, digits, dots, dashes, underscores or colons.")]
    elif job_id in RESERVED_IDS:
        errors["id"] = [_("“%(id)s” is reserved; choose another id.", id=job_id)]
    options = _collect(errors, lambda: _job_options(data, creating=True))
    if errors:
        raise ValidationError(errors)
    if scheduler().get_job(job_id) is not None:
        raise ValidationError({"id": [_("A job with id “%(id)s” exists already.", id=job_id)]})
    paused = bool(data.get("paused"))
    if paused:
        options["next_run_time"] = None
    try:
        job = scheduler().add_job(job_id, options.pop("func"), **options)
    except ConflictingIdError:
        raise Conflict(_("A job with id “%(id)s” exists already.", id=job_id)) from None
    audit.record_change(actor, "create", "jobs", job_id, job.name, _audit_view(job, options["jobstore"]))
    db.session.commit()
    return job


def update_job(job_id: str, data: Mapping[str, Any], actor: User) -> Any:
    """Change a job's name, task, parameters, trigger and options; a paused job stays paused.

    A job moved to another store is re-added there under the same id.
    """
    require_role(actor, Role.ADMIN)
    job = get_job(job_id)
    current = store_of(job_id)
    before = _audit_view(job, current)
    options = _job_options(data, creating=False)
    trigger = options.pop("trigger")
    store = options.pop("jobstore")
    paused = job.next_run_time is None
    sched = scheduler()
    if store != current:
        job.remove()
        extra = {"next_run_time": None} if paused else {}
        job = sched.add_job(job_id, options.pop("func"), trigger=trigger, jobstore=store, **options, **extra)
    else:
        task = options.pop("func")
        job = sched.modify_job(job_id, store, func=task, **options)
        job = sched.reschedule_job(job_id, store, trigger)
        if paused:
            sched.pause_job(job_id, store)
        job = get_job(job_id)
    after = _audit_view(job, store)
    audit.record_change(actor, "update", "jobs", job_id, job.name, audit.diff(before, after))
    db.session.commit()
    return job


def _trigger(data: Mapping[str, Any]) -> Any:
    """The trigger ``data`` describes, checked against the schedule rules (see ``jobs.rules``)."""
    kind = str(data.get("trigger") or "")
    fields = data.get("trigger_args") or {}
    trigger = triggers.build_trigger(kind, fields, str(scheduler().scheduler.timezone))
    never = {"date": "run_date", "interval": "end_date"}.get(kind, "crontab")
    if kind == "cron" and not fields.get("crontab"):
        never = "day"
    rules.check_schedule(trigger, never, rules.grace_of(data.get("misfire_grace_time")))
    return trigger


def _job_options(data: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    """The scheduler's keyword arguments for ``data``, every field checked at once.

    ``data``: ``name``, ``task``, ``kwargs`` (a mapping), ``trigger`` (date / interval /
    cron) with ``trigger_args``, ``executor``, ``jobstore``, ``max_instances``,
    ``coalesce``, ``misfire_grace_time``.
    """
    errors: dict[str, list[str]] = {}
    sched = scheduler()
    task = _collect(errors, lambda: registry.get_task(str(data.get("task") or "")), rename={"func": "task"})
    kwargs = data.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        errors["kwargs"] = [_("Give the parameters as an object of names and values.")]
    elif task is not None:
        kwargs = _collect(errors, lambda: registry.validate_kwargs(task, kwargs), prefix="kwargs.")
    trigger = _collect(errors, lambda: _trigger(data))
    name = str(data.get("name") or "").strip() or str(data.get("id") or "")
    if len(name) > 200:
        errors["name"] = [_("Use at most 200 characters.")]
    executor = str(data.get("executor") or "default")
    if executor not in sched.executors:
        errors["executor"] = [_("Choose one of: %(names)s.", names=", ".join(sorted(sched.executors)))]
    store = str(data.get("jobstore") or "default")
    if store not in sched.stores:
        errors["jobstore"] = [_("Choose one of: %(names)s.", names=", ".join(sorted(sched.stores)))]
    numbers = {}
    for key, (low, high) in OPTION_LIMITS.items():
        value = data.get(key)
        if value in (None, ""):
            numbers[key] = None  # the job default
            continue
        if isinstance(value, bool) or not str(value).strip().isdigit() or not low <= int(value) <= high:
            errors[key] = [_("Use a whole number from %(low)d to %(high)d.", low=low, high=high)]
        else:
            numbers[key] = int(value)
    if errors:
        raise ValidationError(errors)
    return {"func": task.name, "kwargs": kwargs, "trigger": trigger, "name": name, "executor": executor,
            "jobstore": store, **numbers,
            # Unset (None): the job defaults, as on every path (see jobs.rules.with_defaults).
            "coalesce": None if data.get("coalesce") is None else bool(data["coalesce"])}


def _collect(errors: dict[str, list[str]], make: Any, prefix: str = "",
             rename: Mapping[str, str] | None = None) -> Any:
    try:
        return make()
    except ValidationError as err:
        for key, messages in err.fields.items():
            errors.setdefault((rename or {}).get(key, prefix + key), []).extend(messages)
        return None


def _audit_view(job: Any, store: str | None) -> dict[str, Any]:
    return {"name": job.name, "task": job.args[0] if job.args else None, "kwargs": dict(job.kwargs),
            "trigger": str(job.trigger), "executor": job.executor, "jobstore": store,
            "max_instances": job.max_instances, "coalesce": job.coalesce,
            "misfire_grace_time": job.misfire_grace_time,
            "next_run_time": job.next_run_time.isoformat() if job.next_run_time else None}


def job_data(job: Any, store: str | None = None) -> dict[str, Any]:
    """A job as plain data (the API's shape and the edit form's initial values); ``store``:
    the alias of its job store, when known (else it is looked up)."""
    kind, trigger_args = triggers.trigger_fields(job.trigger)
    return {"id": job.id, "name": job.name, "task": job.args[0] if job.args else None,
            "kwargs": dict(job.kwargs), "trigger": kind, "trigger_args": trigger_args,
            "executor": job.executor, "jobstore": store or store_of(job.id),
            "max_instances": job.max_instances, "coalesce": job.coalesce,
            "misfire_grace_time": job.misfire_grace_time, "paused": job.next_run_time is None,
            "next_run_time": job.next_run_time}


# -- actions -------------------------------------------------------------------------

def apply(job_id: str, action: str, actor: User) -> Any:
    """Pause, resume, run now (through the scheduler, so the run is recorded) or delete."""
    require_role(actor, Role.ADMIN)
    job = get_job(job_id)
    before = job.next_run_time.isoformat() if job.next_run_time else None
    if action == "pause":
        job = job.pause()
    elif action == "resume":
        job = job.resume()
    elif action == "run":  # an extra run: the job keeps its schedule (see jobs.extra_run)
        job = scheduler().run_now(job_id)
    elif action == "delete":
        job.remove()
    else:
        raise NotFound(_("No such action."))
    if action in ("pause", "resume"):
        job = get_job(job_id)  # the stored job, as the action left it
    after = None if action == "delete" else (job.next_run_time.isoformat() if job.next_run_time else None)
    audit.record_change(actor, "delete" if action == "delete" else "update", "jobs", job_id, job_id,
                        {"action": action, "next_run_time": [before, after]})
    db.session.commit()
    return job


# -- run history ---------------------------------------------------------------------

@dataclass(frozen=True)
class RunStats:
    """A job's recorded runs in numbers."""

    total: int
    succeeded: int
    failed: int
    missed: int
    success_rate: float | None  # of finished runs (succeeded or failed), in percent
    mean_duration_ms: float | None


def run_stats(job_id: str) -> RunStats:
    """Counts, success rate and mean duration of the job's recorded runs (one query)."""
    def count(status: str) -> Any:
        return func.coalesce(func.sum(case((JobRun.status == status, 1), else_=0)), 0)

    row = db.session.execute(
        select(func.count(), count("succeeded"), count("failed"), count("missed"),
               func.avg(JobRun.duration_ms)).where(JobRun.job_id == job_id)).one()
    total, succeeded, failed, missed, mean = row
    finished = succeeded + failed
    return RunStats(total=total, succeeded=succeeded, failed=failed, missed=missed,
                    success_rate=round(100 * succeeded / finished, 1) if finished else None,
                    mean_duration_ms=round(mean, 1) if mean is not None else None)


def runs(job_id: str, page: int = 1, per_page: int = 20) -> Page[JobRun]:
    """The job's runs, newest scheduled first."""
    total = db.session.scalar(select(func.count()).where(JobRun.job_id == job_id)) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    items = db.session.scalars(select(JobRun).where(JobRun.job_id == job_id)
                               .order_by(JobRun.scheduled_at.desc(), JobRun.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


@dataclass(frozen=True)
class JobHistory:
    """The recorded runs of one job id, whether or not the job is still scheduled."""

    job_id: str
    runs: int
    last_scheduled_at: datetime
    scheduled: bool  # the job still exists in a job store


def job_histories(page: int = 1, per_page: int = 20) -> Page[JobHistory]:
    """Every job id with recorded runs, most recently run first: finished one-off jobs and
    deleted jobs keep their history here."""
    total = db.session.scalar(select(func.count(func.distinct(JobRun.job_id)))) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    last = func.max(JobRun.scheduled_at)
    rows = db.session.execute(select(JobRun.job_id, func.count(), last).group_by(JobRun.job_id)
                              .order_by(last.desc(), JobRun.job_id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    existing = {job.id for job in listing.jobs_by_ids(scheduler(), [row[0] for row in rows])}
    items = [JobHistory(job_id, count, at, job_id in existing) for job_id, count, at in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)
