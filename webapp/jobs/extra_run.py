""""Run now" as one extra run: the job keeps its schedule.

Moving a job's next run time to now would replace its planned run: a one-off (date)
job then ran and was removed before its date, and an interval job counted on from
the extra run. Instead, the job's trigger becomes the same trigger with one extra
fire time: the run now, then the run that was planned, then the schedule as before.
The run goes through the scheduler like any other, so it is recorded in the history.

A paused job runs once and is paused again right after (by the listener below, once
the scheduler has written the job). A one-off job whose date has passed runs once
and is then finished.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

EVENTS = EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES


class _ExtraRun:
    """Fires once more at ``extra_at``; the fire time after that one is ``then``."""

    extra_at: datetime | None = None
    then: datetime | None = None
    pause_after: bool = False

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        """``then`` right after the extra run, else the trigger's own next fire time."""
        if previous is not None and self.extra_at is not None and previous == self.extra_at:
            return self.then
        return super().get_next_fire_time(previous, now)  # type: ignore[misc,no-any-return]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # type: ignore[misc]
        state["extra_run"] = (self.extra_at, self.then, self.pause_after)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        self.extra_at, self.then, self.pause_after = state.pop("extra_run", (None, None, False))
        super().__setstate__(state)  # type: ignore[misc]


class ExtraRunDateTrigger(_ExtraRun, DateTrigger):
    """A date trigger with one extra run."""


class ExtraRunIntervalTrigger(_ExtraRun, IntervalTrigger):
    """An interval trigger with one extra run."""


class ExtraRunCronTrigger(_ExtraRun, CronTrigger):
    """A cron trigger with one extra run."""


_CLASSES: tuple[tuple[type, type], ...] = (
    (DateTrigger, ExtraRunDateTrigger), (IntervalTrigger, ExtraRunIntervalTrigger),
    (CronTrigger, ExtraRunCronTrigger))


def with_extra_run(job: Any, now: datetime | None = None) -> tuple[BaseTrigger, datetime]:
    """The job's trigger with an extra run at ``now``, and that run's time (the job's new
    next run time). Whatever was planned stays planned."""
    now = now or datetime.now(UTC)
    trigger = job.trigger
    kind = next((extra for base, extra in _CLASSES if isinstance(trigger, base)), None)
    if kind is None:
        raise TypeError(f"Cannot add a run to a {type(trigger).__name__}")
    pending_extra = isinstance(trigger, _ExtraRun) and job.next_run_time is not None \
        and job.next_run_time == trigger.extra_at
    paused = job.next_run_time is None
    if pending_extra:  # "run now" twice before the first ran: the plan is still the old one
        then, pause_after = trigger.then, trigger.pause_after
    elif paused:  # runs once; paused again after it (see pause_after_extra_runs)
        then = _planned_from(trigger, now)
        pause_after = then is not None
    else:
        then, pause_after = job.next_run_time, False
    extra = kind.__new__(kind)
    extra.__setstate__(trigger.__getstate__())
    extra.extra_at, extra.then, extra.pause_after = now, then, pause_after
    return extra, now


def _planned_from(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The trigger's next fire time from ``now``; a one-off whose date has passed has none."""
    if isinstance(trigger, DateTrigger):
        return trigger.run_date if trigger.run_date > now else None
    return trigger.get_next_fire_time(None, now)


# -- pausing a paused job again after its extra run --------------------------------------

_pause_after: set[tuple[str, datetime]] = set()
_lock = threading.Lock()


def note_submission(job: Any, run_times: list[datetime]) -> None:
    """In the executor's submit path: remember a paused job's extra run (cheap for all others)."""
    trigger = job.trigger
    if getattr(trigger, "pause_after", False) and trigger.extra_at in run_times:
        with _lock:
            _pause_after.add((job.id, trigger.extra_at))


def pause_after_extra_runs(scheduler: Any) -> Any:
    """A listener that pauses a paused job again once its extra run is submitted (the
    scheduler has written the job's next run time by then)."""

    def listen(event: Any) -> None:
        if not _pause_after:
            return
        for run_time in event.scheduled_run_times or ():
            with _lock:
                key = (event.job_id, run_time)
                if key not in _pause_after:
                    continue
                _pause_after.discard(key)
            if scheduler.get_job(event.job_id, event.jobstore) is not None:
                scheduler.pause_job(event.job_id, event.jobstore)

    return listen
