"""Blog screens: access, list (filters, sorting, constant queries), form, preview, bulk actions."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import event, select

from webapp.extensions import db
from webapp.models import AuditEntry, Blog, Tag
from webapp.services import blogs as blog_service
from webapp.services.blogs import BlogData


@pytest.fixture
def write_blog(app, admin):
    """Create a blog through the service: ``write_blog("Title", tags=["a"], author=user)``."""

    def write(title: str, body: str = "text", tags=(), status="draft", author=None):
        with app.app_context():
            actor = db.session.get(type(admin), admin.id)
            data = BlogData(title=title, body=body, status=status, tags=list(tags),
                            author_id=author.id if author else None)
            blog = blog_service.create_blog(data, actor)
            return blog.id

    return write


def titles(html: str) -> list[str]:
    """The rows' titles, as text (a search marks its text in them)."""
    html = re.sub(r"</?mark>", "", html)
    return re.findall(r'data-testid="blog-row">.*?<a href="/blogs/\d+">([^<]+)</a>', html, re.S)


def blog(app, blog_id: int) -> Blog | None:
    with app.app_context():
        found = db.session.scalar(select(Blog).where(Blog.id == blog_id))
        if found is None:
            return None
        found = blog_service.get_blog(blog_id)
        db.session.expunge_all()
        return found


def form(**fields):
    data = {"title": "A title", "body": "Some *text*", "status": "draft", "tags": "", "slug": ""}
    data.update(fields)
    return data


# -- access ---------------------------------------------------------------------------------------

PAGES = [("get", "/blogs/", "viewer"), ("get", "/blogs/{id}", "viewer"),
         ("get", "/blogs/export.csv", "viewer"), ("get", "/blogs/new", "editor"),
         ("post", "/blogs/new", "editor"), ("get", "/blogs/{id}/edit", "editor"),
         ("post", "/blogs/{id}/edit", "editor"), ("get", "/blogs/{id}/delete", "editor"),
         ("post", "/blogs/{id}/delete", "editor"), ("post", "/blogs/bulk", "editor"),
         ("post", "/blogs/preview", "editor")]


@pytest.mark.parametrize("method,path,minimum", PAGES)
@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_role_page_matrix(app, auth, make_user, write_blog, method, path, minimum, role):
    make_user("someone", role=role)
    blog_id = write_blog("Target")
    auth.login("someone")
    response = getattr(auth.client, method)(path.format(id=blog_id),
                                            **({"data": {}} if method == "post" else {}))
    allowed = role == "admin" or minimum == "viewer" or (minimum == "editor" and role == "editor")
    assert (response.status_code != 403) == allowed, response.status_code
    if not allowed:
        assert blog(app, blog_id) is not None


def test_anonymous_visitors_are_sent_to_login(client, admin):
    assert client.get("/blogs/").location.startswith("/auth/login")


# -- list -----------------------------------------------------------------------------------------

def test_list_shows_author_and_coloured_tag_badges(as_admin, write_blog):
    write_blog("Hello", tags=["python", "Flask"])
    html = as_admin.get("/blogs/").text
    assert titles(html) == ["Hello"]
    assert re.search(r'class="badge tag-badge" data-colour="#6c757d">Flask</span>', html)
    assert "<td>admin</td>" in html


def test_list_searches_title_and_body(as_admin, write_blog):
    write_blog("Alpha", body="nothing here")
    write_blog("Beta", body="the needle is here")
    assert titles(as_admin.get("/blogs/?q=alp").text) == ["Alpha"]
    assert titles(as_admin.get("/blogs/?q=NEEDLE").text) == ["Beta"]


def test_list_filters_by_all_chosen_tags(app, as_admin, write_blog):
    write_blog("Both", tags=["a", "b"])
    write_blog("Only a", tags=["a"])
    with app.app_context():
        ids = dict(db.session.execute(select(Tag.name, Tag.id)).all())
    assert sorted(titles(as_admin.get(f"/blogs/?tag={ids['a']}").text)) == ["Both", "Only a"]
    assert titles(as_admin.get(f"/blogs/?tag={ids['a']}&tag={ids['b']}").text) == ["Both"]


def test_list_filters_by_author_status_and_dates(as_admin, make_user, write_blog):
    grace = make_user("grace", role="editor")
    write_blog("Mine")
    write_blog("Hers", author=grace, status="published")
    assert titles(as_admin.get(f"/blogs/?author={grace.id}").text) == ["Hers"]
    assert titles(as_admin.get("/blogs/?status=draft").text) == ["Mine"]
    assert titles(as_admin.get("/blogs/?since=2000-01-01&until=2000-01-02").text) == []
    assert len(titles(as_admin.get("/blogs/?since=2000-01-01").text)) == 2


@pytest.mark.parametrize(
    "query", ["tag=abc", "author=x", "status=gone", "since=yesterday", "until=2024-13-01", "since=9999-12-31",
              "until=0001-01-01", "tag=²", "author=99999999999999999999999"])
def test_bad_filters_are_reported_not_a_500(as_admin, write_blog, query):
    write_blog("Still listed")
    response = as_admin.get(f"/blogs/?{query}")
    assert response.status_code == 200
    assert "The filters were not applied." in response.text
    assert titles(response.text) == ["Still listed"]


@pytest.mark.parametrize("column", ["title", "status", "author", "publish_at", "created_at", "updated_at",
                                    "slug", "id"])
def test_list_sorts_by_every_column(as_admin, write_blog, column):
    write_blog("B post")
    write_blog("A post", status="published")
    asc, desc = (titles(as_admin.get(f"/blogs/?sort={s}{column}").text) for s in ("", "-"))
    assert sorted(asc) == sorted(desc) == ["A post", "B post"]
    if column == "title":
        assert asc == ["A post", "B post"] and desc == ["B post", "A post"]


class QueryCounter:
    """Counts the SQL statements run while it is active."""

    def __init__(self, engine) -> None:
        self.engine, self.statements = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, *args) -> None:
        self.statements.append(statement)


def count_subquery(statement: str) -> str:
    """The ``(SELECT count(*) ...)`` part of a statement, up to its closing parenthesis."""
    start = statement.index("SELECT count(")
    depth = 0
    for index in range(start - 1, len(statement)):
        depth += {"(": 1, ")": -1}.get(statement[index], 0)
        if depth == 0:
            return statement[start:index]
    raise AssertionError(statement)


def test_blog_list_runs_the_same_queries_for_any_page_size_or_page(app, as_admin, write_blog):
    for number in range(120):
        write_blog(f"Post {number:03d}", tags=["t1", "t2", "t3"][: number % 4])
    with app.app_context():
        engine = db.engine
    counts = {}
    for url in ("/blogs/?per_page=20", "/blogs/?per_page=100", "/blogs/?per_page=50&page=3",
                "/blogs/?per_page=20&page=6&sort=-author", "/blogs/?q=post&status=draft&page=2"):
        with QueryCounter(engine) as counter:
            assert as_admin.get(url).status_code == 200
        counts[url] = len(counter.statements)
    # The signed-in user, the tag and author menus, then the count and the rows: on
    # SQLite one statement.
    assert set(counts.values()) == {4}, counts
    count_sql = count_subquery(next(s for s in counter.statements if "count(" in s.lower() and "blogs" in s))
    assert "FROM blogs" in count_sql
    assert "ORDER BY" not in count_sql.upper() and "JOIN" not in count_sql.upper()
    # A page past the end shows the last page (the rows once more).
    with QueryCounter(engine) as counter:
        assert 'aria-current="page">6<' in as_admin.get("/blogs/?page=99").text
    assert len(counter.statements) == 5


# -- form -----------------------------------------------------------------------------------------

def test_create_blog_with_new_and_existing_tags(app, as_admin, write_blog):
    write_blog("Earlier", tags=["Python"])
    response = as_admin.post("/blogs/new", data=form(title="Fresh", tags="python, Brand New ,brand new"))
    assert response.status_code == 302
    with app.app_context():
        created = db.session.scalar(select(Blog).where(Blog.title == "Fresh"))
        assert sorted(t.name for t in blog_service.get_blog(created.id).tags) == ["Brand New", "Python"]
        assert db.session.scalar(select(Tag.slug).where(Tag.name == "Brand New")) == "brand-new"
        assert created.slug == "fresh" and created.author_id == 1


def test_form_errors_show_beside_fields(as_admin):
    response = as_admin.post("/blogs/new", data=form(title="", status="nonsense", slug="Not A Slug"))
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert "Not a valid choice." in response.text


def test_slugs_are_unique(app, as_admin, write_blog):
    write_blog("Same title")
    as_admin.post("/blogs/new", data=form(title="Same title"))
    with app.app_context():
        assert sorted(db.session.scalars(select(Blog.slug))) == ["same-title", "same-title-2"]
    taken = as_admin.post("/blogs/new", data=form(title="Other", slug="same-title"))
    assert "Another blog already uses this slug." in taken.text


def test_published_without_a_time_is_published_now(app, as_admin):
    as_admin.post("/blogs/new", data=form(status="published"))
    with app.app_context():
        assert db.session.scalar(select(Blog.publish_at)) is not None


def test_editor_is_the_author_and_cannot_choose_another(app, auth, editor, make_user, admin):
    auth.login("editor")
    page = auth.client.get("/blogs/new").text
    assert 'name="author_id"' not in page
    auth.client.post("/blogs/new", data=form(author_id=str(admin.id)))
    with app.app_context():
        assert db.session.scalar(select(Blog.author_id)) == editor.id


def test_admin_chooses_the_author(app, as_admin, editor):
    as_admin.post("/blogs/new", data=form(author_id=str(editor.id)))
    with app.app_context():
        assert db.session.scalar(select(Blog.author_id)) == editor.id


def test_edit_saves_and_records_the_changes(app, as_admin, write_blog):
    blog_id = write_blog("Before", tags=["x"])
    page = as_admin.get(f"/blogs/{blog_id}/edit").text
    assert 'value="Before"' in page and 'value="x"' in page
    response = as_admin.post(f"/blogs/{blog_id}/edit", data=form(title="After", tags="y", version="1"))
    assert response.location == f"/blogs/{blog_id}"
    saved = blog(app, blog_id)
    assert saved.title == "After" and [t.name for t in saved.tags] == ["y"] and saved.version == 2
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
        assert entry.changes["title"] == ["Before", "After"] and entry.changes["tags"] == [["x"], ["y"]]


def test_tag_only_edit_bumps_the_version(app, as_admin, write_blog):
    blog_id = write_blog("Same", tags=["x"])
    as_admin.post(f"/blogs/{blog_id}/edit", data=form(title="Same", body="text", tags="x, z", version="1"))
    assert blog(app, blog_id).version == 2


def test_conflicting_edit_keeps_the_typed_text_and_shows_the_saved_one(app, as_admin, write_blog):
    blog_id = write_blog("Original", body="first body")
    assert as_admin.post(f"/blogs/{blog_id}/edit",
                         data=form(title="Theirs", body="their body", version="1")).status_code == 302
    response = as_admin.post(f"/blogs/{blog_id}/edit", data=form(title="Mine", body="my body", version="1"))
    assert response.status_code == 200
    assert "nothing was saved" in response.text
    assert "my body</textarea>" in response.text  # nothing typed is lost
    assert 'data-testid="conflict"' in response.text and "their body" in response.text
    assert blog(app, blog_id).title == "Theirs"


# -- rendering ------------------------------------------------------------------------------------

def test_markdown_is_rendered_and_sanitised(app, as_admin, write_blog):
    body = ("# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
            "[link](javascript:alert(3)) **bold**")
    blog_id = write_blog("XSS", body=body)
    html = as_admin.get(f"/blogs/{blog_id}").text
    article = html.split('data-testid="blog-body">', 1)[1].split("</article>", 1)[0]
    assert "<h1>Title</h1>" in article and "<strong>bold</strong>" in article
    assert "<script" not in article and "onerror=" not in article.replace("onerror=alert(2)&gt;", "")
    assert "<img" not in article and 'href="javascript' not in article


# -- delete and bulk ------------------------------------------------------------------------------

def test_delete_asks_first(app, as_admin, write_blog):
    blog_id = write_blog("Doomed")
    assert "Delete 1 blog?" in as_admin.get(f"/blogs/{blog_id}/delete").text
    assert blog(app, blog_id) is not None
    assert as_admin.post(f"/blogs/{blog_id}/delete").location == "/blogs/"
    assert blog(app, blog_id) is None


def bulk(client, action, ids, **extra):
    return client.post("/blogs/bulk", data={"action": action, "ids": [str(i) for i in ids], **extra})


def test_bulk_publish_and_unpublish(app, as_admin, write_blog):
    ids = [write_blog("One"), write_blog("Two")]
    # Publishing asks first (see test_confirmations); this is the confirmed request.
    assert bulk(as_admin, "publish", ids, confirmed="1").status_code == 302
    assert {blog(app, i).status for i in ids} == {"published"}
    assert all(blog(app, i).publish_at for i in ids)
    bulk(as_admin, "unpublish", ids[:1])
    assert blog(app, ids[0]).status == "draft"


def test_bulk_add_and_remove_a_tag(app, as_admin, write_blog):
    ids = [write_blog("One", tags=["keep"]), write_blog("Two")]
    with app.app_context():
        keep = db.session.scalar(select(Tag.id).where(Tag.name == "keep"))
    bulk(as_admin, "add_tag", ids, tag_id=str(keep))
    assert all([t.name for t in blog(app, i).tags] == ["keep"] for i in ids)
    bulk(as_admin, "remove_tag", ids, tag_id=str(keep))
    assert all(blog(app, i).tags == [] for i in ids)
    no_tag = as_admin.post("/blogs/bulk", data={"action": "add_tag", "ids": [str(ids[0])]},
                           follow_redirects=True)
    assert "Choose a tag." in no_tag.text


def test_bulk_delete_confirms_then_deletes(app, as_admin, write_blog):
    ids = [write_blog("One"), write_blog("Two")]
    confirm = bulk(as_admin, "delete", ids)
    assert confirm.status_code == 200 and "Delete 2 blogs?" in confirm.text
    assert blog(app, ids[0]) is not None
    bulk(as_admin, "delete", ids, confirmed="1")
    assert blog(app, ids[0]) is None and blog(app, ids[1]) is None


def test_bulk_with_a_missing_blog_changes_nothing(app, as_admin, write_blog):
    blog_id = write_blog("Real")
    response = bulk(as_admin, "publish", [blog_id, 999], confirmed="1")
    assert response.status_code == 302
    assert blog(app, blog_id).status == "draft"


def test_list_rows_escape_every_value(app, as_admin, make_user, write_blog):
    evil = '<script>alert("t")</script>'
    write_blog(evil, tags=['<b onmouseover="x()">tag</b>'])
    html = as_admin.get("/blogs/").text
    rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "<script>" not in rows and "<b " not in rows
    assert str(escape(evil)) in rows


@pytest.mark.parametrize("path,data", [
    ("/blogs/bulk", {"action": "add_tag", "ids": ["1"], "tag_id": "99999999999999999999999"}),
    ("/blogs/new", {"title": "x", "body": "", "status": "draft", "tags": "", "slug": "",
                    "author_id": "99999999999999999999999"}),
    ("/blogs/new", {"title": "nul\x00title", "body": "", "status": "draft", "tags": "", "slug": ""}),
])
def test_out_of_range_ids_and_nul_characters_are_refused_not_a_500(as_admin, write_blog, path, data):
    write_blog("One")
    assert as_admin.post(path, data=data).status_code in (200, 302)


@pytest.mark.parametrize("query", ["q=%00", "tag=2147483648", "author=9999999999"])
def test_odd_list_queries_are_not_a_500(as_admin, query):
    assert as_admin.get(f"/blogs/?{query}").status_code == 200
    assert as_admin.get("/blogs/2147483648").status_code == 404


def test_a_blog_form_without_a_version_is_a_conflict(app, as_admin, write_blog):
    blog_id = write_blog("Original")
    response = as_admin.post(f"/blogs/{blog_id}/edit", data=form(title="Overwrite"))
    assert "nothing was saved" in response.text and blog(app, blog_id).title == "Original"


def test_request_bodies_over_the_limit_are_413(as_admin):
    big = "x" * (9 * 1024 * 1024)
    assert as_admin.post("/blogs/preview", data={"body": big}).status_code == 413


def test_the_conflict_panel_keeps_the_saved_texts_line_breaks(app, as_admin, write_blog):
    from pathlib import Path

    blog_id = write_blog("Original", body="one")
    as_admin.post(f"/blogs/{blog_id}/edit", data=form(title="Theirs", body="line one\nline two", version="1"))
    html = as_admin.post(f"/blogs/{blog_id}/edit", data=form(title="Mine", body="mine", version="1")).text
    assert '<pre class="mb-0 conflict-text">line one\nline two</pre>' in html
    css = (Path(app.static_folder) / "css" / "app.css").read_text()
    assert re.search(r"\.conflict-text\s*\{\s*white-space:\s*pre-wrap;", css)


@pytest.mark.parametrize("then", ["", "add", "continue"])
def test_a_blog_saves_and_goes_where_its_button_says(app, as_admin, then):
    response = as_admin.post("/blogs/new", data=form(title=f"Saved {then or 'plain'}", then=then))
    assert response.status_code == 302
    blog_id = db_blog_id(app, f"Saved {then or 'plain'}")
    assert response.location == {"": f"/blogs/{blog_id}", "add": "/blogs/new",
                                 "continue": f"/blogs/{blog_id}/edit"}[then]


def db_blog_id(app, title: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Blog.id).where(Blog.title == title))
