"""Lists that stay cheap at scale: capped counts ("10+ results"), pages sought by cursor
(keyset pagination) that equal the pages by number, and the indexes the audit log's and
the run history's filters read (SQLite's plan; PostgreSQL's with the ``postgres`` marker).

A tiny ``COUNT_CAP`` and page size stand in for 10,000 and 20.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import case, event, insert, select, text, update

from tests.conftest import CSRFClient, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import AuditEntry, Blog, JobRun, User
from webapp.services import audit, blog_list, jobs
from webapp.services.blogs import BlogData, create_blog
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery, Page

#: 23 blogs: created in groups of three at the same moment (ties broken by id).
BLOGS = 23
SIZES = (4, 20)
SORTS = [("", False), ("created_at", False), ("id", False), ("id", True)]


@pytest.fixture
def capped(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app whose lists count at most 10 rows, 4 to a page, with an admin."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(COUNT_CAP=10, PAGE_SIZES=SIZES))
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
        from webapp.services.users import UserData, create_user_as_system

        create_user_as_system(UserData("admin", "admin@example.com", "admin", True, "correct horse battery"))
    return app


@pytest.fixture
def tied(capped: Flask) -> Flask:
    """``BLOGS`` published blogs whose creation times tie in threes."""
    with capped.app_context():
        actor = db.session.get(User, 1)
        for number in range(BLOGS):
            create_blog(BlogData(title=f"Post {number:02d}", body="text", status="published"), actor)
        base = datetime(2025, 1, 1, tzinfo=UTC)
        moments = {blog_id: base + timedelta(minutes=(blog_id - 1) // 3) for blog_id in range(1, BLOGS + 1)}
        db.session.execute(update(Blog).values(created_at=case(moments, value=Blog.id)))
        db.session.commit()
    return capped


def signed_in(app: Flask) -> CSRFClient:
    client: CSRFClient = app.test_client()  # type: ignore[assignment]
    response = client.post("/auth/login", data={"login": "admin", "password": "correct horse battery"})
    assert response.status_code == 302
    return client


def ids(page: Page[Any]) -> list[int]:
    return [row.id for row in page.items]


def by_number(query: ListQuery) -> list[list[int]]:
    """Every page of the list, by page number (OFFSET)."""
    first = blog_list.list_blogs(query, BlogFilters())
    pages, number = [ids(first)], 1
    while blog_list.list_blogs(replace(query, page=number), BlogFilters()).has_next:
        number += 1
        pages.append(ids(blog_list.list_blogs(replace(query, page=number), BlogFilters())))
    return pages


# -- capped counts -----------------------------------------------------------------------------

def test_a_count_past_the_cap_is_a_lower_bound_and_next_goes_on(tied):
    with tied.app_context():
        first = blog_list.list_blogs(ListQuery(per_page=4), BlogFilters())
        assert (first.total, first.total_capped, first.pages, first.has_next) == (10, True, 3, True)
        third = blog_list.list_blogs(ListQuery(page=3, per_page=4), BlogFilters())
        assert third.has_next and third.window() == [1, 2, 3]  # the counted pages; "next" past them
        last = blog_list.list_blogs(ListQuery(page=6, per_page=4), BlogFilters())
        assert len(last.items) == 3 and not last.has_next and last.window() == [1, None, 3, None, 6]
        # Past the end of more rows than the count reads: one full count finds the last page.
        past = blog_list.list_blogs(ListQuery(page=40, per_page=4), BlogFilters())
        assert (past.page, ids(past)) == (6, ids(last))
        exact = blog_list.list_blogs(ListQuery(per_page=20), BlogFilters(status="draft"))
        assert (exact.total, exact.total_capped) == (0, False)


def test_the_page_says_10_plus_and_offers_all_matching_as_such(tied):
    client = signed_in(tied)
    html = client.get("/blogs/?per_page=4").text
    assert re.search(r'data-testid="list-total">10\+ results · page 1</div>', html)
    assert "Select all matching rows (10+)" in html and 'data-total="10+"' in html
    assert "All matching rows (10+) are selected, on every page." in html
    assert "Select all 10 matching rows" not in html
    chinese = client.get("/blogs/?per_page=4", headers={"Accept-Language": "zh-CN"}).text
    assert "10+ 条结果" in chinese
    # Uncapped, as before.
    few = client.get("/blogs/?per_page=20&status=draft").text
    assert re.search(r'data-testid="list-total">0 results</div>', few)


def test_all_matching_with_a_capped_count_still_acts_on_every_row(tied):
    client = signed_in(tied)
    back = "/blogs/?per_page=4&status=published"
    assert "Select all matching rows (10+)" in client.get(back).text
    done = client.post("/blogs/bulk", data={"action": "unpublish", "all_matching": "1", "back": back},
                       follow_redirects=True)
    assert f"{BLOGS} blogs moved back to drafts." in done.text
    with tied.app_context():
        assert db.session.scalar(select(Blog.id).where(Blog.status == "published")) is None


def test_the_api_says_total_capped_and_keeps_total_an_int(tied):
    client = signed_in(tied)
    body = client.get("/api/v1/blogs?per_page=4&page=3").get_json()
    assert (body["total"], body["total_capped"], body["pages"], body["page"]) == (10, True, 3, 3)
    response = client.get("/api/v1/blogs?per_page=4&page=6")
    assert response.headers["X-Total-Count"] == "10" and 'rel="next"' not in response.headers["Link"]
    assert 'rel="next"' in client.get("/api/v1/blogs?per_page=4&page=3").headers["Link"]
    drafts = client.get("/api/v1/blogs?status=draft").get_json()
    assert (drafts["total"], drafts["total_capped"]) == (0, False)
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["BlogPage"]
    assert schema["properties"]["total"]["type"] == "integer" and "total_capped" in schema["required"]


def test_every_list_caps_its_count(capped):
    with capped.app_context():
        from webapp.services.users import UserData, create_user_as_system

        for number in range(11):
            create_user_as_system(UserData(f"user{number:02d}", f"u{number}@example.com", "viewer", True,
                                           "correct horse battery"))
    client = signed_in(capped)
    assert re.search(r'data-testid="list-total">10\+ results · page 1</div>', client.get("/users/").text)
    audit_page = client.get("/audit/?per_page=4&page=3").text  # 12 entries: page 3 is the last
    assert re.search(r'data-testid="list-total">10\+ results · page 3</div>', audit_page)
    assert 'rel="next" aria-disabled="true"' in audit_page
    assert "page 3" in client.get("/audit/?per_page=4&page=9").text  # past the end: the last page


# -- pages by cursor ---------------------------------------------------------------------------

@pytest.mark.parametrize("sort,desc", SORTS)
def test_pages_by_cursor_equal_pages_by_number_with_ties(tied, sort, desc):
    query = ListQuery(per_page=4, sort=sort, desc=desc)
    with tied.app_context():
        expected = by_number(query)
        assert sum(map(len, expected)) == BLOGS
        page = blog_list.list_blogs(query, BlogFilters())
        forward = [ids(page)]
        while page.has_next:
            after = replace(query, page=page.page + 1, after=page.last_key)
            page = blog_list.list_blogs(after, BlogFilters())
            assert page.by_cursor
            forward.append(ids(page))
        assert forward == expected
        backward = [ids(page)]
        while page.has_prev:
            before = replace(query, page=page.page - 1, before=page.first_key)
            page = blog_list.list_blogs(before, BlogFilters())
            backward.insert(0, ids(page))
        assert backward == expected and page.page == 1 and not page.by_cursor


def test_a_page_by_cursor_continues_after_its_row_across_an_insert(tied):
    query = ListQuery(per_page=4)
    with tied.app_context():
        first = blog_list.list_blogs(query, BlogFilters())
        second = blog_list.list_blogs(replace(query, page=2), BlogFilters())
        create_blog(BlogData(title="Newest", body="text"), db.session.get(User, 1))
        shifted = blog_list.list_blogs(replace(query, page=2), BlogFilters())
        assert ids(shifted) == [ids(first)[-1], *ids(second)[:-1]]  # by number, a row comes twice
        sought = blog_list.list_blogs(replace(query, page=2, after=first.last_key), BlogFilters())
        assert ids(sought) == ids(second)  # by cursor, the page goes on right after the row seen


def test_the_pager_reaches_pages_past_the_count_by_cursor_and_back(tied):
    client = signed_in(tied)
    with tied.app_context():
        expected = by_number(ListQuery(per_page=4))
    url, seen, hrefs = "/blogs/?per_page=4", [], []
    while url:
        html = client.get(url).text
        seen.append([int(n) for n in re.findall(r'<tr data-testid="blog-row">.*?href="/blogs/(\d+)"', html,
                                                re.S)])
        url = _link(html, "next")
        hrefs.append(url)
    assert seen == expected
    assert "after=" not in hrefs[0] and "after=" not in hrefs[1]  # the counted pages: by number
    assert all("after=" in href and "before=" not in href for href in hrefs[2:-1])
    last = client.get(hrefs[-2]).text
    assert 'href="/blogs/?per_page=4&amp;page=1"' in last  # by number: no cursor
    here = hrefs[-2].replace("&", "&amp;")
    assert f'<a class="page-link" href="{here}" aria-current="page">6</a>' in last  # as it came
    back = _link(last, "prev")
    assert "before=" in back and "after=" not in back
    assert [int(n) for n in re.findall(r'blog-row">.*?href="/blogs/(\d+)"', client.get(back).text, re.S)] \
        == expected[4]


def _link(html: str, rel: str) -> str:
    """The pager's link to the previous or next page ("" when disabled)."""
    found = re.search(rf'<a class="page-link" href="([^"#]+)" rel="{rel}">', html)
    return found.group(1).replace("&amp;", "&") if found else ""


@pytest.mark.parametrize("args", [
    "sort=title&page=2&after=2025-01-01T00:03:00.000000,12",  # an order without cursors
    "page=2&after=12",  # an id where the order needs a time too
    "page=2&after=yesterday,12",
    "page=2&after=2025-01-01T00:03:00%2B02:00,12",  # not UTC
    "page=1&after=2025-01-01T00:03:00.000000,12",  # page 1: a new sort or filter dropped the page
])
def test_a_cursor_that_does_not_apply_leaves_the_page_by_number(tied, args):
    with tied.test_request_context(f"/blogs/?per_page=4&{args}"):
        from flask import request

        query = ListQuery.from_args(request.args)
        page = blog_list.list_blogs(query, BlogFilters())
        plain = blog_list.list_blogs(replace(query, after="", before=""), BlogFilters())
        assert ids(page) == ids(plain) and not page.by_cursor


# -- indexes -----------------------------------------------------------------------------------

def plans(app: Flask, call: Any) -> list[str]:
    """SQLite's query plan of every statement ``call`` runs, one string each."""
    statements: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    connection = db.session.connection()
    return [" | ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements]


@pytest.mark.parametrize("filters,index", [
    ({"actor": "SYSTEM"}, "ix_audit_log_actor_key_created_at"),
    ({"action": "create"}, "ix_audit_log_action_created_at"),
    ({"object_type": "users"}, "ix_audit_log_object_type_created_at"),
    ({"object_type": "users", "object_id": "1"}, "ix_audit_log_object_created_at"),
])
def test_the_audit_log_reads_each_filter_by_its_index_in_order(capped, filters, index):
    with capped.app_context():
        admin = db.session.get(User, 1)
        count, rows = plans(capped, lambda: audit.list_entries(ListQuery(filters=filters), admin))
        assert f"USING COVERING INDEX {index} " in count, count  # the count reads the index alone
        assert f"INDEX {index} " in rows and "TEMP B-TREE" not in rows, rows  # in order: no sort
        assert len(audit.list_entries(ListQuery(filters=filters), admin).items) == 1  # by "system"


def test_the_count_reads_at_most_the_cap_and_one_more_row(tied):
    with tied.app_context():
        count, _rows, _order = blog_list.page_statements(ListQuery(), BlogFilters())
        assert db.session.scalar(count) == 11  # of 23
        admin = db.session.get(User, 1)
        statements: list[tuple[Any, Any]] = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2:4]))
        audit.list_entries(ListQuery(), admin)  # 24 entries: 1 user, 23 blogs
        first, params = statements[0]
        assert "count(" in first and db.session.connection().exec_driver_sql(first, params).scalar() == 11


def test_the_run_history_reads_its_indexes_in_order(capped):
    with capped.app_context():
        now = datetime.now(UTC)
        db.session.add_all(JobRun(job_id=f"job-{n % 3}", scheduled_at=now - timedelta(minutes=n),
                                  status="failed" if n % 4 else "succeeded") for n in range(30))
        db.session.commit()
        _count, rows = plans(capped, lambda: jobs.runs("job-1", 2, 5))
        assert "INDEX sqlite_autoindex_job_runs_1 (job_id=?)" in rows and "TEMP B-TREE" not in rows
        failed = select(JobRun).where(JobRun.status == "failed").order_by(JobRun.scheduled_at.desc()).limit(5)
        (plan,) = plans(capped, lambda: db.session.scalars(failed).all())
        assert "INDEX ix_job_runs_status_scheduled_at (status=?)" in plan and "TEMP B-TREE" not in plan


def test_the_migration_keys_the_log_and_a_stock_sqlite_client_finds_it_intact(tmp_path, monkeypatch):
    """0010 fills actor_key for the entries there (any case, any alphabet), makes the models'
    indexes, and needs no function of the app's to check them (see tests/test_tag_names.py)."""
    from tests.test_tag_names import integrity_with_stdlib

    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    path = tmp_path / "migrated.sqlite"
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0009"]).exit_code == 0
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO audit_log (created_at, actor_name, action, object_type, object_id, object_repr,"
            " changes) VALUES ('2025-01-01 00:00:00.000000', 'ÉLODIE', 'create', 'users', '7', 'x', '{}')"))
        db.session.commit()
    result = runner.invoke(args=["db", "upgrade", "0010"])
    assert result.exit_code == 0, result.output
    tables = (db.metadata.tables["audit_log"], db.metadata.tables["job_runs"])
    wanted = {index.name for table in tables for index in table.indexes}
    with app.app_context():
        found = dict(db.session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('audit_log', 'job_runs')")).all())
        assert set(found) == wanted
        assert "(actor_key, created_at, id)" in found["ix_audit_log_actor_key_created_at"]
        assert "(status, scheduled_at)" in found["ix_job_runs_status_scheduled_at"]
        admin = User(username="admin", email="a@example.com", password_hash="x", role="admin", active=True)
        entries = audit.list_entries(ListQuery(filters={"actor": "Élodie"}), admin)
        assert [entry.object_id for entry in entries.items] == ["7"]
        audit.record_change(None, "update", "users", 7, "x", {})  # a new entry gets its key too
        db.session.commit()
        assert audit.list_entries(ListQuery(filters={"actor": "SYSTEM"}), admin).total == 1
        db.engine.dispose()
    assert integrity_with_stdlib(path) == ["ok"]


@pytest.fixture
def pg_app(pg_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on the worker's own PostgreSQL database, its schema by create_all (and dropped
    after), with an app context pushed."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=pg_url))
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.create_all()
        yield app
        db.session.close()
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.engine.dispose()


@pytest.mark.postgres
def test_postgresql_reads_the_audit_log_by_user_and_a_jobs_runs_by_their_indexes(pg_app):
    now = datetime.now(UTC)
    db.session.execute(insert(AuditEntry), [
        {"actor_name": f"user{n % 4}", "action": "update", "object_type": "blogs", "object_id": str(n),
         "object_repr": "x", "changes": {}, "created_at": now - timedelta(seconds=n)}
        for n in range(20_000)])
    db.session.execute(insert(JobRun), [
        {"job_id": f"job-{n % 4}", "scheduled_at": now - timedelta(minutes=n), "status": "succeeded",
         "created_at": now} for n in range(20_000)])
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    actor = (select(AuditEntry.id).where(AuditEntry.actor_key == "user3")
             .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(21))
    history = (select(JobRun.id).where(JobRun.job_id == "job-3")
               .order_by(JobRun.scheduled_at.desc(), JobRun.id.desc()).limit(21))
    for statement, index in ((actor, "ix_audit_log_actor_key_created_at"),
                             (history, "uq_job_runs_job_id_scheduled_at")):
        sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {sql}")))
        assert f"Scan Backward using {index}" in plan, plan  # in order, no sort


@pytest.mark.postgres
def test_postgresql_skips_to_a_deep_page_by_number_in_the_index_alone(pg_app):
    now = datetime.now(UTC)
    author = db.session.execute(insert(User).values(
        username="a", email="a@example.com", password_hash="x", role="editor", active=True,
        created_at=now, version=1)).inserted_primary_key[0]
    db.session.execute(insert(Blog), [
        {"title": f"t{n}", "slug": f"s{n}", "body": "b", "status": "draft", "author_id": author,
         "created_at": now - timedelta(seconds=n // 3), "updated_at": now, "version": 1}
        for n in range(20_000)])
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE blogs"))
    _count, rows, _order = blog_list.page_statements(ListQuery(page=751), BlogFilters())
    compiled = rows.compile(db.engine)
    plan = "\n".join(db.session.connection().exec_driver_sql(
        f"EXPLAIN {compiled}", {**compiled.params, "page_limit": 20, "page_offset": 15_000}).scalars())
    assert "Index Only Scan Backward using ix_blogs_created_at_id" in plan, plan  # no table, no sort
