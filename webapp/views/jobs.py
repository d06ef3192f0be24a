"""Scheduled jobs: the job list and the scheduler panel (every role reads)."""

from __future__ import annotations

from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.forms import ConfirmForm
from webapp.jobs.describe import job_views
from webapp.jobs.scheduler import readable_scheduler
from webapp.models import Role
from webapp.services import jobs as job_service
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
    can_act = current_user.is_authenticated and current_user.has_role(Role.ADMIN)
    return render_template("jobs/index.html", jobs=job_views(scheduler.get_jobs()), panel=panel,
                           can_act=can_act, form=ConfirmForm())


@bp.post("/<job_id>/<any(pause, resume, run):action>")
@role_required(Role.ADMIN)
def act(job_id: str, action: str) -> Response:
    """Pause, resume or run a job now (POST with the CSRF token)."""
    if ConfirmForm().validate_on_submit():
        job_service.apply(job_id, action, current_user)
        flash({"pause": _("Job %(id)s paused."), "resume": _("Job %(id)s resumed."),
               "run": _("Job %(id)s will run now.")}[action] % {"id": job_id}, "success")
    return redirect(url_for("jobs.index"))


@bp.route("/<job_id>/delete", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def delete(job_id: str) -> str | Response:
    """Confirm (GET), then delete the job (POST)."""
    job = job_service.get_job(job_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        job_service.apply(job_id, "delete", current_user)
        flash(_("Job %(id)s deleted.", id=job_id), "success")
        return redirect(url_for("jobs.index"))
    return render_template("jobs/confirm_delete.html", job=job_views([job])[0], form=form)
