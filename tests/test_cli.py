"""The flask commands: init-db, create-admin, seed-demo."""

from __future__ import annotations

from sqlalchemy import func, inspect, select, text

from webapp.cli import DEMO_PASSWORD, DEMO_USERS
from webapp.extensions import db
from webapp.models import User, blog_search


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_create_admin_with_flags(app, runner):
    result = runner.invoke(args=["create-admin", "--username", "root", "--email", "root@example.com",
                                 "--password", "a long password"])
    assert result.exit_code == 0, result.output
    assert "Administrator root created." in result.output
    with app.app_context():
        root = db.session.scalar(select(User))
        assert root.role == "admin" and root.check_password("a long password")


def test_create_admin_prompts_when_flags_are_missing(app, runner):
    result = runner.invoke(args=["create-admin"],
                           input="root\nroot@example.com\na long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert count_users(app) == 1


def test_create_admin_reports_field_errors(app, runner, admin):
    result = runner.invoke(args=["create-admin", "--username", "ADMIN", "--email", "bad",
                                 "--password", "short"])
    assert result.exit_code == 1
    assert "username: This username is already taken." in result.output
    assert "email: Enter a valid email address." in result.output
    assert "password: Use at least 8 characters." in result.output


def test_seed_demo_adds_users_once(app, runner, admin):
    assert "5 demo users created" in runner.invoke(args=["seed-demo"]).output
    assert "0 demo users created" in runner.invoke(args=["seed-demo"]).output
    assert count_users(app) == 1 + len(DEMO_USERS)
    with app.app_context():
        grace = db.session.scalar(select(User).where(User.username == "grace"))
        assert grace.role == "editor" and grace.check_password(DEMO_PASSWORD)


def test_init_db_runs_the_migrations_to_the_models_schema(tmp_path, monkeypatch):
    from tests.conftest import app_config
    from webapp import create_app

    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.sqlite'}"))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        inspector = inspect(db.engine)
        assert set(db.metadata.tables) <= set(inspector.get_table_names())
        for table in db.metadata.tables.values():
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}, table.name
        # SQLite cannot reflect expression indexes, so read them from its catalogue.
        indexes = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
        assert {"uq_users_username_lower", "uq_users_email_lower"} <= indexes
        # And Alembic sees nothing left to migrate.
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        with db.engine.connect() as connection:
            # The search index is made beside the models (webapp/models/blog_search.py).
            search_index = {"include_object": blog_search.include_object}
            context = MigrationContext.configure(connection, opts=search_index)
            diff = compare_metadata(context, db.metadata)
        assert diff == []
