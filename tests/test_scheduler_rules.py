"""One set of schedule rules and bounds on every path: the job form, /api/v1/jobs and /scheduler."""
# ruff: noqa: F811  (make_app is a fixture from test_scheduler)

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import CSRFClient
from tests.test_job_screens import form
from tests.test_scheduler import make_app, runs, signed_in_client, wait_until  # noqa: F401
from tests.test_scheduler_rest_api import basic
from webapp.jobs import limits
from webapp.jobs.scheduler import readable_scheduler, start_scheduler


class Paths:
    """One signed-in admin adding jobs by the form, the JSON API and the REST API."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = signed_in_client(app)
        self.token = CSRFClient.csrf_token(self.client)

    def form(self, **fields: Any) -> Any:
        return self.client.post("/jobs/new", data=form(**fields))

    def api(self, body: dict[str, Any] | str) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post("/api/v1/jobs", data=data, content_type="application/json", csrf=False,
                                headers={"X-CSRFToken": self.token})

    def rest(self, body: dict[str, Any] | str) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post("/scheduler/jobs", data=data, content_type="application/json", csrf=False,
                                headers=basic("admin"))

    def job(self, job_id: str) -> Any:
        return readable_scheduler(self.app).get_job(job_id)


@pytest.fixture
def paths(make_app) -> Paths:
    return Paths(make_app())


def api_fields(response: Any) -> dict[str, list[str]]:
    return response.get_json()["error"]["fields"]


def api_job(trigger: str, **trigger_args: Any) -> dict[str, Any]:
    return {"id": "j", "task": "log_message", "trigger": trigger, "trigger_args": trigger_args}


def rest_job(trigger: str, **fields: Any) -> dict[str, Any]:
    return {"id": "j", "func": "log_message", "trigger": trigger, **fields}


# -- the shortest interval -------------------------------------------------------------

def test_an_interval_shorter_than_a_second_is_refused_on_every_path(paths):
    rest = paths.rest(rest_job("interval", seconds=0.0001))
    assert rest.status_code == 400 and "at least 1 seconds" in rest.json["fields"]["seconds"][0]
    api = paths.api(api_job("interval", seconds=0.0001))
    assert api.status_code == 422 and "at least 1 seconds" in api_fields(api)["seconds"][0]
    assert paths.job("j") is None
    assert paths.rest(rest_job("interval", seconds=1)).status_code == 200


def test_the_shortest_interval_comes_from_the_config(make_app):
    paths = Paths(make_app(SCHEDULER_MIN_INTERVAL_SECONDS=60))
    page = paths.form(trigger="interval", seconds="30")
    assert 'id="seconds-error"' in page.text and "at least 60 seconds" in page.text
    assert paths.api(api_job("interval", seconds=59)).status_code == 422
    assert paths.rest(rest_job("interval", minutes=0, seconds=30)).status_code == 400
    patched = paths.client.patch("/scheduler/jobs/j", json={"trigger": "interval", "seconds": 1},
                                 headers=basic("admin"))
    assert patched.status_code == 404  # nothing was added
    assert paths.rest(rest_job("interval", minutes=1)).status_code == 200
    changed = paths.client.patch("/scheduler/jobs/j", json={"trigger": "interval", "seconds": 30},
                                 headers=basic("admin"))
    assert changed.status_code == 400 and "seconds" in changed.json["fields"]
    assert paths.job("j").trigger.interval_length == 60


# -- schedules that never fire ----------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    (rest_job("cron", year="2001"), "year"),
    (rest_job("cron", month=2, day=30), "month"),
    (rest_job("interval", hours=1, end_date="2001-01-01T00:00:00+00:00"), "end_date"),
    (rest_job("cron", hour=3, end_date="2020-06-01T00:00:00"), "end_date"),
    (rest_job("date", run_date="2001-01-01T00:00:00+00:00"), "run_date"),
])
def test_the_rest_api_refuses_a_schedule_that_never_fires(paths, body, field):
    response = paths.rest(body)
    assert response.status_code == 400, response.json
    assert "never fires" in response.json["fields"][field][0]
    assert paths.job("j") is None


def test_a_change_to_a_schedule_that_never_fires_is_refused_and_changes_nothing(paths):
    assert paths.rest(rest_job("interval", hours=1)).status_code == 200
    before = paths.job("j")
    response = paths.client.patch("/scheduler/jobs/j", headers=basic("admin"),
                                  json={"trigger": "cron", "year": "2001"})
    assert response.status_code == 400 and "never fires" in response.json["fields"]["year"][0]
    after = paths.job("j")
    assert (str(after.trigger), after.next_run_time) == (str(before.trigger), before.next_run_time)


# -- the same defaults ---------------------------------------------------------------------

def test_every_path_gives_a_job_coalesce_and_the_misfire_grace_time(paths):
    paths.rest(rest_job("interval", hours=1) | {"id": "by-rest"})
    paths.rest(rest_job("interval", hours=1) | {"id": "by-rest-null", "misfire_grace_time": None})
    paths.api(api_job("interval", hours=1) | {"id": "by-api"})
    paths.api(api_job("interval", hours=1) | {"id": "by-api-null", "coalesce": None,
                                              "misfire_grace_time": None})
    paths.form(id="by-form", trigger="interval", hours="1", misfire_grace_time="")
    for job_id in ("by-rest", "by-rest-null", "by-api", "by-api-null", "by-form"):
        job = paths.job(job_id)
        assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, 30, 1), job_id
    api = paths.client.patch("/api/v1/jobs/by-api", json={"misfire_grace_time": None},
                             headers={"X-CSRFToken": paths.token})
    assert api.status_code == 200 and api.get_json()["misfire_grace_time"] == 30


def test_a_job_made_through_the_api_catches_up_once_after_downtime(make_app):
    """Coalesce by default: the runs missed while nothing ran become one run, not a burst."""
    app = make_app()
    assert start_scheduler(app)
    scheduler = app.extensions["scheduler"]
    scheduler.pause()
    paths = Paths(app)
    assert paths.api(api_job("interval", seconds=1)).status_code == 201
    down_since = datetime.now(UTC) - timedelta(seconds=20)
    scheduler.scheduler.modify_job("j", next_run_time=down_since)  # as after 20 s of downtime
    resumed = datetime.now(UTC)
    scheduler.resume()
    wait_until(lambda: runs(app, "j"))
    app.extensions["job_history"].flush()
    assert len([r for r in runs(app, "j") if r.scheduled_at.replace(tzinfo=UTC) < resumed]) == 1


def test_a_configured_job_whose_one_off_date_has_passed_is_left_out(make_app, caplog):
    app = make_app(JOBS=[{"id": "gone", "func": "log_message", "trigger": "date",
                          "run_date": "2001-01-01T00:00:00+00:00"}])
    assert readable_scheduler(app).get_job("gone") is None
    assert "gone never fires from now on" in caplog.text


# -- bounds ----------------------------------------------------------------------------------

EDGES = ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "9999-12-31T23:59:59-12:00", "1969-12-31T23:59:59"]


@pytest.mark.parametrize("moment", EDGES)
def test_dates_at_the_edges_of_the_calendar_are_refused_on_every_path(paths, moment):
    for body, field in ((rest_job("date", run_date=moment), "run_date"),
                        (rest_job("interval", hours=1, start_date=moment), "start_date"),
                        (rest_job("cron", hour=3, end_date=moment), "end_date"),
                        (rest_job("interval", hours=1, next_run_time=moment), "next_run_time")):
        response = paths.rest(body)
        assert response.status_code == 400, (body, response.json)
        assert field in response.json["fields"], response.json
    for body, field in ((api_job("date", run_date=moment), "run_date"),
                        (api_job("interval", hours=1, start_date=moment), "start_date"),
                        (api_job("cron", crontab="0 3 * * *", end_date=moment), "end_date")):
        response = paths.api(body)
        assert response.status_code == 422 and field in api_fields(response), response.get_json()
    local = moment[:16]  # what a datetime-local input sends
    for fields, field in (({"trigger": "date", "run_date": local}, "run_date"),
                          ({"trigger": "interval", "hours": "1", "start_date": local}, "start_date"),
                          ({"crontab": "0 3 * * *", "end_date": local}, "end_date")):
        page = paths.form(**fields)
        assert page.status_code == 200 and f'id="{field}-error"' in page.text, fields
    assert readable_scheduler(paths.app).get_jobs() == []


NUMBERS = ['1e309', '-1e309', '1e308', str(10**30), '123456789012345678901234567890.5', '9' * 400]


@pytest.mark.parametrize("number", NUMBERS)
def test_numbers_out_of_range_are_refused_on_every_path(paths, number):
    rest = ('{"id": "j", "func": "%s", "trigger": "interval", "%s": %s%s}')
    for text, field in ((rest % ("log_message", "seconds", number, ""), "seconds"),
                        (rest % ("log_message", "hours", "1", f', "misfire_grace_time": {number}'),
                         "misfire_grace_time"),
                        (rest % ("log_message", "hours", "1", f', "max_instances": {number}'),
                         "max_instances"),
                        (rest % ("purge_run_history", "hours", "1", f', "kwargs": {{"days": {number}}}'),
                         "kwargs.days"),
                        (rest % ("purge_run_history", "hours", "1", f', "args": [{number}]'), "kwargs.days")):
        response = paths.rest(text)
        assert response.status_code == 400 and field in response.json["fields"], (text, response.json)
    api = '{"id": "j", "task": "purge_run_history", "trigger": "interval", "trigger_args": %s%s}'
    for text, field in ((api % (f'{{"seconds": {number}}}', ""), "seconds"),
                        (api % (f'{{"hours": 1, "jitter": {number}}}', ""), "jitter"),
                        (api % ('{"hours": 1}', f', "max_instances": {number}'), "max_instances"),
                        (api % ('{"hours": 1}', f', "misfire_grace_time": {number}'), "misfire_grace_time"),
                        (api % ('{"hours": 1}', f', "kwargs": {{"days": {number}}}'), "kwargs.days")):
        response = paths.api(text)
        assert response.status_code in (400, 422), (text, response.get_json())
        assert field in api_fields(response), (text, response.get_json())
    for fields, field in (({"trigger": "interval", "seconds": number}, "seconds"),
                          ({"trigger": "interval", "hours": "1", "jitter": number}, "jitter"),
                          ({"crontab": "0 3 * * *", "max_instances": number}, "max_instances"),
                          ({"crontab": "0 3 * * *", "misfire_grace_time": number}, "misfire_grace_time"),
                          ({"crontab": "0 3 * * *", "task": "purge_run_history",
                            "kw-purge_run_history-days": number}, "kw-purge_run_history-days")):
        page = paths.form(**fields)
        assert page.status_code == 200 and f'id="{field}-error"' in page.text, fields
    assert readable_scheduler(paths.app).get_jobs() == []


def test_the_openapi_document_states_the_bounds(paths):
    spec = paths.client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    write = schemas["JobCreate"]["properties"]
    assert (write["max_instances"]["minimum"], write["max_instances"]["maximum"]) == (
        limits.MIN_INSTANCES, limits.MAX_INSTANCES)
    assert write["misfire_grace_time"]["maximum"] == limits.MAX_MISFIRE_GRACE
    trigger_args = schemas["TriggerArgs"]["properties"]
    assert trigger_args["seconds"]["maximum"] == limits.MAX_INTERVAL["seconds"]
    assert trigger_args["jitter"]["maximum"] == limits.MAX_JITTER
