"""The task registry: only registered tasks run, with typed parameters, in an app context."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import app_config
from webapp import create_app
from webapp.extensions import db
from webapp.jobs import registry
from webapp.models import Blog, JobRun, MemorySample, User
from webapp.models.types import utcnow
from webapp.services import blogs as blog_service
from webapp.services.blogs import BlogData
from webapp.services.errors import ValidationError


def test_every_task_has_a_title_a_description_and_typed_parameters():
    names = [t.name for t in registry.all_tasks()]
    assert names == ["backup_database", "log_message", "publish_due_blogs", "purge_run_history",
                     "record_memory_sample"]
    for registered in registry.all_tasks():
        assert str(registered.title) and str(registered.description)
        assert all(p.type in registry.PARAM_TYPES for p in registered.params)


@pytest.mark.parametrize("func", ["os:system", "subprocess:call", "webapp.jobs.registry:run_task",
                                  "builtins:eval", "", "log_message; rm -rf /"])
def test_anything_but_a_registered_task_is_refused(func):
    with pytest.raises(ValidationError) as err:
        registry.get_task(func)
    assert "is not a registered task" in err.value.fields["func"][0]


def test_a_task_is_found_by_name_or_by_its_module_path():
    assert registry.get_task("log_message") is registry.get_task("webapp.jobs.tasks:log_message")


@pytest.mark.parametrize("kwargs,field", [
    ({"days": "abc"}, "days"), ({"days": 0}, "days"), ({"days": True}, "days"),
    ({"days": 5, "evil": "x"}, "evil"),
])
def test_parameters_are_typed_and_bounded(kwargs, field):
    with pytest.raises(ValidationError) as err:
        registry.validate_kwargs(registry.get_task("purge_run_history"), kwargs)
    assert field in err.value.fields


def test_parameters_get_their_defaults_and_types():
    assert registry.validate_kwargs(registry.get_task("purge_run_history"), {"days": "12"}) == {"days": 12}
    assert registry.validate_kwargs(registry.get_task("log_message"), {}) == {"name": "world"}


def test_run_task_runs_the_task_in_the_app_context(app, caplog):
    with app.app_context():
        with caplog.at_level(logging.INFO, logger="webapp.jobs.tasks"):
            assert registry.run_task("log_message", name="scheduler") == "Hello, scheduler"
        assert "Hello, scheduler" in caplog.text
        sample_id = registry.run_task("record_memory_sample")  # needs the database
    with app.app_context():
        sample = db.session.get(MemorySample, sample_id)
        assert sample.ram_total > 0 and 0 < sample.ram_used <= sample.ram_total


def test_run_task_refuses_unregistered_tasks_even_from_a_job_store(app):
    with app.app_context(), pytest.raises(ValidationError):
        registry.run_task("os:system", command="true")


def test_publish_due_blogs_publishes_only_due_drafts(app, admin):
    with app.app_context():
        actor = db.session.get(User, admin.id)
        now = utcnow()
        for title, when in (("due", now - timedelta(minutes=1)), ("later", now + timedelta(days=1)),
                            ("no time", None)):
            blog_service.create_blog(BlogData(title=title, publish_at=when), actor)
        assert registry.run_task("publish_due_blogs") == 1
        statuses = dict(db.session.execute(select(Blog.title, Blog.status)).all())
    assert statuses == {"due": "published", "later": "draft", "no time": "draft"}


def test_purge_run_history_keeps_recent_runs(app):
    with app.app_context():
        now = utcnow()
        db.session.execute(insert(JobRun), [
            {"job_id": "j", "scheduled_at": now - timedelta(days=d), "status": "succeeded",
             "created_at": now - timedelta(days=d)} for d in (1, 10, 40, 400)])
        db.session.commit()
        assert registry.run_task("purge_run_history", days=30) == 2
        assert db.session.scalar(select(func.count(JobRun.id))) == 2


def test_backup_copies_the_sqlite_database_and_keeps_the_newest(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'live.sqlite'}"))
    with app.app_context():
        db.create_all()
        db.session.execute(insert(MemorySample).values(ram_total=1, ram_used=1, ram_percent=100.0,
                                                       swap_total=0, swap_used=0))
        db.session.commit()
        paths = [registry.run_task("backup_database", keep=2) for _ in range(3)]
        db.engine.dispose()
    kept = sorted((tmp_path / "instance" / "backups").iterdir())
    assert [str(p) for p in kept] == paths[1:]
    with sqlite3.connect(kept[-1]) as copy:
        assert copy.execute("SELECT count(*) FROM memory_samples").fetchone() == (1,)


def test_backup_explains_itself_on_an_in_memory_database(app):
    with app.app_context(), pytest.raises(ValidationError) as err:
        registry.run_task("backup_database", keep=1)
    assert "pg_dump" in err.value.message
