"""Blog search: the same blogs as a plain scan, ranked, highlighted, indexed on SQLite (FTS5
trigram) and PostgreSQL (pg_trgm), whether the schema came from the migrations or create_all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from tests.api_support import make_blog
from tests.conftest import app_config
from tests.pg_support import close_app
from webapp import create_app, fragments
from webapp.extensions import db
from webapp.models import Blog, User
from webapp.services import blog_list
from webapp.services import blogs as blog_service
from webapp.services.blogs import BlogData
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery
from webapp.services.search import title_parts

START = datetime(2026, 1, 1, tzinfo=UTC)

#: (title, body): Chinese words of two and three characters, English in several cases,
#: mixed text, LIKE's metacharacters and non-ASCII letters with case.
CORPUS = [
    ("数据库入门", "介绍关系数据库的基本概念"),
    ("大数据", "Big Data in practice"),
    ("Flask 教程", "学习数据分析和可视化"),
    ("机器学习", "深度学习与神经网络"),
    ("100% coverage", "how to reach 100% test coverage"),
    ("snake_case names", "use under_scores, one clear rule"),
    ("Windows paths", "C:\\Users\\data and D:\\backup"),
    ("DATA pipelines", "数据管道 and ETL"),
    ("数", "单字"),
    ("Élan vital", "Straße café ÉTÉ"),
    ("Mixed中文English", "混合mixed文本"),
    ("数据", ""),
    ("a_b%c\\d", "percent % underscore _ backslash \\"),
    ("Ωμέγα", "ΩΜΈΓΑ ΚΑΙ ΆΛΦΑ"),
    ("Data at scale", "a body that says data, data and data again: DATA"),
    ("Unrelated", "nothing to see"),
]

QUERIES = ["数据", "数据库", "据", "数", "大数据", "数据分析", "data", "DATA", "Data at", "100%", "%", "0%",
           "_", "e_c", "r_s", "\\", "\\U", "s\\d", "中文", "Mixed中", "d中文E", "ét", "ÉLAN", "café",
           "ωμέ", "ΆΛ", "x", "没有", "no such text", 'say"s', "学习", "据\uffff"]


@dataclass(frozen=True)
class Written:
    id: int
    title: str
    body: str
    created_at: datetime


def expected_ids(blogs: list[Written], search: str) -> list[int]:
    """What the list must show: a plain scan regardless of case, title matches first, then newest."""
    needle = search.lower()
    found = [b for b in blogs if needle in b.title.lower() or needle in b.body.lower()]
    found.sort(key=lambda b: (needle not in b.title.lower(), -b.created_at.timestamp(), -b.id))
    return [b.id for b in found]


def listed_ids(search: str, **query: Any) -> list[int]:
    page = blog_list.list_blogs(ListQuery(search=search, per_page=100, **query), BlogFilters())
    assert page.total == len(page.items)
    return [row.id for row in page.items]


def write_corpus(corpus: list[tuple[str, str]] = CORPUS) -> list[Written]:
    """The corpus as blogs of one author, created out of id order (the order must come from
    created_at, not from the ids)."""
    author = db.session.query(User).first()
    if author is None:
        author = User(username="writer", email="writer@example.com", password_hash="x")
        db.session.add(author)
        db.session.flush()
    written = []
    for number, (title, body) in enumerate(corpus):
        created = START + timedelta(minutes=(number * 7) % len(corpus))
        blog = Blog(title=title, body=body, slug=f"blog-{number}", author_id=author.id, created_at=created)
        db.session.add(blog)
        db.session.flush()
        written.append(Written(blog.id, title, body, created))
    db.session.commit()
    return written


def test_search_finds_what_a_plain_scan_finds_in_rank_order(any_app):
    with any_app.app_context():
        blogs = write_corpus()
        found = {query: listed_ids(query) for query in QUERIES}
    assert found == {query: expected_ids(blogs, query) for query in QUERIES}
    assert len(found["数据"]) == 5 and blogs[11].id in found["数据"]  # a two-character title alone


def test_downloads_and_select_all_search_alike(any_app):
    with any_app.app_context():
        blogs = write_corpus()
        for search in ("数据", "data", "r_s"):
            query = ListQuery(search=search)
            downloaded = [row.id for row in blog_list.iter_blogs(query, BlogFilters(), batch=2)]
            selected = list(blog_list.matching_ids(query, BlogFilters()))
            assert selected == downloaded == expected_ids(blogs, search)


def test_the_page_the_api_and_the_download_list_the_same_blogs(app, as_admin):
    for title, body in CORPUS:
        make_blog(app, title, body=body)
    with app.app_context():
        blogs = [Written(b.id, b.title, b.body, b.created_at) for b in db.session.query(Blog)]
    for search in ("数据", "DATA", "e_c"):
        expected = expected_ids(blogs, search)
        page = as_admin.get("/blogs/", query_string={"q": search, "per_page": 50}).text
        assert [int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)] == expected
        api = as_admin.get("/api/v1/blogs", query_string={"q": search, "per_page": 50}).get_json()
        assert [item["id"] for item in api["items"]] == expected
        csv = as_admin.get("/blogs/export.csv", query_string={"q": search}).text.splitlines()[1:]
        assert [int(line.split(",")[0]) for line in csv] == expected


def test_updates_and_deletes_keep_the_index_in_step(any_app):
    with any_app.app_context():
        blogs = write_corpus()
        actor = db.session.query(User).one()
        actor.role = "admin"
        db.session.commit()
        renamed, removed = blogs[0], blogs[2]
        blog_service.update_blog(renamed.id, BlogData(title="Renamed", body="向量检索"), actor, 1)
        blog_service.delete_blogs([removed.id], actor)
        # A write that bypasses the app is indexed too (triggers on SQLite).
        db.session.execute(text("UPDATE blogs SET body = 'now about 图数据库' WHERE id = :id"),
                           {"id": blogs[3].id})
        db.session.commit()
        assert listed_ids("数据库入门") == []
        assert listed_ids("向量检索") == listed_ids("Renamed") == [renamed.id]
        assert listed_ids("数据分析") == []
        assert listed_ids("图数据库") == [blogs[3].id]
        assert listed_ids("深度学习") == []
        assert renamed.id not in listed_ids("数据库") and blogs[3].id in listed_ids("数据库")
        if db.engine.dialect.name == "sqlite":  # FTS5 compares its index with the text: no error
            db.session.execute(text("INSERT INTO blogs_fts (blogs_fts, rank) VALUES ('integrity-check', 1)"))


def test_a_title_match_comes_first_unless_a_column_is_chosen(any_app):
    """The body that says "postgres" fifty times still comes after the older title."""
    corpus = [("Tuning notes", "postgres " * 50), ("Postgres in a title", "short"), ("Later", "postgres")]
    with any_app.app_context():
        tuning, titled, later = (blog.id for blog in write_corpus(corpus))  # created in this order
        assert listed_ids("postgres") == [titled, later, tuning]
        assert listed_ids("postgres", sort="created_at", desc=True) == [later, titled, tuning]
        assert listed_ids("postgres", sort="title", desc=True) == [tuning, titled, later]


def test_the_list_without_search_keeps_its_order(any_app):
    with any_app.app_context():
        blogs = write_corpus()
        newest_first = sorted(blogs, key=lambda b: (b.created_at, b.id), reverse=True)
        assert listed_ids("") == [b.id for b in newest_first]


@pytest.mark.parametrize("search", ["数据库", "data pipelines", "数据", "数", "Da"])
def test_the_index_answers_without_a_scan_of_the_blogs(any_app, search):
    """SQLite: any text through the FTS5 index (shorter text through its list of terms).
    PostgreSQL: three characters or more through the trigram indexes."""
    with any_app.app_context():
        write_corpus()
        count, _rows, _order = blog_list.page_statements(ListQuery(search=search), BlogFilters())
        compiled = count.compile(db.engine, compile_kwargs={"literal_binds": True})
        with db.engine.connect() as connection:
            if db.engine.dialect.name == "sqlite":
                steps = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
                index = "blogs_fts" if len(search) >= 3 else "blogs_fts_terms"
                assert any(step.startswith(f"SCAN {index} VIRTUAL TABLE INDEX") for step in steps), steps
                assert "SCAN blogs" not in steps, steps
            elif len(search) >= 3:
                connection.exec_driver_sql("SET enable_seqscan = off")
                plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
                assert "ix_blogs_title_trgm" in plan and "ix_blogs_body_trgm" in plan


# -- highlighting -------------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "search", "parts"), [
    ("Big data, Data", "DATA", (("Big ", False), ("data", True), (", ", False), ("Data", True))),
    ("大数据分析", "数据", (("大", False), ("数据", True), ("分析", False))),
    ("aaaa", "aa", (("aaaa", True),)),
    ("İstanbul İs", "i̇s", (("İs", True), ("tanbul ", False), ("İs", True))),  # lower("İ") is two characters
    ("100% _x_", "% _", (("100", False), ("% _", True), ("x_", False))),
    ("Title", "body only", (("Title", False),)),
    ("Title", "", (("Title", False),)),
])
def test_title_parts_mark_every_occurrence(title, search, parts):
    assert title_parts(title, search) == parts
    assert "".join(part for part, _marked in parts) == title


def test_the_list_marks_the_search_text_in_titles_escaped(app, as_admin):
    make_blog(app, "<b>数据</b> & 数据", body="x")
    make_blog(app, "Big Data", body="x")
    html = as_admin.get("/blogs/?q=数据").text
    assert ">&lt;b&gt;<mark>数据</mark>&lt;/b&gt; &amp; <mark>数据</mark></a>" in html
    assert "Big Data" not in html
    assert re.search(r">Big <mark>Data</mark></a>", as_admin.get("/blogs/?q=data").text)
    make_blog(app, "Tags <em>&amp;</em> escapes", body="x")
    html = as_admin.get("/blogs/", query_string={"q": "<EM>&amp;"}).text
    assert ">Tags <mark>&lt;em&gt;&amp;amp;</mark>&lt;/em&gt; escapes</a>" in html
    assert "<mark>" not in as_admin.get("/blogs/").text


def test_the_marked_parts_are_part_of_the_rows_fragment_key(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(TEMPLATES_AUTO_RELOAD=False))
    when = datetime(2025, 3, 4, tzinfo=UTC)
    row = blog_list.BlogRow(id=1, title="Big data", slug="big-data", status="draft", publish_at=None,
                            created_at=when, updated_at=when, author_id=1, version=1, author_name="ann",
                            tags=[], title_parts=title_parts("Big data", ""))

    def rendered(parts: Any) -> str:
        marked = blog_list.BlogRow(**{**row.__dict__, "title_parts": parts})
        with app.test_request_context("/blogs/"):
            return str(fragments.render_fragment("blogs/_rows.html", rows=[marked], can_edit=False,
                                                 url_base="/blogs/"))

    plain = rendered(title_parts("Big data", ""))
    assert "<mark>" not in plain
    assert ">Big <mark>data</mark></a>" in rendered(title_parts("Big data", "data"))
    assert ">Big data</a>" in rendered(())  # rows built without parts show the title
    assert rendered(title_parts("Big data", "")) == plain


# -- migrations ---------------------------------------------------------------------------------


def migrated_app(path: Any, monkeypatch: pytest.MonkeyPatch, revision: str = "head") -> Flask:
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(path.parent / "instance"))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    result = app.test_cli_runner().invoke(args=["db", "upgrade", revision])
    assert result.exit_code == 0, result.output
    return app


def write_corpus_as_sql() -> list[Written]:
    """The corpus written with the columns blogs and users had at revision 0008."""
    db.session.execute(text(
        "INSERT INTO users (id, username, email, password_hash, role, active, created_at, version) "
        "VALUES (1, 'writer', 'writer@example.com', 'x', 'admin', 1, '2026-01-01 00:00:00.000000', 1)"))
    written = []
    for number, (title, body) in enumerate(CORPUS, start=1):
        created = START + timedelta(minutes=(number * 7) % len(CORPUS))
        stamp = created.strftime("%Y-%m-%d %H:%M:%S.%f")
        db.session.execute(text(
            "INSERT INTO blogs (id, title, slug, body, status, author_id, created_at, updated_at, version) "
            "VALUES (:id, :title, :slug, :body, 'draft', 1, :stamp, :stamp, 1)"),
            {"id": number, "title": title, "slug": f"blog-{number}", "body": body, "stamp": stamp})
        written.append(Written(number, title, body, created))
    db.session.commit()
    return written


def test_the_migration_indexes_the_blogs_already_there(tmp_path, monkeypatch):
    app = migrated_app(tmp_path / "old.sqlite", monkeypatch, "0008")
    with app.app_context():
        blogs = write_corpus_as_sql()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["db", "upgrade", "0009"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        in_index = db.session.scalars(text("SELECT rowid FROM blogs_fts WHERE blogs_fts MATCH '\"数据库\"'"))
        assert sorted(in_index) == sorted(expected_ids(blogs, "数据库")) != []
        short = db.session.scalars(text("SELECT DISTINCT doc FROM blogs_fts_terms WHERE term >= '数据' "
                                        "AND term <= '数据' || char(1114111)"))
        assert sorted(short) == sorted(expected_ids(blogs, "数据"))  # "数据" alone as a title too
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert {query: listed_ids(query) for query in QUERIES} == {
            query: expected_ids(blogs, query) for query in QUERIES}
        db.engine.dispose()


def test_the_migration_goes_back_without_a_trace(tmp_path, monkeypatch):
    app = migrated_app(tmp_path / "back.sqlite", monkeypatch, "0009")
    result = app.test_cli_runner().invoke(args=["db", "downgrade", "0008"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        left = db.session.scalars(text("SELECT name FROM sqlite_master WHERE name LIKE 'blogs_fts%'"))
        assert list(left) == []
        db.engine.dispose()


def sqlite_search_schema(app: Flask) -> list[tuple[str, str]]:
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE name LIKE 'blogs_fts%' ORDER BY name"))
        return [(name, " ".join(sql.split()) if sql else "") for name, sql in rows]


def test_the_migrated_and_the_created_sqlite_schemas_search_alike(tmp_path, monkeypatch):
    migrated = migrated_app(tmp_path / "migrated.sqlite", monkeypatch)
    created = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'created.sqlite'}"))
    with created.app_context():
        db.create_all()
    assert sqlite_search_schema(migrated) == sqlite_search_schema(created)
    # The view, the FTS5 table, its 4 shadow tables, the list of terms, 3 triggers.
    assert len(sqlite_search_schema(created)) == 10
    results = []
    for app in (migrated, created):
        with app.app_context():
            write_corpus()
            results.append({query: listed_ids(query) for query in QUERIES})
            db.engine.dispose()
    assert results[0] == results[1]


@pytest.mark.postgres
def test_the_migrated_and_the_created_postgresql_schemas_search_alike(pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=pg_url))
    schemas, results = [], []
    try:
        for build in ("migrations", "create_all"):
            with app.app_context():
                with db.engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                if build == "migrations":
                    result = app.test_cli_runner().invoke(args=["init-db"])
                    assert result.exit_code == 0, result.output
                else:
                    db.create_all()
                schemas.append(list(db.session.execute(text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%trgm' ORDER BY 1"))))
                write_corpus()
                results.append({query: listed_ids(query) for query in QUERIES})
                db.session.close()
    finally:
        close_app(app)
    assert schemas[0] == schemas[1] and len(schemas[0]) == 2
    assert results[0] == results[1]
