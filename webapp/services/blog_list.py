"""The blog list: lean queries for the busiest page, shared by the pages, the API and exports."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect

from webapp.extensions import db
from webapp.models import Blog, Role, Tag, User, blog_tags
from webapp.models.types import UTCDateTime
from webapp.services import choices
from webapp.services.filters import BlogFilters
from webapp.services.packed import is_packing, packed_rows
from webapp.services.paging import ListQuery, Page, contains, default_sort, order_by


class ListTime(UTCDateTime):
    """UTCDateTime as the list reads it: the same aware UTC values, made in one step.

    SQLite hands back the stored text ("2024-05-01 14:03:00.000000"); parsing it
    with its UTC offset costs a quarter of parsing it and then attaching the zone,
    which adds up over three timestamps a row. Other databases: as UTCDateTime.
    """

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            return None if value is None else parse(value + "+00:00")

        return process


def _listed(column: Any) -> Any:
    return type_coerce(column, ListTime()).label(column.key)


#: Columns a list row needs: no body, fetched as plain rows rather than entities.
LIST_COLUMNS = (Blog.id, Blog.title, Blog.slug, Blog.status, _listed(Blog.publish_at),
                _listed(Blog.created_at), _listed(Blog.updated_at), Blog.author_id, Blog.version,
                User.username.label("author_name"))
SORTABLE = {"id": Blog.id, "title": Blog.title, "slug": Blog.slug, "status": Blog.status,
            "publish_at": Blog.publish_at, "created_at": Blog.created_at,
            "updated_at": Blog.updated_at, "author": User.username}


@dataclass(frozen=True)
class TagRef:
    id: int
    name: str
    colour: str
    slug: str


@dataclass
class BlogRow:
    """A blog as a list shows it (no body)."""

    id: int
    title: str
    slug: str
    status: str
    publish_at: datetime | None
    created_at: datetime
    updated_at: datetime
    author_id: int
    version: int
    author_name: str
    tags: list[TagRef]


# The tags of a row, packed by the database into one string per blog (portable:
# group_concat on SQLite, string_agg on PostgreSQL). Names cannot contain the
# separators: tag names are whitespace-normalised and \x1e / \x1f count as whitespace.
# The item separator is written into the SQL as a literal: given as a string,
# aggregate_strings would make it a "post-compile" parameter, and the statement
# would be re-rendered on every execution.
_FIELD, _ITEM = "\x1e", "\x1f"
TAG_LIST = (
    select(func.aggregate_strings(
        cast(Tag.id, String) + _FIELD + Tag.name + _FIELD + Tag.colour + _FIELD + Tag.slug,
        literal_column(f"'{_ITEM}'", String),  # type: ignore[arg-type]
    ))
    .join(blog_tags, blog_tags.c.tag_id == Tag.id)
    .where(blog_tags.c.blog_id == Blog.id)
    .correlate(Blog)
    .scalar_subquery()
    .label("tag_list")
)


def list_blogs(query: ListQuery, filters: BlogFilters) -> Page[BlogRow]:
    """One page of blogs in two queries whatever the page size or page number.

    1. the count: only the filters, no join, no ORDER BY;
    2. the rows: ids picked by an index-only "deferred join" (so page 400 does not
       join 8,000 skipped rows), then only the listed columns, the author's name and
       the tags packed per row. Plain Core rows, no ORM entities.

    On SQLite both are one statement, and the page comes back packed as one JSON
    value (see ``_packed``). A page past the end is the last page (one more query).
    """
    conditions = _conditions(query.search, filters)
    connection = db.session.connection()
    packed = is_packing(connection)
    count_stmt, rows_stmt = _statements(query, conditions, packed)

    def params(page_number: int) -> dict[str, int]:
        return {"page_limit": query.per_page, "page_offset": (page_number - 1) * query.per_page}

    if packed:
        total, text = connection.execute(rows_stmt, params(query.page)).one()
        page_number = min(query.page, max(math.ceil(total / query.per_page), 1))
        if page_number != query.page:
            total, text = connection.execute(rows_stmt, params(page_number)).one()
        return Page(items=_unpack(text), total=total, page=page_number, per_page=query.per_page)
    total = connection.scalar(count_stmt) or 0
    page_number = min(query.page, max(math.ceil(total / query.per_page), 1))
    items = [_row(r) for r in connection.execute(rows_stmt, params(page_number))]
    return Page(items=items, total=total, page=page_number, per_page=query.per_page)


_UNFILTERED: dict[tuple[str, bool, bool], tuple[Any, Any]] = {}


def _statements(query: ListQuery, conditions: list[ColumnElement[bool]], packed: bool) -> tuple[Any, Any]:
    """The count and rows statements; limit and offset are bound parameters.

    The unfiltered list (the most common request) reuses statements built once per
    sort order, which saves building and cache-keying them on every request.
    """
    key = (query.sort if query.sort in SORTABLE else "", query.desc, packed)
    if not conditions and key in _UNFILTERED:
        return _UNFILTERED[key]
    order = _order(query)
    count_stmt = select(func.count()).select_from(select(Blog.id).where(*conditions).subquery())
    ids = select(Blog.id).where(*conditions)
    if query.sort == "author":
        ids = ids.join(User, User.id == Blog.author_id)
    ids = ids.order_by(*order).limit(bindparam("page_limit")).offset(bindparam("page_offset"))
    rows_stmt = (select(*LIST_COLUMNS, TAG_LIST).join(User, User.id == Blog.author_id)
                 .where(Blog.id.in_(ids.scalar_subquery())).order_by(*order))
    if packed:  # (count, page): one statement, one row
        rows_stmt = select(count_stmt.scalar_subquery(), _packed(rows_stmt, order).scalar_subquery())
    if not conditions:
        _UNFILTERED[key] = (count_stmt, rows_stmt)
    return count_stmt, rows_stmt


def _order(query: ListQuery) -> tuple[Any, Any]:
    """ORDER BY for the list: the chosen column (newest first by default), then the id."""
    return order_by(default_sort(query, SORTABLE, "created_at", desc=True), SORTABLE, "created_at", Blog.id)


def _packed(rows_stmt: Any, order: Any) -> Any:
    """The page as one value (see services.packed), each row ending with its position:
    an aggregate's input order is not guaranteed."""
    return packed_rows(rows_stmt.add_columns(func.row_number().over(order_by=order).label("position")))


#: Indexes of the timestamps in a packed row (publish_at, created_at, updated_at).
_PACKED_TIMES = (4, 5, 6)


#: Pages by their packed text (see ``_unpack``); bounded by clearing.
_PAGES: dict[str, list[BlogRow]] = {}
_PAGES_MAX = 256


def _unpack(text: str | None) -> list[BlogRow]:
    """BlogRows from a packed page: the same values as the rows path gives.

    The text holds every value of the page, so the same text is the same page: it
    is parsed once and the rows are shared (read only) by every request that gets
    that text back, and ``views.blog_rows`` renders them once (the query itself
    always runs: nothing here can be stale).
    """
    if not text:
        return []
    items = _PAGES.get(text)
    if items is not None:
        return items
    rows = json.loads(text)
    rows.sort(key=_position)
    parse = datetime.fromisoformat
    items = []
    for *values, packed, _ in rows:
        for index in _PACKED_TIMES:  # stored as naive UTC text, as ListTime reads it
            if values[index] is not None:
                values[index] = parse(values[index] + "+00:00")
        items.append(BlogRow(*values, tags=_tags(packed) if packed else []))
    if len(_PAGES) >= _PAGES_MAX:
        _PAGES.clear()
    _PAGES[text] = items
    return items


def _position(row: list[Any]) -> int:
    return row[-1]


def _row(row: Any) -> BlogRow:
    # Positional: LIST_COLUMNS are in BlogRow's field order, the packed tags last.
    *values, packed = row
    return BlogRow(*values, tags=_tags(packed) if packed else [])


#: Parsed tags by their packed text. The text holds every field, so an entry can
#: never be stale (a renamed or recoloured tag packs differently); bounded by
#: clearing, as the working set is the few dozen tags in use.
_TAG_REFS: dict[str, TagRef] = {}
_TAG_REFS_MAX = 4096


def _tags(packed: str) -> list[TagRef]:
    """The tags of one row, ordered by name regardless of case."""
    refs = _TAG_REFS
    tags = []
    for item in packed.split(_ITEM):
        tag = refs.get(item)
        if tag is None:
            tag_id, name, colour, slug = item.split(_FIELD)
            tag = TagRef(int(tag_id), name, colour, slug)
            if len(refs) >= _TAG_REFS_MAX:
                refs.clear()
            refs[item] = tag
        tags.append(tag)
    if len(tags) > 1:
        tags.sort(key=_tag_order)
    return tags


def _tag_order(tag: TagRef) -> str:
    return tag.name.lower()


def ordered_rows(query: ListQuery, filters: BlogFilters) -> Any:
    """Every matching row in list order, for streamed exports (no page limit)."""
    conditions = _conditions(query.search, filters)
    return (select(*LIST_COLUMNS).join(User, User.id == Blog.author_id).where(*conditions)
            .order_by(*_order(query)))


def attach_tags(rows: Sequence[Any]) -> list[BlogRow]:
    """Turn result rows into BlogRows, loading the tags of all of them in one query."""
    ids = [row.id for row in rows]
    tags_by_blog: dict[int, list[TagRef]] = {}
    if ids:
        tag_rows = db.session.execute(
            select(blog_tags.c.blog_id, Tag.id, Tag.name, Tag.colour, Tag.slug)
            .join(Tag, Tag.id == blog_tags.c.tag_id)
            .where(blog_tags.c.blog_id.in_(ids))
            .order_by(Tag.name)
        )
        for blog_id, *tag in tag_rows:
            tags_by_blog.setdefault(blog_id, []).append(TagRef(*tag))
    return [BlogRow(**row._mapping, tags=tags_by_blog.get(row.id, [])) for row in rows]


def _conditions(search: str, filters: BlogFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if search:
        conditions.append(or_(contains(Blog.title, search), contains(Blog.body, search)))
    for tag_id in filters.tags:  # every chosen tag must be present
        conditions.append(exists().where(blog_tags.c.blog_id == Blog.id, blog_tags.c.tag_id == tag_id))
    if filters.author is not None:
        conditions.append(Blog.author_id == filters.author)
    if filters.status:
        conditions.append(Blog.status == filters.status)
    if filters.since is not None:
        conditions.append(Blog.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(Blog.created_at < filters.until)
    return conditions


def author_choices() -> choices.Choices:
    """(id, username) of everyone who wrote a blog or may write one (cached, see services.choices)."""
    return choices.cached("authors", _load_author_choices)


def _load_author_choices() -> list[tuple[object, str]]:
    wrote = exists().where(Blog.author_id == User.id)
    stmt = select(User.id, User.username).where(
        or_(wrote, User.active.is_(True) & User.role.in_([Role.EDITOR, Role.ADMIN]))
    ).order_by(User.username)
    return [(user_id, name) for user_id, name in db.session.execute(stmt)]
