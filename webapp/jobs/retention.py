"""Run-history retention: a daily job that purges runs older than ``JOB_HISTORY_DAYS``.

The owning process adds the job when it starts the scheduler. An admin may move or
pause it like any job; the number of days always comes from the configuration
(``JOB_HISTORY_DAYS``, 0 keeps every run and leaves the job out).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

RETENTION_JOB_ID = "purge-run-history"


def ensure_retention_job(app: Flask, scheduler: Any) -> Any:
    """Add the retention job, or set its days from the config; None when retention is off."""
    days = int(app.config.get("JOB_HISTORY_DAYS") or 0)
    job = scheduler.get_job(RETENTION_JOB_ID)
    if days <= 0:
        return None
    if job is not None:
        if dict(job.kwargs) != {"days": days}:
            scheduler.modify_job(RETENTION_JOB_ID, kwargs={"days": days})
        return scheduler.get_job(RETENTION_JOB_ID)
    return scheduler.add_job(RETENTION_JOB_ID, "purge_run_history", name="Purge run history",
                             kwargs={"days": days}, trigger="cron", hour=3, minute=15)
