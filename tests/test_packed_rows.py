"""SQLite reads the busiest rows packed into one JSON value: they must equal plain rows.

(See webapp/services/packed.py for why. PostgreSQL takes the plain statements,
which tests/test_postgres.py runs through the same pages.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import Auth
from webapp.extensions import db
from webapp.models import User
from webapp.services import blog_list, packed, sessions
from webapp.services.blogs import BlogData, create_blog, get_blog, update_blog
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery
from webapp.services.users import UserData, update_user


@pytest.fixture
def blogs(app, admin):
    with app.app_context():
        actor = db.session.get(User, admin.id)
        for number in range(45):
            tags = ["Zeta", "alpha", "Élan", "b\u00e9ta"][: number % 5]
            publish_at = datetime(2025, 1, 1, number % 24, tzinfo=UTC) if number % 2 else None
            create_blog(BlogData(title=f"Post {number:02d} \"quoted\" \\ <b>", body="text", tags=tags,
                                 status="published" if number % 3 else "draft", publish_at=publish_at),
                        actor)


def plain_page(query: ListQuery, filters: BlogFilters) -> list[blog_list.BlogRow]:
    """The same page through the unpacked statements (what PostgreSQL runs)."""
    count, rows, order = blog_list.page_statements(query, filters)
    params = {"page_limit": query.per_page, "page_offset": (query.page - 1) * query.per_page}
    _total, found = packed.count_and_rows(db.session.connection(), count, rows, order, params, packing=False)
    return [blog_list.blog_row(row, query.search) for row in found]


@pytest.mark.parametrize("query", [
    ListQuery(), ListQuery(page=2, per_page=20), ListQuery(page=3, per_page=20, sort="title", desc=True),
    ListQuery(sort="author"), ListQuery(sort="publish_at"), ListQuery(search="quoted", per_page=50),
])
def test_packed_blog_pages_equal_plain_rows(app, blogs, query):
    with app.app_context():
        packed = blog_list.list_blogs(query, BlogFilters())
        assert packed.items, "the page has rows"
        assert packed.items == plain_page(query, BlogFilters())
        first = packed.items[0]
        assert first.created_at.tzinfo is UTC and isinstance(first.version, int)
        assert any(row.publish_at is None for row in packed.items)
        assert any(len(row.tags) == 4 for row in packed.items)


def test_packed_blog_page_with_filters_and_no_rows(app, blogs):
    with app.app_context():
        filters = BlogFilters(status="draft")
        assert blog_list.list_blogs(ListQuery(), filters).items == plain_page(ListQuery(), filters)
        empty = blog_list.list_blogs(ListQuery(search="no such text"), BlogFilters())
        assert empty.items == [] and empty.total == 0


def test_packed_user_row_equals_the_plain_row(app, admin):
    with app.app_context():
        user = db.session.get(User, admin.id)
        params = {"user_id": admin.id, "key_hash": sessions.key_hash(sessions.start(user)),
                  "oldest": sessions.oldest_valid()}
        connection = db.session.connection()
        plain = packed.first_row(connection, sessions.USER_ROW, params, packing=False)
        unpacked = packed.first_row(connection, sessions.USER_ROW, params, packing=True)
        assert unpacked == plain and plain == connection.execute(sessions.USER_ROW, params).one()._asdict()
        assert unpacked["active"] is True and unpacked["created_at"].tzinfo is UTC
        missing = {**params, "user_id": 999}
        assert packed.first_row(connection, sessions.USER_ROW, missing, packing=True) is None


def test_rows_rendered_once_per_result_follow_every_change_and_role(app, admin, blogs, make_user):
    """The list keeps rendered rows by the query's result: a change is a new result."""

    make_user("vera", role="viewer")
    clients = {}
    for name in ("admin", "vera"):
        clients[name] = app.test_client()
        assert Auth(clients[name]).login(name).status_code == 302
    first = clients["admin"].get("/blogs/").text
    assert "Post 44" in first and ">admin</td>" in first
    assert 'name="ids"' in first and 'name="ids"' not in clients["vera"].get("/blogs/").text
    with app.app_context():
        actor = db.session.get(User, admin.id)
        newest = get_blog(45)
        renamed = BlogData(title="Renamed post", body="text", tags=["Zeta"])
        update_blog(newest.id, renamed, actor, newest.version)
        update_user(admin.id, UserData(username="chief", email=admin.email, role="admin"), actor,
                    db.session.get(User, admin.id).version)
    for name in ("admin", "vera"):
        page = clients[name].get("/blogs/").text
        assert "Renamed post" in page and "Post 44" not in page
        assert ">chief</td>" in page and ">admin</td>" not in page



def test_kept_filter_form_and_head_follow_the_arguments_and_the_menus(app, admin, blogs):
    """The filter form and the table head are kept by the query string and the menus."""
    from webapp.services.tags import TagData, create_tag

    client = app.test_client()
    assert Auth(client).login("admin").status_code == 302
    plain = client.get("/blogs/").text
    drafts = client.get("/blogs/?status=draft&sort=-title").text
    assert '<option value="draft" selected>' in drafts and '<option value="draft" selected>' not in plain
    assert 'aria-sort="descending"' in drafts and 'name="sort" value="-title"' in drafts
    assert "Fresh menu tag" not in plain
    with app.app_context():
        create_tag(TagData(name="Fresh menu tag"), db.session.get(User, admin.id))
    again = client.get("/blogs/").text
    assert again.count("Fresh menu tag") == 2  # in the tag filter and in the bulk action's menu
    assert '<option value="draft" selected>' not in again


def test_packed_menu_rows_equal_plain_rows(app, blogs):
    from sqlalchemy import select

    from webapp.models import Tag

    with app.app_context():
        connection = db.session.connection()
        order = (Tag.name_key, Tag.id)
        statement = select(Tag.id, Tag.name, Tag.created_at).order_by(*order)
        plain = packed.all_rows(connection, statement, order, packing=False)
        assert len(plain) == 4 and plain == packed.all_rows(connection, statement, order, packing=True)
        assert [name for _id, name, _at in plain] == ["alpha", "b\u00e9ta", "Zeta", "Élan"]  # by name_key
        assert packed.all_rows(connection, statement.where(Tag.id < 0), order, packing=True) == []
