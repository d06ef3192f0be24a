"""The same migrations and account rules on a real PostgreSQL server.

Needs PostgreSQL on 127.0.0.1:5432 (``scripts/ensure-services`` starts it) or
WEBAPP_TEST_POSTGRES_URL. With CI=true a missing server fails the run.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import PASSWORD, CSRFClient, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import User, blog_search
from webapp.services import users as user_service
from webapp.services.errors import ValidationError
from webapp.services.users import UserData

pytestmark = pytest.mark.postgres

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
        # The search index is made beside the models (webapp/models/blog_search.py).
        context = MigrationContext.configure(connection, opts={"include_object": blog_search.include_object})
        assert compare_metadata(context, db.metadata) == []


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


def test_blog_screens_api_and_downloads_on_postgres(pg_app):
    """The list's packed tags (string_agg), the deferred join, filters, downloads and the API."""
    from webapp.services import blogs as blog_service
    from webapp.services.blogs import BlogData

    with pg_app.app_context():
        admin = user_service.create_user_as_system(
            UserData("admin", "admin@example.com", "admin", True, PASSWORD))
        for number in range(30):
            blog_service.create_blog(BlogData(title=f"Post {number:02d}", body=f"body {number}",
                                              tags=["Élan", "pg"] if number % 2 else ["pg"]), admin)
    client = pg_app.test_client()
    client.post("/auth/login", data={"login": "admin", "password": PASSWORD})
    page = client.get("/blogs/?sort=title&per_page=20&page=2").text
    assert page.count('data-testid="blog-row"') == 10
    assert ">Élan</span>" in page and ">pg</span>" in page
    assert client.get("/blogs/?q=POST 1").text.count('data-testid="blog-row"') == 10
    duplicate = client.post("/tags/new", data={"name": "élan", "colour": "#123456", "description": "",
                                               "slug": ""})
    assert "A tag with this name already exists." in duplicate.text
    csv_text = client.get("/blogs/export.csv?q=Post 0").get_data(as_text=True)
    assert csv_text.count("\n") == 11
    listing = client.get("/api/v1/blogs?per_page=5&sort=-title").get_json()
    assert listing["total"] == 30 and listing["items"][0]["title"] == "Post 29"
    assert client.get("/blogs/2147483648").status_code == 404
    assert client.get("/blogs/?q=%00").status_code == 200
