"""The PostgreSQL database behind the ``app`` fixture under ``pytest --db=postgresql``.

The models' tables are created once per test session in the worker's own database
(``webapp_test_app_<time>_<run>_gw0``, ...). Before each test every table of its
``public`` schema is emptied in one transaction and every sequence restarted (see
``clean``): the models' tables and those the app creates beside them (APScheduler's
``apscheduler_jobs``, made by the SQL job store when a scheduler starts). Ids start
again at 1, as on a fresh SQLite database.

After each test the app's engines (Flask-SQLAlchemy's and the job store's own pool)
are disposed, and the database must have no client connection left but the cleaner's.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.base import BaseJobStore
from flask import Flask

from webapp.extensions import db

#: A connection left in a transaction holds locks the clean-up would wait for: fail, not hang.
LOCK_TIMEOUT = "10s"
#: How long a disposed connection's server process may take to go away.
LEAK_GRACE_SECONDS = 2.0
#: A run's database that nobody has been connected to for this long since it was created
#: belongs to a run that was killed before it could drop it.
ABANDONED_AFTER_SECONDS = 600


class PostgresDatabase:
    """One worker's test database: built once, emptied before each test."""

    def __init__(self, url: str) -> None:
        self.url = url
        # One connection for the whole session, kept by the pool between tests.
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0,
                                       connect_args={"application_name": "webapp-tests-cleaner",
                                                     "options": f"-c lock_timeout={LOCK_TIMEOUT}"})
        self.rebuild()

    def rebuild(self) -> None:
        """A new public schema holding the models' tables (whatever an earlier run left)."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
            db.metadata.create_all(connection)

    def tables(self, connection: sa.Connection) -> list[str]:
        return list(connection.scalars(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")))

    def clean(self) -> None:
        """Empty every table of the schema and restart every sequence, in one transaction
        (rebuild the schema if a test dropped it).

        DELETE, not TRUNCATE ... RESTART IDENTITY: these tables hold a few rows, and TRUNCATE
        gives every table and index new files (and scans the shared buffers for the old
        ones): about 30 ms a test on an idle machine and 100-250 ms under load, against
        about 4 ms for this. Tables the models do not know go first (they may refer to the
        models' tables, not the other way round), then the models' tables, referring before
        referred to.
        """
        with self.engine.connect() as connection:
            tables = self.tables(connection)
            if not set(db.metadata.tables) <= set(tables):
                connection.close()
                self.rebuild()
                return
            ordered = ([name for name in tables if name not in db.metadata.tables]
                       + [table.name for table in reversed(db.metadata.sorted_tables)])
            quote = connection.dialect.identifier_preparer.quote
            statements = ["BEGIN", *(f"DELETE FROM {quote(name)}" for name in ordered),
                          "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n"
                          " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'",
                          "COMMIT"]
            connection.exec_driver_sql("; ".join(statements))

    def other_connections(self) -> list[dict[str, Any]]:
        """Client connections to this database other than the cleaner's own."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT pid, application_name, state, left(query, 200) AS query FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"))
            return [dict(row._mapping) for row in rows]

    def assert_no_connections_left(self) -> None:
        """Fail when a connection outlives its app (after a moment for closed ones to end)."""
        deadline = time.monotonic() + LEAK_GRACE_SECONDS
        while left := self.other_connections():
            if time.monotonic() > deadline:
                raise AssertionError(f"connections to {self.url} left open after the test: {left}")
            time.sleep(0.01)

    def dispose(self) -> None:
        self.engine.dispose()


def close_app(app: Flask) -> None:
    """Stop the app's scheduler if it was started and dispose every engine the app made.

    The job stores are shut down once more after the scheduler: APScheduler's main loop
    runs one last pass after ``shutdown()`` has shut the stores (its state is then
    "stopped", not "paused"), and when a job is due in that pass the persistent store
    starts a new writer thread, which would write 0.1 s later through the disposed
    engine: a connection left open, and a write landing in the next test's tables.
    """
    scheduler = app.extensions.get("scheduler")
    if scheduler is not None:
        if scheduler.running:
            scheduler.shutdown(wait=True)  # joins the scheduler's thread: its last pass is over
        for store in scheduler.stores.values():
            if isinstance(store, BaseJobStore):
                store.shutdown()  # stops the writer; the SQL stores dispose their engine
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def database_name(prefix: str, run: str, worker: str) -> str:
    """``<prefix><unix time>_<run>_<worker>``: unique, and dated for ``drop_abandoned``."""
    return f"{prefix}{int(time.time())}_{run}_{worker}"


def drop_abandoned(server_url: str, prefix: str) -> list[str]:
    """Drop the databases named by ``database_name`` with ``prefix`` that are older than
    ABANDONED_AFTER_SECONDS and have no connection: their runs were killed. Returns them."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)_")
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    dropped = []
    try:
        with engine.connect() as connection:
            idle = connection.scalars(sa.text(
                "SELECT datname FROM pg_database d WHERE starts_with(datname, :prefix) AND NOT EXISTS"
                " (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"), {"prefix": prefix})
            for name in list(idle):
                match = pattern.match(name)
                if match and time.time() - int(match.group(1)) > ABANDONED_AFTER_SECONDS:
                    try:  # without FORCE: a run that has just connected keeps it
                        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                        dropped.append(name)
                    except sa.exc.DBAPIError:
                        pass
    finally:
        engine.dispose()
    return dropped


#: The PostgreSQL server for the tests that need one (``scripts/ensure-services`` starts it).
POSTGRES_SERVER_URL = os.environ.get("WEBAPP_TEST_POSTGRES_URL",
                                     "postgresql+psycopg://postgres@127.0.0.1:5432/test")


#: The app fixture's PostgreSQL databases are named ``<this><time>_<run>_<worker>``.
APP_DATABASE_PREFIX = "webapp_test_app_"


def xdist_worker() -> str:
    """This xdist worker's name (gw0, gw1, ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def server_database(name: str) -> str:
    """The URL of database ``name`` on the PostgreSQL server, created when missing.

    With CI=true a missing server fails the run; elsewhere the test is skipped.
    """
    engine = sa.create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                       {"n": name})
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        message = f"PostgreSQL not reachable at {POSTGRES_SERVER_URL}: run scripts/ensure-services ({err})"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        engine.dispose()
    return sa.engine.make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_server_database(url: str) -> None:
    """Drop the database of ``url`` on the PostgreSQL server, closing what is still connected."""

    name = sa.engine.make_url(url).database
    engine = sa.create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
