"""Pagination, sorting and search shared by every list (pages and API alike)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from webapp.extensions import db
from webapp.services.limits import MAX_ID, MAX_PAGE

T = TypeVar("T")


@dataclass(frozen=True)
class ListQuery:
    """What a list asks for: page, size, sort key and direction, search text, filters."""

    page: int = 1
    per_page: int = 20
    sort: str = ""
    desc: bool = False
    search: str = ""
    filters: Mapping[str, Any] = field(default_factory=dict)
    #: A page link's keyset cursor (the list's own text, see ``Page.last_key``): the page
    #: starts right after that row (``after``) or ends right before it (``before``).
    after: str = ""
    before: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str], filter_names: Sequence[str] = ()) -> ListQuery:
        """Build from request arguments, clamping anything out of range."""
        sizes = current_app.config["PAGE_SIZES"]
        per_page = _int(args.get("per_page"), sizes[0])
        if per_page not in sizes:
            per_page = sizes[0]
        sort = args.get("sort", "")
        desc = sort.startswith("-")
        filters = {name: args[name] for name in filter_names if args.get(name, "") != ""}
        page = min(max(_int(args.get("page"), 1), 1), MAX_PAGE)
        # A cursor belongs to the link to one page: a new sort, filter or size starts at
        # page 1 (those links drop the page) and so drops any cursor as well.
        return cls(
            page=page,
            per_page=per_page,
            sort=sort.lstrip("-"),
            desc=desc,
            search=args.get("q", "").replace("\x00", "").strip()[:200],
            filters=filters,
            after=_cursor(args.get("after")) if page > 1 else "",
            before=_cursor(args.get("before")) if page > 1 else "",
        )


def _int(value: str | None, default: int) -> int:
    """``value`` in ASCII digits as an int; ``default`` for anything else, or more than 9 digits."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return default
    return int(value)


def _cursor(value: str | None) -> str:
    """A cursor as sent: printable ASCII, at most 64 characters; "" for anything else
    (the list parses it, and pages by number when it does not read)."""
    if value is None or len(value) > 64 or not value.isascii() or not value.isprintable():
        return ""
    return value


def count_limit() -> int:
    """The most rows a list's total counts: ``COUNT_CAP`` and one more, to know it was passed."""
    return int(current_app.config["COUNT_CAP"]) + 1


#: How many times the cap PostgreSQL's estimate must be to stand for a count (``capped_count``):
#: its estimates of a search are seldom off by more than a few times, and a wrong one only
#: says "10,000+" of a list that has fewer rows (the rows themselves are read, not estimated).
ESTIMATE_MARGIN = 10


def capped_count(statement: Select[Any], estimated: bool = False) -> Select[Any]:
    """``SELECT count(*)`` of at most ``:count_limit`` rows of ``statement`` (by default
    ``count_limit()``): a list's total, which stops counting past its cap.

    ``estimated``: for a statement each of whose rows costs much to test (a search, whose
    count tests ten thousand bodies to reach the cap when one blog in three matches). On
    PostgreSQL, when the planner expects ``ESTIMATE_MARGIN`` times the cap or more, the
    statement answers ``:count_limit`` itself (the list says "10,000+") without counting.
    """
    limit = bindparam("count_limit", count_limit(), type_=Integer)
    if estimated and (planned_rows(statement) or 0) >= ESTIMATE_MARGIN * count_limit():
        return select(limit)
    return select(func.count()).select_from(statement.limit(limit).subquery())


def planned_rows(statement: Select[Any]) -> float | None:
    """PostgreSQL's estimate of how many rows ``statement`` returns (``EXPLAIN``: planned, not
    run); None on other databases."""
    if db.engine.dialect.name != "postgresql":
        return None
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}",
                                                   compiled.params).scalar()
    return float(plan[0]["Plan"]["Plan Rows"])


def capped_total(counted: int) -> tuple[int, bool]:
    """The total a list shows for a count of at most ``count_limit()`` rows, and whether it
    is capped (then at least that many rows match: "10,000+")."""
    cap = int(current_app.config["COUNT_CAP"])
    return (cap, True) if counted > cap else (counted, False)


def contains(column: Any, text: str) -> Any:
    """Case-insensitive "contains" that treats % and _ in ``text`` literally.

    On SQLite, plain LIKE is already case-insensitive (for ASCII letters); ILIKE
    would call lower() on every row, which there is a Python function (see
    extensions.py) and makes a search over 10,000 bodies several times slower.
    """
    if db.engine.dialect.name == "sqlite":
        return column.like(contains_pattern(text), escape="\\")
    return column.ilike(contains_pattern(text), escape="\\")


def contains_pattern(text: str) -> str:
    """The ``LIKE`` pattern of "contains ``text``", its ``%``, ``_`` and ``\\`` taken
    literally (with ``ESCAPE '\\'``)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass
class Page(Generic[T]):
    """One page of results with what the pager needs.

    A capped total (``total_capped``) is a lower bound: ``pages`` then counts the pages
    of the counted rows only, and ``more`` says whether rows follow this page.
    """

    items: list[T]
    total: int
    page: int
    per_page: int
    #: The count stopped at ``COUNT_CAP``: at least ``total`` rows match.
    total_capped: bool = False
    #: Whether rows follow this page (read with it when the total is capped).
    more: bool = False
    #: Keyset cursors of the page's first and last rows, where the list's order allows
    #: them ("" elsewhere), and whether this page was found by one.
    first_key: str = ""
    last_key: str = ""
    by_cursor: bool = False

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if self.total_capped and self.page >= self.pages:
            return self.more
        return self.page < self.pages

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show, with None where the pager prints an ellipsis: the counted
        pages near this one, the first and last counted pages, and this page."""
        shown = {1, self.pages, self.page, *range(self.page - around, self.page + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages or n == self.page)
        out: list[int | None] = []
        for number in numbers:
            if out and number - (out[-1] or 0) > 1:
                out.append(None)
            out.append(number)
        return out

    def link_args(self, number: int) -> dict[str, Any] | None:
        """The list arguments of the link to page ``number`` (this page's neighbours and
        window) when its number alone is not the link, else None.

        A neighbour past the counted pages is reached by a cursor, so the database seeks
        to it rather than skipping every row before it; from a page found by a cursor, a
        link by number drops that cursor (the link to this page stays as it came).
        """
        if number == self.page:
            return None
        if number == self.page + 1 and number > self.pages and self.last_key:
            return {"page": number, "after": self.last_key, "before": None}
        if number == self.page - 1 and number > self.pages and self.first_key:
            return {"page": number, "after": None, "before": self.first_key}
        if self.by_cursor:
            return {"page": number, "after": None, "before": None}
        return None


def default_sort(query: ListQuery, sortable: Mapping[str, Any], column: str, desc: bool) -> ListQuery:
    """``query`` itself, or sorted by ``column`` when it asks for no known sort."""
    return query if query.sort in sortable else replace(query, sort=column, desc=desc)


def order_by(query: ListQuery, sortable: Mapping[str, Any], default_sort: str,
             tiebreak: InstrumentedAttribute[Any]) -> tuple[Any, Any]:
    """ORDER BY for a list: the requested column (or the default), then ``tiebreak``."""
    column = sortable.get(query.sort)
    if column is None:
        column = sortable[default_sort]
    if query.desc:
        return column.desc(), tiebreak.desc()
    return column.asc(), tiebreak.asc()


def paginate(
    stmt: Select[Any],
    query: ListQuery,
    sortable: Mapping[str, Any],
    default_sort: str,
    tiebreak: InstrumentedAttribute[Any],
    count_stmt: Select[Any] | None = None,
    rows: bool = False,
) -> Page[Any]:
    """Count (up to the cap), then fetch the requested page of ``stmt``, sorted.

    ``count_stmt`` (default ``stmt``) is counted without ORDER BY; pass a leaner
    one when ``stmt`` joins or selects more than the filters need. ``rows``
    returns result rows instead of the first column's objects. A page past the
    end shows the last page rather than an empty one (past a capped total, that
    takes a full count, once).
    """
    counted = (count_stmt if count_stmt is not None else stmt).order_by(None)
    total, capped = capped_total(_count(counted.limit(count_limit())))
    ordered = stmt.order_by(*order_by(query, sortable, default_sort, tiebreak))
    page = query.page if capped else min(query.page, max(math.ceil(total / query.per_page), 1))
    items = _page_items(ordered, page, query.per_page, rows)
    if capped and not items and page > 1:  # past the end of more rows than the cap
        total, capped = _count(counted), False
        page = max(math.ceil(total / query.per_page), 1)
        items = _page_items(ordered, page, query.per_page, rows)
    return Page(items=items[:query.per_page], total=total, page=page, per_page=query.per_page,
                total_capped=capped, more=len(items) > query.per_page)


def _count(counted: Select[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0


def _page_items(ordered: Select[Any], page: int, per_page: int, rows: bool) -> list[Any]:
    """Page ``page`` of ``ordered`` and the first row after it, if any (``Page.more``)."""
    result = db.session.execute(ordered.limit(per_page + 1).offset((page - 1) * per_page))
    return list(result.all() if rows else result.scalars().all())


# -- pages found by cursor (keyset pagination) ----------------------------------------------


@dataclass(frozen=True)
class Seek:
    """Where a page is sought: right after the row with ``value`` and ``row_id`` in list
    order (``forward``), or right before it (a previous page)."""

    value: Any
    row_id: int
    forward: bool


@dataclass(frozen=True)
class Keyset:
    """Pages of a list ordered by ``column`` then the unique ``tiebreak``, both ascending
    or both descending (``desc``), found by a cursor: the text of one row's values.

    A cursor is ``<id>`` when the list is ordered by ``tiebreak`` itself, else
    ``<value>,<id>`` (a date-time as ISO 8601 in UTC). A page after or before a cursor is
    read by seeking in the index of the order, whatever its depth, where ``OFFSET`` would
    read and skip every row before it.
    """

    column: Any
    tiebreak: Any
    desc: bool

    def key(self, value: Any, row_id: int) -> str:
        """The cursor of the row with these values."""
        if self.column is self.tiebreak:
            return str(row_id)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return f"{value},{row_id}"

    def seek_of(self, query: ListQuery) -> Seek | None:
        """The seek of ``query``'s cursor (``after`` before ``before``); None when it has
        none, or one that does not read as a cursor of this order."""
        forward = bool(query.after)
        text = query.after or query.before
        value, _comma, row_id = text.rpartition(",")
        if not row_id.isdigit() or len(row_id) > 10 or (self.column is self.tiebreak) == bool(_comma):
            return None
        if self.column is self.tiebreak:
            return Seek(int(row_id), int(row_id), forward)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is not None and moment.utcoffset():
            return None
        return Seek(moment.replace(tzinfo=UTC), int(row_id), forward)

    def condition(self, seek: Seek) -> ColumnElement[bool]:
        """The rows on the sought side of the cursor. Written so that an index on
        ``column`` (with the tiebreak, as SQLite's rowid) bounds the scan."""
        later = seek.forward != self.desc  # the sought rows have greater values
        if self.column is self.tiebreak:
            return self.tiebreak > seek.row_id if later else self.tiebreak < seek.row_id
        column, value = self.column, seek.value
        if later:
            return and_(column >= value, or_(column > value, self.tiebreak > seek.row_id))
        return and_(column <= value, or_(column < value, self.tiebreak < seek.row_id))

    def order(self, seek: Seek) -> tuple[Any, Any]:
        """ORDER BY from the cursor outwards: the list's order, reversed for a previous page."""
        if seek.forward != self.desc:
            return self.column.asc(), self.tiebreak.asc()
        return self.column.desc(), self.tiebreak.desc()


#: ``read(page, by_cursor, count_limit)``: how many rows match, counting at most
#: ``count_limit``, and the rows of page ``page`` plus the row after them (with
#: ``by_cursor``: the page and the row beyond it, seen from the query's cursor).
PageReader = Callable[[int, bool, int], tuple[int, list[T]]]


def read_page(read: PageReader[T], query: ListQuery, seek: Seek | None,
              key: Callable[[T], str] | None = None) -> Page[T]:
    """The page ``query`` asks for, from ``read``, as every list pages.

    The total is capped (``capped_total``). A page past the end is the last page; past
    a capped total, or after a cursor with nothing after it, finding the last page takes
    one full count. A previous page that reaches the first rows is page 1. ``key``: a
    row's cursor, for the pager's links (``Page.link_args``).
    """
    per_page, page, by_cursor = query.per_page, query.page, seek is not None
    counted, found = read(page, by_cursor, count_limit())
    if seek is not None and not seek.forward and len(found) <= per_page:
        page, by_cursor = 1, False  # nothing before these rows: they are the first page
        counted, found = read(page, by_cursor, count_limit())
    total, capped = capped_total(counted)
    if page > 1 and not found:  # past the end
        if capped or by_cursor:  # the count says too little to find the last page
            total = read(1, False, MAX_ID)[0]
        page, by_cursor = max(math.ceil(total / per_page), 1), False
        counted, found = read(page, by_cursor, count_limit())
        total, capped = capped_total(counted)
    backwards = by_cursor and seek is not None and not seek.forward
    items = found[-per_page:] if backwards else found[:per_page]
    result = Page(items=items, total=total, page=page, per_page=per_page, total_capped=capped,
                  more=backwards or len(found) > per_page, by_cursor=by_cursor)
    if key is not None and items:
        result.first_key, result.last_key = key(items[0]), key(items[-1])
    return result
