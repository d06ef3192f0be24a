"""The list's own shapes for a search and for one tag (webapp/services/blog_shapes.py) give
the rows a plain scan gives, page after page, whichever way each arm reads its rows:
from the index and sorted, or walking the list's order and testing each blog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from tests.test_search import CORPUS, QUERIES, START, expected_ids, write_corpus
from webapp.extensions import db
from webapp.models import Blog, Tag, User, blog_tags
from webapp.services import blog_list
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery

#: LIST_SORT_MAX_ROWS: every arm walks the list's order / every arm is read and sorted.
WALK, SORT = 0, 1_000_000


def paged_ids(search: str = "", filters: BlogFilters | None = None, per_page: int = 3) -> list[int]:
    """Every page of the list, by number, end to end (the arms' offsets cross from one arm
    to the next), checking each page's count."""
    ids: list[int] = []
    page_number = 1
    while True:
        query = ListQuery(search=search, per_page=per_page, page=page_number)
        page = blog_list.list_blogs(query, filters or BlogFilters())
        if page.page != page_number:  # past the end: the last page again
            return ids
        ids.extend(row.id for row in page.items)
        assert page.total >= len(ids)
        if len(page.items) < per_page:
            assert page.total == len(ids)
            return ids
        page_number += 1


@pytest.mark.parametrize("sort_max", [WALK, SORT], ids=["walk", "sort"])
def test_a_search_lists_what_a_plain_scan_finds_whichever_way_it_reads(any_app, sort_max):
    any_app.config["LIST_SORT_MAX_ROWS"] = sort_max
    with any_app.app_context():
        blogs = write_corpus()
        found = {query: paged_ids(query) for query in QUERIES}
    assert found == {query: expected_ids(blogs, query) for query in QUERIES}


@pytest.mark.parametrize("sort_max", [WALK, SORT], ids=["walk", "sort"])
def test_one_tag_lists_its_blogs_newest_first_whichever_way_it_reads(any_app, sort_max):
    any_app.config["LIST_SORT_MAX_ROWS"] = sort_max
    with any_app.app_context():
        author = User(username="writer", email="writer@example.com", password_hash="x")
        tags = [Tag(name=f"tag {i}", slug=f"tag-{i}") for i in range(3)]
        db.session.add_all([author, *tags])
        db.session.flush()
        tagged: dict[int, list[tuple[object, int]]] = {tag.id: [] for tag in tags}
        for number in range(20):
            created = START + timedelta(minutes=(number * 7) % 20)  # out of id order
            blog = Blog(title=f"post {number}", body="", slug=f"post-{number}", author_id=author.id,
                        created_at=created)
            db.session.add(blog)
            db.session.flush()
            for tag in tags[: 1 + number % 3]:  # 20, 13 and 6 blogs
                db.session.execute(insert(blog_tags).values(blog_id=blog.id, tag_id=tag.id))
                tagged[tag.id].append((created, blog.id))
        db.session.commit()
        for tag_id, blogs in tagged.items():
            expected = [blog_id for _created, blog_id in sorted(blogs, reverse=True)]
            assert paged_ids(filters=BlogFilters(tags=(tag_id,))) == expected


@pytest.mark.parametrize(("sort_max", "in_rows"), [(WALK, False), (SORT, True)], ids=["walk", "sort"])
def test_sqlite_reads_an_arm_from_the_index_only_when_it_is_small(any_app, sort_max, in_rows):
    """SQLite, many matches: the rows walk the list's order (no index read in the page's
    rows); few: they come from the FTS5 index. The count comes from the index either way.
    PostgreSQL is given the walking form, whatever the count: its planner chooses."""
    any_app.config["LIST_SORT_MAX_ROWS"] = sort_max
    with any_app.app_context():
        write_corpus(CORPUS)
        count, rows, _order = blog_list.page_statements(ListQuery(search="data"), BlogFilters())
        count_sql, rows_sql = (str(statement.compile(db.engine)) for statement in (count, rows))
        if db.engine.dialect.name == "sqlite":
            assert "blogs_fts" in count_sql
            assert ("blogs_fts" in rows_sql) is in_rows
        else:
            assert "ILIKE" in rows_sql and "UNION ALL" in rows_sql


@pytest.mark.parametrize("sort", ["author", "-author", "title", ""])
def test_all_matching_ids_come_in_the_lists_order(any_app, sort):
    """"Select all N matching" and the downloads read the ids alone (no author join unless
    the list is sorted by author): the order of the pages, every blog once."""
    with any_app.app_context():
        writers = [User(username=name, email=f"{name}@example.com", password_hash="x")
                   for name in ("bo", "al")]
        db.session.add_all(writers)
        db.session.flush()
        for number in range(7):
            db.session.add(Blog(title=f"post {number % 3}", body="", slug=f"p-{number}",
                                author_id=writers[number % 2].id))
        db.session.commit()
        query = ListQuery(sort=sort.lstrip("-"), desc=sort.startswith("-"), per_page=100)
        listed = [row.id for row in blog_list.list_blogs(query, BlogFilters()).items]
        assert list(blog_list.matching_ids(query, BlogFilters(), batch=2)) == listed
        assert len(listed) == 7
