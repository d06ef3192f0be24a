"""APScheduler's SQLAlchemy job store, listing by keys in SQL (see ``webapp.jobs.keys``).

A list page needs the count, the ids and next run times of its own jobs, and their
stored states: when this store holds every listed job (``page_keys``), SQL reads just
those, skipping to them with OFFSET; to merge with other stores (``job_keys``), the
keys of every job before them too. SQL filters, sorts and counts on the table
(APScheduler's index on ``next_run_time`` serves the default order), and only the
page's pickles are read and rebuilt. On SQLite all of that is one statement returning
one row (see ``webapp.services.packed``).
"""

from __future__ import annotations

from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Integer, bindparam, func, select

from webapp.jobs.keys import JobFilter, JobKey, StoreKeys, job_from_state
from webapp.services.packed import is_packing, packed_rows, unpack_rows
from webapp.services.paging import contains_pattern


class KeyedSQLAlchemyJobStore(SQLAlchemyJobStore):
    """SQLAlchemy job store with the methods of ``keys.KeyedJobStore``."""

    def __init__(self, url: str | None = None, **options: Any) -> None:
        super().__init__(url=url, **options)
        # The statements for each kind of filter, built once: building one costs more
        # than running it. A few dozen kinds at most (see _statements).
        self._statements: dict[tuple[Any, ...], Any] = {}

    def job_keys(self, alias: str, wanted: JobFilter, limit: int, page_size: int = 0) -> StoreKeys:
        """See ``keys.KeyedJobStore``: by next run, the scheduled jobs in next-run order,
        then the paused ones by id, only as many as needed."""
        count_of, first, then = self._keys_statements(wanted)
        skip = max(limit - page_size, 0)
        values = {"pattern": contains_pattern(wanted.search), "limit": limit, "skip": skip,
                  "page_size": limit - skip}
        states: dict[str, bytes] = {}
        with self.engine.connect() as connection:
            packing = is_packing(connection)
            if packing:  # count, keys and the page's states at once
                count, keys, page_states = connection.execute(self._packed_page(wanted), values).one()
                rows = _unpacked_keys(keys)
                states.update((job_id, bytes.fromhex(state)) for job_id, state in unpack_rows(page_states))
            else:
                count = connection.execute(count_of, values).scalar_one()
                rows = [tuple(row) for row in connection.execute(first, values)]
            if then is not None and len(rows) < limit:
                rest = {**values, "limit": limit - len(rows)}
                if packing:
                    rows += _unpacked_keys(connection.scalar(self._packed_rest(wanted, then), rest))
                else:
                    rows += [tuple(row) for row in connection.execute(then, rest)]
        return StoreKeys([JobKey(job_id, when, alias) for job_id, when in rows], count, states)

    def page_keys(self, alias: str, wanted: JobFilter, skip: int, count: int) -> StoreKeys:
        """See ``keys.PagingJobStore``: the page's keys and states only (by next run, the
        scheduled jobs, then the paused ones)."""
        count_of, first, then, scheduled_of = self._page_statements(wanted)
        values = {"pattern": contains_pattern(wanted.search), "skip": skip, "count": count}
        with self.engine.connect() as connection:
            packing = is_packing(connection)
            if packing:  # the count, the keys and their states at once
                statement = self._packed_statement(wanted, "first", first)
                total, packed = connection.execute(statement, values).one()
                rows = _unpacked_states(packed)
            else:
                total = connection.execute(count_of, values).scalar_one()
                rows = [tuple(row) for row in connection.execute(first, values)]
            if then is not None and len(rows) < count and total > skip + len(rows):
                # The paused jobs come after every scheduled one: skip what the page skips of
                # them (with scheduled jobs on the page, none; else all but the scheduled ones).
                scheduled = skip if rows or not skip else connection.scalar(scheduled_of, values)
                rest = {**values, "skip": skip - scheduled, "count": count - len(rows)}
                if packing:
                    packed = connection.scalar(self._packed_statement(wanted, "then", then), rest)
                    rows += _unpacked_states(packed)
                else:
                    rows += [tuple(row) for row in connection.execute(then, rest)]
        keys = wanted.order(JobKey(job_id, when, alias) for job_id, when, _state in rows)
        return StoreKeys(keys, total, {job_id: state for job_id, _when, state in rows})

    def jobs_by_ids(self, ids: list[str]) -> list[Job]:
        """See ``keys.KeyedJobStore``: read-only jobs (``keys.job_from_state``)."""
        if not ids:
            return []
        statement = self._statements.get(("states",))
        packing = is_packing(self.engine)
        if statement is None:
            table = self.jobs_t
            state = func.hex(table.c.job_state) if packing else table.c.job_state
            statement = select(state).where(table.c.id.in_(bindparam("ids", expanding=True)))
            statement = self._statements[("states",)] = packed_rows(statement) if packing else statement
        with self.engine.connect() as connection:
            if packing:
                return [job_from_state(bytes.fromhex(text))
                        for (text,) in unpack_rows(connection.scalar(statement, {"ids": ids}))]
            return [job_from_state(state) for state in connection.scalars(statement, {"ids": ids})]

    # -- statements ---------------------------------------------------------------------

    def _keys_statements(self, wanted: JobFilter) -> tuple[Any, Any, Any]:
        """The count and key queries for this kind of filter: the count, the first keys,
        and (by next run) the paused jobs' keys that come after the scheduled ones."""
        shape = ("keys", bool(wanted.search), wanted.state, wanted.sort, wanted.desc)
        built = self._statements.get(shape)
        if built is not None:
            return built  # type: ignore[no-any-return]
        table = self.jobs_t
        when, job_id = table.c.next_run_time, table.c.id
        conditions = []
        if wanted.search:  # ids are ASCII: SQLite's LIKE ignores their case without lower()
            pattern = bindparam("pattern")
            conditions.append(job_id.like(pattern, escape="\\") if self.engine.dialect.name == "sqlite"
                              else job_id.ilike(pattern, escape="\\"))
        if wanted.state:
            conditions.append(when.is_(None) if wanted.state == "paused" else when.isnot(None))
        count_of = select(func.count()).select_from(table).where(*conditions)
        keys_of = select(job_id, when).where(*conditions)
        by_id = job_id.desc() if wanted.desc else job_id
        limit = bindparam("limit", type_=Integer)
        if wanted.sort == "id":
            built = (count_of, keys_of.order_by(by_id).limit(limit), None)
        else:
            first = keys_of.where(when.isnot(None)).order_by(when.desc() if wanted.desc else when, by_id)
            then = keys_of.where(when.is_(None)).order_by(by_id)
            built = (count_of, first.limit(limit), then.limit(limit))
        self._statements[shape] = built
        return built

    def _packed_page(self, wanted: JobFilter) -> Any:
        """One statement, one row on SQLite: the count, the first ``:limit`` keys, and the
        hex states of the ``:page_size`` keys past ``:skip`` (each packed: see services.packed).

        Next-run times come as exact text, since JSON keeps only 15 digits of a REAL.
        """
        shape = ("packed", bool(wanted.search), wanted.state, wanted.sort, wanted.desc)
        built = self._statements.get(shape)
        if built is None:
            count_of, first, _then = self._keys_statements(wanted)
            table = self.jobs_t
            # The page's ids first, then their states: hex() in the ordered query would run
            # for every row the sort sees, not just the page.
            ids = (first.with_only_columns(table.c.id).limit(bindparam("page_size", type_=Integer))
                   .offset(bindparam("skip", type_=Integer)).scalar_subquery())
            page = select(table.c.id, func.hex(table.c.job_state)).where(table.c.id.in_(ids))
            built = self._statements[shape] = select(
                count_of.scalar_subquery(), packed_rows(first, reals=(1,)).scalar_subquery(),
                packed_rows(page).scalar_subquery())
        return built

    def _page_statements(self, wanted: JobFilter) -> tuple[Any, Any, Any, Any]:
        """``page_keys``'s queries for this kind of filter: the count; ``:count`` rows (id, next
        run, state) from ``:skip`` of the jobs in list order or (by next run) of the scheduled
        ones; the same of the paused ones; and how many scheduled jobs match."""
        shape = ("page", bool(wanted.search), wanted.state, wanted.sort, wanted.desc)
        built = self._statements.get(shape)
        if built is None:
            count_of, first, then = self._keys_statements(wanted)
            table = self.jobs_t
            scheduled_of = count_of.where(table.c.next_run_time.isnot(None))

            def paged(keys: Any) -> Any:
                # The page's ids by the ordered (index) read, then their rows and states.
                ids = (keys.with_only_columns(table.c.id).limit(bindparam("count", type_=Integer))
                       .offset(bindparam("skip", type_=Integer)).scalar_subquery())
                return select(table.c.id, table.c.next_run_time, table.c.job_state).where(table.c.id.in_(ids))

            built = self._statements[shape] = (
                count_of, paged(first), None if then is None else paged(then), scheduled_of)
        return built

    def _packed_statement(self, wanted: JobFilter, part: str, rows: Any) -> Any:
        """``page_keys``'s rows packed (SQLite): the states as hex, the next-run times as exact
        text (JSON keeps only 15 digits of a REAL); the "first" part comes after the count."""
        shape = ("packed page", part, bool(wanted.search), wanted.state, wanted.sort, wanted.desc)
        built = self._statements.get(shape)
        if built is None:
            table = self.jobs_t
            hexed = rows.with_only_columns(table.c.id, table.c.next_run_time, func.hex(table.c.job_state))
            packed = packed_rows(hexed, reals=(1,))
            if part == "first":
                packed = select(self._keys_statements(wanted)[0].scalar_subquery(), packed.scalar_subquery())
            built = self._statements[shape] = packed
        return built

    def _packed_rest(self, wanted: JobFilter, then: Any) -> Any:
        """The paused jobs' keys after the scheduled ones, packed (SQLite)."""
        shape = ("packed rest", bool(wanted.search), wanted.state, wanted.desc)
        built = self._statements.get(shape)
        if built is None:
            built = self._statements[shape] = packed_rows(then, reals=(1,))
        return built


def _unpacked_states(text: str | None) -> list[tuple[str, float | None, bytes]]:
    return [(job_id, None if when is None else float(when), bytes.fromhex(state))
            for job_id, when, state in unpack_rows(text)]


def _unpacked_keys(text: str | None) -> list[tuple[str, float | None]]:
    return [(job_id, None if when is None else float(when)) for job_id, when in unpack_rows(text)]
