"""Adding and editing jobs with a preview of the next fire times; the job detail page.

Routes of the ``jobs`` blueprint (see ``jobs.py``).
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.forms.jobs import JobForm
from webapp.jobs import registry
from webapp.jobs.describe import job_views
from webapp.localtime import relative, short, zoned
from webapp.models import Role
from webapp.services import jobs as job_service
from webapp.services.errors import Conflict, ValidationError
from webapp.views.helpers import add_form_errors, role_required
from webapp.views.jobs import bp, can_act

PREVIEW_COUNT = 5


def _form(data: dict[str, Any] | None = None) -> JobForm:
    panel = job_service.scheduler_state()
    form = JobForm().setup(panel.executors, panel.stores, panel.timezone)
    if data is not None and not form.is_submitted():
        form.fill(data)
    return form


def _fire_times(form: JobForm) -> list[dict[str, str]]:
    """The preview: the next fire times of the trigger in the form, or its errors on the form."""
    try:
        times = job_service.preview(form.data_for_service(), PREVIEW_COUNT)
    except ValidationError as err:
        add_form_errors(form, err)
        return []
    return [_when(t) for t in times]


def _when(moment: Any) -> dict[str, str]:
    return {"iso": moment.isoformat(), "zone": zoned(moment),
            "local": short(moment), "relative": relative(moment)}


def _render(form: JobForm, job: Any = None, preview: list[dict[str, str]] | None = None,
            kwargs: dict[str, Any] | None = None) -> str:
    return render_template("jobs/form.html", form=form, job=job, preview=preview,
                           tasks=registry.all_tasks(), kwargs=kwargs or {})


def _save(form: JobForm, job_id: str | None) -> Any:
    """Create or update from the form; service errors go beside their fields."""
    data = form.data_for_service()
    try:
        if job_id is None:
            return job_service.create_job(data, current_user)
        return job_service.update_job(job_id, data, current_user)
    except ValidationError as err:
        params = {k: v for k, v in err.fields.items() if k.startswith("kwargs.")}
        add_form_errors(form, ValidationError({k: v for k, v in err.fields.items() if k not in params}))
        form.param_errors = {k.removeprefix("kwargs."): v for k, v in params.items()}
    except Conflict as err:
        form.form_errors.append(err.message)
    return None


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create() -> str | Response:
    """Add a job. "Preview" shows the next fire times without saving."""
    form = _form()
    kwargs = {}
    if form.is_submitted():
        kwargs = form.data_for_service()["kwargs"]
    if form.validate_on_submit():
        if "preview" in request.form:
            return _render(form, preview=_fire_times(form), kwargs=kwargs)
        job = _save(form, None)
        if job is not None:
            flash(_("Job “%(name)s” added.", name=job.name), "success")
            return redirect(url_for("jobs.detail", job_id=job.id))
    return _render(form, kwargs=kwargs)


@bp.route("/<job_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(job_id: str) -> str | Response:
    """Change a job's task, parameters, trigger and options."""
    job = job_service.get_job(job_id)
    data = job_service.job_data(job)
    form = _form(data)
    form.id.data = job_id
    kwargs = form.data_for_service()["kwargs"] if form.is_submitted() else data["kwargs"]
    if form.validate_on_submit():
        if "preview" in request.form:
            return _render(form, job=job, preview=_fire_times(form), kwargs=kwargs)
        saved = _save(form, job_id)
        if saved is not None:
            flash(_("Job “%(name)s” saved.", name=saved.name), "success")
            return redirect(url_for("jobs.detail", job_id=job_id))
    return _render(form, job=job, kwargs=kwargs)


@bp.post("/preview")
@role_required(Role.ADMIN)
def preview() -> tuple[Response, int] | Response:
    """The next fire times of the trigger in the posted form (the form's live preview).

    A trigger with mistakes is a normal answer here (200 with ``errors``): the page
    shows them while the admin types.
    """
    form = _form()
    if not form.validate():
        if "csrf_token" in form.errors:
            return jsonify(message=_("The form expired; reload the page."), errors={}), 400
        return jsonify(message=_("Check the highlighted fields."), errors=form.errors, times=[])
    try:
        times = job_service.preview(form.data_for_service(), PREVIEW_COUNT)
    except ValidationError as err:
        return jsonify(message=err.message, errors=err.fields, times=[])
    return jsonify(times=[_when(t) for t in times], errors={})


@bp.get("/<job_id>")
@role_required(Role.VIEWER)
def detail(job_id: str) -> str:
    """A job: its settings, the next fire times, its runs with success rate and mean duration.

    A job that has finished (a one-off after its date) or was deleted still shows its runs.
    """
    job = job_service.find_job(job_id)
    stats = job_service.run_stats(job_id)
    if job is None and not stats.total:
        job_service.get_job(job_id)  # 404: no such job, and it never ran
    page_number = request.args.get("page", "1")
    page = job_service.runs(job_id, int(page_number) if page_number.isdigit() and len(page_number) < 7 else 1)
    if job is None:
        return render_template("jobs/past.html", job_id=job_id, stats=stats, page=page)
    upcoming = [_when(t) for t in job_service.upcoming(job, PREVIEW_COUNT)]
    store = job_service.store_of(job_id) or ""
    return render_template("jobs/detail.html", job=job_views([job], {job_id: store})[0],
                           data=job_service.job_data(job, store), stats=stats, page=page, upcoming=upcoming,
                           held=job_service.scheduler_held(), can_act=can_act())


@bp.get("/<job_id>/runs")
@role_required(Role.VIEWER)
def runs(job_id: str) -> Response:
    """The newest runs and the numbers, as JSON (the detail page polls this)."""
    page = job_service.runs(job_id, 1)
    stats = job_service.run_stats(job_id)
    return jsonify(stats=stats.__dict__, runs=[{
        "id": run.id, "scheduled_at": short(run.scheduled_at, seconds=True), "status": run.status,
        "started_at": short(run.started_at, seconds=True), "duration_ms": run.duration_ms,
        "error": run.error, "traceback": run.traceback,
    } for run in page.items])
