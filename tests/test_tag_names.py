"""Tag names: unique regardless of case and Unicode form, stored in NFKC, under an index
that any SQLite client can verify (the migrated database passes PRAGMA integrity_check)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import unicodedata
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from tests.api_support import make_blog, make_tag
from tests.conftest import app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import Blog, Tag
from webapp.models.content import tag_name_key
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services.blogs import BlogData
from webapp.services.tags import TagData
from webapp.services.users import UserData, create_user_as_system

FULLWIDTH_FLASK = "\uff46\uff4c\uff41\uff53\uff4b"  # "flask" in fullwidth letters
CAFE_COMPOSED = "caf\u00e9"
CAFE_DECOMPOSED = "cafe\u0301"
#: Names whose lower() differs between the app's function and SQLite's built-in one.
NON_ASCII_NAMES = ["Élan", "ÅNGSTRÖM", "Ζεύς", "Straße", CAFE_DECOMPOSED, FULLWIDTH_FLASK]


def tag_names(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Tag.name)))


# -- one tag per name, whatever its Unicode form --------------------------------------------------

@pytest.mark.parametrize("first,second", [
    ("flask", FULLWIDTH_FLASK), (FULLWIDTH_FLASK, "Flask"), (CAFE_COMPOSED, CAFE_DECOMPOSED),
    (CAFE_DECOMPOSED, "CAFÉ"), ("Straße", "STRASSE"), ("ﬁle", "file"),
])
def test_names_that_differ_only_by_unicode_form_are_the_same_tag(app, as_admin, first, second):
    make_tag(app, first)
    response = as_admin.post("/tags/new", data={"name": second, "slug": "", "colour": "#123456",
                                                "description": ""})
    assert response.status_code == 200
    assert "A tag with this name already exists." in response.text
    assert len(tag_names(app)) == 1


def test_names_are_stored_in_nfkc(app, as_admin):
    as_admin.post("/tags/new", data={"name": f"  {FULLWIDTH_FLASK}\u3000tips ", "slug": "",
                                     "colour": "#123456", "description": ""})
    as_admin.post("/tags/new", data={"name": CAFE_DECOMPOSED, "slug": "", "colour": "#123456",
                                     "description": ""})
    assert tag_names(app) == ["café", "flask tips"]
    assert all(unicodedata.is_normalized("NFC", n) for n in tag_names(app))


def test_a_rename_is_normalised_and_checked_the_same_way(app, as_admin):
    make_tag(app, "flask")
    other = make_tag(app, "other")
    data = {"name": FULLWIDTH_FLASK, "slug": "", "colour": "#123456", "description": "", "version": "1"}
    response = as_admin.post(f"/tags/{other}/edit", data=data)
    assert "A tag with this name already exists." in response.text
    data["name"] = "\uff4f\uff54\uff48\uff45\uff52"  # "other" in fullwidth letters: itself
    assert as_admin.post(f"/tags/{other}/edit", data=data).status_code == 302
    assert tag_names(app) == ["flask", "other"]


def test_a_fullwidth_comma_is_a_comma(app, as_admin):
    response = as_admin.post("/tags/new", data={"name": "a\uff0cb", "slug": "", "colour": "#123456",
                                                "description": ""})
    assert "cannot contain a comma" in response.text


def test_the_blog_tag_picker_reuses_tags_across_unicode_forms(app, as_admin):
    make_tag(app, "flask")
    make_tag(app, CAFE_COMPOSED)
    response = as_admin.post("/blogs/new", data={
        "title": "Forms", "body": "", "status": "draft", "slug": "",
        "tags": f"{FULLWIDTH_FLASK}, {CAFE_DECOMPOSED}, CAFÉ, new\uff54\uff41\uff47, NEWTAG"})
    assert response.status_code == 302
    assert tag_names(app) == ["café", "flask", "newtag"]
    with app.app_context():
        blog_id = db.session.scalar(select(Blog.id).where(Blog.title == "Forms"))
        assert sorted(t.name for t in blog_service.get_blog(blog_id).tags) == ["café", "flask", "newtag"]


def test_the_api_reuses_tags_across_unicode_forms(app, admin):
    make_tag(app, "flask")
    make_blog(app, "Via the service", tags=[FULLWIDTH_FLASK])
    assert tag_names(app) == ["flask"]


def test_the_database_refuses_a_second_key_whatever_the_path(app, admin):
    make_tag(app, "flask")
    with app.app_context():
        db.session.add(Tag(name=FULLWIDTH_FLASK, slug="other-flask"))
        with pytest.raises(Exception, match="UNIQUE"):
            db.session.commit()


def test_the_key_is_nfkc_and_casefolded():
    assert tag_name_key(FULLWIDTH_FLASK) == tag_name_key("FLASK") == "flask"
    assert tag_name_key(CAFE_DECOMPOSED) == tag_name_key("CAFÉ") == "café"
    assert tag_name_key("Straße") == "strasse"


# -- a stock SQLite client can verify the index ---------------------------------------------------

@pytest.fixture
def migrated_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, Path]:
    """An app on a SQLite file created by the migrations (``flask init-db``), as installs are."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    path = tmp_path / "console.sqlite"
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    return app, path


def integrity_with_stdlib(path: Path) -> list[str]:
    """PRAGMA integrity_check through Python's sqlite3, with no function of the app registered."""
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("PRAGMA integrity_check")]
    finally:
        connection.close()


def integrity_with_cli(path: Path) -> list[str]:
    """PRAGMA integrity_check through the sqlite3 shell (scripts/ensure-sqlite3 installs it)."""
    shell = shutil.which("sqlite3")
    if shell is None:
        message = "the sqlite3 shell is missing: run scripts/ensure-sqlite3 (or make test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    result = subprocess.run([shell, str(path), "PRAGMA integrity_check;"], capture_output=True,
                            text=True, timeout=30, check=True)
    return result.stdout.split()


def test_a_stock_sqlite_client_finds_the_tag_index_intact(migrated_file):
    app, path = migrated_file
    with app.app_context():
        actor = create_user_as_system(UserData(username="root", email="root@example.com",
                                               role="admin", password="a long password"))
        for name in NON_ASCII_NAMES:
            tag_service.create_tag(TagData(name=name), actor)
        blog_service.create_blog(BlogData(title="Tagged", tags=["Élan", "new ÉTÉ"]), actor)
        db.engine.dispose()
    assert integrity_with_stdlib(path) == ["ok"]
    assert integrity_with_cli(path) == ["ok"]


def test_the_migration_keys_existing_tags_and_keeps_look_alikes_apart(tmp_path, monkeypatch):
    """Tags saved before the key existed get one; names that now collide are renamed, not lost."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    path = tmp_path / "old.sqlite"
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "0006"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = {"id": 1, "username": "root", "email": "root@example.com", "password_hash": "x",
                "role": "admin", "active": 1, "created_at": "2026-01-01 00:00:00", "version": 1}
        if "session_token" in {row[1] for row in db.session.execute(text("PRAGMA table_info(users)"))}:
            user["session_token"] = "x"  # a required column until sign-in sessions got a table
        columns, values = ", ".join(user), ", ".join(f":{name}" for name in user)
        db.session.execute(text(f"INSERT INTO users ({columns}) VALUES ({values})"), user)
        db.session.execute(text(
            "INSERT INTO blogs (id, title, slug, body, status, author_id, created_at, updated_at, version) "
            "VALUES (1, 'Old post', 'old-post', '', 'draft', 1, '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 1)"))
        for tag_id, name in enumerate(["flask", FULLWIDTH_FLASK, "Straße", "strasse", "Élan",
                                       CAFE_DECOMPOSED], start=1):
            db.session.execute(text(
                "INSERT INTO tags (id, name, slug, description, colour, created_at, version) "
                "VALUES (:id, :name, :slug, '', '#123456', '2026-01-01 00:00:00', 1)"),
                {"id": tag_id, "name": name, "slug": f"tag-{tag_id}"})
            db.session.execute(text("INSERT INTO blog_tags (blog_id, tag_id) VALUES (1, :id)"),
                               {"id": tag_id})
        db.session.commit()
        db.engine.dispose()
    assert integrity_with_stdlib(path) != ["ok"]  # the old lower(name) index, seen by a stock client

    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        rows = db.session.execute(text("SELECT id, name, name_key FROM tags ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            (1, "flask", "flask"), (2, "flask (2)", "flask (2)"), (3, "Straße", "strasse"),
            (4, "strasse (2)", "strasse (2)"), (5, "Élan", "élan"), (6, "café", "café")]
        assert db.session.scalar(text("SELECT count(*) FROM blog_tags")) == 6
        indexes = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
        assert "uq_tags_name_key" in indexes and "uq_tags_name_lower" not in indexes
        db.engine.dispose()
    assert integrity_with_stdlib(path) == ["ok"]
    assert integrity_with_cli(path) == ["ok"]
