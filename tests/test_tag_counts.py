"""``tags.blog_count`` is kept by the database (webapp/models/tag_counts.py, migration 0013):
whichever way a link between a blog and a tag comes or goes, every tag's count equals its
links, on SQLite and on PostgreSQL, in a schema made by create_all or by the migrations."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from tests.conftest import app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import Tag, User, blog_tags
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services.blogs import BlogData
from webapp.services.tags import TagData
from webapp.services.users import UserData, create_user_as_system


def counts() -> dict[str, tuple[int, int]]:
    """Each tag's (kept count, links counted now)."""
    by_tag = select(blog_tags.c.tag_id, func.count()).group_by(blog_tags.c.tag_id)
    linked = dict(db.session.execute(by_tag).all())
    return {name: (kept, linked.get(tag_id, 0))
            for tag_id, name, kept in db.session.execute(select(Tag.id, Tag.name, Tag.blog_count))}


def assert_kept() -> None:
    db.session.expire_all()
    now = counts()
    assert all(kept == linked for kept, linked in now.values()), now


def test_every_way_a_link_changes_keeps_the_count(any_app: Flask) -> None:
    with any_app.app_context():
        admin = create_user_as_system(UserData("boss", "boss@example.com", "admin", True, "horse battery"))
        actor = db.session.get(User, admin.id)
        for name in ("alpha", "beta", "gamma"):
            tag_service.create_tag(TagData(name=name), actor)
        assert_kept()
        ids = [blog_service.create_blog(BlogData(title=f"Post {n}", tags=tags), actor).id
               for n, tags in enumerate((["alpha", "beta"], ["alpha"], ["beta", "gamma"], [], ["delta"]))]
        assert_kept()
        assert counts()["alpha"] == (2, 2) and counts()["delta"] == (1, 1)  # a tag made by the blog
        blog = blog_service.get_blog(ids[0])
        blog_service.update_blog(ids[0], BlogData(title="Post 0", tags=["gamma", "delta"]), actor,
                                 blog.version)
        assert_kept()
        gamma = db.session.scalar(select(Tag.id).where(Tag.name == "gamma"))
        blog_service.change_tag(ids, gamma, True, actor)  # bulk: add to all five
        assert_kept()
        assert counts()["gamma"] == (5, 5)
        blog_service.change_tag(ids[:2], gamma, False, actor)
        assert_kept()
        alpha, beta = (db.session.scalar(select(Tag.id).where(Tag.name == n)) for n in ("alpha", "beta"))
        tag_service.merge_tags(beta, alpha, actor)  # beta's links move to alpha
        assert_kept()
        blog_service.delete_blogs(ids[1:3], actor)  # their links go by the foreign key's cascade
        assert_kept()
        tag_service.delete_tags([gamma], actor)
        assert_kept()
        # A script that writes the links itself, and moves one.
        db.session.execute(blog_tags.insert().values(blog_id=ids[3], tag_id=alpha))
        db.session.execute(blog_tags.update().where(blog_tags.c.blog_id == ids[3]).values(
            tag_id=db.session.scalar(select(Tag.id).where(Tag.name == "delta"))))
        db.session.commit()
        assert_kept()
        assert sum(kept for kept, _ in counts().values()) == 3


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_migration_counts_the_links_already_there_then_keeps_them(database, request, tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    url = (request.getfixturevalue("pg_url") if database == "postgresql"
           else f"sqlite:///{tmp_path / 'm.sqlite'}")
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=url))
    if database == "postgresql":
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(app, "0012")
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO users (id, username, email, password_hash, role, active, created_at, version) "
            "VALUES (1, 'w', 'w@example.com', 'x', 'admin', true, '2026-01-01 00:00:00', 1)"))
        for tag_id in (1, 2, 3):
            db.session.execute(text(
                "INSERT INTO tags (id, name, name_key, slug, description, colour, created_at, version) "
                f"VALUES ({tag_id}, 't{tag_id}', 't{tag_id}', 't{tag_id}', '', '#000000', '2026-01-01', 1)"))
        for blog_id in range(1, 6):
            db.session.execute(text(
                "INSERT INTO blogs (id, title, slug, body, status, author_id, created_at, updated_at, "
                f"version) VALUES ({blog_id}, 'b', 'b{blog_id}', '', 'draft', 1, '2026-01-01', "
                "'2026-01-01', 1)"))
        db.session.execute(text("INSERT INTO blog_tags (blog_id, tag_id) VALUES "
                                "(1, 1), (2, 1), (3, 1), (1, 2), (4, 2)"))
        db.session.commit()
        db.engine.dispose()
    upgrade(app, "head")
    with app.app_context():
        assert counts() == {"t1": (3, 3), "t2": (2, 2), "t3": (0, 0)}
        db.session.execute(text("INSERT INTO blog_tags (blog_id, tag_id) VALUES (5, 3), (5, 1)"))
        db.session.execute(text("DELETE FROM blogs WHERE id = 1"))
        db.session.commit()
        assert counts() == {"t1": (3, 3), "t2": (1, 1), "t3": (1, 1)}
        db.session.close()
        if database == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.engine.dispose()


def upgrade(app: Flask, revision: str) -> Any:
    result = app.test_cli_runner().invoke(args=["db", "upgrade", revision])
    assert result.exit_code == 0, result.output
    return result
