"""Triggers from what an admin typed: date, interval and cron, checked field by field.

Forms, the JSON API and the REST API all build triggers here, so a bad value gets
the same message beside the same field everywhere. Day-of-week numbers follow
crontab (0 or 7 is Sunday), not APScheduler's own numbering (0 is Monday): they are
turned into names before APScheduler sees them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import gettext as _

from webapp.jobs.limits import INTERVAL_UNITS, MAX_INTERVAL, MAX_JITTER
from webapp.jobs.rules import check_moment
from webapp.services.errors import ValidationError

KINDS = ("date", "interval", "cron")
CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
INTERVAL_FIELDS = ("weeks", "days", "hours", "minutes", "seconds")
CRONTAB_ORDER = ("minute", "hour", "day", "month", "day_of_week")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMBER_RANGE = re.compile(r"^(\d)(?:-(\d))?$")


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``, or a ValidationError on ``timezone``."""
    try:
        if name not in _zone_names():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = _("Unknown time zone “%(name)s”.", name=str(name)[:60])
        raise ValidationError({"timezone": [message]}) from None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


_ZONES: frozenset[str] | None = None


def zone_choices() -> list[str]:
    """Every time zone name, UTC first."""
    return ["UTC", *sorted(_zone_names() - {"UTC"})]


def crontab_weekdays(expression: str) -> str:
    """Crontab day-of-week numbers (0 to 7, Sunday 0 or 7) as APScheduler's day names.

    Names (``mon-fri``) pass through. Numeric steps (``*/2``) are refused: their
    meaning differs between crontab and APScheduler, so names must say which days.
    """
    parts = []
    for part in str(expression).strip().lower().split(","):
        match = _NUMBER_RANGE.match(part)
        if match is None:
            if re.search(r"\d", part.split("/")[0]) or (re.match(r"^\*/\d+$", part)):
                raise ValueError(_("Use day names with steps (for example mon-fri/2), or list "
                                   "the days."))
            parts.append(part)
            continue
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if first > 7 or last > 7 or last < first:
            raise ValueError(_("Days of the week are 0–7 (Sunday is 0 or 7) or mon–sun."))
        days = list(dict.fromkeys((n + 6) % 7 for n in range(first, last + 1)))
        if len(days) == 7:
            parts.append("*")
        elif len(days) > 1 and days == list(range(days[0], days[-1] + 1)):
            parts.append(f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in days)
    return ",".join(parts)


def _moment(value: Any, tz: ZoneInfo, field: str) -> datetime | None:
    """A datetime (aware, or naive in ``tz``) from a datetime or an ISO string."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError({field: [_("Enter a date and time such as 2026-12-01 09:30.")]}) from None
    if not isinstance(value, datetime):
        raise ValidationError({field: [_("Enter a date and time such as 2026-12-01 09:30.")]})
    value = value if value.tzinfo else value.replace(tzinfo=tz)
    check_moment(value, field)  # far dates overflow once an interval is added
    return value


def _number(value: Any, field: str, maximum: float) -> float:
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        raise ValidationError({field: [_("Enter a number.")]})
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: [_("Enter a number.")]}) from None
    if not 0 <= number <= maximum or number != number:
        raise ValidationError({field: [_("Use a number from 0 to %(max)s.", max=maximum)]})
    return int(number) if number == int(number) else number


def build_trigger(kind: str, fields: Mapping[str, Any], default_zone: str = "UTC") -> Any:
    """An APScheduler trigger from plain values; ValidationError names each bad field.

    ``fields``: ``timezone``, ``start_date``, ``end_date``, ``jitter`` for all kinds;
    ``run_date`` (date); ``weeks`` … ``seconds`` (interval); ``crontab`` (a five-field
    line) or ``year`` … ``second`` (cron).
    """
    if kind not in KINDS:
        raise ValidationError({"trigger": [_("Choose a date, interval or cron trigger.")]})
    tz = zone(str(fields.get("timezone") or default_zone))
    errors: dict[str, list[str]] = {}
    if kind == "date":
        run_date = _collect(errors, lambda: _moment(fields.get("run_date"), tz, "run_date"))
        if run_date is None and "run_date" not in errors:
            errors["run_date"] = [_("Enter when the job runs.")]
        _raise(errors)
        return DateTrigger(run_date=run_date, timezone=tz)
    start = _collect(errors, lambda: _moment(fields.get("start_date"), tz, "start_date"))
    end = _collect(errors, lambda: _moment(fields.get("end_date"), tz, "end_date"))
    jitter = _collect(errors, lambda: _number(fields.get("jitter"), "jitter", MAX_JITTER)) or None
    if start and end and end <= start:
        errors.setdefault("end_date", []).append(_("The end must come after the start."))
    if kind == "interval":
        amounts = {name: _collect(errors, lambda n=name: _number(fields.get(n), n, MAX_INTERVAL[n]))
                   for name in INTERVAL_FIELDS}
        _raise(errors)
        if not sum(amounts[n] * s for n, s in INTERVAL_UNITS):
            raise ValidationError({"seconds": [_("Give an interval longer than zero.")]})
        return IntervalTrigger(**amounts, start_date=start, end_date=end, timezone=tz, jitter=jitter)
    cron = _cron_fields(fields, errors)
    _raise(errors)
    try:
        return CronTrigger(**cron, start_date=start, end_date=end, timezone=tz, jitter=jitter)
    except ValueError as err:  # a combination no single field shows, e.g. day 31 of February
        raise ValidationError({"crontab" if fields.get("crontab") else "day": [str(err)]}) from None


def _cron_fields(fields: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, str]:
    """Cron fields from a crontab line or from the separate fields, each one checked."""
    line = str(fields.get("crontab") or "").strip()
    if line:
        parts = line.split()
        if len(parts) != 5:
            errors["crontab"] = [_("A crontab line has five fields: minute hour day month "
                                   "day-of-week, for example 0 3 * * mon-fri.")]
            return {}
        values = dict(zip(CRONTAB_ORDER, parts, strict=True))
        target = "crontab"
    else:
        values = {name: str(fields[name]).strip() for name in CRON_FIELDS
                  if fields.get(name) not in (None, "") and str(fields[name]).strip()}
        if not values:
            errors["crontab"] = [_("Give a crontab line or at least one cron field.")]
            return {}
        target = ""
    for name, value in list(values.items()):
        if len(value) > 100:
            errors[target or name] = [_("Use at most 100 characters.")]
            continue
        try:
            if name == "day_of_week":
                value = values[name] = crontab_weekdays(value)
            CronTrigger(**{name: value})
        except ValueError as err:
            errors.setdefault(target or name, []).append(
                f"{name.replace('_', ' ')}: {err}" if target else str(err))
    return values


def _collect(errors: dict[str, list[str]], make: Any) -> Any:
    try:
        return make()
    except ValidationError as err:
        for name, messages in err.fields.items():
            errors.setdefault(name, []).extend(messages)
        return None


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def next_fire_times(trigger: Any, count: int = 5, now: datetime | None = None,
                    first: datetime | None = None) -> list[datetime]:
    """The next ``count`` fire times from ``now`` (without jitter), in the trigger's zone.

    ``first``: the job's own next run time, when it has one (an interval job that was
    run now counts on from that run, not from its start date).
    """
    now = now or datetime.now(UTC)
    jitter = getattr(trigger, "jitter", None)
    if jitter is not None:
        trigger.jitter = None
    try:
        times: list[datetime] = []
        previous = None
        zone_of_trigger = getattr(trigger, "timezone", None)
        if first is not None:
            current = first.astimezone(zone_of_trigger) if zone_of_trigger else first
        else:
            current = trigger.get_next_fire_time(None, now)
        while current is not None and len(times) < count:
            times.append(current)
            previous = current
            try:
                current = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
            except (OverflowError, ValueError):  # past the last date Python can hold
                break
        return times
    finally:
        if jitter is not None:
            trigger.jitter = jitter


def trigger_fields(trigger: Any) -> tuple[str, dict[str, Any]]:
    """The kind and plain fields of a trigger (to fill an edit form)."""
    def naive(value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=None) if value else None

    if isinstance(trigger, DateTrigger):
        return "date", {"timezone": str(trigger.run_date.tzinfo), "run_date": naive(trigger.run_date)}
    common = {"timezone": str(trigger.timezone), "start_date": naive(trigger.start_date),
              "end_date": naive(trigger.end_date), "jitter": trigger.jitter}
    if isinstance(trigger, IntervalTrigger):
        seconds = int(trigger.interval_length)
        amounts = {}
        for name, size in INTERVAL_UNITS:
            amounts[name], seconds = divmod(seconds, size)
        return "interval", {**common, **amounts}
    if isinstance(trigger, CronTrigger):
        values = {f.name: str(f) for f in trigger.fields}
        # A plain five-field schedule is shown as one crontab line; anything else field by field.
        if (values["year"] == "*" and values["week"] == "*" and values["second"] == "0"
                and not any(" " in values[n] for n in CRONTAB_ORDER)):
            return "cron", {**common, "crontab": " ".join(values[n] for n in CRONTAB_ORDER)}
        return "cron", {**common, **{n: values[n] for n in CRON_FIELDS}}
    return "unknown", {}
