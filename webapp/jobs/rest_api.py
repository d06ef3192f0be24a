"""Flask-APScheduler's REST API (``SCHEDULER_API_PREFIX``, ``/scheduler``), guarded.

:func:`protect_api` puts a guard before each view the library registered. The guard
admits administrators only, by HTTP Basic (the sign-in check and its throttle) or the
browser session (state changes need ``X-CSRFToken``, as in the JSON API). It checks a
job's payload as the scheduler will before the library's view sees it (a bad one is a
400, never a 500 or half a change), answers 404 for an unknown job and 409 for a taken
id, runs a job now through the scheduler (so the run is recorded) and audits every
change as the job pages do. Pausing or resuming the whole scheduler is refused (409)
in a process that does not run the jobs, starting or stopping it everywhere: it starts
and stops with its process. A library route this module does not know is a 404.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from apscheduler.util import convert_to_datetime
from flask import Flask, Response, current_app, jsonify, request
from flask_apscheduler.json import jsonify as job_response
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.extensions import csrf, db
from webapp.jobs import registry, rules
from webapp.jobs.limits import INTERVAL_UNITS, MAX_INTERVAL, OPTION_LIMITS
from webapp.jobs.rules import DATE_FIELDS, TRIGGER_FIELDS
from webapp.jobs.scheduler import JOB_ID, readable_scheduler
from webapp.models import Role, User
from webapp.services import audit
from webapp.services import auth as auth_service
from webapp.services.errors import DomainError, Throttled, ValidationError
from webapp.services.jobs import RESERVED_IDS, scheduler_state

View = Callable[..., Response]
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="scheduler", charset="UTF-8"'}
ALL_TRIGGER_FIELDS = frozenset(f for fields in TRIGGER_FIELDS.values() for f in fields)
SETTINGS = ("name", "executor", "misfire_grace_time", "coalesce", "max_instances", "next_run_time")
UPDATE_FIELDS = frozenset({"func", "args", "kwargs", "trigger", "jobstore", *SETTINGS})
JOB_ROUTES = frozenset({"get_jobs", "add_job", "get_job", "update_job", "delete_job", "pause_job",
                        "resume_job", "run_job"})


class Refused(Exception):
    """An answer of the guard's own: a status, a message and headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def protect_api(app: Flask) -> None:
    """Guard every view Flask-APScheduler registered on ``app`` (call right after ``init_app``)."""
    for endpoint, view in list(app.view_functions.items()):
        original = inspect.unwrap(view)
        if str(getattr(original, "__module__", "")).startswith("flask_apscheduler"):
            app.view_functions[endpoint] = _guard(original.__name__, view)


def _guard(name: str, library_view: View) -> View:
    def view(**kwargs: Any) -> Response:
        try:
            response = _dispatch(name, library_view, _authenticate(), kwargs)
            if response.status_code >= 500:  # the library logged the cause; keep it out of the answer
                response = _error(500, _("The error has been logged. Try again, and tell an "
                                         "administrator if it happens again."))
        except Refused as err:
            response = _error(err.status, err.message, headers=err.headers)
        except ValidationError as err:
            response = _error(400, err.message, err.fields)
        except DomainError as err:  # a deactivated account: 403
            response = _error(err.status, err.message)
        except CSRFError:
            response = _error(400, _("A signed-in browser session must send the X-CSRFToken header "
                                     "(the token is in the page's csrf-token meta tag)."))
        except HTTPException as err:  # a body over MAX_CONTENT_LENGTH
            status = err.code or 400
            response = _error(status, _("The request is too large.") if status == 413
                              else _("The request could not be understood."))
        response.headers["Cache-Control"] = "no-store"
        return response

    view.__name__ = view.__qualname__ = f"guarded_{name}"
    view.__doc__ = library_view.__doc__
    csrf.exempt(view)  # Basic auth needs no token; a session caller is checked in _authenticate
    return view


def _authenticate() -> User:
    """The administrator making this request (Basic credentials first, else the session)."""
    if request.headers.get("Authorization") is not None:
        credentials = request.authorization
        if credentials is None or credentials.type != "basic" or not credentials.username:
            raise Refused(401, _("Use HTTP Basic with the user name and password of an "
                                 "administrator."), BASIC_CHALLENGE)
        try:
            user = auth_service.authenticate(credentials.username, credentials.password or "",
                                             request.remote_addr or "unknown")
        except auth_service.InvalidCredentials as err:
            raise Refused(401, err.message, BASIC_CHALLENGE) from None
        except Throttled as err:
            raise Refused(429, err.message, {"Retry-After": str(err.retry_after)}) from None
    elif current_user.is_authenticated:
        csrf.protect()  # for a state change without a valid X-CSRFToken header: CSRFError
        user = current_user._get_current_object()
    else:
        raise Refused(401, _("Sign in, or send the user name and password of an administrator "
                             "(HTTP Basic)."), BASIC_CHALLENGE)
    if not user.has_role(Role.ADMIN):
        raise Refused(403, _("Only administrators may use the scheduler's API."))
    return user  # type: ignore[no-any-return]


def _dispatch(name: str, library_view: View, user: User, kwargs: dict[str, Any]) -> Response:
    app = current_app
    scheduler = app.extensions["scheduler"]
    if name == "get_scheduler_info":  # "running" stays true while paused: "state" tells
        return jsonify({**library_view().get_json(), "state": scheduler_state().state})
    if name in {"pause_scheduler", "resume_scheduler"}:
        return _pause_or_resume(app, scheduler, library_view, user)
    if name in {"start_scheduler", "shutdown_scheduler"}:
        raise Refused(409, _("The scheduler starts and stops with the process that runs it "
                             "(run.py, or SCHEDULER_AUTOSTART); pause or resume it instead."))
    if name not in JOB_ROUTES:
        raise Refused(404, _("There is nothing at this address."))
    scheduler = readable_scheduler(app)
    if not scheduler.running:  # a host outside SCHEDULER_ALLOWED_HOSTS, or the reloader's parent
        raise Refused(503, _("This process cannot reach the job stores; use a host that may run "
                             "the scheduler."))
    if name == "get_jobs":
        return library_view()
    if name == "add_job":
        data = _body()
        check_job(scheduler, data)
        if scheduler.get_job(data["id"]) is not None:
            raise Refused(409, _("A job with id “%(id)s” exists already.", id=data["id"]))
        return _audited(user, "create", data["id"], None, library_view)
    job = scheduler.get_job(kwargs["job_id"])
    if job is None:
        raise Refused(404, _("No job with id %(id)s.", id=kwargs["job_id"][:100]))
    if name == "get_job":
        return library_view(**kwargs)
    if name == "update_job":
        check_job(scheduler, _body(), job)
        return _audited(user, "update", job.id, job, library_view)
    before = _next_run(job)
    # "run": an extra run through the scheduler, recorded like any other
    response = job_response(scheduler.run_now(job.id)) if name == "run_job" else library_view(**kwargs)
    if response.status_code < 300:
        action = name.removesuffix("_job")
        after = None if action == "delete" else _next_run(scheduler.get_job(job.id))
        _audit(user, "delete" if action == "delete" else "update", "jobs", job.id,
               {"action": action, "next_run_time": [before, after]})
    return response


def _audited(user: User, action: str, job_id: str, job: Any, library_view: View) -> Response:
    """Add or update through the library's view; audit the fields as they changed."""
    before = _plain(job)
    response = library_view(**({"job_id": job_id} if job is not None else {}))
    if response.status_code == 200:
        after = _plain(current_app.extensions["scheduler"].get_job(job_id))
        changes = audit.diff(before, after)
        changes.pop("id", None)
        _audit(user, action, "jobs", job_id, changes)
    return response


def _pause_or_resume(app: Flask, scheduler: Any, library_view: View, user: User) -> Response:
    if not app.extensions.get("scheduler_owner"):  # set by start_scheduler
        raise Refused(409, _("The scheduler does not run jobs in this process; pause or resume it "
                             "where it runs."))
    before = _state(scheduler)
    response = library_view()
    if response.status_code < 300:
        _audit(user, "update", "scheduler", scheduler.host_name, {"state": [before, _state(scheduler)]})
    return response


def check_job(scheduler: Any, data: dict[str, Any], job: Any | None = None) -> None:
    """Raise ValidationError for anything adding (``job`` None) or changing ``job`` would fail on:
    the payload is read as Flask-APScheduler and ConsoleScheduler read it, and the job is
    put together (not stored)."""
    fields = copy.deepcopy(data)
    errors: dict[str, list[str]] = {}
    for key in DATE_FIELDS:  # as flask_apscheduler.utils.fix_job_def, within the accepted years
        if key in fields:
            try:
                fields[key] = rules.parse_moment(fields[key], key)
            except ValidationError as err:
                errors.update(err.fields)
    if isinstance(fields.get("trigger"), dict):  # the library's older {"trigger": {"type": ...}}
        nested = fields.pop("trigger")
        fields["trigger"] = nested.pop("type", "date")
        fields.update(nested)
    kind = fields.get("trigger")
    allowed = UPDATE_FIELDS | ({"id"} if job is None else set()) | set(TRIGGER_FIELDS.get(str(kind), ()))
    for key in sorted(set(fields) - allowed):
        errors[key] = [_("The id of a job cannot be changed.") if key == "id"
                       else _("Send “trigger” with the trigger's fields.") if key in ALL_TRIGGER_FIELDS
                       else _("Unknown field “%(name)s”.", name=key[:100])]
    if job is None and not (isinstance(fields.get("id"), str) and JOB_ID.fullmatch(fields["id"])
                            and fields["id"] not in {".", ".."}):
        errors["id"] = [_("Use 1 to 191 letters, digits, dots, dashes, underscores or colons.")]
    elif job is None and fields["id"] in RESERVED_IDS:  # words the job pages use in their URLs
        errors["id"] = [_("“%(id)s” is reserved; choose another id.", id=fields["id"])]
    if job is None or {"func", "args", "kwargs"} & set(fields):  # as ConsoleScheduler
        name = fields.get("func") or (job.args[0] if job is not None and job.args else "")
        task = None
        try:
            task = registry.get_task(name) if isinstance(name, str) else None
        except ValidationError as err:
            errors.update(err.fields)
        if task is None and "func" not in errors:
            errors["func"] = [_("Name a registered task.")]
        elif task is not None:  # positional args go to the task's parameters in order
            try:
                bound = registry.bind_args(task, fields.get("args"), fields.get("kwargs"))
                registry.validate_kwargs(task, bound)
            except ValidationError as err:
                errors.update({k if k in ("args", "kwargs") else f"kwargs.{k}": v
                               for k, v in err.fields.items()})
    if (job is None or "trigger" in fields) and not (isinstance(kind, str) and kind in TRIGGER_FIELDS):
        errors["trigger"] = [_("Choose date, interval or cron.")]
    elif "trigger" in fields:
        if kind == "interval":
            _check_interval(fields, errors)
        if not errors.keys() & {"trigger", *ALL_TRIGGER_FIELDS}:
            grace = fields.get("misfire_grace_time", job.misfire_grace_time if job is not None else None)
            try:  # the trigger as ConsoleScheduler will build it, and the schedule rules
                trigger = rules.make_trigger(kind, fields, scheduler.scheduler.timezone)
                rules.check_schedule(trigger, rules.never_fires_field(kind, fields), rules.grace_of(grace))
            except ValidationError as err:
                errors.update(err.fields)
    _check_settings(scheduler, fields, job, errors)
    if errors:
        raise ValidationError(errors)


def _check_interval(fields: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """The form's limits: a negative interval would have the scheduler list runs without end."""
    total = 0.0
    for key, seconds in INTERVAL_UNITS:
        value = fields.get(key, 0)
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not 0 <= value <= MAX_INTERVAL[key]):
            errors[key] = [_("Use a number from 0 to %(max)s.", max=MAX_INTERVAL[key])]
        else:
            total += value * seconds
    if total <= 0 and not errors.keys() & set(MAX_INTERVAL):
        errors["seconds"] = [_("Give an interval longer than zero.")]


def _check_settings(scheduler: Any, fields: dict[str, Any], job: Any | None,
                    errors: dict[str, list[str]]) -> None:
    engine = scheduler.scheduler
    for key, known in (("jobstore", scheduler.stores), ("executor", scheduler.executors)):
        value = fields.get(key, "default" if job is None else None)
        if (job is None or value is not None) and (not isinstance(value, str) or value not in known):
            errors[key] = [_("Choose one of: %(names)s.", names=", ".join(sorted(known)))]
    if job is not None and "jobstore" in fields:
        store = scheduler.store_of(job.id)
        if fields["jobstore"] != store:
            errors.setdefault("jobstore", [_("A job stays in its job store (%(store)s).", store=store)])
    name = fields.get("name")
    if "name" in fields and (job is not None or name is not None) and not (
            isinstance(name, str) and 0 < len(name) <= 200):
        errors["name"] = [_("Use 1 to 200 characters.")]
    for key, (low, high) in OPTION_LIMITS.items():  # the job form's limits
        value = fields.get(key, low)
        if (value is not None or key == "max_instances") and (
                isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            errors[key] = [_("Use a whole number from %(low)d to %(high)d.", low=low, high=high)]
    if not isinstance(fields.get("coalesce", False), bool):
        errors["coalesce"] = [_("Use true or false.")]
    if fields.get("next_run_time") is not None:  # null pauses the job
        try:
            when = convert_to_datetime(fields["next_run_time"], engine.timezone, "next_run_time")
        except (TypeError, ValueError, OverflowError):
            errors["next_run_time"] = [_("Enter a date and time such as 2026-12-01T09:30:00+00:00, "
                                         "or null to pause the job.")]
        else:
            try:
                rules.check_next_run_time(when)
            except ValidationError as err:
                errors.update(err.fields)


def _body() -> dict[str, Any]:
    try:
        data = request.get_json(force=True, silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        raise Refused(400, _("Send the job as a JSON object."))
    return data


def _plain(job: Any) -> dict[str, Any]:
    """The job as the library shows it, in plain JSON values (for the audit log)."""
    return json.loads(job_response(job).get_data()) if job is not None else {}  # type: ignore[no-any-return]


def _next_run(job: Any) -> str | None:
    return job.next_run_time.isoformat() if job is not None and job.next_run_time else None


def _state(scheduler: Any) -> str:
    return {STATE_RUNNING: "running", STATE_PAUSED: "paused"}.get(scheduler.state, "stopped")


def _audit(user: User, action: str, object_type: str, object_id: str, changes: dict[str, Any]) -> None:
    audit.record_change(user, action, object_type, object_id[:64], object_id, changes)
    db.session.commit()


def _error(status: int, message: str, fields: dict[str, list[str]] | None = None,
           headers: dict[str, str] | None = None) -> Response:
    """Flask-APScheduler's error shape, ``{"error_message": ...}``, with field messages if any."""
    body: dict[str, Any] = {"error_message": str(message)}
    if fields:
        body["fields"] = {str(k): [str(m) for m in v] for k, v in fields.items()}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response
