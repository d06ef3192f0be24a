"""Shared fixtures: an app on a fresh in-memory database, clients that send CSRF tokens,
account factories and a sign-in helper."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from werkzeug.test import TestResponse

from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.services import users as user_service
from webapp.services.users import UserData

PASSWORD = "correct horse battery"

#: Cheap scrypt parameters: the same algorithm as production, a fraction of the cost.
FAST_HASH = "scrypt:1024:8:1"


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
def app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on an empty in-memory database, with its instance folder in tmp_path.

    No app context stays pushed during the test: requests would otherwise share
    it (and its ``g`` and database session) and hide per-request behaviour. Tests
    that read the database open ``app.app_context()`` themselves.
    """
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config())
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


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


#: The PostgreSQL server for the tests that need one (``scripts/ensure-services`` starts it).
POSTGRES_SERVER_URL = os.environ.get("WEBAPP_TEST_POSTGRES_URL",
                                     "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A dedicated database on the PostgreSQL server, created when missing (one per xdist worker).

    With CI=true a missing server fails the run; elsewhere the test is skipped.
    """
    import sqlalchemy as sa

    name = "webapp_test_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
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
