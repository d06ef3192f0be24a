"""Pagination, sorting and search shared by every list (pages and API alike)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from webapp.extensions import db
from webapp.services.limits import MAX_PAGE

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
        return cls(
            page=min(max(_int(args.get("page"), 1), 1), MAX_PAGE),
            per_page=per_page,
            sort=sort.lstrip("-"),
            desc=desc,
            search=args.get("q", "").replace("\x00", "").strip()[:200],
            filters=filters,
        )


def _int(value: str | None, default: int) -> int:
    """``value`` in ASCII digits as an int; ``default`` for anything else, or more than 9 digits."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return default
    return int(value)


def contains(column: Any, text: str) -> Any:
    """Case-insensitive "contains" that treats % and _ in ``text`` literally.

    On SQLite, plain LIKE is already case-insensitive (for ASCII letters); ILIKE
    would call lower() on every row, which there is a Python function (see
    extensions.py) and makes a search over 10,000 bodies several times slower.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if db.engine.dialect.name == "sqlite":
        return column.like(f"%{escaped}%", escape="\\")
    return column.ilike(f"%{escaped}%", escape="\\")


@dataclass
class Page(Generic[T]):
    """One page of results with what the pager needs."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show, with None where the pager prints an ellipsis."""
        shown = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        out: list[int | None] = []
        for number in numbers:
            if out and number - (out[-1] or 0) > 1:
                out.append(None)
            out.append(number)
        return out


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
    """Count, then fetch the requested page of ``stmt``, sorted.

    ``count_stmt`` (default ``stmt``) is counted without ORDER BY; pass a leaner
    one when ``stmt`` joins or selects more than the filters need. ``rows``
    returns result rows instead of the first column's objects. A page past the
    end shows the last page rather than an empty one.
    """
    counted = (count_stmt if count_stmt is not None else stmt).order_by(None)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    pages = max(math.ceil(total / query.per_page), 1)
    page = min(query.page, pages)
    paged = (
        stmt.order_by(*order_by(query, sortable, default_sort, tiebreak))
        .limit(query.per_page)
        .offset((page - 1) * query.per_page)
    )
    result = db.session.execute(paged)
    items = list(result.all() if rows else result.scalars().all())
    return Page(items=items, total=total, page=page, per_page=query.per_page)
