"""What the job list asks of a job store: sort keys and counts, then only one page of jobs.

APScheduler's stores answer ``get_all_jobs()`` (every job rebuilt from its pickle) and
``lookup_job(id)``. The stores this project configures (``webapp.jobs.scheduler``) are
its own subclasses and add the methods of :class:`KeyedJobStore`, so that a list page
reads the ids and next run times of the jobs it sorts, and rebuilds only the jobs it
shows. Stores of any other class are read through the scheduler's public ``get_jobs``.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.util import datetime_to_utc_timestamp


class JobKey(NamedTuple):
    """What sorting and filtering need of a job, without rebuilding it."""

    id: str
    next_run: float | None  # a POSIX timestamp; None when paused
    store: str  # the alias of the job store that holds it


@dataclass(frozen=True)
class JobFilter:
    """How the list is cut and ordered: ``sort`` is ``next_run`` (paused last) or ``id``."""

    sort: str = "next_run"
    desc: bool = False
    search: str = ""  # part of the id, any case
    state: str = ""  # "", "scheduled" or "paused"

    def keeps(self, key: JobKey) -> bool:
        """Whether the job with ``key`` is in the list."""
        if self.search and self.search.lower() not in key.id.lower():
            return False
        if self.state:
            return (key.next_run is None) == (self.state == "paused")
        return True

    def order(self, keys: Iterable[JobKey]) -> list[JobKey]:
        """``keys`` in list order: by id, or scheduled jobs by next run then paused ones by id."""
        if self.sort == "id":
            return sorted(keys, key=lambda k: k.id, reverse=self.desc)
        keys = list(keys)
        running = sorted((k for k in keys if k.next_run is not None), key=lambda k: (k.next_run, k.id),
                         reverse=self.desc)
        paused = sorted((k for k in keys if k.next_run is None), key=lambda k: k.id, reverse=self.desc)
        return [*running, *paused]

    def first(self, keys: Iterable[JobKey], limit: int, skip: int = 0) -> StoreKeys:
        """The first ``limit`` of ``keys`` that the list keeps (from position ``skip`` on),
        and how many it keeps in all."""
        kept = [key for key in keys if self.keeps(key)]
        return StoreKeys(self.order(kept)[skip:limit], len(kept))


@dataclass
class StoreKeys:
    """A store's answer to :meth:`KeyedJobStore.job_keys`."""

    keys: list[JobKey]
    total: int
    #: Stored states (pickles) read along with the keys, by job id: rebuild them with
    #: :func:`job_from_state` rather than reading them again.
    states: dict[str, bytes] = field(default_factory=dict)


@runtime_checkable
class KeyedJobStore(Protocol):
    """A job store that lists by keys (the project's stores: see ``webapp.jobs.scheduler``)."""

    def job_keys(self, alias: str, wanted: JobFilter, limit: int, page_size: int = 0) -> StoreKeys:
        """The first ``limit`` keys in list order and how many jobs match; the store may
        add the states of the last ``page_size`` of those keys (the likely page)."""

    def jobs_by_ids(self, ids: list[str]) -> list[Job]:
        """The jobs with these ids that the store holds, in no particular order (see
        :func:`job_from_state` for what a rebuilt job can do)."""


@runtime_checkable
class PagingJobStore(Protocol):
    """A keyed store that also reads one page of keys by itself (SQL: LIMIT and OFFSET), for
    the usual case of one store holding every listed job (see ``webapp.jobs.listing``)."""

    def page_keys(self, alias: str, wanted: JobFilter, skip: int, count: int) -> StoreKeys:
        """The ``count`` keys from position ``skip`` in list order, in that order, how many
        jobs match, and the states of those keys that the store read along."""


def job_from_state(state: bytes) -> Job:
    """A job from the pickle a SQLAlchemy or Redis store keeps, through the job's own
    pickling protocol.

    The job is for reading (the screens, the API): it is not tied to a scheduler, so
    change it through the scheduler (``scheduler.pause_job(job.id)``), not ``job.pause()``.
    """
    job = Job.__new__(Job)
    job.__setstate__(pickle.loads(state))
    return job


def timestamp(value: datetime | None) -> float | None:
    """A next run time as the stores keep it, a POSIX timestamp (None stays None)."""
    return datetime_to_utc_timestamp(value) if value is not None else None


def store_keys(jobs: Iterable[Any], alias: str) -> list[JobKey]:
    """The keys of ``jobs`` (a store's, or the scheduler's pending jobs) held by ``alias``."""
    return [JobKey(job.id, timestamp(getattr(job, "next_run_time", None)), alias) for job in jobs]


class KeyedMemoryJobStore(MemoryJobStore):
    """APScheduler's memory store, listing by keys (its jobs are objects already)."""

    def job_keys(self, alias: str, wanted: JobFilter, limit: int, page_size: int = 0) -> StoreKeys:
        """See :class:`KeyedJobStore`."""
        return wanted.first(store_keys(self.get_all_jobs(), alias), limit)

    def page_keys(self, alias: str, wanted: JobFilter, skip: int, count: int) -> StoreKeys:
        """See :class:`PagingJobStore`."""
        return wanted.first(store_keys(self.get_all_jobs(), alias), skip + count, skip)

    def jobs_by_ids(self, ids: list[str]) -> list[Job]:
        """See :class:`KeyedJobStore`."""
        return [job for job in map(self.lookup_job, dict.fromkeys(ids)) if job is not None]
