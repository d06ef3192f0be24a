"""One page of jobs across every job store, unpickling only the jobs on that page.

APScheduler's ``get_jobs()`` rebuilds every job of every store (a pickle load per
job): with a thousand jobs that is most of a request. Here the sort keys (id and
next run time) are read cheaply from each store, merged, cut to the page, and only
that page's jobs are rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import STATE_STOPPED
from sqlalchemy import select

from webapp.services.paging import Page


@dataclass(frozen=True)
class JobKey:
    """What sorting and filtering need of a job, without rebuilding it."""

    id: str
    next_run: float | None  # a POSIX timestamp; None when paused
    store: str


def job_keys(scheduler: Any) -> list[JobKey]:
    """The id and next run time of every job in every store of ``scheduler``."""
    engine = getattr(scheduler, "scheduler", scheduler)
    if engine.state == STATE_STOPPED:  # never started here (a host outside the allowed hosts)
        return [JobKey(job.id, _timestamp(getattr(job, "next_run_time", None)), alias or "default")
                for job, alias, _replace in engine._pending_jobs]
    keys: list[JobKey] = []
    for alias, store in _stores(scheduler):
        keys.extend(_keys_of(alias, store))
    return keys


def page_of_jobs(scheduler: Any, keys: list[JobKey], page: int, per_page: int) -> Page[Any]:
    """The jobs on ``page`` of ``keys`` (already filtered and sorted), rebuilt."""
    total = len(keys)
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    wanted = keys[(page - 1) * per_page: page * per_page]
    return Page(items=load_jobs(scheduler, wanted), total=total, page=page, per_page=per_page)


def load_jobs(scheduler: Any, keys: Iterable[JobKey]) -> list[Any]:
    """The jobs named by ``keys``, in that order (a job removed meanwhile is left out)."""
    keys = list(keys)
    engine = getattr(scheduler, "scheduler", scheduler)
    if engine.state == STATE_STOPPED:
        pending = {job.id: job for job, _alias, _replace in engine._pending_jobs}
        return [pending[k.id] for k in keys if k.id in pending]
    stores = dict(_stores(scheduler))
    found: dict[tuple[str, str], Any] = {}
    for alias in {k.store for k in keys}:
        store = stores.get(alias)
        if store is not None:
            ids = [k.id for k in keys if k.store == alias]
            found.update(((alias, job.id), job) for job in _load(store, ids))
    return [found[(k.store, k.id)] for k in keys if (k.store, k.id) in found]


def sort_keys(keys: list[JobKey], by: str = "next_run", desc: bool = False) -> list[JobKey]:
    """By next run (paused last) or by id."""
    if by == "id":
        return sorted(keys, key=lambda k: k.id, reverse=desc)
    running = sorted((k for k in keys if k.next_run is not None), key=lambda k: (k.next_run, k.id),
                     reverse=desc)
    paused = sorted((k for k in keys if k.next_run is None), key=lambda k: k.id)
    return [*running, *paused]


def _stores(scheduler: Any) -> list[tuple[str, Any]]:
    engine = getattr(scheduler, "scheduler", scheduler)  # Flask-APScheduler wraps APScheduler
    with engine._jobstores_lock:
        return list(engine._jobstores.items())


def _keys_of(alias: str, store: Any) -> list[JobKey]:
    if isinstance(store, SQLAlchemyJobStore):
        rows = store.engine.connect()
        try:
            result = rows.execute(select(store.jobs_t.c.id, store.jobs_t.c.next_run_time)).all()
        finally:
            rows.close()
        return [JobKey(job_id, when, alias) for job_id, when in result]
    if isinstance(store, MemoryJobStore):
        return [JobKey(job.id, timestamp, alias) for job, timestamp in list(store._jobs)]
    if type(store).__name__ == "RedisJobStore":
        ids = [i.decode() for i in store.redis.hkeys(store.jobs_key)]
        scores = {k.decode(): s for k, s in store.redis.zrange(store.run_times_key, 0, -1, withscores=True)}
        return [JobKey(i, scores.get(i), alias) for i in ids]
    return [JobKey(job.id, job.next_run_time.timestamp() if job.next_run_time else None, alias)
            for job in store.get_all_jobs()]


def _load(store: Any, ids: list[str]) -> list[Any]:
    if not ids:
        return []
    if isinstance(store, SQLAlchemyJobStore):
        table = store.jobs_t
        with store.engine.connect() as connection:
            rows = connection.execute(select(table.c.job_state).where(table.c.id.in_(ids))).all()
        return [store._reconstitute_job(state) for (state,) in rows]
    if isinstance(store, MemoryJobStore):
        return [store._jobs_index[i][0] for i in ids if i in store._jobs_index]
    if type(store).__name__ == "RedisJobStore":
        states = store.redis.hmget(store.jobs_key, *ids)
        return [store._reconstitute_job(state) for state in states if state]
    return [job for job in (store.lookup_job(i) for i in ids) if job is not None]


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def timestamp_to_datetime(value: float | None) -> datetime | None:
    """A key's next run as an aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC) if value is not None else None
