"""The blog list: lean queries for the busiest page, shared by the pages, the API and exports."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.engine import Dialect

from webapp.extensions import db
from webapp.models import Blog, Role, Tag, User, blog_tags
from webapp.models.types import UTCDateTime
from webapp.services import blog_shapes
from webapp.services.common import among
from webapp.services.filters import BlogFilters
from webapp.services.packed import all_rows, count_and_rows
from webapp.services.paging import (
    Keyset,
    ListQuery,
    Page,
    capped_count,
    default_sort,
    order_by,
    read_page,
)
from webapp.services.search import TitleParts, matches, title_first, title_parts


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
    #: The title in (text, marked) pieces: marked where the list's search text is.
    title_parts: TitleParts = ()


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


def tag_names(ids: Sequence[int]) -> dict[int, list[str]]:
    """The tag names of these blogs (a download's batch), in ``name_order``, by blog id.

    One grouped query for the batch: over 500 rows it costs a fraction of ``TAG_LIST``,
    a subquery per row (which suits a page of 20, in the same statement as its rows).
    """
    names = func.aggregate_strings(Tag.name, literal_column(f"'{_ITEM}'", String))  # type: ignore[arg-type]
    statement = (select(blog_tags.c.blog_id, names).join(Tag, Tag.id == blog_tags.c.tag_id)
                 .where(among(blog_tags.c.blog_id, ids)).group_by(blog_tags.c.blog_id))
    return {blog_id: sorted(packed.split(_ITEM), key=name_order)
            for blog_id, packed in db.session.connection().execute(statement).all()}


def list_blogs(query: ListQuery, filters: BlogFilters) -> Page[BlogRow]:
    """One page of blogs: the page, the API and (page by page) nothing else build rows.

    Two queries whatever the page size or page number (one on SQLite, see
    ``packed.count_and_rows``):

    1. the count: only the filters, no join, no ORDER BY, at most ``COUNT_CAP`` + 1 rows
       (past it the page says "10,000+", see ``paging.read_page``);
    2. the rows: ids picked by an index-only "deferred join" (so page 400 does not
       join 8,000 skipped rows), then only the listed columns, the author's name and
       the tags packed per row. Plain Core rows, no ORM entities. In the default order
       and by id, a page link past the counted pages carries a cursor (``?after=``,
       ``?before=``: see ``paging.Keyset``), and the ids are sought from it instead.

    A page past the end is the last page (one more query; two past a capped count).
    """
    keyset = _keyset(query)
    seek = keyset.seek_of(query) if keyset is not None else None
    connection = db.session.connection()

    def read(page_number: int, by_cursor: bool, limit: int) -> tuple[int, list[BlogRow]]:
        asked = query if by_cursor else replace(query, after="", before="")
        count, rows, order = page_statements(asked, filters)
        params = {"page_limit": query.per_page + 1, "count_limit": limit,
                  "page_offset": 0 if by_cursor else (page_number - 1) * query.per_page}
        total, found = count_and_rows(connection, count, rows, order, params)
        return total, [blog_row(row, query.search) for row in found]

    return read_page(read, query, seek, None if keyset is None else partial(_row_key, keyset))


def page_statements(query: ListQuery, filters: BlogFilters) -> tuple[Any, Any, tuple[Any, ...]]:
    """The count and rows statements of a list page (``:page_limit``, ``:page_offset``,
    ``:count_limit``, by default ``COUNT_CAP`` + 1), and the rows' order (see ``list_blogs``).
    With a cursor of this order in ``query``, the ids are sought from it (no offset)."""
    shape = blog_shapes.shape_for(query, filters)
    if shape is not None:
        return shape.count, _rows_statement(true(), shape.order, shape.ids), shape.order
    conditions = _conditions(query.search, filters)
    order = _order(query)
    count = capped_count(select(Blog.id).where(*conditions), estimated=bool(query.search))
    ids = select(Blog.id).where(*conditions)
    if query.sort == "author":
        ids = ids.join(User, User.id == Blog.author_id)
    keyset = _keyset(query)
    seek = keyset.seek_of(query) if keyset is not None else None
    if keyset is not None and seek is not None:
        ids = ids.where(keyset.condition(seek)).order_by(*keyset.order(seek))
    else:
        ids = ids.order_by(*order)
    ids = ids.limit(bindparam("page_limit")).offset(bindparam("page_offset"))
    return count, _rows_statement(Blog.id.in_(ids.scalar_subquery()), order), order


def _keyset(query: ListQuery) -> Keyset | None:
    """How pages are sought by cursor in ``query``'s order: newest first (the default) or by
    id, either way round, unless a search ranks the rows first; else None."""
    sort = default_sort(query, SORTABLE, "created_at", desc=True)
    if sort.sort not in ("created_at", "id") or len(_order(query)) != 2:
        return None
    return Keyset(SORTABLE[sort.sort], Blog.id, sort.desc)


def _row_key(keyset: Keyset, row: BlogRow) -> str:
    """The cursor of a list row (see ``paging.Keyset``)."""
    return keyset.key(row.id if keyset.column is Blog.id else row.created_at, row.id)


def iter_blogs(query: ListQuery, filters: BlogFilters, batch: int = 1000) -> Iterator[BlogRow]:
    """Every blog the list shows with these filters, in its order, as its pages show them
    (the downloads): the same columns and row builder, read ``batch`` rows at a time."""
    order = _order(query)
    statement = _rows_statement(and_(true(), *_conditions(query.search, filters)), order)
    result = db.session.execute(statement.execution_options(yield_per=batch))
    for partition in result.partitions():
        yield from (blog_row(row) for row in partition)


def matching_ids(query: ListQuery, filters: BlogFilters, batch: int = 10_000) -> Sequence[int]:
    """The ids of every blog the list shows with these filters, in its order ("all N matching").

    Read ``batch`` rows at a time into an array of 8-byte integers: a million ids take
    8 MB, where a list of Python ints from one fetch of every row takes several times that.
    """
    statement = select(Blog.id).where(*_conditions(query.search, filters)).order_by(*_order(query))
    if query.sort == "author":
        statement = statement.join(User, User.id == Blog.author_id)
    ids = array("q")
    result = db.session.connection().execute(statement.execution_options(yield_per=batch))
    for partition in result.scalars().partitions():  # Core rows: no ORM step per id
        ids.extend(partition)
    return ids


def count_matching(query: ListQuery, filters: BlogFilters) -> int:
    """How many blogs the list shows with these filters: every one, not capped as the pages count."""
    matching = select(Blog.id).where(*_conditions(query.search, filters)).subquery()
    return db.session.scalar(select(func.count()).select_from(matching)) or 0


def _rows_statement(where: ColumnElement[bool], order: tuple[Any, ...], ids: Any = None) -> Any:
    """The list's columns of the blogs ``where`` holds (and in ``ids``, a subquery), in ``order``."""
    statement = select(*LIST_COLUMNS, TAG_LIST).join(User, User.id == Blog.author_id)
    if ids is not None:
        statement = statement.join(ids, ids.c.id == Blog.id)
    return statement.where(where).order_by(*order)


def _order(query: ListQuery) -> tuple[Any, ...]:
    """ORDER BY for the list: the chosen column (newest first by default), then the id.

    A search without a chosen column ranks first: blogs with the text in their title
    before those with it only in their body (``search.title_first``).
    """
    order = order_by(default_sort(query, SORTABLE, "created_at", desc=True), SORTABLE, "created_at", Blog.id)
    if query.search and query.sort not in SORTABLE:
        return (title_first(query.search), *order)
    return order


def blog_row(row: Sequence[Any], search: str = "") -> BlogRow:
    """A list row from the columns of ``LIST_COLUMNS`` (in BlogRow's field order) and the packed
    tags, its title marked where ``search`` is."""
    *values, packed = row
    return BlogRow(*values, tags=_tags(packed) if packed else [], title_parts=title_parts(values[1], search))


def _tags(packed: str) -> list[TagRef]:
    """The tags of one row, ordered by name regardless of case (on every page and download)."""
    tags = []
    for item in packed.split(_ITEM):
        tag_id, name, colour, slug = item.split(_FIELD)
        tags.append(TagRef(int(tag_id), name, colour, slug))
    tags.sort(key=tag_order)
    return tags


def tag_order(tag: TagRef) -> tuple[str, str]:
    """How a blog's tags are listed: by name regardless of case, then as written."""
    return name_order(tag.name)


def name_order(name: str) -> tuple[str, str]:
    """The order of tag names (``tag_order``), for a list of names alone."""
    return name.casefold(), name


def _conditions(search: str, filters: BlogFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if search:
        conditions.append(matches(search))
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


def author_choices() -> list[tuple[int, str]]:
    """(id, username) of everyone who wrote a blog or may write one, for select menus."""
    wrote = exists().where(Blog.author_id == User.id)
    order = (User.username, User.id)
    stmt = select(User.id, User.username).where(
        or_(wrote, User.active.is_(True) & User.role.in_([Role.EDITOR, Role.ADMIN]))
    ).order_by(*order)
    return [(user_id, name) for user_id, name in all_rows(db.session.connection(), stmt, order)]
