"""A search's count on PostgreSQL: when the planner expects ten times the cap, its estimate
stands for the count ("10,000+" without testing ten thousand bodies); below that, and on
SQLite always, the rows are counted up to the cap (``paging.capped_count``).

A ``COUNT_CAP`` of 5 stands for 10,000: an estimate of 60 rows (ten times the cap and one)
or more is enough.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, text

from webapp.extensions import db
from webapp.models import Blog, User
from webapp.models.types import utcnow
from webapp.services import blog_list
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery

#: title word: how many blogs have it (one word a blog, in its title or in its body)
WORDS = {"alpha": 400, "delta": 20, "gamma": 3}


@pytest.fixture
def searched(any_app: Flask) -> Iterator[Flask]:
    any_app.config["COUNT_CAP"] = 5
    with any_app.app_context():
        author = db.session.execute(insert(User).values(
            username="author", email="author@example.com", role="editor", active=True, password_hash="x",
            created_at=utcnow(), version=1)).inserted_primary_key[0]
        now, rows = utcnow(), []
        for word, count in WORDS.items():
            for number in range(count):
                title, body = (f"{word} {number}", "plain") if number % 2 else (f"post {number}", f"a {word}")
                rows.append({"title": title, "slug": f"{word}-{number}", "body": body, "status": "draft",
                             "author_id": author, "created_at": now - timedelta(minutes=len(rows)),
                             "updated_at": now, "version": 1})
        db.session.execute(insert(Blog), rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE blogs"))
            db.session.commit()
    yield any_app


def listed(app: Flask, search: str, sort: str = "") -> tuple[Any, list[str]]:
    """The first page of the search, and the statements it ran."""
    statements: list[str] = []
    with app.app_context():
        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            page = blog_list.list_blogs(ListQuery(search=search, sort=sort, per_page=4), BlogFilters())
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return page, statements


def counted(statements: list[str]) -> bool:
    return any("count(" in s.lower() and "blogs" in s.lower() for s in statements)


@pytest.mark.parametrize("sort", ["", "title"])
def test_a_search_the_planner_expects_to_pass_the_cap_tenfold_is_not_counted_on_postgresql(searched, sort):
    page, statements = listed(searched, "alpha", sort)
    assert (page.total, page.total_capped, page.more, len(page.items)) == (5, True, True, 4)
    if searched.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert any(s.startswith("EXPLAIN") for s in statements) and not counted(statements)
    else:  # SQLite has no estimate: it counts (from its index)
        assert counted(statements)


@pytest.mark.parametrize("sort", ["", "title"])
@pytest.mark.parametrize("word,total,capped", [("delta", 5, True), ("gamma", 3, False)])
def test_a_search_expected_below_that_is_counted_up_to_the_cap(searched, sort, word, total, capped):
    page, statements = listed(searched, word, sort)
    assert (page.total, page.total_capped) == (total, capped)
    assert counted(statements)
    assert all(word in row.title or row.title.startswith("post") for row in page.items)
