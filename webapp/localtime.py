"""The display time zone: converting stored UTC to local time and back, and fast formatting."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta
from flask import current_app, g, has_request_context
from flask_babel import get_locale


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


def short(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    """``2024-05-01 14:03`` in the display time zone (cheap enough for every list cell;
    a list passes ``zone``, looked up once)."""
    if value is None:
        return ""
    return value.astimezone(zone or display_zone()).replace(tzinfo=None).isoformat(" ", "minutes")



def relative(value: datetime, now: datetime | None = None, locale: str | None = None) -> str:
    """``in 5 minutes`` / ``3 hours ago``, exactly as Babel's ``format_timedelta`` words it.

    Babel picks a unit and rounds the count, then formats, which is the costly part;
    its words depend only on (locale, unit, count, direction), so they are cached by that.
    A list passes ``now`` and ``locale`` (``locale_name()``), looked up once.
    """
    seconds = (value - (now or datetime.now(UTC))).total_seconds()
    for unit, size in _UNITS:
        amount = abs(seconds) / size
        if amount >= 0.85 or unit == "second":  # Babel's default threshold; granularity: second
            count = max(1, round(amount)) if unit == "second" and amount > 0 else round(amount)
            key = (locale or locale_name(), unit, count, seconds >= 0)
            words = _RELATIVE.get(key)
            if words is None:
                if len(_RELATIVE) > 4096:
                    _RELATIVE.clear()
                words = _RELATIVE[key] = format_timedelta(seconds, add_direction=True, granularity="second",
                                                          locale=key[0])
            return words
    return ""


_UNITS = (("year", 3600 * 24 * 365), ("month", 3600 * 24 * 30), ("week", 3600 * 24 * 7),
          ("day", 3600 * 24), ("hour", 3600), ("minute", 60), ("second", 1))
_RELATIVE: dict[tuple[str, str, int, bool], str] = {}


def locale_name() -> str:
    """This request's locale (looked up once per request)."""
    if not has_request_context():
        return str(get_locale() or "en")
    name = g.get("_webapp_locale_name")
    if name is None:
        name = g._webapp_locale_name = str(get_locale() or "en")
    return name
