"""Scheduled jobs: the list, its live updates, job actions and the scheduler panel.

Every role reads; admins act. Adding, editing and the job detail page live in
``job_forms.py`` on the same blueprint.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.forms import ConfirmForm
from webapp.jobs.describe import JobView, job_views
from webapp.localtime import relative, short
from webapp.models import Role
from webapp.services import jobs as job_service
from webapp.services.errors import DomainError
from webapp.services.paging import ListQuery
from webapp.views.helpers import role_required, safe_back_url

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

STATUS_IDS_MAX = 200


def can_act() -> bool:
    """Whether the signed-in user may change jobs."""
    return current_user.is_authenticated and current_user.has_role(Role.ADMIN)


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    """Jobs with their task, trigger in words, next and last run; the scheduler's state."""
    query = ListQuery.from_args(request.args, ("state",))
    state = query.filters.get("state", "")
    page = job_service.list_jobs(query.page, query.per_page, query.sort or "next_run", query.desc,
                                 query.search, state)
    panel = job_service.scheduler_state()
    return render_template("jobs/index.html", page=replace(page, items=job_views(page.items, page.stores)),
                           query=query, state=state, panel=panel,
                           held=panel.state == "paused",  # nothing runs until the scheduler is resumed
                           can_act=can_act())


@bp.get("/status")
@role_required(Role.VIEWER)
def status() -> Response:
    """Next run, state and last run of the jobs named by ``id`` (the list polls this)."""
    ids = request.args.getlist("id")[:STATUS_IDS_MAX]
    views = job_views(job_service.jobs_by_id(ids))
    panel = job_service.scheduler_state()
    held = panel.state == "paused"
    return jsonify(scheduler=panel.state, jobs={view.id: _live(view, held) for view in views},
                   missing=sorted(set(ids) - {view.id for view in views}))


def _live(view: JobView, held: bool) -> dict[str, Any]:
    """``held``: the scheduler is paused, so a scheduled job does not run until it is resumed."""
    held = held and not view.paused
    return {
        "next_run": view.next_run.isoformat() if view.next_run else None,
        "next_run_text": (_("not before the scheduler is resumed") if held
                          else relative(view.next_run) if view.next_run else "—"),
        "held": held,
        "next_run_short": short(view.next_run),
        "paused": view.paused,
        "last_status": view.last_status,
        "last_duration_ms": view.last_duration_ms,
    }


@bp.get("/history")
@role_required(Role.VIEWER)
def history() -> str:
    """Every job id with recorded runs, including jobs that have finished or were deleted."""
    number = request.args.get("page", "1")
    page = job_service.job_histories(int(number) if number.isdigit() and len(number) < 7 else 1)
    return render_template("jobs/history.html", page=page)


@bp.post("/<job_id>/<any(pause, resume, run):action>")
@role_required(Role.ADMIN)
def act(job_id: str, action: str) -> Response:
    """Pause, resume or run a job now (POST with the CSRF token)."""
    if ConfirmForm().validate_on_submit():
        job_service.apply(job_id, action, current_user)
        flash({"pause": _("Job %(id)s paused."), "resume": _("Job %(id)s resumed."),
               "run": _("Job %(id)s will run now.")}[action] % {"id": job_id}, "success")
    else:
        flash(_("The form expired; try again."), "warning")
    return redirect(safe_back_url(request.form.get("next"), "/jobs/") or url_for("jobs.index"))


@bp.post("/scheduler/<any(pause, resume):action>")
@role_required(Role.ADMIN)
def scheduler_action(action: str) -> Response:
    """Pause or resume the whole scheduler (jobs keep their schedule; nothing runs while paused)."""
    if ConfirmForm().validate_on_submit():
        try:
            job_service.set_scheduler_running(action == "resume", current_user)
        except DomainError as err:
            flash(err.message, "warning")
        else:
            flash(_("Scheduler paused: no job runs until it is resumed.") if action == "pause"
                  else _("Scheduler resumed."), "success")
    return redirect(url_for("jobs.index"))


@bp.route("/<job_id>/delete", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def delete(job_id: str) -> str | Response:
    """Confirm (GET), then delete the job (POST). Its run history stays."""
    job = job_service.get_job(job_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        job_service.apply(job_id, "delete", current_user)
        flash(_("Job %(id)s deleted.", id=job_id), "success")
        return redirect(url_for("jobs.index"))
    return render_template("jobs/confirm_delete.html", job=job_views([job])[0], form=form)


from webapp.views import job_forms  # noqa: E402,F401  (routes on this blueprint)
