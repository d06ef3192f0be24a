"""Jobs as the screens show them: the trigger in words, the task, the last run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import get_translations
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from webapp.extensions import db
from webapp.jobs import registry
from webapp.localtime import zoned
from webapp.models import JobRun
from webapp.services.packed import is_packing, packed_rows, unpack_rows

UNITS = (("weeks", 7 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))


@dataclass
class JobView:
    """One row of the job list."""

    id: str
    name: str
    task: str
    task_title: str
    kwargs: dict[str, Any]
    trigger: str
    next_run: datetime | None
    paused: bool
    executor: str
    store: str
    last_status: str | None
    last_duration_ms: float | None


def trigger_in_words(trigger: Any) -> str:
    """``every 5 minutes``, ``cron 0 3 * * mon-fri``, ``once at 2026-12-01 09:00 UTC``."""
    if isinstance(trigger, IntervalTrigger):
        seconds = int(trigger.interval_length)
        for unit, size in UNITS:
            if seconds % size == 0:
                count = seconds // size
                return _every(unit, count)
    if isinstance(trigger, CronTrigger):
        fields = {f.name: str(f) for f in trigger.fields}
        line = " ".join(fields[n] for n in ("minute", "hour", "day", "month", "day_of_week"))
        extra = [f"{n}={fields[n]}" for n in ("second", "year", "week") if fields[n] not in ("*", "0")]
        text = get_translations().ugettext("cron %(line)s") % {"line": line}
        return " ".join([text, *extra])
    if isinstance(trigger, DateTrigger):
        return _("once at %(when)s", when=zoned(trigger.run_date))
    return str(trigger)


def _every(unit: str, count: int) -> str:
    """``every 5 minutes``, through this request's catalogue (a list page asks for many)."""
    t = get_translations()
    if unit == "weeks":
        text = t.ungettext("every week", "every %(num)d weeks", count)
    elif unit == "days":
        text = t.ungettext("every day", "every %(num)d days", count)
    elif unit == "hours":
        text = t.ungettext("every hour", "every %(num)d hours", count)
    elif unit == "minutes":
        text = t.ungettext("every minute", "every %(num)d minutes", count)
    else:
        text = t.ungettext("every second", "every %(num)d seconds", count)
    return str(text % {"num": count})


def newest_runs(ids: Any) -> Any:
    """(job id, status, duration) of the newest run of each job in ``ids`` (a list
    parameter or a subquery of job ids)."""
    latest = (select(JobRun.job_id, func.max(JobRun.scheduled_at).label("at"))
              .where(JobRun.job_id.in_(ids)).group_by(JobRun.job_id).subquery())
    newest = (JobRun.job_id == latest.c.job_id) & (JobRun.scheduled_at == latest.c.at)
    return select(JobRun.job_id, JobRun.status, JobRun.duration_ms).join(latest, newest)


def unpack_runs(text: str | None) -> dict[str, tuple[str, float | None]]:
    """``last_runs()``'s answer from a packed ``newest_runs`` value."""
    return {job_id: (status, duration) for job_id, status, duration in unpack_rows(text)}


@cache
def _last_runs(packed: bool) -> Any:
    """The newest run of each job in ``:ids`` (built once: building it cost more than running it);
    ``packed``: as one value (for SQLite, see services.packed)."""
    runs = newest_runs(bindparam("ids", expanding=True))
    return packed_rows(runs) if packed else runs


def last_runs(ids: list[str]) -> dict[str, tuple[str, float | None]]:
    """{job id: (status, duration in ms)} of the newest recorded run of each of ``ids``."""
    connection = db.session.connection()
    if is_packing(connection):
        return unpack_runs(connection.scalar(_last_runs(True), {"ids": ids}))
    else:
        rows = connection.execute(_last_runs(False), {"ids": ids}).all()
    return {job_id: (status, duration) for job_id, status, duration in rows}


def job_views(jobs: list[Any], stores: Mapping[str, str] | None = None,
              runs: dict[str, tuple[str, float | None]] | None = None) -> list[JobView]:
    """Rows for ``jobs`` in their order, with each job's store (``stores``: alias by job
    id) and last recorded run (one query for all, unless ``runs`` are given:
    ``last_runs()`` of these jobs)."""
    if not jobs:
        return []
    last_by_id = last_runs([job.id for job in jobs]) if runs is None else runs
    stores = stores or {}
    views = []
    titles = {task.name: str(task.title) for task in registry.all_tasks()}
    for job in jobs:
        task_name = job.args[0] if job.args else "?"
        title = titles.get(task_name) or _("(not a registered task)")  # one written behind our back
        last = last_by_id.get(job.id)
        views.append(JobView(
            id=job.id, name=job.name, task=task_name, task_title=title, kwargs=dict(job.kwargs),
            trigger=trigger_in_words(job.trigger), next_run=getattr(job, "next_run_time", None),
            paused=getattr(job, "next_run_time", None) is None, executor=job.executor,
            store=stores.get(job.id, ""),
            last_status=last[0] if last else None,
            last_duration_ms=last[1] if last else None,
        ))
    return views
