"""The schedule rules every job obeys, whichever way it arrives.

The job form and ``/api/v1/jobs`` (through ``services.jobs``), Flask-APScheduler's
REST API (through ``rest_api.check_job``) and ``ConsoleScheduler`` itself call these:

- an interval is at least ``SCHEDULER_MIN_INTERVAL_SECONDS`` (1 s by default): a
  0.0001-second interval would keep a core busy running the job;
- every date lies within ``limits.MIN_YEAR`` .. ``limits.MAX_YEAR``;
- the schedule fires at least once from now on (a cron line that matches no date,
  an end in the past, or a one-off date further in the past than the job's misfire
  grace time never runs);
- coalesce, max instances and the misfire grace time take the job defaults when
  they are not given (or given as null), the same for every path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dateutil.parser
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import gettext as _

from webapp.jobs import limits
from webapp.services.errors import ValidationError

#: The trigger fields Flask-APScheduler's payloads use (its ``utils.pop_trigger``).
TRIGGER_FIELDS: dict[str, tuple[str, ...]] = {
    "date": ("run_date", "timezone"),
    "interval": ("weeks", "days", "hours", "minutes", "seconds", "start_date", "end_date", "timezone"),
    "cron": ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second",
             "start_date", "end_date", "timezone"),
}
DATE_FIELDS = ("start_date", "end_date", "run_date")
SETTINGS_WITH_DEFAULTS = ("coalesce", "max_instances", "misfire_grace_time")


class NeverFires(ValidationError):
    """The schedule has no run from now on."""


def year_range_message() -> str:
    """The message for a date outside the years the scheduler accepts."""
    return _("Use a date from the year %(low)d to %(high)d.", low=limits.MIN_YEAR, high=limits.MAX_YEAR)


def check_moment(value: datetime, field: str) -> None:
    """ValidationError on ``field`` unless ``value`` lies within the accepted years, in its own
    zone and in UTC (an offset can move year 9999 past what a datetime holds)."""
    try:
        in_utc = value.astimezone(UTC) if value.tzinfo else value
    except (OverflowError, ValueError):
        raise ValidationError({field: [year_range_message()]}) from None
    if not all(limits.MIN_YEAR <= v.year <= limits.MAX_YEAR for v in (value, in_utc)):
        raise ValidationError({field: [year_range_message()]})


def parse_moment(value: Any, field: str) -> Any:
    """A datetime from an ISO-like string (as Flask-APScheduler reads one), checked for range;
    other values pass through for the caller's type check."""
    if isinstance(value, str):
        try:
            value = dateutil.parser.parse(value)
        except (ValueError, OverflowError):
            raise ValidationError({field: [_("Enter a date and time such as "
                                             "2026-12-01T09:30:00+00:00.")]}) from None
    if isinstance(value, datetime):
        check_moment(value, field)
    return value


def check_schedule(trigger: BaseTrigger, never_field: str, grace: float | None = None,
                   now: datetime | None = None) -> None:
    """Raise ValidationError unless ``trigger`` keeps every rule above.

    ``never_field``: where "never fires" is reported; ``grace``: the job's misfire
    grace time in seconds (the default when None).
    """
    now = now or datetime.now(UTC)
    errors: dict[str, list[str]] = {}
    for field in DATE_FIELDS:
        value = getattr(trigger, field, None)
        if isinstance(value, datetime):
            try:
                check_moment(value, field)
            except ValidationError as err:
                errors.update(err.fields)
    shortest = limits.min_interval_seconds()
    if isinstance(trigger, IntervalTrigger) and trigger.interval_length < shortest:
        errors["seconds"] = [_("Use an interval of at least %(n)s seconds.", n=format(shortest, "g"))]
    if errors:
        raise ValidationError(errors)
    if not fires(trigger, now, limits.job_defaults()["misfire_grace_time"] if grace is None else grace):
        raise NeverFires({never_field: [_("This schedule never fires from now on: check the "
                                          "dates and fields.")]})


def grace_of(value: Any) -> float | None:
    """A misfire grace time as given, when it is a number of seconds (else None: the default)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def fires(trigger: BaseTrigger, now: datetime, grace: float) -> bool:
    """Whether ``trigger`` has a run from ``now`` on (a one-off date: not further back than ``grace``)."""
    try:
        first = trigger.get_next_fire_time(None, now)
    except (OverflowError, ValueError):  # past the last date a datetime holds
        return False
    if first is None:
        return False
    if isinstance(trigger, DateTrigger):
        return bool(first >= now - timedelta(seconds=grace or 0))
    return True


def never_fires_field(kind: str, fields: Mapping[str, Any]) -> str:
    """Where a payload of Flask-APScheduler's shape hears that its schedule never fires."""
    if kind == "date":
        return "run_date"
    if fields.get("end_date") is not None:
        return "end_date"
    if kind == "cron":
        given = [name for name in TRIGGER_FIELDS["cron"][:8] if fields.get(name) is not None]
        return given[0] if given else "trigger"
    return "start_date"


def make_trigger(kind: str, fields: Mapping[str, Any], timezone: Any) -> BaseTrigger:
    """A trigger from Flask-APScheduler's flat fields (dates parsed and bounded first).

    Raises ValidationError on the field at fault, or on ``trigger`` for whatever only
    the trigger class can tell (a day 31 of February, a bad cron expression).
    """
    from webapp.jobs.triggers import zone

    if kind not in TRIGGER_FIELDS:
        raise ValidationError({"trigger": [_("Choose date, interval or cron.")]})
    values = {k: v for k, v in fields.items() if k in TRIGGER_FIELDS[kind]}
    errors: dict[str, list[str]] = {}
    for key in DATE_FIELDS:
        if key in values:
            try:
                values[key] = parse_moment(values[key], key)
            except ValidationError as err:
                errors.update(err.fields)
    if isinstance(values.get("timezone"), str):
        try:
            values["timezone"] = zone(values["timezone"])
        except ValidationError as err:
            errors.update(err.fields)
    if errors:
        raise ValidationError(errors)
    values.setdefault("timezone", timezone)
    classes: dict[str, Any] = {"date": DateTrigger, "interval": IntervalTrigger, "cron": CronTrigger}
    try:
        return classes[kind](**values)  # type: ignore[no-any-return]
    except Exception as err:  # whatever the trigger class rejects, the input is at fault
        raise ValidationError({"trigger": [_("The trigger is not valid: %(reason)s",
                                             reason=str(err)[:200])]}) from None


def with_defaults(options: dict[str, Any], creating: bool) -> dict[str, Any]:
    """``options`` with the job defaults for coalesce, max instances and misfire grace time:
    where missing (when creating) or given as None (always)."""
    defaults = limits.job_defaults()
    for key in SETTINGS_WITH_DEFAULTS:
        if (creating and key not in options) or (key in options and options[key] is None):
            options[key] = defaults[key]
    return options


def check_next_run_time(value: Any, field: str = "next_run_time") -> None:
    """A next run time given outright: within the accepted years and not in the past
    (from an old time the scheduler would list every run since before catching up)."""
    if not isinstance(value, datetime):
        return
    check_moment(value, field)
    when = value if value.tzinfo else value.replace(tzinfo=UTC)
    if when < datetime.now(UTC) - timedelta(minutes=1):
        raise ValidationError({field: [_("Use a time from now on.")]})
