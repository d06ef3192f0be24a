"""The job list read in store order: when one store holds every listed job, it reads just
the page (LIMIT and OFFSET in SQL for the SQLAlchemy store); when several do, their keys
are merged. Either way the pages are exactly those of a full sort of every job
(tests/test_job_listing.py's ``_expected``)."""
# ruff: noqa: F811  (make_app is a fixture)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from tests.test_job_listing import _check_every_page, _expected
from tests.test_scheduler import make_app  # noqa: F401
from webapp.jobs.listing import JobFilter, page_of_jobs


def _fill(app: Any, stores: tuple[str, ...], count: int = 47) -> Any:
    """``count`` jobs spread over ``stores``, every fifth paused, next runs tied in pairs."""
    scheduler = app.extensions["scheduler"]
    scheduler.start(paused=True)
    start = datetime(2031, 1, 1, tzinfo=UTC)
    for i in range(count):
        job_id = f"job-{i:02d}"
        scheduler.add_job(job_id, "log_message", trigger="date", jobstore=stores[i % len(stores)],
                          run_date=start + timedelta(minutes=(i * 37) % 60 // 2))
        if i % 5 == 0:
            scheduler.pause_job(job_id)
    return scheduler


def test_pages_of_one_sqlite_store(make_app):
    _check_every_page(_fill(make_app(JOB_HISTORY_DAYS=0), ("default",)))


def test_pages_of_one_memory_store(make_app):
    _check_every_page(_fill(make_app(JOB_HISTORY_DAYS=0), ("memory",)))


@pytest.mark.postgres
def test_pages_of_one_postgresql_store(make_app, pg_url):
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS apscheduler_jobs"))
    engine.dispose()
    _check_every_page(_fill(make_app(JOB_HISTORY_DAYS=0, SQLALCHEMY_DATABASE_URI=pg_url), ("default",)))


def _key_reads(scheduler: Any, call: Any) -> list[dict[str, Any]]:
    """The parameters of the statements the SQL store runs during ``call``."""
    seen: list[dict[str, Any]] = []
    engine = scheduler.started_store("default").engine

    def grab(_conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        seen.extend(context.compiled_parameters)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


@pytest.mark.parametrize("wanted", [JobFilter(), JobFilter(sort="id", desc=True), JobFilter(state="paused")])
def test_one_store_reads_only_the_page_and_several_merge(make_app, wanted):
    scheduler = _fill(make_app(JOB_HISTORY_DAYS=0), ("default",), count=60)
    expected = _expected(scheduler, wanted)
    number = 3 if wanted.state else 6
    reads = _key_reads(scheduler, lambda: page_of_jobs(scheduler, wanted, number, 5))
    assert reads and all(read.get("count") == 5 and "limit" not in read for read in reads if "skip" in read)
    assert any(read.get("skip") == (number - 1) * 5 for read in reads)
    page = page_of_jobs(scheduler, wanted, number, 5)
    assert [job.id for job in page.items] == expected[(number - 1) * 5:number * 5]
    scheduler.add_job("zz-memory", "log_message", trigger="date", jobstore="memory",
                      run_date=datetime(2031, 1, 1, tzinfo=UTC))
    if wanted.state == "paused":
        scheduler.pause_job("zz-memory")
    merged = _key_reads(scheduler, lambda: page_of_jobs(scheduler, wanted, number, 5))
    assert any(read.get("limit") == number * 5 for read in merged)  # every key up to the page's end
    expected = _expected(scheduler, wanted)
    assert [job.id for job in page_of_jobs(scheduler, wanted, number, 5).items] == \
        expected[(number - 1) * 5:number * 5]

