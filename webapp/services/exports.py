"""Streamed CSV and JSON downloads of the filtered lists, in constant memory.

Each list's rows come from its service's ``iter_*`` function: the rows the list
pages through, in its order. They are read in batches (``yield_per``) and written
out as they come, so exporting 100,000 blogs never holds 100,000 rows in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services import users as user_service
from webapp.services.filters import BlogFilters
from webapp.services.paging import ListQuery

BATCH = 1000

BLOG_COLUMNS = ("id", "title", "slug", "status", "publish_at", "author", "tags", "created_at",
                "updated_at")
USER_COLUMNS = ("id", "username", "email", "role", "active", "created_at", "last_login_at")
TAG_COLUMNS = ("id", "name", "slug", "colour", "description", "usage", "created_at")


def blog_records(query: ListQuery, filters: BlogFilters) -> Iterator[dict[str, Any]]:
    """Every blog the list shows with these filters, in its order, batch by batch."""
    for row in blog_service.iter_blogs(query, filters, batch=BATCH):
        yield {"id": row.id, "title": row.title, "slug": row.slug, "status": row.status,
               "publish_at": row.publish_at, "author": row.author_name,
               "tags": [t.name for t in row.tags], "created_at": row.created_at,
               "updated_at": row.updated_at}


def user_records(query: ListQuery) -> Iterator[dict[str, Any]]:
    """Every user the list shows with these filters, in its order (never the password hash)."""
    for row in user_service.iter_users(query, batch=BATCH):
        yield {column: getattr(row, column) for column in USER_COLUMNS}


def tag_records(query: ListQuery) -> Iterator[dict[str, Any]]:
    """Every tag the list shows, in its order, with its usage count."""
    for row in tag_service.iter_tags(query, batch=BATCH):
        tag = row.tag
        yield {"id": tag.id, "name": tag.name, "slug": tag.slug, "colour": tag.colour,
               "description": tag.description, "usage": row.usage, "created_at": tag.created_at}


def as_csv(records: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> Iterator[str]:
    """CSV text in chunks: a header, then one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for count, record in enumerate(records, start=1):
        writer.writerow([_csv_value(record[c]) for c in columns])
        if count % BATCH == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def as_json(records: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> Iterator[str]:
    """A JSON array written element by element."""
    yield "["
    chunk: list[str] = []
    first = True
    for record in records:
        text = json.dumps({c: record[c] for c in columns}, default=_json_default, ensure_ascii=False)
        chunk.append(text if first else "," + text)
        first = False
        if len(chunk) >= BATCH:
            yield "\n".join(chunk)
            chunk = []
    yield "\n".join(chunk) + "]\n"


FORMATS: dict[str, tuple[str, Callable[..., Iterator[str]]]] = {
    "csv": ("text/csv; charset=utf-8", as_csv),
    "json": ("application/json", as_json),
}


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        value = ", ".join(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # spreadsheet formula injection
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
