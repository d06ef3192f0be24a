"""Parsing list filters from query arguments, shared by the pages and the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from webapp.models import BlogStatus
from webapp.services.errors import ValidationError
from webapp.services.limits import ID_DIGITS, MAX_DAY, MIN_DAY, within_ids


@dataclass(frozen=True)
class BlogFilters:
    """Validated blog filters: tag ids (all must match), author id, status, created range."""

    tags: tuple[int, ...] = ()
    author: int | None = None
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.tags or self.author is not None or self.status or self.since or self.until)


def parse_blog_filters(args: Any) -> BlogFilters:
    """Read ``tag`` (repeatable), ``author``, ``status``, ``since``, ``until`` (YYYY-MM-DD).

    Raises ValidationError naming each bad parameter.
    """
    errors: dict[str, list[str]] = {}
    tags: list[int] = []
    for value in _getlist(args, "tag"):
        if is_id(value):
            tags.append(int(value))
        elif value:
            errors["tag"] = [_("Tags are given by their numeric id.")]
    author = args.get("author") or None
    if author is not None and not is_id(str(author)):
        errors["author"] = [_("The author is given by their numeric id.")]
        author = None
    status = args.get("status") or ""
    if status and status not in set(BlogStatus):
        errors["status"] = [_("Choose draft or published.")]
    since = parse_day(args.get("since"), "since", errors)
    until = parse_day(args.get("until"), "until", errors)
    if errors:
        raise ValidationError(errors)
    raw = {"tag": [str(t) for t in tags], "author": author or "", "status": status,
           "since": args.get("since") or "", "until": args.get("until") or ""}
    return BlogFilters(
        tags=tuple(dict.fromkeys(tags)),
        author=int(author) if author is not None else None,
        status=status,
        since=day_range_utc(since, until)[0],
        until=day_range_utc(since, until)[1],  # inclusive of the whole last day
        raw=raw,
    )


def is_id(value: str) -> bool:
    """True for a positive database id written in ASCII digits (fits an INTEGER column).

    ``str.isdigit()`` and ``int()`` alone also accept other scripts' digits
    (fullwidth "\\uff11\\uff12", Arabic-Indic "\\u0661\\u0662"), so the ASCII check comes first.
    The length check comes before ``int()``, which refuses more than 4,300 digits with an error.
    """
    return value.isascii() and value.isdigit() and len(value) <= ID_DIGITS and within_ids(int(value))


def ascii_int(value: Any) -> int:
    """``int(value)`` for ASCII digits only (an int passes as it is); ValueError otherwise.

    The ``coerce`` of id menus and the parser of version fields: Python's ``int()``
    reads fullwidth or Arabic-Indic digits as numbers, and no id or version is written that way.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(f"not a number in ASCII digits: {value!r}")


def parse_ids(values: Any) -> list[int]:
    """The valid ids among ``values``; anything else is dropped."""
    return [int(v) for v in values if is_id(str(v))]


def parse_day(value: str | None, name: str, errors: dict[str, list[str]]) -> date | None:
    """A YYYY-MM-DD day within MIN_DAY..MAX_DAY, or None with a message in ``errors``."""
    if not value:
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        errors[name] = [_("Use a date like 2024-12-31.")]
        return None
    if not MIN_DAY <= day <= MAX_DAY:
        errors[name] = [_("Use a date between %(first)s and %(last)s.", first=MIN_DAY.isoformat(),
                          last=MAX_DAY.isoformat())]
        return None
    return day


def day_range_utc(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """[start of ``since``, end of ``until``) in the display time zone, as UTC."""
    return (_local_midnight_utc(since) if since else None,
            _local_midnight_utc(until) + timedelta(days=1) if until else None)


def _getlist(args: Any, name: str) -> list[str]:
    if hasattr(args, "getlist"):
        return [str(v) for v in args.getlist(name)]
    value = args.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _local_midnight_utc(day: date) -> datetime:
    """Midnight of ``day`` in the display time zone, as UTC."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
