"""One page of jobs across every job store, unpickling only the jobs on that page.

APScheduler's ``get_jobs()`` rebuilds every job of every store (a pickle load per
job): with a thousand jobs that is most of a request. Here each store gives only
the sort keys (id and next run time) of its first ``page * per_page`` jobs in list
order, filtered and sorted by SQL for SQLAlchemy stores, plus its count. The keys
are merged, cut to the page, and only that page's jobs are rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import STATE_STOPPED
from flask import has_app_context
from sqlalchemy import Integer, bindparam, func, select

from webapp.extensions import db
from webapp.jobs.describe import newest_runs, unpack_runs
from webapp.services.packed import is_packing, packed_rows, unpack_rows
from webapp.services.paging import Page


class JobKey(NamedTuple):
    """What sorting and filtering need of a job, without rebuilding it."""

    id: str
    next_run: float | None  # a POSIX timestamp; None when paused
    store: str


@dataclass(frozen=True)
class JobFilter:
    """How the list is cut and ordered: ``sort`` is ``next_run`` (paused last) or ``id``."""

    sort: str = "next_run"
    desc: bool = False
    search: str = ""  # part of the id, any case
    state: str = ""  # "", "scheduled" or "paused"

    def keeps(self, key: JobKey) -> bool:
        if self.search and self.search.lower() not in key.id.lower():
            return False
        if self.state:
            return (key.next_run is None) == (self.state == "paused")
        return True

    def order(self, keys: Iterable[JobKey]) -> list[JobKey]:
        if self.sort == "id":
            return sorted(keys, key=lambda k: k.id, reverse=self.desc)
        keys = list(keys)
        running = sorted((k for k in keys if k.next_run is not None), key=lambda k: (k.next_run, k.id),
                         reverse=self.desc)
        paused = sorted((k for k in keys if k.next_run is None), key=lambda k: k.id, reverse=self.desc)
        return [*running, *paused]


def page_of_jobs(scheduler: Any, wanted: JobFilter, page: int, per_page: int) -> JobPage:
    """The jobs on ``page`` (past the end: the last page), rebuilt, and the total."""
    page = max(page, 1)
    states: dict[tuple[str, str], str] = {}
    runs: dict[str, tuple[str, float | None]] = {}
    keys, total = _first_keys(scheduler, wanted, page * per_page, per_page, states, runs)
    pages = max((total + per_page - 1) // per_page, 1)
    if page > pages:
        page = pages
        keys, total = _first_keys(scheduler, wanted, page * per_page, per_page, states, runs)
    on_page = keys[(page - 1) * per_page: page * per_page]
    jobs = load_jobs(scheduler, on_page, states)
    stored = tuple(states.get((k.store, k.id)) for k in on_page)
    whole = len(jobs) == len(on_page) and None not in stored
    return JobPage(items=jobs, total=total, page=page, per_page=per_page, states=stored if whole else None,
                   runs=runs if whole and _reads_runs(scheduler, on_page) else None)


def _reads_runs(scheduler: Any, keys: list[JobKey]) -> bool:
    """Whether the stores of ``keys`` read the last runs with the states (see _packed_page)."""
    stores = dict(_stores(_engine(scheduler)))
    return all(isinstance(stores.get(alias), SQLAlchemyJobStore) and _same_database(stores[alias])
               for alias in {k.store for k in keys})


def _same_database(store: SQLAlchemyJobStore) -> bool:
    """Whether the store keeps its jobs in the app's database (not an in-memory one:
    each engine has its own)."""
    if not has_app_context():
        return False
    url = store.engine.url
    return url == db.engine.url and url.database not in (None, "", ":memory:")


@dataclass
class JobPage(Page[Any]):
    """A page of jobs; ``states``: the stored state of each (store, id), in page order,
    when every job on the page was read with its state (SQLite stores), else None.
    A job is wholly made from its state, so the same states are the same jobs."""

    states: tuple[str | None, ...] | None = None
    #: The last run of each job on the page (``describe.last_runs``), when it was read
    #: with the states (a SQLite store on the app's own database), else None.
    runs: dict[str, tuple[str, float | None]] | None = None


def keys_for_ids(scheduler: Any, ids: Iterable[str]) -> list[JobKey]:
    """The keys of the jobs with these ids (any store)."""
    ids = list(dict.fromkeys(ids))
    engine = _engine(scheduler)
    if engine.state == STATE_STOPPED:
        return [k for k in _pending_keys(engine) if k.id in set(ids)]
    found: list[JobKey] = []
    for alias, store in _stores(engine):
        if isinstance(store, SQLAlchemyJobStore):
            table = store.jobs_t
            rows = _rows(store, select(table.c.id, table.c.next_run_time).where(table.c.id.in_(ids)))
            found.extend(JobKey(job_id, when, alias) for job_id, when in rows)
        else:
            found.extend(k for k in _all_keys(alias, store) if k.id in set(ids))
    return found


def load_jobs(scheduler: Any, keys: Iterable[JobKey],
              states: dict[tuple[str, str], str] | None = None) -> list[Any]:
    """The jobs named by ``keys``, in that order (a job removed meanwhile is left out);
    ``states``: {(store, id): hex of the pickled state} already read (SQLite stores)."""
    keys = list(keys)
    engine = _engine(scheduler)
    if engine.state == STATE_STOPPED:
        pending = {job.id: job for job, _alias, _replace in engine._pending_jobs}
        return [pending[k.id] for k in keys if k.id in pending]
    stores = dict(_stores(engine))
    found: dict[tuple[str, str], Any] = {}
    states = states or {}
    for key in keys:
        state = states.get((key.store, key.id))
        if state is not None and key.store in stores:
            found[(key.store, key.id)] = _rebuilt(stores[key.store], state, bytes.fromhex)
    for alias in {k.store for k in keys if (k.store, k.id) not in found}:
        store = stores.get(alias)
        if store is not None:
            ids = [k.id for k in keys if k.store == alias and (alias, k.id) not in found]
            found.update(((alias, job.id), job) for job in _load(store, ids))
    return [found[(k.store, k.id)] for k in keys if (k.store, k.id) in found]


def _engine(scheduler: Any) -> Any:
    return getattr(scheduler, "scheduler", scheduler)  # Flask-APScheduler wraps APScheduler


def _stores(engine: Any) -> list[tuple[str, Any]]:
    with engine._jobstores_lock:
        return list(engine._jobstores.items())


def _first_keys(scheduler: Any, wanted: JobFilter, limit: int, per_page: int = 0,
                states: dict[tuple[str, str], str] | None = None,
                runs: dict[str, tuple[str, float | None]] | None = None) -> tuple[list[JobKey], int]:
    """The first ``limit`` keys in list order over every store, and how many match in all.

    SQLite stores also put into ``states`` the states of their own last ``per_page``
    of those keys: with one store holding the jobs, that is the page.
    """
    engine = _engine(scheduler)
    if engine.state == STATE_STOPPED:  # never started here (a host outside the allowed hosts)
        keys = [k for k in _pending_keys(engine) if wanted.keeps(k)]
        return wanted.order(keys)[:limit], len(keys)
    keys, total = [], 0
    for alias, store in _stores(engine):
        if isinstance(store, SQLAlchemyJobStore):
            top, count = _sql_first_keys(alias, store, wanted, limit, per_page, states, runs)
        else:
            matching = [k for k in _all_keys(alias, store) if wanted.keeps(k)]
            top, count = wanted.order(matching)[:limit], len(matching)
        keys.extend(top)
        total += count
    return wanted.order(keys)[:limit], total


def _sql_first_keys(alias: str, store: SQLAlchemyJobStore, wanted: JobFilter, limit: int,
                    per_page: int = 0, states: dict[tuple[str, str], str] | None = None,
                    runs: dict[str, tuple[str, float | None]] | None = None) -> tuple[list[JobKey], int]:
    """By next run: the scheduled jobs in next-run order (APScheduler's index on
    ``next_run_time`` serves it), then the paused ones by id, only as many as needed."""
    count_of, first, then = _statements(store, wanted)
    escaped = wanted.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    skip = max(limit - per_page, 0)
    values = {"pattern": f"%{escaped}%", "limit": limit, "skip": skip, "page_size": limit - skip}
    with store.engine.connect() as connection:
        sqlite = is_packing(connection)
        if sqlite:  # count, keys and states at once: see _packed_page
            count, packed, page_states, *page_runs = connection.execute(
                _packed_page(store, wanted), values).one()
            rows = _unpacked_keys(packed)
            if states is not None:
                states.update(((alias, job_id), state) for job_id, state in unpack_rows(page_states))
            if runs is not None and page_runs:
                runs.update(unpack_runs(page_runs[0]))
        else:
            count = connection.execute(count_of, values).scalar_one()
            rows = list(connection.execute(first, values))
        if then is not None and len(rows) < limit:
            rest = {**values, "limit": limit - len(rows)}
            if sqlite:
                rows += _unpacked_keys(connection.scalar(_packed_rest(store, wanted, then), rest))
            else:
                rows += connection.execute(then, rest)
    return [JobKey(key_id, next_run, alias) for key_id, next_run in rows], count


def _unpacked_keys(text: str | None) -> list[tuple[str, float | None]]:
    return [(key_id, None if when is None else float(when)) for key_id, when in unpack_rows(text)]


def _packed_page(store: SQLAlchemyJobStore, wanted: JobFilter) -> Any:
    """One statement, one row on SQLite: the count, the first ``:limit`` keys, and the
    hex states of the ``:page_size`` keys past ``:skip`` (each packed: see services.packed).

    Three queries, each with its connection, cost more than what they read. Next-run
    times come as exact text, since JSON keeps only 15 digits of a REAL.
    """
    same_database = _same_database(store)  # then the page's last runs come along
    shape = ("packed", bool(wanted.search), wanted.state, wanted.sort, wanted.desc, same_database)
    built: dict[Any, Any] = store.__dict__.setdefault("_webapp_statements", {})
    if shape not in built:
        count_of, first, _then = _statements(store, wanted)
        table = store.jobs_t
        # The page's ids first, then their states: hex() in the ordered query would run
        # for every row the sort sees, not just the page.
        ids = (first.with_only_columns(table.c.id).limit(bindparam("page_size", type_=Integer))
               .offset(bindparam("skip", type_=Integer)).scalar_subquery())
        page = select(table.c.id, func.hex(table.c.job_state)).where(table.c.id.in_(ids))
        columns = [count_of.scalar_subquery(), packed_rows(first, reals=(1,)).scalar_subquery(),
                   packed_rows(page).scalar_subquery()]
        if same_database:
            columns.append(packed_rows(newest_runs(ids)).scalar_subquery())
        built[shape] = select(*columns)
    return built[shape]


def _packed_rest(store: SQLAlchemyJobStore, wanted: JobFilter, then: Any) -> Any:
    """The paused jobs' keys after the scheduled ones, packed (SQLite)."""
    shape = ("packed rest", bool(wanted.search), wanted.state, wanted.desc)
    built: dict[Any, Any] = store.__dict__.setdefault("_webapp_statements", {})
    if shape not in built:
        built[shape] = packed_rows(then, reals=(1,))
    return built[shape]


def _statements(store: SQLAlchemyJobStore, wanted: JobFilter) -> tuple[Any, Any, Any]:
    """The count and key queries for this kind of filter, built once per store: building
    them cost more than running them."""
    shape = (bool(wanted.search), wanted.state, wanted.sort, wanted.desc)
    built: dict[Any, tuple[Any, Any, Any]] = store.__dict__.setdefault("_webapp_statements", {})
    if shape in built:
        return built[shape]
    table = store.jobs_t
    when, job_id = table.c.next_run_time, table.c.id
    conditions = []
    if wanted.search:  # ids are ASCII: SQLite's LIKE ignores their case without lower()
        pattern = bindparam("pattern")
        conditions.append(job_id.like(pattern, escape="\\") if store.engine.dialect.name == "sqlite"
                          else job_id.ilike(pattern, escape="\\"))
    if wanted.state:
        conditions.append(when.is_(None) if wanted.state == "paused" else when.isnot(None))
    count_of = select(func.count()).select_from(table).where(*conditions)
    keys_of = select(job_id, when).where(*conditions)
    by_id = job_id.desc() if wanted.desc else job_id
    limit = bindparam("limit", type_=Integer)
    if wanted.sort == "id":
        built[shape] = (count_of, keys_of.order_by(by_id).limit(limit), None)
    else:
        first = keys_of.where(when.isnot(None)).order_by(when.desc() if wanted.desc else when, by_id)
        then = keys_of.where(when.is_(None)).order_by(by_id)
        built[shape] = (count_of, first.limit(limit), then.limit(limit))
    return built[shape]


def _rows(store: SQLAlchemyJobStore, statement: Any) -> list[Any]:
    with store.engine.connect() as connection:
        return list(connection.execute(statement).all())


def _all_keys(alias: str, store: Any) -> list[JobKey]:
    if isinstance(store, MemoryJobStore):
        return [JobKey(job.id, timestamp, alias) for job, timestamp in list(store._jobs)]
    if type(store).__name__ == "RedisJobStore":
        ids = [i.decode() for i in store.redis.hkeys(store.jobs_key)]
        scores = {k.decode(): s for k, s in store.redis.zrange(store.run_times_key, 0, -1, withscores=True)}
        return [JobKey(i, scores.get(i), alias) for i in ids]
    return [JobKey(job.id, _timestamp(job.next_run_time), alias) for job in store.get_all_jobs()]


def _pending_keys(engine: Any) -> list[JobKey]:
    return [JobKey(job.id, _timestamp(getattr(job, "next_run_time", None)), alias or "default")
            for job, alias, _replace in engine._pending_jobs]


def _load(store: Any, ids: list[str]) -> list[Any]:
    if not ids:
        return []
    if isinstance(store, SQLAlchemyJobStore):
        built: dict[Any, Any] = store.__dict__.setdefault("_webapp_statements", {})
        packed = is_packing(store.engine)  # one value, see services.packed
        states = built.get("states")
        if states is None:
            table = store.jobs_t
            state = func.hex(table.c.job_state) if packed else table.c.job_state
            states = select(state).where(table.c.id.in_(bindparam("ids", expanding=True)))
            states = built["states"] = packed_rows(states) if packed else states
        with store.engine.connect() as connection:
            if packed:
                return [_rebuilt(store, text, bytes.fromhex)
                        for (text,) in unpack_rows(connection.scalar(states, {"ids": ids}))]
            rows = connection.execute(states, {"ids": ids}).all()
        return [_rebuilt(store, state) for (state,) in rows]
    if isinstance(store, MemoryJobStore):
        return [store._jobs_index[i][0] for i in ids if i in store._jobs_index]
    if type(store).__name__ == "RedisJobStore":
        states = store.redis.hmget(store.jobs_key, *ids)
        return [store._reconstitute_job(state) for state in states if state]
    return [job for job in (store.lookup_job(i) for i in ids) if job is not None]


_REBUILT_MAX = 4096


def _rebuilt(store: Any, state: bytes | str, decode: Any = None) -> Any:
    """The job stored as ``state`` (``decode`` turns it into the pickle), rebuilt once
    per store and state.

    Keyed by the stored state itself, so a changed job is a new key: list pages show
    the same jobs over and over, and unpickling was their largest cost. The objects
    are only read (the screens change jobs through the scheduler).
    """
    cache: dict[bytes | str, Any] = store.__dict__.setdefault("_webapp_rebuilt", {})
    job = cache.get(state)
    if job is None:
        if len(cache) >= _REBUILT_MAX:
            cache.clear()
        job = cache[state] = store._reconstitute_job(decode(state) if decode else state)
    return job


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None
