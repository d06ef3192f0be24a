"""Every bound the scheduler puts on what it accepts, declared once.

The job form (WTForms ``NumberRange``), the JSON API's schemas (marshmallow
``validate.Range``, so the OpenAPI document states them), Flask-APScheduler's REST
API and the schedule rules (``webapp.jobs.rules``) all read these numbers, so a value
is refused the same way on every path. The bounds keep arithmetic inside what
Python's ``datetime`` and the job stores hold: a date near year 9999 plus an
interval, or an interval of 10**30 seconds, would otherwise overflow deep inside
APScheduler and answer 500.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context

#: Interval fields with their length in seconds, largest first.
INTERVAL_UNITS: tuple[tuple[str, int], ...] = (
    ("weeks", 604800), ("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))
#: The largest amount of each interval field (about ten years).
MAX_INTERVAL: dict[str, int] = {"weeks": 520, "days": 3650, "hours": 87600, "minutes": 5_256_000,
                                "seconds": 315_360_000}
#: The shortest interval by default (``SCHEDULER_MIN_INTERVAL_SECONDS`` in the config).
DEFAULT_MIN_INTERVAL_SECONDS = 1.0
#: Years a date or time may have (start, end, run date, next run time), in UTC and in its own zone.
MIN_YEAR, MAX_YEAR = 1970, 9000
#: Seconds of random delay a trigger may add to each run.
MAX_JITTER = 86400
#: Runs of one job at the same time.
MIN_INSTANCES, MAX_INSTANCES = 1, 100
#: Seconds a run may start late before it is recorded as missed.
MIN_MISFIRE_GRACE, MAX_MISFIRE_GRACE = 1, 7 * 86400
#: What a job gets when it does not say (README: coalesce, one instance, 30 s grace).
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
#: (low, high) of the whole-number job options.
OPTION_LIMITS: dict[str, tuple[int, int]] = {
    "max_instances": (MIN_INSTANCES, MAX_INSTANCES),
    "misfire_grace_time": (MIN_MISFIRE_GRACE, MAX_MISFIRE_GRACE),
}
#: The largest magnitude of a number given to a task parameter without bounds of its own.
MAX_PARAM_NUMBER = 10**15


def min_interval_seconds() -> float:
    """The shortest interval this app allows (``SCHEDULER_MIN_INTERVAL_SECONDS``)."""
    if not has_app_context():
        return DEFAULT_MIN_INTERVAL_SECONDS
    return float(current_app.config.get("SCHEDULER_MIN_INTERVAL_SECONDS", DEFAULT_MIN_INTERVAL_SECONDS))


def job_defaults() -> dict[str, Any]:
    """The job defaults: ``JOB_DEFAULTS`` with the app's ``SCHEDULER_JOB_DEFAULTS`` over them."""
    configured = current_app.config.get("SCHEDULER_JOB_DEFAULTS") if has_app_context() else None
    return {**JOB_DEFAULTS, **(configured or {})}
