"""The tutorial's Flask-APScheduler REST calls work when they name a registered task."""
# ruff: noqa: F811  (the fixtures come from test_scheduler_rest_api)

from __future__ import annotations

import pytest

from tests.test_scheduler import runs
from tests.test_scheduler_rest_api import app, audit_rows, basic, job, wait_until  # noqa: F401

JOB2 = {"id": "job2", "func": "print_test", "args": ["dear"], "trigger": "interval", "seconds": 5}


def test_the_tutorials_payloads_add_change_pause_resume_and_run_print_test(app, admin, capfd):
    client, headers = app.test_client(), basic("admin")
    added = client.post("/scheduler/jobs", csrf=False, json=JOB2, headers=headers)
    assert added.status_code == 200, added.json
    assert (added.json["id"], added.json["trigger"], added.json["seconds"]) == ("job2", "interval", 5)
    stored = job(app, "job2")
    assert (stored.args, stored.kwargs) == (("print_test",), {"name": "dear"})  # args go to the parameters
    changed = client.patch("/scheduler/jobs/job2", headers=headers, json={
        "func": "print_test", "args": ["simple"], "trigger": "interval", "seconds": 5})
    assert changed.status_code == 200, changed.json
    assert job(app, "job2").kwargs == {"name": "simple"}
    paused = client.post("/scheduler/jobs/job2/pause", csrf=False, headers=headers)
    assert paused.status_code == 200 and paused.json["next_run_time"] is None
    resumed = client.post("/scheduler/jobs/job2/resume", csrf=False, headers=headers)
    assert resumed.status_code == 200 and resumed.json["next_run_time"] is not None
    ran = client.post("/scheduler/jobs/job2/run", csrf=False, headers=headers)
    assert ran.status_code == 200
    wait_until(lambda: "succeeded" in [r.status for r in runs(app, "job2")])
    assert "simple" in capfd.readouterr().out  # print_test prints its name
    assert [a for a, _, _, _ in audit_rows(app)] == ["create", "update", "update", "update", "update"]


@pytest.mark.parametrize(("body", "message"), [
    ({**JOB2, "args": ["dear", "too many"]}, "takes 1 parameters"),
    ({**JOB2, "kwargs": {"name": "twice"}}, "given both in args and in kwargs"),
    ({**JOB2, "args": "dear"}, "as a list"),
])
def test_too_many_args_or_an_arg_given_twice_is_a_400(app, admin, body, message):
    response = app.test_client().post("/scheduler/jobs", csrf=False, json=body, headers=basic("admin"))
    assert response.status_code == 400 and message in response.json["fields"]["args"][0], response.json
    assert job(app, "job2") is None


def test_the_tutorials_module_path_is_still_not_a_registered_task(app, admin):
    body = {**JOB2, "func": "config.scheduler:print_test"}
    response = app.test_client().post("/scheduler/jobs", csrf=False, json=body, headers=basic("admin"))
    assert response.status_code == 400 and "is not a registered task" in response.json["error_message"]
    assert job(app, "job2") is None
