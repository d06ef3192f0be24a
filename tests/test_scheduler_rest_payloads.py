"""Flask-APScheduler's REST API: registered tasks only; every bad payload is a 400 with a message."""
# ruff: noqa: F811  (the fixtures come from test_scheduler_rest_api)

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.test_scheduler_rest_api import (  # noqa: F401
    HELLO,
    ROUTES,
    app,
    audit_rows,
    basic,
    build_app,
    call,
    job,
    job_ids,
    shut_down,
    unchanged_jobs,
    wait_until,
)
from webapp.services import users as user_service
from webapp.services.users import UserData

# -- registered tasks only, and bad payloads ---------------------------------------------

def test_only_registered_tasks_can_be_added_or_swapped_in(app, admin):
    client, headers = app.test_client(), basic("admin")
    evil = {"id": "x", "func": "os:system", "args": ["touch /tmp/pwned"], "trigger": "date"}
    response = client.post("/scheduler/jobs", csrf=False, json=evil, headers=headers)
    assert response.status_code == 400
    assert "“os:system” is not a registered task" in response.json["error_message"]
    assert set(response.json["fields"]) == {"func"}  # args map to a registered task's parameters
    assert job(app, "x") is None
    for change in ({"func": "os:system"}, {"func": "os:system", "args": ["touch /tmp/pwned"]},
                   {"args": ["touch /tmp/pwned", "more"]}, {"kwargs": {"command": "true"}},
                   {"func": "webapp.jobs.registry:run_task"}):
        response = client.patch("/scheduler/jobs/hello", json=change, headers=headers)
        assert response.status_code == 400, change
        assert response.json["error_message"]
    stored = job(app)
    assert (stored.func_ref, stored.args, stored.kwargs) == ("webapp.jobs.registry:run_task",
                                                             ("log_message",), {"name": "world"})
    assert audit_rows(app) == []


BAD_ADDS = [
    {"func": "log_message", "trigger": "date"},  # no id
    {"id": "a/b", "func": "log_message", "trigger": "date"},
    {"id": "x" * 192, "func": "log_message", "trigger": "date"},
    {"id": "new\n", "func": "log_message", "trigger": "date"},
    {"id": 5, "func": "log_message", "trigger": "date"},
    {"id": "j"},  # no task, no trigger
    {"id": "j", "func": ["log_message"], "trigger": "date"},
    {"id": "j", "func": "log_message"},  # no trigger
    {"id": "j", "func": "log_message", "trigger": "weekly"},
    {"id": "j", "func": "log_message", "trigger": 5},
    {"id": "j", "func": "log_message", "trigger": ["cron"]},
    {"id": "j", "func": "log_message", "trigger": {"type": ["cron"]}},
    {"id": "new", "func": "log_message", "trigger": "date"},  # /jobs/new is the job form
    {"id": "j", "func": "log_message", "trigger": "cron", "hour": "99"},
    {"id": "j", "func": "log_message", "trigger": "cron", "day_of_week": "someday"},
    {"id": "j", "func": "log_message", "trigger": "interval", "minutes": "5"},
    {"id": "j", "func": "log_message", "trigger": "interval", "weeks": 10 ** 12},
    {"id": "j", "func": "log_message", "trigger": "interval", "minutes": 5, "timezone": "Mars/Base"},
    {"id": "j", "func": "log_message", "trigger": "date", "run_date": "not a date"},
    {"id": "j", "func": "log_message", "trigger": "date", "hour": 3},  # a cron field on a date
    {"id": "j", "func": "log_message", "trigger": {"type": "cron", "hour": "25"}},
    {"id": "j", "func": "log_message", "trigger": "date", "jobstore": "nope"},
    {"id": "j", "func": "log_message", "trigger": "date", "executor": "nope"},
    {"id": "j", "func": "log_message", "trigger": "date", "kwargs": ["x"]},
    {"id": "j", "func": "log_message", "trigger": "date", "kwargs": {"name": 5, "shout": True}},
    {"id": "j", "func": "purge_run_history", "trigger": "date", "kwargs": {"days": "many"}},
    {"id": "j", "func": "log_message", "trigger": "date", "max_instances": "2"},
    {"id": "j", "func": "log_message", "trigger": "date", "max_instances": 0},
    {"id": "j", "func": "log_message", "trigger": "date", "max_instances": 101},
    {"id": "j", "func": "log_message", "trigger": "date", "misfire_grace_time": True},
    {"id": "j", "func": "log_message", "trigger": "date", "coalesce": "yes"},
    {"id": "j", "func": "log_message", "trigger": "date", "name": 5},
    {"id": "j", "func": "log_message", "trigger": "date", "next_run_time": "soon"},
    {"id": "j", "func": "log_message", "trigger": "interval", "seconds": -1},
    {"id": "j", "func": "log_message", "trigger": "interval", "seconds": 0},
    {"id": "j", "func": "log_message", "trigger": "interval", "seconds": 1, "jitter": 5},
    {"id": "j", "func": "log_message", "trigger": "interval", "seconds": 1,
     "next_run_time": "2000-01-01T00:00:00+00:00"},  # the scheduler would list every run since
    {"id": "j", "func": "log_message", "trigger": "date", "replace_existing": True},
]


@pytest.mark.parametrize("body", BAD_ADDS)
def test_a_bad_job_is_a_400_with_a_message(app, admin, body):
    response = app.test_client().post("/scheduler/jobs", csrf=False, json=body, headers=basic("admin"))
    assert response.status_code == 400 and response.is_json
    assert response.json["error_message"] and response.json["fields"]
    assert unchanged_jobs(app) and audit_rows(app) == []


@pytest.mark.parametrize("data", [b"{", b"[1, 2]", b"null", b'"job"', b"[" * 100_000, b"\xff\xfe{"])
def test_a_body_that_is_not_a_json_object_is_a_400(app, admin, data):
    for method, path in (("POST", "/scheduler/jobs"), ("PATCH", "/scheduler/jobs/hello")):
        response = app.test_client().open(path, method=method, data=data, headers=basic("admin"),
                                          content_type="application/json")
        assert response.status_code == 400 and response.json["error_message"] == \
            "Send the job as a JSON object."
    assert unchanged_jobs(app)


BAD_UPDATES = [
    {"id": "renamed"},
    {"hour": 3},  # a trigger field without the trigger
    {"trigger": "cron", "hour": "99"},
    {"trigger": "fortnightly"},
    {"trigger": "interval", "seconds": -1},
    {"jobstore": "memory"},  # a job stays in its store
    {"jobstore": "nope"},
    {"executor": "nope"},
    {"max_instances": 0},
    {"name": ""},
    {"coalesce": None},
    {"next_run_time": 12},
    {"next_run_time": "1999-12-31T23:59:59+00:00"},
    {"trigger": "interval", "minutes": True},
    {"kwargs": {"name": "x"}, "func": "backup_database"},
    {"unknown": 1},
]


@pytest.mark.parametrize("body", BAD_UPDATES)
def test_a_bad_change_is_a_400_and_changes_nothing(app, admin, body):
    before = job(app)
    response = app.test_client().patch("/scheduler/jobs/hello", json=body, headers=basic("admin"))
    assert response.status_code == 400 and response.json["error_message"], response.json
    after = job(app)
    assert (str(after.trigger), after.next_run_time, after.kwargs, after.name) == (
        str(before.trigger), before.next_run_time, before.kwargs, before.name)
    assert audit_rows(app) == []


def test_unknown_jobs_are_404_and_a_taken_id_is_409(app, admin):
    client, headers = app.test_client(), basic("admin")
    for method, path, body in ROUTES:
        if "/hello" in path:
            response = call(client, method, path.replace("/hello", "/nope"), body, headers=headers)
            assert response.status_code == 404 and response.json["error_message"] == "No job with id nope."
    again = {**HELLO, "minutes": 5, "hours": 0}
    taken = client.post("/scheduler/jobs", csrf=False, json=again, headers=headers)
    assert taken.status_code == 409 and "exists already" in taken.json["error_message"]
    assert job(app).trigger.interval.total_seconds() == 3600 and audit_rows(app) == []


def test_the_api_is_off_when_configured_so(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "off"))
    off = build_app(tmp_path / "off", start=False, SCHEDULER_API_ENABLED=False,
                    SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'off.sqlite'}")
    try:
        with off.app_context():  # an account exists (else every address leads to the first-run setup)
            user_service.create_user_as_system(UserData("admin", "admin@example.com", "admin", True,
                                                        PASSWORD))
        client = off.test_client()
        for method, path, body in ROUTES:
            assert call(client, method, path, body, headers=basic("admin")).status_code == 404
    finally:
        shut_down(off)


def test_a_host_that_may_not_run_the_scheduler_cannot_reach_the_jobs(app, admin, tmp_path):
    elsewhere = build_app(tmp_path, start=False, SCHEDULER_ALLOWED_HOSTS=["elsewhere.example"])
    try:
        client = elsewhere.test_client()
        response = client.get("/scheduler/jobs", headers=basic("admin"))
        assert response.status_code == 503 and "cannot reach the job stores" in response.json["error_message"]
        added = client.post("/scheduler/jobs", csrf=False, headers=basic("admin"),
                            json={"id": "lost", "func": "log_message", "trigger": "interval", "hours": 1})
        assert added.status_code == 503 and job(app, "lost") is None  # not left pending, unsaved
    finally:
        shut_down(elsewhere)
