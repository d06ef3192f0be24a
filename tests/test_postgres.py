"""The same migrations and account rules on a real PostgreSQL server.

Needs PostgreSQL on 127.0.0.1:5432 (``scripts/ensure-services`` starts it) or
WEBAPP_TEST_POSTGRES_URL. With CI=true a missing server fails the run.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import PASSWORD, CSRFClient, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.services import users as user_service
from webapp.services.errors import ValidationError
from webapp.services.users import UserData

pytestmark = pytest.mark.postgres

SERVER_URL = os.environ.get("WEBAPP_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "webapp_test"


@pytest.fixture(scope="module")
def pg_url() -> str:
    """A dedicated database on the server, created when missing."""
    engine = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                       {"n": DATABASE})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    except sa.exc.OperationalError as err:
        message = f"PostgreSQL not reachable at {SERVER_URL}: run scripts/ensure-services ({err})"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        engine.dispose()
    return sa.engine.make_url(SERVER_URL).set(database=DATABASE).render_as_string(hide_password=False)


@pytest.fixture
def pg_app(pg_url, tmp_path, monkeypatch):
    """An app on an empty PostgreSQL database, built by the migrations."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=pg_url))
    app.test_client_class = CSRFClient
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.session.close()
        db.engine.dispose()


def test_migrations_build_the_models_schema(pg_app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with pg_app.app_context(), db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []


def test_database_enforces_case_insensitive_unique_names(pg_app):
    with pg_app.app_context():
        user_service.create_user_as_system(UserData("Alice", "alice@example.com", "viewer", True, PASSWORD))
        db.session.add(User(username="ALICE", email="other@example.com", password_hash="x"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(ValidationError) as err:
            user_service.create_user_as_system(UserData("alice", "ALICE@example.com", "viewer", True,
                                                        PASSWORD))
        assert set(err.value.fields) == {"username", "email"}


def test_sign_in_edit_and_conflict_on_postgres(pg_app):
    with pg_app.app_context():
        user_service.create_user_as_system(UserData("admin", "admin@example.com", "admin", True, PASSWORD))
        bob = user_service.create_user_as_system(UserData("bob", "bob@example.com", "viewer", True, PASSWORD))
        bob_id = bob.id
    client = pg_app.test_client()
    assert client.post("/auth/login", data={"login": "Admin", "password": PASSWORD}).location == "/"
    form = {"username": "bob", "email": "bob@example.com", "role": "editor", "version": "1", "active": "y"}
    assert client.post(f"/users/{bob_id}/edit", data=form).status_code == 302
    conflict = client.post(f"/users/{bob_id}/edit", data={**form, "role": "admin"})
    assert "nothing was saved" in conflict.text
    assert client.get("/users/?q=BO&sort=-created_at").text.count('data-testid="user-row"') == 1
    with pg_app.app_context():
        assert db.session.scalar(select(User.role).where(User.id == bob_id)) == "editor"
