"""One page of jobs across every job store, rebuilding only the jobs on that page.

APScheduler's ``get_jobs()`` rebuilds every job of every store (a pickle load per
job): with a thousand jobs that is most of a request. Here each of the project's
stores (``webapp.jobs.keys.KeyedJobStore``) gives only sort keys (id and next run
time), filtered and sorted by SQL for the SQLAlchemy store, plus its count, and only
the page's jobs are rebuilt.

Each store is first asked for the page as if it held every listed job: the SQLAlchemy
store reads just the page's keys and states (LIMIT and OFFSET in list order). When
only one store holds listed jobs, the usual case, that is the page. When several do,
each gives the keys of its first ``page * per_page`` jobs in list order, and those are
merged in Python and cut to the page. Any other store, and every store while the
scheduler has not started (its jobs are still pending), is read through the
scheduler's public ``get_jobs``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from webapp.jobs.keys import (
    JobFilter,
    JobKey,
    KeyedJobStore,
    PagingJobStore,
    job_from_state,
    store_keys,
)
from webapp.services.paging import Page

__all__ = ["JobFilter", "JobKey", "JobPage", "jobs_by_ids", "page_of_jobs"]


@dataclass
class JobPage(Page[Any]):
    """A page of jobs (read-only: see ``keys.job_from_state``), with the store of each."""

    #: The alias of the job store of each job on the page, by job id.
    stores: dict[str, str] = field(default_factory=dict)


def page_of_jobs(scheduler: Any, wanted: JobFilter, page: int, per_page: int) -> JobPage:
    """The jobs on ``page`` (past the end: the last page), rebuilt, and the total.

    ``scheduler``: the app's ``ConsoleScheduler``.
    """
    page = max(page, 1)
    keys, total, found = _page_keys(scheduler, wanted, page, per_page)
    pages = max((total + per_page - 1) // per_page, 1)
    if page > pages:
        page = pages
        keys, total, found = _page_keys(scheduler, wanted, page, per_page)
    jobs = _load(scheduler, keys, found)
    return JobPage(items=[job for _key, job in jobs], total=total, page=page, per_page=per_page,
                   stores={key.id: key.store for key, _job in jobs})


def jobs_by_ids(scheduler: Any, ids: Iterable[str]) -> list[Any]:
    """The jobs with these ids (any store; read-only), in no particular order."""
    wanted = set(ids)
    jobs: list[Any] = []
    for alias in scheduler.stores:
        if wanted:
            held = _held(scheduler, alias, wanted)
            jobs += held
            wanted -= {job.id for job in held}
    return jobs


def _held(scheduler: Any, alias: str, ids: set[str]) -> list[Any]:
    """The jobs with these ids in the store ``alias``."""
    store = scheduler.started_store(alias)
    if isinstance(store, KeyedJobStore):
        return store.jobs_by_ids(sorted(ids))
    return [job for job in scheduler.get_jobs(alias) if job.id in ids]


class _StoreAnswer(NamedTuple):
    keys: list[JobKey]
    total: int  # how many jobs the store lists
    read: dict[str, Any]  # by id: stored states, or jobs (stores read through the scheduler)


def _page_keys(scheduler: Any, wanted: JobFilter, page: int,
               per_page: int) -> tuple[list[JobKey], int, dict[tuple[str, str], Any]]:
    """The keys on ``page`` in list order over every store, how many match in all, and
    what was read along for some of them ((store, id): the job, or its stored state)."""
    skip = (page - 1) * per_page
    answers = {alias: _store_keys(scheduler, alias, wanted, skip, per_page, merge=False)
               for alias in scheduler.stores}
    total = sum(answer.total for answer in answers.values())
    holding = [alias for alias, answer in answers.items() if answer.total]
    if len(holding) > 1:  # merge: every holding store's keys up to the end of the page
        answers = {alias: _store_keys(scheduler, alias, wanted, skip, per_page, merge=True)
                   for alias in holding}
        merged = wanted.order(key for answer in answers.values() for key in answer.keys)
        keys = merged[skip:skip + per_page]
    else:
        keys = answers[holding[0]].keys if holding else []
    found: dict[tuple[str, str], Any] = {}
    for alias, answer in answers.items():
        found.update(((alias, job_id), value) for job_id, value in answer.read.items())
    return keys, total, found


def _store_keys(scheduler: Any, alias: str, wanted: JobFilter, skip: int, per_page: int,
                merge: bool) -> _StoreAnswer:
    """One store's keys in its list order: the ``per_page`` from position ``skip`` (the page,
    were it the only store), or with ``merge`` all of them up to the end of the page; how
    many jobs it lists; and what it read along, by id: states (for the page's keys or the
    last ``per_page``) or jobs (stores read through the scheduler)."""
    store = scheduler.started_store(alias)
    if isinstance(store, PagingJobStore) and not merge:
        answer = store.page_keys(alias, wanted, skip, per_page)
        return _StoreAnswer(answer.keys, answer.total, dict(answer.states))
    if isinstance(store, KeyedJobStore):
        answer = store.job_keys(alias, wanted, skip + per_page, per_page)
        return _StoreAnswer(answer.keys if merge else answer.keys[skip:], answer.total, dict(answer.states))
    # Read whole, through the scheduler (also its pending jobs, before it starts).
    jobs = {job.id: job for job in scheduler.get_jobs(alias)}
    answer = wanted.first(store_keys(jobs.values(), alias), skip + per_page, 0 if merge else skip)
    return _StoreAnswer(answer.keys, answer.total, {key.id: jobs[key.id] for key in answer.keys})


def _load(scheduler: Any, keys: list[JobKey], found: dict[tuple[str, str], Any]) -> list[tuple[JobKey, Any]]:
    """The jobs named by ``keys``, in that order (a job removed meanwhile is left out)."""
    jobs: dict[tuple[str, str], Any] = {}
    missing: dict[str, set[str]] = {}
    for key in keys:
        value = found.get((key.store, key.id))
        if value is None:
            missing.setdefault(key.store, set()).add(key.id)
        else:
            jobs[(key.store, key.id)] = job_from_state(value) if isinstance(value, bytes) else value
    for alias, ids in missing.items():
        jobs.update(((alias, job.id), job) for job in _held(scheduler, alias, ids))
    return [(key, jobs[(key.store, key.id)]) for key in keys if (key.store, key.id) in jobs]
