"""Scheduled jobs: the job list and the scheduler panel (every role reads)."""

from __future__ import annotations

from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from flask import Blueprint, current_app, render_template

from webapp.jobs.describe import job_views
from webapp.jobs.scheduler import readable_scheduler
from webapp.models import Role
from webapp.views.helpers import role_required

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    """Every job with its task, trigger in words, next run and last run; the scheduler's state."""
    scheduler = readable_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
    owner = current_app.extensions["scheduler"]
    state = {STATE_RUNNING: "running", STATE_PAUSED: "paused"}.get(owner.state, "stopped")
    panel = {
        "state": state,
        "host": owner.host_name,
        "allowed_hosts": list(owner.allowed_hosts),
        "host_allowed": owner.host_name in owner.allowed_hosts or "*" in owner.allowed_hosts,
    }
    return render_template("jobs/index.html", jobs=job_views(scheduler.get_jobs()), panel=panel)
