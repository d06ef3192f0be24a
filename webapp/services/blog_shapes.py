"""Query shapes for the two busiest narrowed lists: a search, and one tag.

The list's general statements (``blog_list.page_statements``) filter, then order: right
whatever the filters, but what they cost grows with the blogs that match. A search for a
common word matches a third of a million blogs; ranking them all to show twenty takes
seconds. Two requests are common enough to get a shape of their own, when nothing else
narrows the list and no column is chosen:

- **A search**, in two arms: the blogs with the text in their title, then those with it
  in their body only, each newest first (the rank of ``search.title_first``). Each arm
  reads at most the rows up to the end of the page, and the page is their union.
- **One tag**: counted by the tag's own ``blog_count`` (kept by the database), without
  the blogs or their links.

How an arm finds its rows depends on how many blogs it holds, which only the data knows
(SQLite's planner cannot tell, PostgreSQL's estimates from its statistics):

- few (at most ``LIST_SORT_MAX_ROWS``): read them from the index (FTS5 for a search, the
  tag's links for a tag) and sort them;
- many: walk the list's own order (the ``created_at`` index) and test each blog (``LIKE``
  on its title or body, or a look-up of its link), stopping at the end of the page. With
  one blog in a thousand matching, page 1 tests about 21,000.

On SQLite the service counts first (a capped count, from the same index) and writes the
arm in the chosen form; PostgreSQL is given the walking form and chooses itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    literal,
    not_,
    select,
    union_all,
)

from webapp.extensions import db
from webapp.models import Blog, Tag, blog_tags
from webapp.services import search as text_search
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery, capped_count, count_limit
from webapp.services.tags import usage_count

NEWEST = (Blog.created_at.desc(), Blog.id.desc())


@dataclass(frozen=True)
class Shape:
    """A list page's statements in this shape: the count (``:count_limit``), the page's
    ids with their rank (``:page_limit`` rows after ``:page_offset``), and the order of
    the rows by those columns."""

    count: Any
    ids: Any
    order: tuple[Any, ...]


def shape_for(query: ListQuery, filters: BlogFilters) -> Shape | None:
    """The shape of this list page, or None where the general statements apply."""
    if query.sort or query.after or query.before:
        return None
    if query.search and not filters.active:
        return _search(query.search)
    if not query.search and len(filters.tags) == 1 and not _other_filters(filters):
        return _tag(filters.tags[0])
    return None


def _other_filters(filters: BlogFilters) -> bool:
    return bool(filters.author is not None or filters.status or filters.since or filters.until)


def _sort_max() -> int:
    return int(current_app.config["LIST_SORT_MAX_ROWS"])


def _is_few(statement: Any) -> bool:
    """Whether ``statement`` (ids from an index) yields at most ``LIST_SORT_MAX_ROWS`` rows."""
    limit = _sort_max() + 1
    return (db.session.scalar(capped_count(statement), {"count_limit": limit}) or 0) < limit


def _search(search: str) -> Shape:
    in_title = text_search.in_text(Blog.title, search)
    in_body = text_search.in_text(Blog.body, search)
    title_arm, body_arm = in_title, and_(not_(in_title), in_body)
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite and text_search.indexed(search):
        found, titled = text_search.indexed_ids(search), text_search.indexed_ids(search, title_only=True)
        if _is_few(titled):
            title_arm = and_(Blog.id.in_(titled), in_title)
        if _is_few(text_search.indexed_ids(search, body_only=True)):
            body_arm = and_(Blog.id.in_(found), not_(in_title))
        count = capped_count(found)
    else:
        count = capped_count(select(Blog.id).where(text_search.matches(search)), estimated=True)
    end = bindparam("page_offset", type_=Integer) + bindparam("page_limit", type_=Integer)
    arms = [select(Blog.id, Blog.created_at, literal(rank, Integer).label("rank"))
            .where(condition).order_by(*NEWEST).limit(end).subquery()
            for rank, condition in enumerate((title_arm, body_arm))]
    both = union_all(*(select(arm) for arm in arms)).subquery()
    ids = (select(both.c.id, both.c.rank).order_by(both.c.rank, both.c.created_at.desc(), both.c.id.desc())
           .limit(bindparam("page_limit")).offset(bindparam("page_offset")).subquery())
    return Shape(count, ids, (ids.c.rank, *NEWEST))


def _tag(tag_id: int) -> Shape:
    links = select(blog_tags.c.blog_id).where(blog_tags.c.tag_id == tag_id)
    # The tag's own count (tags.blog_count, kept by the database), under the list's cap.
    limit = bindparam("count_limit", count_limit(), type_=Integer)
    count = select(case((Tag.blog_count > limit, limit), else_=Tag.blog_count)).where(Tag.id == tag_id)
    tagged: ColumnElement[bool]
    if db.engine.dialect.name == "sqlite" and usage_count(tag_id) <= _sort_max():
        tagged = Blog.id.in_(links)  # the tag's blogs, then sorted
    else:  # the newest blogs, each looked up among the tag's links
        tagged = exists().where(blog_tags.c.blog_id == Blog.id, blog_tags.c.tag_id == tag_id)
    ids = (select(Blog.id).where(tagged).order_by(*NEWEST)
           .limit(bindparam("page_limit")).offset(bindparam("page_offset")).subquery())
    return Shape(count, ids, NEWEST)
