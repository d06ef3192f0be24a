"""``/api/v1/jobs`` and ``/api/v1/tasks``: scheduled jobs over the same service as the job pages.

Every role reads; administrators add, change, pause, resume, run and delete. A job
runs a registered task only: naming anything else answers 400.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate

from webapp.jobs import limits, registry
from webapp.jobs.describe import trigger_in_words
from webapp.models import Role
from webapp.services import jobs
from webapp.services.access import require_role
from webapp.services.errors import ValidationError
from webapp.views.api.auth import api_user
from webapp.views.api.common import LIST_HEADERS, document_errors, list_headers, list_query, page_body
from webapp.views.api.errors import ApiError
from webapp.views.api.schemas import ApiSchema, Bool, Int, ListArgsSchema, PageSchema, Text, sort_field

bp = Blueprint("jobs", __name__, url_prefix="/jobs",
               description=_l("Scheduled jobs: registered tasks on date, interval or cron triggers."))
tasks_bp = Blueprint("tasks", __name__, url_prefix="/tasks",
                     description=_l("The tasks a job may run, with their parameters."))
TAGS, TASK_TAGS = ["jobs"], ["tasks"]
JOB_ID = "string(maxlength=191)"


def _bounded(high: float, low: float = 0, **kwargs: Any) -> fields.Float:
    """A number within ``low`` .. ``high`` (stated in the OpenAPI document); no NaN or infinity."""
    return fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(low, high), **kwargs)


def _moment(description: str) -> fields.Raw:
    return fields.Raw(allow_none=True, metadata={
        "type": "string", "format": "date-time",
        "description": f"{description} Years {limits.MIN_YEAR} to {limits.MAX_YEAR}; without an offset, "
                       "in the trigger's time zone."})


class CronValue(Text):
    """A cron field: text such as ``*/5`` or ``mon-fri``, or a whole number (taken as its text)."""

    default_error_messages = {"invalid": _l("Use text such as \"*/5\" or a whole number.")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


def _cron(description: str) -> CronValue:
    return CronValue(allow_none=True, validate=validate.Length(max=100), metadata={
        "anyOf": [{"type": "string", "maxLength": 100}, {"type": "integer"}], "description": description})


class TriggerArgsSchema(ApiSchema):
    """The trigger's fields; each kind reads its own (see ``webapp.jobs.triggers``)."""

    run_date = _moment("date: when the job runs.")
    weeks = _bounded(limits.MAX_INTERVAL["weeks"])
    days = _bounded(limits.MAX_INTERVAL["days"])
    hours = _bounded(limits.MAX_INTERVAL["hours"])
    minutes = _bounded(limits.MAX_INTERVAL["minutes"])
    seconds = _bounded(limits.MAX_INTERVAL["seconds"], metadata={
        "description": "interval: the interval is the sum of weeks to seconds, at least "
                       "SCHEDULER_MIN_INTERVAL_SECONDS (1 s by default)."})
    crontab = _cron("cron: a five-field line (minute hour day month day-of-week; 0 or 7 is Sunday).")
    year = _cron("cron")
    month = _cron("cron")
    day = _cron("cron: also `last`, `last fri`, `3rd fri`.")
    week = _cron("cron")
    day_of_week = _cron("cron")
    hour = _cron("cron")
    minute = _cron("cron")
    second = _cron("cron")
    timezone = Text(allow_none=True, validate=validate.Length(max=64))
    start_date = _moment("interval and cron: the first possible run.")
    end_date = _moment("interval and cron: the last possible run.")
    jitter = _bounded(limits.MAX_JITTER,
                      metadata={"description": "Seconds each run may start late, at random."})


def _task_name(required: bool = False) -> Text:
    """A task's name; the document lists the registered ones (the API answers 400 to any other)."""
    return Text(required=required, validate=validate.Length(max=200), metadata={
        "description": "A registered task's name (see /api/v1/tasks); any other is a 400.",
        "enum": [task.name for task in registry.all_tasks()]})


def _trigger_args() -> fields.Nested:
    return fields.Nested(TriggerArgsSchema, metadata={
        "description": "The trigger's fields. The schedule must fire at least once from now on."})


class JobSchema(ApiSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    task = fields.String(required=True, allow_none=True)
    kwargs = fields.Dict(required=True)
    trigger = fields.String(required=True, metadata={"description": "date, interval or cron."})
    trigger_args = fields.Dict(required=True)
    trigger_text = fields.String(required=True, metadata={"description": "The trigger in words."})
    executor = fields.String(required=True)
    jobstore = fields.String(required=True)
    max_instances = fields.Integer(required=True)
    coalesce = fields.Boolean(required=True)
    misfire_grace_time = fields.Integer(required=True, allow_none=True)
    paused = fields.Boolean(required=True)
    held = fields.Boolean(required=True, metadata={
        "description": "The whole scheduler is paused: this scheduled job does not run until it is "
                       "resumed (known only where the scheduler runs)."})
    next_run_time = fields.AwareDateTime(required=True, allow_none=True)


class JobPageSchema(PageSchema):
    items = fields.List(fields.Nested(JobSchema), required=True)


class JobListArgsSchema(ListArgsSchema):
    sort = sort_field(["next_run", "id"])
    state = Text(validate=validate.OneOf(["scheduled", "paused"]))


class JobWriteSchema(ApiSchema):
    name = Text(validate=validate.Length(max=200))
    task = _task_name()
    kwargs = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                         metadata={"description": "The task's parameters by name."})
    trigger = Text(validate=validate.OneOf(["date", "interval", "cron"]))
    trigger_args = _trigger_args()
    executor = Text(validate=validate.Length(max=50))
    jobstore = Text(validate=validate.Length(max=50))
    max_instances = Int(strict=True, allow_none=True,
                        validate=validate.Range(*limits.OPTION_LIMITS["max_instances"]),
                        metadata={"description": "Unset or null: 1."})
    coalesce = Bool(allow_none=True, metadata={"description": "Unset or null: true."})
    misfire_grace_time = Int(strict=True, allow_none=True,
                             validate=validate.Range(*limits.OPTION_LIMITS["misfire_grace_time"]),
                             metadata={"description": "Seconds; unset or null: 30."})

    def handle_error(self, error: SchemaError, data: Any, **kwargs: Any) -> None:
        """Report a trigger field by its own name (``weeks``), as the service does."""
        messages = error.messages
        if isinstance(messages, dict) and isinstance(messages.get("trigger_args"), dict):
            messages = {**{k: v for k, v in messages.items() if k != "trigger_args"},
                        **messages["trigger_args"]}
            raise SchemaError(messages) from error
        raise error


class JobCreateSchema(JobWriteSchema):
    id = Text(required=True, validate=validate.Length(min=1, max=191))
    task = _task_name(required=True)
    trigger = Text(required=True, validate=validate.OneOf(["date", "interval", "cron"]))
    paused = Bool(metadata={"description": "Add the job paused."})


class RunSchema(ApiSchema):
    id = fields.Integer(required=True)
    scheduled_at = fields.AwareDateTime(required=True)
    status = fields.String(required=True, metadata={
        "description": "submitted, succeeded, failed, missed or skipped (max instances reached)."})
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    duration_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)
    traceback = fields.String(allow_none=True)


class RunPageSchema(PageSchema):
    items = fields.List(fields.Nested(RunSchema), required=True)
    success_rate = fields.Float(allow_none=True, metadata={"description": "Percent of finished runs."})
    mean_duration_ms = fields.Float(allow_none=True)


class ParamSchema(ApiSchema):
    name = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "str, int, float or bool."})
    default = fields.Raw(allow_none=True)
    label = fields.String(required=True)
    minimum = fields.Float(allow_none=True)
    maximum = fields.Float(allow_none=True)


class TaskSchema(ApiSchema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    params = fields.List(fields.Nested(ParamSchema), required=True)


class TaskListSchema(ApiSchema):
    items = fields.List(fields.Nested(TaskSchema), required=True)


def _out(job: Any, held: bool | None = None, store: str | None = None) -> dict[str, Any]:
    """A job as the API shows it; ``held``: whether the scheduler is paused, ``store``: the
    alias of its job store (each looked up if None)."""
    data = jobs.job_data(job, store)
    held = jobs.scheduler_held() if held is None else held
    return {**data, "trigger_text": trigger_in_words(job.trigger), "held": held and not data["paused"]}


def _refusing_other_tasks(call: Any) -> Any:
    """Run ``call``; a job that names no registered task is a 400 (not a 422)."""
    try:
        return call()
    except ValidationError as err:
        if "task" in err.fields:
            raise ApiError(400, err.fields["task"][0], err.fields) from None
        raise


@bp.route("", tags=TAGS)
class JobCollection(MethodView):
    @bp.arguments(JobListArgsSchema, location="query", error_status_code=400)
    @bp.response(200, JobPageSchema, headers=LIST_HEADERS)
    @document_errors(bp, 400, 403)
    def get(self, args: dict[str, Any]) -> Any:
        """List jobs

        Soonest next run first (paused jobs last); `sort=id` by id. Search (`q`) in
        ids; filter by `state`.
        """
        require_role(api_user(), Role.VIEWER)
        query = list_query(args)
        page = jobs.list_jobs(query.page, query.per_page, query.sort or "next_run", query.desc,
                              query.search, args.get("state") or "")
        held = jobs.scheduler_held()
        page.items = [_out(job, held, page.stores.get(job.id)) for job in page.items]
        return page_body(page), list_headers(page)

    @bp.arguments(JobCreateSchema)
    @bp.response(201, JobSchema)
    @document_errors(bp, 400, 403, 409, 415, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a job

        `task` must be a registered task (see `/api/v1/tasks`); anything else is a 400.
        """
        job = _refusing_other_tasks(lambda: jobs.create_job(data, api_user()))
        return _out(job), {"Location": url_for("api_v1.jobs.JobItem", job_id=job.id, _external=True)}


@bp.route(f"/<{JOB_ID}:job_id>", tags=TAGS)
class JobItem(MethodView):
    @bp.response(200, JobSchema)
    @document_errors(bp, 403, 404)
    def get(self, job_id: str) -> Any:
        """Get a job"""
        require_role(api_user(), Role.VIEWER)
        return _out(jobs.get_job(job_id))

    @bp.arguments(JobWriteSchema, required=False)  # no body: nothing changes
    @bp.response(200, JobSchema)
    @document_errors(bp, 400, 403, 404, 415, 422)
    def patch(self, data: dict[str, Any], job_id: str) -> Any:
        """Change a job

        Only the fields sent change; `trigger_args` replaces the trigger's fields
        when sent. A paused job stays paused.
        """
        actor = api_user()
        require_role(actor, Role.ADMIN)
        current = jobs.job_data(jobs.get_job(job_id))
        if "trigger" in data and "trigger_args" not in data and data["trigger"] != current["trigger"]:
            raise ApiError(422, _("Send trigger_args with a new trigger."),
                           {"trigger_args": [_("Send the new trigger's fields.")]})
        merged = {**current, **data}
        job = _refusing_other_tasks(lambda: jobs.update_job(job_id, merged, actor))
        return _out(job)

    @bp.response(204)
    @document_errors(bp, 403, 404)
    def delete(self, job_id: str) -> None:
        """Delete a job

        Its run history stays.
        """
        jobs.apply(job_id, "delete", api_user())


@bp.route(f"/<{JOB_ID}:job_id>/<any(pause, resume, run):action>", tags=TAGS)
class JobAction(MethodView):
    @bp.response(200, JobSchema)
    @document_errors(bp, 403, 404)
    def post(self, job_id: str, action: str) -> Any:
        """Pause, resume or run a job now

        `run` goes through the scheduler, so the run is recorded in the history.
        """
        return _out(jobs.apply(job_id, action, api_user()))


@bp.route(f"/<{JOB_ID}:job_id>/runs", tags=TAGS)
class JobRuns(MethodView):
    @bp.arguments(ListArgsSchema, location="query", error_status_code=400)
    @bp.response(200, RunPageSchema, headers=LIST_HEADERS)
    @document_errors(bp, 400, 403, 404)
    def get(self, args: dict[str, Any], job_id: str) -> Any:
        """A job's runs

        Newest scheduled first, with the success rate and mean duration of all of them.
        """
        require_role(api_user(), Role.VIEWER)
        query = list_query(args)
        page = jobs.runs(job_id, query.page, query.per_page)
        stats = jobs.run_stats(job_id)
        if stats.total == 0:
            jobs.get_job(job_id)  # 404 for a job that never existed
        body = {**page_body(page), "success_rate": stats.success_rate,
                "mean_duration_ms": stats.mean_duration_ms}
        return body, list_headers(page)


@tasks_bp.route("", tags=TASK_TAGS)
class TaskCollection(MethodView):
    @tasks_bp.response(200, TaskListSchema)
    @document_errors(tasks_bp, 403)
    def get(self) -> Any:
        """List the registered tasks"""
        require_role(api_user(), Role.VIEWER)
        return {"items": [{"name": t.name, "title": str(t.title), "description": str(t.description),
                           "params": [{**p.__dict__, "label": str(p.label)} for p in t.params]}
                          for t in registry.all_tasks()]}
