"""SQLite reads the busiest rows packed into one JSON value: they must equal plain rows.

(See webapp/services/packed.py for why. PostgreSQL takes the plain statements,
which tests/test_postgres.py runs through the same pages.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webapp.extensions import db
from webapp.models import User
from webapp.services import blog_list
from webapp.services.blogs import BlogData, create_blog
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery
from webapp.views import helpers


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
    """The same page through the unpacked statement (what PostgreSQL runs)."""
    conditions = blog_list._conditions(query.search, filters)
    _count, rows = blog_list._statements(query, conditions, packed=False)
    offset = (query.page - 1) * query.per_page
    result = db.session.connection().execute(rows, {"page_limit": query.per_page, "page_offset": offset})
    return [blog_list._row(row) for row in result]


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
        connection = db.session.connection()
        plain = connection.execute(helpers._USER_ROW, {"user_id": admin.id}).one()._asdict()
        text = connection.scalar(helpers._USER_PACKED, {"user_id": admin.id})
        unpacked = helpers._user_unpacker(text, connection.dialect)
        assert unpacked == plain
        assert unpacked["active"] is True and unpacked["created_at"].tzinfo is UTC
        assert helpers._user_unpacker(None, connection.dialect) is None
