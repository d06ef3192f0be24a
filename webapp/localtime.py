"""The display time zone: converting stored UTC to local time and back, and formatting."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_timedelta


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def display_zone() -> ZoneInfo:
    """The configured display time zone (``BABEL_DEFAULT_TIMEZONE``)."""
    return _zone(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_local(value: datetime) -> datetime:
    """A UTC datetime in the display time zone."""
    return value.astimezone(display_zone())


def from_local(naive: datetime) -> datetime:
    """A naive local time typed into a form, as aware UTC."""
    return naive.replace(tzinfo=display_zone()).astimezone(UTC)


def short(value: datetime | None, zone: ZoneInfo | None = None, seconds: bool = False) -> str:
    """``2024-05-01 14:03`` in the display time zone (``seconds``: ``14:03:27``, for runs)."""
    if value is None:
        return ""
    local = value.astimezone(zone or display_zone()).replace(tzinfo=None)
    return local.isoformat(" ", "seconds" if seconds else "minutes")


def relative(value: datetime | None) -> str:
    """``in 5 minutes`` / ``3 hours ago`` in the request's language ("" for None)."""
    if value is None:
        return ""
    return format_timedelta(value - datetime.now(UTC), add_direction=True, granularity="second")
