"""The job list's pages over several stores: SQLite reads keys and states packed, other
databases plainly; both must give exactly the pages a full sort of every job gives."""
# ruff: noqa: F811  (make_app is a fixture)

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.test_scheduler import make_app  # noqa: F401
from webapp.jobs.listing import JobFilter, JobKey, page_of_jobs


def _fill(app) -> object:
    """35 jobs in the persistent store and 12 in the memory store; every fifth paused."""
    scheduler = app.extensions["scheduler"]
    scheduler.start(paused=True)
    start = datetime(2031, 1, 1, tzinfo=UTC)
    for i in range(47):
        store = "memory" if i % 4 == 3 else "default"
        scheduler.add_job(f"job-{i:02d}", "log_message", trigger="date", jobstore=store,
                          run_date=start + timedelta(minutes=(i * 37) % 60, microseconds=i))
        if i % 5 == 0:
            scheduler.pause_job(f"job-{i:02d}")
    return scheduler


def _expected(scheduler, wanted: JobFilter) -> list[str]:
    keys = [JobKey(job.id, job.next_run_time.timestamp() if job.next_run_time else None, "")
            for job in scheduler.get_jobs()]
    return [key.id for key in wanted.order(k for k in keys if wanted.keeps(k))]


FILTERS = [JobFilter(), JobFilter(desc=True), JobFilter(sort="id"), JobFilter(sort="id", desc=True),
           JobFilter(state="paused"), JobFilter(state="scheduled", desc=True), JobFilter(search="JOB-1")]


def _check_every_page(scheduler) -> None:
    for wanted in FILTERS:
        expected = _expected(scheduler, wanted)
        for per_page in (5, 20):
            seen = []
            for number in range(1, len(expected) // per_page + 3):  # and past the last page
                page = page_of_jobs(scheduler, wanted, number, per_page)
                assert page.total == len(expected), wanted
                if number <= page.pages:
                    seen += [job.id for job in page.items]
                else:  # past the end: the last page again
                    assert page.page == page.pages
            assert seen == expected, (wanted, per_page)
            page = page_of_jobs(scheduler, wanted, 1, per_page)
            for job in page.items:  # rebuilt from the states read with the keys: the real jobs
                assert job.trigger.run_date == scheduler.get_job(job.id).trigger.run_date


def test_pages_over_a_sqlite_and_a_memory_store(make_app):
    _check_every_page(_fill(make_app(JOB_HISTORY_DAYS=0)))


@pytest.mark.postgres
def test_pages_over_a_postgresql_and_a_memory_store(make_app, pg_url):
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS apscheduler_jobs"))
    engine.dispose()
    _check_every_page(_fill(make_app(JOB_HISTORY_DAYS=0, SQLALCHEMY_DATABASE_URI=pg_url)))


def test_rows_follow_every_change_and_role(make_app):
    """A job's row shows its settings, state and last run as they are now, and actions
    only to admins."""
    from tests.test_scheduler import signed_in_client
    from webapp.extensions import db
    from webapp.models import JobRun

    app = make_app(JOB_HISTORY_DAYS=0)
    scheduler = app.extensions["scheduler"]
    scheduler.start(paused=True)
    scheduler.add_job("nightly", "log_message", kwargs={"name": "first"}, trigger="interval", hours=3)
    admin, viewer = signed_in_client(app), signed_in_client(app, "viewer")

    def row() -> str:
        """The job's row, its CSRF tokens aside (each page signs its own, with the time)."""
        page = admin.get("/jobs/").text
        return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"',
                      page.split('data-job-id="nightly"', 1)[1].split("</tr>", 1)[0])

    first = row()
    assert "every 3 hours" in first and "name=first" in first and 'data-status="' not in first
    assert 'data-testid="job-pause"' in first
    assert 'data-testid="job-pause"' not in viewer.get("/jobs/").text
    assert row() == first  # nothing changed: the same row
    scheduler.modify_job("nightly", kwargs={"name": "second"})
    assert "name=second" in row()
    scheduler.pause_job("nightly")
    paused = row()
    assert 'data-testid="job-resume"' in paused and "—" in paused
    with app.app_context():
        now = datetime.now(UTC)
        db.session.add(JobRun(job_id="nightly", scheduled_at=now, status="failed", started_at=now,
                              duration_ms=12.0, created_at=now))
        db.session.commit()
    assert 'data-status="failed"' in row() and "12 ms" in row()
