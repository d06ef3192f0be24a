"""Exactly once per (job, scheduled time), even when the scheduler's owner changes.

Before a worker hands a run to an executor, it claims the run: it inserts the run's
row in the run history, whose unique (job id, scheduled time) constraint lets only
one insert succeed. An owner killed after starting a run but before it stored the
job's next run time leaves the job due again; the standby that takes over finds the
claim and skips that time. The history writer later fills in the same row.

Claims cost one small transaction per run, so only processes that may share the
scheduler claim (workers; ``SCHEDULER_CLAIM_RUNS`` for others).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import JobRun
from webapp.models.types import utcnow


class RunClaims:
    """Claims runs in ``app``'s database (a no-op where the app does not claim)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    @property
    def enabled(self) -> bool:
        return bool(self.app.config["SCHEDULER_CLAIM_RUNS"] or self.app.config["ROLE"] == "worker")

    def claim(self, job_id: str, run_times: Iterable[datetime]) -> list[datetime]:
        """The run times this process may run: those nobody claimed before."""
        run_times = list(run_times)
        if not self.enabled:
            return run_times
        claimed = []
        with self.app.app_context():
            try:
                for run_time in run_times:
                    try:
                        with db.session.begin_nested():
                            db.session.add(JobRun(job_id=job_id, scheduled_at=_utc(run_time),
                                                  status="submitted", created_at=utcnow()))
                    except IntegrityError:
                        continue  # another owner ran (or is running) it
                    claimed.append(run_time)
                db.session.commit()
            finally:
                db.session.remove()
        return claimed


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
