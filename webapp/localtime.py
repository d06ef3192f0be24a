"""The display time zone: converting stored UTC to local time and back, and fast formatting."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app


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


def short(value: datetime | None) -> str:
    """``2024-05-01 14:03`` in the display time zone (cheap enough for every list cell)."""
    if value is None:
        return ""
    return value.astimezone(display_zone()).replace(tzinfo=None).isoformat(" ", "minutes")
