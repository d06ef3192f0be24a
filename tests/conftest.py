"""Shared fixtures: an app on a fresh in-memory database, clients that send CSRF tokens,
account factories and a sign-in helper.

The database of the ``app`` fixture, ``--db`` (see ``pytest_addoption``):

- ``--db=sqlite`` (the default): in memory, a new one for every test;
- ``--db=postgresql``: only the files in ``POSTGRESQL_FILES`` are collected, their ``app``
  on a database of the worker's own on the PostgreSQL server
  (``webapp_test_app_<time>_<run>_gw0``, dropped at the end), its tables created once and
  emptied before every test (``tests/pg_support.py``);
- ``--db=sqlite,postgresql`` (``make test``): every test on SQLite, and the tests of
  ``POSTGRESQL_FILES`` that use ``app`` once more on PostgreSQL (ids ``[sqlite]`` and
  ``[postgresql]``), in one run.

The PostgreSQL runs carry the ``postgres`` marker (``-m "not postgres"`` leaves them out).
With CI=true a missing server fails them, elsewhere they are skipped.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from jinja2 import FileSystemBytecodeCache
from werkzeug.test import TestResponse

from tests.pg_support import (
    APP_DATABASE_PREFIX,
    POSTGRES_SERVER_URL,
    PostgresDatabase,
    close_app,
    database_name,
    drop_abandoned,
    drop_server_database,
    server_database,
    xdist_worker,
)
from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.services import users as user_service
from webapp.services.users import UserData

PASSWORD = "correct horse battery"

#: Cheap scrypt parameters: the same algorithm as production, a fraction of the cost.
FAST_HASH = "scrypt:1024:8:1"

DATABASES = ("sqlite", "postgresql")

#: The test files whose ``app`` tests run on PostgreSQL too: the service and API tests.
#: A file opts in by being named here; its tests must then not assume SQLite (file paths,
#: pragmas, SQLite's own errors, ordering or statement counts): a test that must goes in
#: POSTGRESQL_SKIPS, with the reason, and is left out of the PostgreSQL run. Files left out:
#: - test_races.py, test_postgres.py: their own fixtures run them on PostgreSQL already, in
#:   every run (and they drop the worker database's schema);
#: - test_job_store.py: SQLite-specific, it reads the job table through ``sqlite3`` on the
#:   database file and checks its WAL journal mode; its apps come from test_scheduler.py's
#:   ``make_app`` (one SQLite file), not from ``app``;
#: - the browser tests (tests/e2e) and the page and rendering tests: they are about the
#:   pages rather than the database, and twice over they would not fit the time budget.
POSTGRESQL_FILES = frozenset({
    "test_api_auth.py",
    "test_api_blogs.py",
    "test_api_jobs.py",
    "test_api_tags.py",
    "test_api_users.py",
    "test_blogs.py",
    "test_database_option.py",
    "test_tags.py",
    "test_users.py",
})

#: Tests of those files that hold on SQLite only, by node id without parameters: why.
POSTGRESQL_SKIPS = {
    "tests/test_blogs.py::test_blog_list_runs_the_same_queries_for_any_page_size_or_page":
        "counts 4 statements a page: on SQLite the count and the rows are one packed statement "
        "(webapp/services/packed.py), elsewhere two",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="sqlite", metavar="sqlite|postgresql|sqlite,postgresql",
                     help="database of the app fixture: sqlite (in memory, the default), postgresql "
                          "(only the files in tests/conftest.py's POSTGRESQL_FILES), or both: every "
                          "test on sqlite and those files once more on postgresql")


def databases(config: pytest.Config) -> tuple[str, ...]:
    """The databases ``--db`` names, in order."""
    return tuple(name.strip() for name in str(config.getoption("--db")).split(","))


def pytest_configure(config: pytest.Config) -> None:
    # Every test builds its apps, and each app's Jinja environment compiled the same templates
    # again: a quarter of a unit test's time. Jinja's bytecode cache (by template name, checked
    # against a digest of its source) compiles each once per worker; the fragment environment,
    # which has other filters, compiles its own (webapp/fragments.py).
    folder = tempfile.mkdtemp(prefix="webapp-templates-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": FileSystemBytecodeCache(folder)}
    wanted = databases(config)
    if not wanted or len(set(wanted)) != len(wanted) or not set(wanted) <= set(DATABASES):
        raise pytest.UsageError("--db is sqlite, postgresql or sqlite,postgresql, "
                                f"not {config.getoption('--db')!r}")


def runs_on_postgresql(path: Path) -> bool:
    return path.name in POSTGRESQL_FILES


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --db=postgresql alone, collect only POSTGRESQL_FILES (and paths named on the command line)."""
    if databases(config) != ("postgresql",):
        return None
    path = collection_path.resolve()
    named = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    if any(path == name or path in name.parents for name in named):
        return None
    if collection_path.is_dir():
        return collection_path.name == "e2e" or None
    if collection_path.name.startswith("test_") and collection_path.suffix == ".py":
        return not runs_on_postgresql(collection_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With both databases, the ``app`` tests of POSTGRESQL_FILES run once on each."""
    wanted = databases(metafunc.config)
    if len(wanted) > 1 and "database" in metafunc.fixturenames and runs_on_postgresql(
            metafunc.definition.path):
        metafunc.parametrize("database", wanted, indirect=True)


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the PostgreSQL runs ``postgres``, and leave out there the tests in POSTGRESQL_SKIPS
    (they hold on SQLite only; CI=true allows no skip)."""
    single = databases(config)[0] if len(databases(config)) == 1 else None
    kept, dropped = [], []
    for item in items:
        kept.append(item)
        if "database" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        if (callspec.params.get("database", single) if callspec else single) != "postgresql":
            continue
        item.add_marker(pytest.mark.postgres)
        if item.nodeid.split("[")[0] in POSTGRESQL_SKIPS:  # not a PostgreSQL test: not collected there
            dropped.append(kept.pop())
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def app_config(**overrides: Any) -> dict[str, Any]:
    """Configuration for a test app; CSRF stays on."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "SERVER_NAME": "localhost",
        **overrides,
    }


class CSRFClient(FlaskClient):
    """A test client that adds a valid CSRF token to form posts unless ``csrf=False``."""

    def csrf_token(self) -> str:
        """Sign the session's raw token exactly as Flask-WTF does."""
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any) -> TestResponse:
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            kwargs["data"] = {"csrf_token": self.csrf_token(), **(data or {})}
        return super().post(*args, **kwargs)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """The database of this test's ``app``: "sqlite" or "postgresql" (see ``--db``)."""
    wanted = databases(request.config)
    return str(getattr(request, "param", wanted[0] if len(wanted) == 1 else "sqlite"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    """The ``app`` fixture's PostgreSQL database, this run's and this worker's own
    (``webapp_test_app_<time>_<run>_gw0``, dropped at the end, or by a later run when this
    one is killed): the models' tables, emptied by ``app``. Not ``pg_url``'s, whose schema
    test_postgres.py and test_races.py rebuild, and not another run's: two runs at once on
    one server would empty each other's tables.
    """
    run = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)[:8]
    database = PostgresDatabase(server_database(database_name(APP_DATABASE_PREFIX, run, xdist_worker())))
    drop_abandoned(POSTGRES_SERVER_URL, APP_DATABASE_PREFIX)
    yield database
    database.dispose()
    drop_server_database(database.url)


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """An in-memory SQLite database with the models' schema (create_all), for ``app`` to copy."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path_factory.mktemp("schema") / "instance"))
        schema_app = create_app(app_config())
        with schema_app.app_context():
            db.create_all()
            raw = db.engine.raw_connection()
            schema = sqlite3.connect(":memory:", check_same_thread=False)
            raw.driver_connection.backup(schema)
            raw.close()
        close_app(schema_app)
    yield schema
    schema.close()


@pytest.fixture
def app(request: pytest.FixtureRequest, database: str, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on an empty database (``database``), with its instance folder in tmp_path.

    No app context stays pushed during the test: requests would otherwise share
    it (and its ``g`` and database session) and hide per-request behaviour. Tests
    that read the database open ``app.app_context()`` themselves.
    """
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    postgres: PostgresDatabase | None = None
    if database == "postgresql":
        postgres = request.getfixturevalue("postgres_database")
        postgres.clean()
        app = create_app(app_config(SQLALCHEMY_DATABASE_URI=postgres.url))
    else:
        app = create_app(app_config())
    app.test_client_class = CSRFClient
    if postgres is None:  # a copy of the schema (sqlite3's backup): a tenth of create_all's time
        schema = request.getfixturevalue("sqlite_schema")
        with app.app_context():
            raw = db.engine.raw_connection()
            try:
                schema.backup(raw.driver_connection)
            finally:
                raw.close()
    yield app
    close_app(app)
    if postgres is not None:
        postgres.assert_no_connections_left()


def detached(obj: Any) -> Any:
    """Load ``obj`` fully and detach it so tests can read it outside the context."""
    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


@pytest.fixture
def client(app: Flask) -> CSRFClient:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create an account: ``make_user("bob", role="editor", active=False)``."""

    def make(username: str, role: str = "viewer", active: bool = True,
             email: str | None = None, password: str = PASSWORD) -> User:
        data = UserData(username=username, email=email or f"{username}@example.com",
                        role=role, active=active, password=password)
        with app.app_context():
            return detached(user_service.create_user_as_system(data))

    return make


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user("admin", role="admin")


@pytest.fixture
def editor(make_user: Callable[..., User]) -> User:
    return make_user("editor", role="editor")


@pytest.fixture
def viewer(make_user: Callable[..., User]) -> User:
    return make_user("viewer", role="viewer")


class Auth:
    """Sign a test client in and out through the real login form."""

    def __init__(self, client: CSRFClient) -> None:
        self.client = client

    def login(self, login: str = "admin", password: str = PASSWORD, **extra: Any) -> TestResponse:
        return self.client.post("/auth/login", data={"login": login, "password": password, **extra})

    def logout(self) -> TestResponse:
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client: CSRFClient) -> Auth:
    return Auth(client)


@pytest.fixture
def as_admin(admin: User, auth: Auth) -> CSRFClient:
    """A client signed in as an administrator."""
    assert auth.login("admin").status_code == 302
    return auth.client


@pytest.fixture
def redis_server() -> Iterator[Any]:
    """A real Redis on 127.0.0.1:6379, database 15 emptied around the test.

    With CI=true a missing server fails the run; elsewhere the test is skipped.
    """
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        client.ping()
    except redis.exceptions.ConnectionError as err:
        message = f"Redis not reachable on 127.0.0.1:6379: run scripts/ensure-services ({err})"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A dedicated database on the PostgreSQL server (``webapp_test_gw0``, ...), for the tests
    that build their own schema there."""
    return server_database("webapp_test_" + xdist_worker())


def app_on(database: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
           tmp_path: Any) -> Flask:
    """An app on an empty schema made by create_all: in memory, or the worker's PostgreSQL database."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    if database == "postgresql":
        postgres = request.getfixturevalue("postgres_database")
        postgres.clean()
        return create_app(app_config(SQLALCHEMY_DATABASE_URI=postgres.url))
    app = create_app(app_config())
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> Iterator[Flask]:
    """An app on SQLite, then on PostgreSQL (whatever ``--db`` says), its schema by create_all."""
    app = app_on(request.param, request, monkeypatch, tmp_path)
    app.test_client_class = CSRFClient
    yield app
    close_app(app)
