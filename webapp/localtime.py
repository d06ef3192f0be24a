"""The display time zone: converting stored UTC to local time and back, and formatting.

Every page shows a moment one way, in the request's language: the locale's medium
date and short time (``May 1, 2024, 2:03 PM``; ``2024年5月1日 14:03``), with seconds
where they matter (job runs). The pages' scripts get these strings from the server
rather than formatting dates themselves, so they cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time, get_datetime_format
from flask import current_app
from flask_babel import format_timedelta, get_locale


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


def short(value: datetime | None, zone: tzinfo | None = None, seconds: bool = False) -> str:
    """The console's one date-and-time format, in the display time zone ("" for None).

    ``seconds``: ``2:03:27 PM`` rather than ``2:03 PM``, for job runs.
    """
    if value is None:
        return ""
    local = value.astimezone(zone or display_zone())
    return _join(format_date(local, "medium", locale=get_locale()), local, seconds)


def zoned(value: datetime) -> str:
    """A moment in its own time zone, with the weekday and the zone's abbreviation.

    For a trigger's next fire times, which follow the trigger's zone, not the display
    zone: ``Fri, Dec 18, 2026, 8:15:00 AM CET``.
    """
    return f"{_join(format_skeleton('yMMMEd', value, locale=get_locale()), value, True)} {value.tzname()}"


def _join(date_text: str, local: datetime, seconds: bool) -> str:
    locale = get_locale()
    time_text = format_time(local, "medium" if seconds else "short", tzinfo=local.tzinfo, locale=locale)
    return get_datetime_format("medium", locale=locale).replace("{1}", date_text).replace("{0}", time_text)


def relative(value: datetime | None) -> str:
    """``in 5 minutes`` / ``3 hours ago`` in the request's language ("" for None)."""
    if value is None:
        return ""
    return format_timedelta(value - datetime.now(UTC), add_direction=True, granularity="second")
