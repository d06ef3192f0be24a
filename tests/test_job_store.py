"""The persistent job store writes each scheduler pass at once, after submitting its runs."""
# ruff: noqa: F811  (make_app is a fixture from test_scheduler)

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.test_scheduler import make_app, runs, wait_until  # noqa: F401

# -- the persistent store writes a pass at once, after submitting its runs ----------

def _store_and_table(app):
    """The started persistent store, and a reader of its table that bypasses it."""
    import sqlite3

    scheduler = app.extensions["scheduler"]
    if not scheduler.running:
        scheduler.start(paused=True)
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")

    def table() -> dict[str, float | None]:
        with sqlite3.connect(path) as connection:
            return dict(connection.execute("SELECT id, next_run_time FROM apscheduler_jobs"))

    return scheduler.stores["default"], table


LATER = datetime(2030, 1, 1, tzinfo=UTC)


def _pass_moving_hello_to_later(app, meanwhile=lambda: None):
    """A scheduler pass driven by hand: "hello" is due, and its next run becomes LATER."""
    store, table = _store_and_table(app)
    app.extensions["scheduler"].add_job("hello", "log_message", trigger="interval", hours=1)
    job = next(j for j in store.get_due_jobs(datetime.now(UTC) + timedelta(hours=2)) if j.id == "hello")
    meanwhile()
    job._modify(next_run_time=LATER)
    store.update_job(job)
    store.get_next_run_time()  # the pass is over; its write waits a moment
    return store, table


def test_a_pass_writes_its_jobs_in_one_transaction_after_submitting_them(make_app):
    import sqlite3

    from sqlalchemy import event

    app = make_app(JOB_HISTORY_DAYS=0)  # no retention job: these are the only jobs
    store, table = _store_and_table(app)
    start = datetime.now(UTC) + timedelta(hours=1)
    for i, when in enumerate([start] * 5 + [start + timedelta(days=1)]):
        app.extensions["scheduler"].add_job(f"j{i}", "log_message", trigger="date", run_date=when)
    before, commits = table(), []
    event.listen(store.engine, "commit", lambda _connection: commits.append(1))
    due = store.get_due_jobs(start + timedelta(minutes=1))
    assert sorted(job.id for job in due) == ["j0", "j1", "j2", "j3", "j4"]
    commits.clear()  # reading the due jobs commits its read transaction
    for job in due[:4]:
        job._modify(next_run_time=LATER)
        store.update_job(job)
    store.remove_job(due[4].id)  # a finished job
    assert table() == before and commits == []  # nothing written during the pass
    assert store.get_next_run_time() == start + timedelta(days=1)  # counts the pass's changes
    commits.clear()
    store.write_now()
    assert len(commits) == 1  # the whole pass in one transaction
    assert table() == {**{job.id: LATER.timestamp() for job in due[:4]}, "j5": before["j5"]}
    with sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_pass_is_written_by_itself_shortly_after_it_ends(make_app):
    _store, table = _pass_moving_hello_to_later(make_app())
    wait_until(lambda: table()["hello"] == LATER.timestamp(), timeout=2)


def test_a_change_made_after_a_pass_is_not_overwritten_by_the_pass(make_app):
    app = make_app()
    store, table = _pass_moving_hello_to_later(app)
    app.extensions["scheduler"].pause_job("hello")  # an admin pauses it right then
    store.write_now()
    assert table()["hello"] is None and app.extensions["scheduler"].get_job("hello").next_run_time is None


def test_a_job_deleted_elsewhere_during_a_pass_stays_deleted(make_app):
    import sqlite3

    app = make_app()
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")

    def another_process_deletes_it() -> None:
        with sqlite3.connect(path) as other:
            other.execute("DELETE FROM apscheduler_jobs WHERE id = 'hello'")

    store, table = _pass_moving_hello_to_later(app, another_process_deletes_it)
    store.write_now()
    assert "hello" not in table()


def test_running_jobs_keep_their_next_run_time_in_the_database_across_a_restart(make_app):
    first = make_app()
    _store, table = _store_and_table(first)
    scheduler = first.extensions["scheduler"]
    scheduler.resume()
    scheduler.add_job("tick", "log_message", trigger="interval", seconds=1)
    wait_until(lambda: len([r for r in runs(first, "tick") if r.status == "succeeded"]) >= 2)
    scheduler.shutdown(wait=True)
    stored = datetime.fromtimestamp(table()["tick"], UTC)
    assert stored == max(r.scheduled_at for r in runs(first, "tick")) + timedelta(seconds=1)
    second = make_app()
    second.extensions["scheduler"].start(paused=True)
    assert second.extensions["scheduler"].get_job("tick").next_run_time == stored
