"""Downloads: the filtered lists as CSV and JSON, streamed batch by batch."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import event, insert, select

from webapp.extensions import db
from webapp.models import BackgroundTask, Blog, Tag, User, blog_tags
from webapp.models.types import utcnow
from webapp.services import background, exports


@pytest.fixture
def many_blogs(app, admin):
    """``many_blogs(n)``: n blogs by admin, every one tagged "t" (bulk INSERTs, fast)."""

    def make(count: int) -> None:
        with app.app_context():
            tag_id = db.session.execute(insert(Tag).values(name="t", slug="t", description="",
                                                           colour="#123456", version=1,
                                                           created_at=utcnow())).inserted_primary_key[0]
            now = utcnow()
            db.session.execute(insert(Blog), [
                {"title": f"Post {i:05d}", "slug": f"post-{i}", "body": "b", "status": "draft",
                 "author_id": admin.id, "created_at": now, "updated_at": now, "version": 1}
                for i in range(count)])
            ids = db.session.scalars(select(Blog.id)).all()
            db.session.execute(insert(blog_tags), [{"blog_id": i, "tag_id": tag_id} for i in ids])
            db.session.commit()

    return make


def test_blog_csv_has_the_filtered_rows(as_admin, many_blogs):
    many_blogs(30)
    response = as_admin.get("/blogs/export.csv?q=Post 0001&sort=title")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="blogs-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(exports.BLOG_COLUMNS)
    assert [r[1] for r in rows[1:]] == [f"Post 000{i}" for i in range(10, 20)]
    assert rows[1][5] == "admin" and rows[1][6] == "t"


def test_blog_json_is_valid_and_ordered_like_the_list(as_admin, many_blogs):
    many_blogs(5)
    data = json.loads(as_admin.get("/blogs/export.json?sort=-title").get_data(as_text=True))
    assert [d["title"] for d in data] == [f"Post {i:05d}" for i in range(4, -1, -1)]
    assert data[0]["tags"] == ["t"] and data[0]["author"] == "admin"


def test_export_streams_in_batches(app, as_admin, many_blogs, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 100)
    many_blogs(1000)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = as_admin.get("/blogs/export.csv")
        assert response.is_streamed
        chunks = iter(response.response)
        first = next(chunks)
        rest = list(chunks)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    first_text = first if isinstance(first, str) else first.decode()
    text = "".join(c if isinstance(c, str) else c.decode() for c in [first, *rest])
    assert text.count("\n") == 1001  # header + every row
    # Rows are written a batch at a time, from one statement read as it goes (yield_per),
    # with each row's tags in it: no query per batch or per row.
    assert first_text.count("\n") == 1 + exports.BATCH
    assert sum("FROM blogs" in s for s in statements) == 1


def test_csv_cells_cannot_start_a_spreadsheet_formula(as_admin, app, admin):
    from webapp.services import blogs as blog_service
    from webapp.services.blogs import BlogData

    with app.app_context():
        blog_service.create_blog(BlogData(title="=HYPERLINK(\"http://x\")"), db.session.get(User, admin.id))
    rows = list(csv.reader(io.StringIO(as_admin.get("/blogs/export.csv").get_data(as_text=True))))
    assert rows[1][1].startswith("'=")


def test_user_export_never_includes_password_hashes(as_admin, make_user):
    make_user("bob", role="editor")
    text = as_admin.get("/users/export.csv?role=editor").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(exports.USER_COLUMNS) and [r[1] for r in rows[1:]] == ["bob"]
    assert "scrypt" not in text and "password" not in text
    data = json.loads(as_admin.get("/users/export.json").get_data(as_text=True))
    assert {d["username"] for d in data} == {"admin", "bob"}


def test_tag_export_includes_usage(as_admin, many_blogs):
    many_blogs(3)
    data = json.loads(as_admin.get("/tags/export.json").get_data(as_text=True))
    assert data == [{**data[0], "name": "t", "usage": 3}]


def test_unknown_export_format_is_404(as_admin):
    assert as_admin.get("/blogs/export.xml").status_code == 404


def test_viewers_may_download_blogs_but_not_users(auth, viewer, admin):
    auth.login("viewer")
    assert auth.client.get("/blogs/export.csv").status_code == 200
    assert auth.client.get("/users/export.csv").status_code == 403


def test_formula_guard_covers_the_tags_column(app, as_admin, admin):
    from webapp.services import blogs as blog_service
    from webapp.services.blogs import BlogData

    with app.app_context():
        blog_service.create_blog(BlogData(title="x", tags=["=HYPERLINK(\"http://x\")"]),
                                 db.session.get(User, admin.id))
    rows = list(csv.reader(io.StringIO(as_admin.get("/blogs/export.csv").get_data(as_text=True))))
    assert rows[1][6].startswith("'=")


def test_user_and_tag_downloads_follow_the_list_order(as_admin, make_user, many_blogs):
    make_user("zed")
    make_user("bob")
    users = json.loads(as_admin.get("/users/export.json?sort=-username").get_data(as_text=True))
    assert [u["username"] for u in users] == ["zed", "bob", "admin"]
    many_blogs(2)
    with as_admin.application.app_context():
        db.session.execute(insert(Tag).values(name="a-unused", slug="a-unused", description="",
                                              colour="#000000", version=1, created_at=utcnow()))
        db.session.commit()
    tags = json.loads(as_admin.get("/tags/export.json?sort=-usage").get_data(as_text=True))
    assert [t["name"] for t in tags] == ["t", "a-unused"]


@pytest.mark.parametrize("path,content_type", [
    ("/blogs/export.csv", "text/csv; charset=utf-8"),
    ("/blogs/export.json", "application/json"),
    ("/tags/export.csv", "text/csv; charset=utf-8"),
    ("/users/export.csv", "text/csv; charset=utf-8"),
    ("/users/export.json", "application/json"),
])
def test_downloads_are_not_cached_and_name_one_charset(as_admin, path, content_type):
    response = as_admin.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-store"


def test_a_blogs_tags_are_in_one_order_on_the_page_the_api_and_the_downloads(app, as_admin, admin):
    """One row builder: by name regardless of case ("alpha, Zeta"), never by code point."""
    import re

    from webapp.services import blogs as blog_service

    with app.app_context():
        actor = db.session.get(User, admin.id)
        blog_service.create_blog(blog_service.BlogData(title="Tagged", tags=["Zeta", "alpha", "Mid"]), actor)
    expected = ["alpha", "Mid", "Zeta"]
    page = as_admin.get("/blogs/").get_data(as_text=True)
    assert re.findall(r'class="badge tag-badge"[^>]*>([^<]+)<', page) == expected
    api = as_admin.get("/api/v1/blogs").get_json()
    assert [t["name"] for t in api["items"][0]["tags"]] == expected
    data = json.loads(as_admin.get("/blogs/export.json").get_data(as_text=True))
    assert data[0]["tags"] == expected
    rows = list(csv.reader(io.StringIO(as_admin.get("/blogs/export.csv").get_data(as_text=True))))
    assert rows[1][6] == ", ".join(expected)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
@pytest.mark.parametrize("args", ["", "?sort=title", "?q=post&sort=-author", "?tag=2&sort=-updated_at"])
def test_a_download_prepared_in_the_background_has_the_streamed_ones_rows(app, as_admin, admin, make_user,
                                                                           args):
    """Over the threshold the rows come batch by batch by id (``blog_tasks``), not from the
    list's statement: the file is still the same, byte for byte, on either database."""
    from tests.test_background import task_id_of
    from webapp.services import blogs as blog_service

    editor = make_user("bea", role="editor")
    tag_sets = (["Zeta", "alpha", "Mid"], [], ["mid"], ["alpha"], ["Zeta", "zeta2"])
    with app.app_context():
        for number in range(11):
            author = db.session.get(User, (admin if number % 3 else editor).id)
            blog_service.create_blog(blog_service.BlogData(
                title=f"{'Post' if number % 4 else 'Note'} {10 - number}", tags=tag_sets[number % 5],
                status="published" if number % 2 else "draft"), author)
    streamed = as_admin.get(f"/blogs/export.csv{args}").get_data(as_text=True)
    assert streamed.count("\n") > 3  # a header and rows
    # Queued, then run here (an in-memory SQLite database has one connection for every thread).
    app.config.update(BACKGROUND_THRESHOLD_ROWS=2, BACKGROUND_DOWNLOAD_BATCH_ROWS=2,
                      BACKGROUND_IN_PROCESS=False)
    task_id = task_id_of(as_admin.post(f"/blogs/export.csv{args}"))
    with app.app_context():
        assert background.run(task_id)
        task = db.session.get(BackgroundTask, task_id)
        assert task.status == "succeeded", task.error
    assert as_admin.get(f"/tasks/{task.id}/download").get_data(as_text=True) == streamed
