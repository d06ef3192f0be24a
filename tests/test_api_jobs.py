"""JSON API for scheduled jobs: roles, registered tasks only, triggers, actions, runs, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api_support import RoleClients, audit_entries, error_of
from webapp.extensions import db
from webapp.jobs.scheduler import readable_scheduler
from webapp.models import JobRun

NIGHTLY = {"id": "nightly", "task": "purge_run_history", "kwargs": {"days": 7}, "trigger": "cron",
           "trigger_args": {"crontab": "0 3 * * 1-5", "timezone": "Europe/Paris"}}


@pytest.fixture
def clients(app, make_user, admin) -> RoleClients:
    return RoleClients(app, make_user)


@pytest.fixture
def api(clients):
    return clients("admin")


def add_hello(app) -> None:
    readable_scheduler(app).add_job("hello", "log_message", trigger="interval", hours=1)


OPERATIONS = [
    ("get", "/api/v1/jobs", None, "viewer"),
    ("get", "/api/v1/jobs/hello", None, "viewer"),
    ("get", "/api/v1/jobs/hello/runs", None, "viewer"),
    ("get", "/api/v1/tasks", None, "viewer"),
    ("post", "/api/v1/jobs", NIGHTLY, "admin"),
    ("patch", "/api/v1/jobs/hello", {"name": "Hello"}, "admin"),
    ("post", "/api/v1/jobs/hello/pause", None, "admin"),
    ("post", "/api/v1/jobs/hello/run", None, "admin"),
    ("delete", "/api/v1/jobs/hello", None, "admin"),
]
RANK = {"viewer": 1, "editor": 2, "admin": 3}


@pytest.mark.parametrize(("method", "path", "body", "minimum"), OPERATIONS)
@pytest.mark.parametrize("role", ["admin", "editor", "viewer", "anonymous"])
def test_role_matrix(app, clients, method, path, body, minimum, role):
    add_hello(app)
    response = getattr(clients(role), method)(path, **({"json": body} if body else {}))
    if role == "anonymous":
        assert response.status_code == 401 and error_of(response)["status"] == 401
    elif RANK[role] >= RANK[minimum]:
        assert response.status_code in (200, 201, 204), response.get_json()
    else:
        assert response.status_code == 403 and error_of(response)["status"] == 403
        assert readable_scheduler(app).get_job("nightly") is None
        assert readable_scheduler(app).get_job("hello").name == "hello"
        assert audit_entries(app, "jobs") == []


def test_create_get_and_list(app, api):
    created = api.post("/api/v1/jobs", json=NIGHTLY)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert created.headers["Location"].endswith("/api/v1/jobs/nightly")
    assert (body["task"], body["kwargs"], body["trigger"]) == ("purge_run_history", {"days": 7}, "cron")
    assert body["trigger_args"]["crontab"] == "0 3 * * mon-fri"
    assert body["trigger_args"]["timezone"] == "Europe/Paris"
    assert body["trigger_text"] == "cron 0 3 * * mon-fri" and body["paused"] is False
    next_run = datetime.fromisoformat(body["next_run_time"])
    assert next_run.weekday() < 5 and next_run.astimezone(next_run.tzinfo).hour == 3
    assert api.get("/api/v1/jobs/nightly").get_json() == body
    add_hello(app)
    listing = api.get("/api/v1/jobs?sort=id")
    assert [j["id"] for j in listing.get_json()["items"]] == ["hello", "nightly"]
    assert listing.headers["X-Total-Count"] == "2"
    assert [j["id"] for j in api.get("/api/v1/jobs?q=nig").get_json()["items"]] == ["nightly"]
    assert audit_entries(app, "jobs") == [("api-admin", "create", "nightly")]


@pytest.mark.parametrize("task", ["os:system", "subprocess:run", "webapp.jobs.tasks:logger", ""])
def test_only_registered_tasks_are_accepted(app, api, task):
    response = api.post("/api/v1/jobs", json={**NIGHTLY, "task": task, "kwargs": {}})
    assert response.status_code == 400
    assert "is not a registered task" in error_of(response)["message"]
    add_hello(app)
    changed = api.patch("/api/v1/jobs/hello", json={"task": task})
    assert changed.status_code == 400 and "is not a registered task" in error_of(changed)["message"]
    assert readable_scheduler(app).get_job("hello").args == ("log_message",)
    assert readable_scheduler(app).get_job("nightly") is None


@pytest.mark.parametrize(("change", "field"), [
    ({"trigger_args": {"crontab": "0 3 * *"}}, "crontab"),
    ({"trigger_args": {"hour": "24"}}, "hour"),
    ({"trigger": "interval", "trigger_args": {}}, "seconds"),
    ({"trigger": "interval", "trigger_args": {"weeks": [1]}}, "weeks"),
    ({"trigger": "date", "trigger_args": {"run_date": "2001-01-01T00:00"}}, "run_date"),
    ({"trigger": "date", "trigger_args": {"run_date": {"nested": 1}}}, "run_date"),
    ({"trigger_args": {"crontab": "0 3 * * *", "timezone": "Nowhere/Land"}}, "timezone"),
    ({"trigger": "interval", "trigger_args": {"weeks": 520, "start_date": "9999-12-30T00:00"}}, "start_date"),
    ({"kwargs": {"days": 0}}, "kwargs.days"),
    ({"kwargs": {"command": "rm -rf /"}}, "kwargs.command"),
    ({"id": "a b"}, "id"),
    ({"executor": "elsewhere"}, "executor"),
    ({"max_instances": 0}, "max_instances"),
])
def test_bad_jobs_get_422_with_field_messages(app, api, change, field):
    response = api.post("/api/v1/jobs", json={**NIGHTLY, **change})
    assert response.status_code == 422, response.get_json()
    assert field in error_of(response)["fields"]
    assert readable_scheduler(app).get_jobs() == []


def test_wrong_types_and_unknown_fields_are_400s_or_422s(api):
    for body in ({**NIGHTLY, "kwargs": "days=7"}, {**NIGHTLY, "paused": "maybe"}, {**NIGHTLY, "func": "x"},
                 [1, 2], {"id": "x"}):
        response = api.post("/api/v1/jobs", json=body)
        assert response.status_code in (400, 422), (body, response.get_json())
        error_of(response)


def test_patch_changes_only_what_is_sent_and_keeps_a_paused_job_paused(app, api):
    api.post("/api/v1/jobs", json=NIGHTLY)
    api.post("/api/v1/jobs/nightly/pause")
    response = api.patch("/api/v1/jobs/nightly", json={"trigger": "interval", "trigger_args": {"minutes": 20},
                                                       "kwargs": {"days": 3}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["trigger_text"], body["kwargs"], body["paused"]) == ("every 20 minutes", {"days": 3}, True)
    assert body["task"] == "purge_run_history" and body["name"] == "nightly"
    needs_fields = api.patch("/api/v1/jobs/nightly", json={"trigger": "date"})
    assert needs_fields.status_code == 422 and "trigger_args" in error_of(needs_fields)["fields"]
    assert api.patch("/api/v1/jobs/missing", json={"name": "x"}).status_code == 404


def test_actions_runs_and_delete(app, api):
    add_hello(app)
    assert api.post("/api/v1/jobs/hello/pause").get_json()["paused"] is True
    assert api.post("/api/v1/jobs/hello/resume").get_json()["paused"] is False
    assert api.post("/api/v1/jobs/hello/explode").status_code == 404
    now = datetime.now(UTC)
    with app.app_context():
        for hours, status, ms in ((2, "succeeded", 10.0), (1, "failed", 30.0)):
            db.session.add(JobRun(job_id="hello", scheduled_at=now - timedelta(hours=hours), status=status,
                                  duration_ms=ms, error="ValueError: x" if status == "failed" else None))
        db.session.commit()
    runs = api.get("/api/v1/jobs/hello/runs").get_json()
    assert [r["status"] for r in runs["items"]] == ["failed", "succeeded"]
    assert (runs["success_rate"], runs["mean_duration_ms"], runs["total"]) == (50.0, 20.0, 2)
    assert api.delete("/api/v1/jobs/hello").status_code == 204
    assert api.get("/api/v1/jobs/hello").status_code == 404
    assert api.get("/api/v1/jobs/hello/runs").get_json()["total"] == 2  # the history stays
    assert api.get("/api/v1/jobs/never/runs").status_code == 404
    assert [a for _, a, _ in audit_entries(app, "jobs")] == ["update", "update", "delete"]


def test_tasks_lists_the_registry_with_typed_parameters(api):
    tasks = {t["name"]: t for t in api.get("/api/v1/tasks").get_json()["items"]}
    assert {"log_message", "record_memory_sample", "publish_due_blogs", "purge_run_history",
            "backup_database"} <= set(tasks)
    assert tasks["purge_run_history"]["params"] == [
        {"name": "days", "type": "int", "default": 30, "label": "Keep days", "minimum": 1, "maximum": 3650}]


def test_a_session_caller_needs_the_csrf_header(app, auth, admin):
    auth.login("admin")
    response = auth.client.post("/api/v1/jobs", json=NIGHTLY, csrf=False)
    assert response.status_code == 400 and "CSRF" in error_of(response)["message"]
    assert readable_scheduler(app).get_job("nightly") is None


def test_cron_fields_take_text_or_whole_numbers_only(app, api):
    api.post("/api/v1/jobs", json=NIGHTLY)
    for value in (["mon"], True, 1.5, {"a": 1}):
        response = api.patch("/api/v1/jobs/nightly", json={"trigger": "cron",
                                                           "trigger_args": {"day_of_week": value}})
        assert response.status_code in (400, 422), (value, response.get_json())
        assert "day_of_week" in str(error_of(response)["fields"]), value
    numeric = api.patch("/api/v1/jobs/nightly", json={"trigger": "cron", "trigger_args": {"minute": 5}})
    assert numeric.status_code == 200, numeric.get_json()
    assert "5" in str(numeric.get_json()["trigger_args"]), numeric.get_json()


def test_a_patch_without_a_body_changes_nothing(app, api):
    before = api.post("/api/v1/jobs", json=NIGHTLY).get_json()
    response = api.patch("/api/v1/jobs/nightly")
    assert response.status_code == 200
    assert response.get_json()["trigger_text"] == before["trigger_text"]
