"""Rows packed into one JSON value on SQLite, for the queries every request runs.

Python's sqlite3 module releases the GIL around each column of each row it
fetches (and around each step). Under a threaded server, with other requests
waiting for the GIL, every release is a thread switch: a row of ten columns is
a dozen switches, and the switching costs more than the query. Packed with
``json_array`` the row is one column, one release. Values come back as JSON
gives them (text, numbers, null) and go through each column's own result
processor, so callers get what a plain select would have given them.
Other databases fetch a whole result in one call and take the plain select.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection, Dialect, Engine


def is_packing(connection: Connection | Engine) -> bool:
    """Whether rows are worth packing on this connection or engine (SQLite only)."""
    return connection.dialect.name == "sqlite"


def first_row(connection: Connection, statement: Any, params: dict[str, Any],
              packing: bool | None = None) -> dict[str, Any] | None:
    """The first row of ``statement`` as {column key: value}, as a plain select gives it.

    Where rows are worth packing (``is_packing``; ``packing`` forces either way) the row
    comes as one JSON value, each value through its column's result processor.
    """
    if not (is_packing(connection) if packing is None else packing):
        row = connection.execute(statement, params).first()
        return None if row is None else dict(row._mapping)
    columns = list(statement.selected_columns)
    text = connection.scalar(statement.with_only_columns(func.json_array(*columns)), params)
    if text is None:
        return None
    values = _processed(_processors(connection.dialect, columns), json.loads(text))
    return {column.key: value for column, value in zip(columns, values, strict=True)}


def _processors(dialect: Dialect, columns: Sequence[Any]) -> list[Any]:
    """Each column's result processor (None: the JSON value is already right)."""
    return [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]


def _processed(processors: Sequence[Any], values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(value if process is None or value is None else process(value)
                 for process, value in zip(processors, values, strict=True))


def count_and_rows(connection: Connection, count: Any, rows: Any, order: Sequence[Any],
                   params: dict[str, Any], packing: bool | None = None) -> tuple[int, list[tuple[Any, ...]]]:
    """A list page: how many rows match (``count``, one number) and the page (``rows``, in
    ``order``), as a plain select would give them.

    Where rows are worth packing (``is_packing``; ``packing`` forces either way), both come
    from one statement as one row: the count and the page packed as JSON (see
    ``all_rows``). Elsewhere: two plain statements.
    """
    if not (is_packing(connection) if packing is None else packing):
        total = connection.scalar(count, params) or 0
        return total, [tuple(row) for row in connection.execute(rows, params)]
    total, text = connection.execute(
        select(count.scalar_subquery(), packed_rows(_numbered(rows, order)).scalar_subquery()), params).one()
    return total or 0, _unpacked(connection.dialect, rows, text)


def all_rows(connection: Connection, rows: Any, order: Sequence[Any], params: dict[str, Any] | None = None,
             packing: bool | None = None) -> list[tuple[Any, ...]]:
    """Every row of ``rows`` (in ``order``), as a plain select would give them.

    Where rows are worth packing, they come as one JSON value, each row with its
    position (an aggregate's input order is not guaranteed), and each value goes
    through its column's result processor. Elsewhere: the plain statement.
    """
    if not (is_packing(connection) if packing is None else packing):
        return [tuple(row) for row in connection.execute(rows, params or {})]
    text = connection.scalar(packed_rows(_numbered(rows, order)), params or {})
    return _unpacked(connection.dialect, rows, text)


def _numbered(rows: Any, order: Sequence[Any]) -> Any:
    return rows.add_columns(func.row_number().over(order_by=order).label("position"))


def _unpacked(dialect: Dialect, rows: Any, text: str | None) -> list[tuple[Any, ...]]:
    processors = _processors(dialect, rows.selected_columns)
    return [_processed(processors, row[:-1]) for row in sorted(unpack_rows(text), key=_position)]


def _position(row: list[Any]) -> int:
    return row[-1]  # type: ignore[no-any-return]


def packed_rows(statement: Any, reals: Sequence[int] = ()) -> Any:
    """All of ``statement``'s rows as one JSON array of arrays, in no particular order.

    JSON keeps only 15 significant digits of a REAL: the columns at the positions
    in ``reals`` come as exact text instead (``float()`` reads them back).
    """
    rows = statement.subquery()
    columns = [exact_real(column) if index in reals else column for index, column in enumerate(rows.c)]
    return select(func.json_group_array(func.json_array(*columns)))


def unpack_rows(text: str | None) -> list[list[Any]]:
    """The rows of a ``packed_rows`` value."""
    return json.loads(text) if text else []


def exact_real(column: Any) -> Any:
    """A REAL as text that reads back as the same float (``float(text)``), NULL as NULL."""
    return case((column.is_(None), None), else_=func.printf("%!.17g", column))
