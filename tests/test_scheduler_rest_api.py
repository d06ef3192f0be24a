"""Flask-APScheduler's REST API at /scheduler: admins only, registered tasks only, audited."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import select

from tests.conftest import PASSWORD, CSRFClient, app_config
from tests.test_scheduler import wait_until
from webapp import create_app
from webapp.extensions import db
from webapp.jobs.scheduler import start_scheduler
from webapp.models import AuditEntry, JobRun

HELLO = {"id": "hello", "func": "log_message", "trigger": "interval", "hours": 1}
#: Every route Flask-APScheduler ships, with a body where it takes one.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/scheduler", None),
    ("POST", "/scheduler/pause", None),
    ("POST", "/scheduler/resume", None),
    ("POST", "/scheduler/start", None),
    ("POST", "/scheduler/shutdown", None),
    ("GET", "/scheduler/jobs", None),
    ("POST", "/scheduler/jobs", {"id": "fresh", "func": "log_message", "trigger": "interval", "hours": 2}),
    ("GET", "/scheduler/jobs/hello", None),
    ("PATCH", "/scheduler/jobs/hello", {"trigger": "cron", "hour": 3}),
    ("DELETE", "/scheduler/jobs/hello", None),
    ("POST", "/scheduler/jobs/hello/pause", None),
    ("POST", "/scheduler/jobs/hello/resume", None),
    ("POST", "/scheduler/jobs/hello/run", None),
]


def build_app(tmp_path: Any, start: bool = True, **config: Any) -> Flask:
    """An app on a SQLite file (the job store needs one database for every thread)."""
    config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    app = create_app(app_config(JOBS=[HELLO], **config))
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
    if start:
        assert start_scheduler(app)  # this process owns the scheduler and runs the jobs
    # The jobs there are before a test acts: "hello" and whatever the console configures itself.
    app.config["TEST_JOBS_BEFORE"] = frozenset(j.id for j in app.extensions["scheduler"].get_jobs())
    return app


@pytest.fixture
def app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """conftest's ``app`` (so ``make_user`` and ``auth`` use it), with a started scheduler."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = build_app(tmp_path)
    yield app
    shut_down(app)


def shut_down(app: Flask) -> None:
    if app.extensions["scheduler"].running:
        app.extensions["scheduler"].shutdown(wait=True)
    with app.app_context():
        db.engine.dispose()


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def call(client: Any, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    if body is not None:
        kwargs["json"] = body
    return client.open(path, method=method, **kwargs)


def job(app: Flask, job_id: str = "hello") -> Any:
    return app.extensions["scheduler"].get_job(job_id)


def audit_rows(app: Flask) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The audit entries about jobs and the scheduler (accounts made by fixtures are audited too)."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.object_type.in_(["jobs", "scheduler"]))
                                  .order_by(AuditEntry.id)).all()
        return [(r.action, r.object_type, r.object_id, r.changes) for r in rows]


def job_ids(app: Flask) -> set[str]:
    return {j.id for j in app.extensions["scheduler"].get_jobs()}


def unchanged_jobs(app: Flask) -> bool:
    """No job was added or removed since the app was built."""
    return job_ids(app) == app.config["TEST_JOBS_BEFORE"] and "hello" in job_ids(app)


# -- who may call -----------------------------------------------------------------

@pytest.mark.parametrize("method,path,body", ROUTES)
def test_every_route_answers_401_without_valid_credentials(app, admin, method, path, body):
    client = app.test_client()
    for headers in ({}, basic("admin", "wrong password"), basic("nobody"),
                    {"Authorization": "Bearer some-token"}, {"Authorization": "Basic !!!"}):
        response = call(client, method, path, body, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="scheduler"')
        assert response.json["error_message"]
    assert job(app).next_run_time is not None and unchanged_jobs(app)
    assert app.extensions["scheduler"].state == STATE_RUNNING


@pytest.mark.parametrize("role", ["editor", "viewer"])
@pytest.mark.parametrize("method,path,body", ROUTES)
def test_editors_and_viewers_are_refused_on_every_route(app, make_user, role, method, path, body):
    make_user(role, role=role)
    response = call(app.test_client(), method, path, body, headers=basic(role))
    assert response.status_code == 403
    assert response.json["error_message"] == "Only administrators may use the scheduler's API."
    assert job(app).next_run_time is not None and unchanged_jobs(app)
    assert app.extensions["scheduler"].state == STATE_RUNNING and audit_rows(app) == []


def test_a_signed_in_viewer_is_refused_too(app, viewer, auth):
    assert auth.login("viewer").status_code == 302
    assert auth.client.get("/scheduler/jobs").status_code == 403


def test_a_deactivated_admin_is_refused(app, make_user):
    make_user("former", role="admin", active=False)
    response = app.test_client().get("/scheduler/jobs", headers=basic("former"))
    assert response.status_code == 403 and "deactivated" in response.json["error_message"]


def test_failed_basic_logins_are_throttled_like_the_sign_in_form(app, admin):
    client = app.test_client()
    for _attempt in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.get("/scheduler", headers=basic("admin", "wrong")).status_code == 401
    response = client.get("/scheduler", headers=basic("admin"))  # even the right password
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_a_session_needs_the_csrf_token_for_changes_and_basic_auth_does_not(app, admin, auth):
    assert auth.login("admin").status_code == 302
    client = auth.client
    assert client.get("/scheduler/jobs").status_code == 200  # reading needs no token
    refused = client.post("/scheduler/jobs/hello/pause", csrf=False)
    assert refused.status_code == 400 and "X-CSRFToken" in refused.json["error_message"]
    assert job(app).next_run_time is not None
    paused = client.post("/scheduler/jobs/hello/pause", csrf=False,
                         headers={"X-CSRFToken": client.csrf_token()})
    assert paused.status_code == 200 and job(app).next_run_time is None
    body = {"id": "by-session", "func": "log_message", "trigger": "interval", "hours": 6}
    assert client.post("/scheduler/jobs", csrf=False, json=body).status_code == 400
    assert job(app, "by-session") is None
    token = {"X-CSRFToken": client.csrf_token()}
    added = client.post("/scheduler/jobs", csrf=False, json=body, headers=token)
    assert added.status_code == 200 and job(app, "by-session") is not None
    other = app.test_client()  # no session, no CSRF token: Basic credentials are enough
    assert other.post("/scheduler/jobs/hello/resume", csrf=False, headers=basic("admin")).status_code == 200
    assert job(app).next_run_time is not None


# -- what an admin gets ---------------------------------------------------------------

def test_an_admin_drives_every_job_route(app, admin):
    client, auth_headers = app.test_client(), basic("admin")

    def api(method: str, path: str, body: Any = None) -> Any:
        return call(client, method, path, body, headers=auth_headers)

    info = api("GET", "/scheduler")
    assert info.status_code == 200
    assert info.json == {"current_host": app.extensions["scheduler"].host_name,
                         "allowed_hosts": ["*"], "running": True, "state": "running"}

    added = api("POST", "/scheduler/jobs", {"id": "greet", "func": "log_message", "trigger": "interval",
                                            "minutes": 30, "kwargs": {"name": "api"}})
    assert added.status_code == 200
    assert added.json["id"] == "greet" and added.json["trigger"] == "interval"
    assert added.json["minutes"] == 30 and added.json["kwargs"] == {"name": "api"}
    stored = job(app, "greet")
    assert (stored.func_ref, stored.args, stored.kwargs) == ("webapp.jobs.registry:run_task",
                                                             ("log_message",), {"name": "api"})

    listed = api("GET", "/scheduler/jobs")
    assert listed.status_code == 200
    assert {j["id"] for j in listed.json} == app.config["TEST_JOBS_BEFORE"] | {"greet"}
    fetched = api("GET", "/scheduler/jobs/greet")
    assert fetched.status_code == 200 and fetched.json["name"] == "greet"

    updated = api("PATCH", "/scheduler/jobs/greet", {"trigger": "cron", "hour": 3, "minute": 0,
                                                     "kwargs": {"name": "night"}})
    assert updated.status_code == 200
    assert (updated.json["trigger"], updated.json["hour"], updated.json["minute"]) == ("cron", "3", "0")
    stored = job(app, "greet")
    assert isinstance(stored.trigger, CronTrigger) and stored.kwargs == {"name": "night"}
    assert stored.next_run_time.hour == 3

    paused = api("POST", "/scheduler/jobs/greet/pause")
    assert paused.status_code == 200 and paused.json["next_run_time"] is None
    assert job(app, "greet").next_run_time is None
    resumed = api("POST", "/scheduler/jobs/greet/resume")
    assert resumed.status_code == 200 and resumed.json["next_run_time"] is not None
    assert job(app, "greet").next_run_time is not None

    ran = api("POST", "/scheduler/jobs/greet/run")  # through the scheduler: recorded in the history
    assert ran.status_code == 200 and ran.json["id"] == "greet"

    def statuses() -> list[str]:
        with app.app_context():
            return list(db.session.scalars(select(JobRun.status).where(JobRun.job_id == "greet")))

    wait_until(lambda: statuses() == ["succeeded"])

    deleted = api("DELETE", "/scheduler/jobs/greet")
    assert deleted.status_code == 204 and deleted.data == b""
    assert job(app, "greet") is None
    assert api("GET", "/scheduler/jobs/greet").status_code == 404

    rows = [row for row in audit_rows(app) if row[1] == "jobs"]
    assert [(action, object_id) for action, _type, object_id, _changes in rows] == [
        ("create", "greet"), ("update", "greet"), ("update", "greet"), ("update", "greet"),
        ("update", "greet"), ("delete", "greet")]
    created, edited = rows[0][3], rows[1][3]
    assert created["args"] == [None, ["log_message"]] and created["kwargs"] == [None, {"name": "api"}]
    assert edited["trigger"] == ["interval", "cron"] and edited["kwargs"] == [{"name": "api"},
                                                                              {"name": "night"}]
    assert [r[3]["action"] for r in rows[2:]] == ["pause", "resume", "run", "delete"]
    assert rows[2][3]["next_run_time"][1] is None and rows[3][3]["next_run_time"][1] is not None


def test_the_whole_scheduler_pauses_and_resumes_only_where_it_runs(app, admin, tmp_path):
    client, headers = app.test_client(), basic("admin")
    scheduler = app.extensions["scheduler"]
    assert client.post("/scheduler/pause", csrf=False, headers=headers).status_code == 204
    assert scheduler.state == STATE_PAUSED
    assert client.post("/scheduler/resume", csrf=False, headers=headers).status_code == 204
    assert scheduler.state == STATE_RUNNING
    for path in ("/scheduler/start", "/scheduler/shutdown"):  # it lives and dies with its process
        response = client.post(path, csrf=False, headers=headers)
        assert response.status_code == 409 and "pause or resume" in response.json["error_message"]
    assert scheduler.state == STATE_RUNNING
    assert [(r[0], r[1], r[3]) for r in audit_rows(app)] == [
        ("update", "scheduler", {"state": ["running", "paused"]}),
        ("update", "scheduler", {"state": ["paused", "running"]})]

    other = build_app(tmp_path, start=False)  # another process of the deployment: edits jobs only
    try:
        other_client = other.test_client()
        assert "hello" in {j["id"] for j in other_client.get("/scheduler/jobs", headers=headers).json}
        refused = other_client.post("/scheduler/resume", csrf=False, headers=headers)
        assert refused.status_code == 409 and "does not run jobs in this process" in \
            refused.json["error_message"]
        assert other.extensions["scheduler"].state == STATE_PAUSED  # still not running jobs
    finally:
        shut_down(other)
