""""Run now" is one extra run: the job keeps its schedule. A paused scheduler holds every job."""
# ruff: noqa: F811  (make_app is a fixture from test_scheduler)

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import CSRFClient
from tests.test_job_screens import form
from tests.test_scheduler import make_app, runs, signed_in_client, wait_until  # noqa: F401
from webapp.jobs.scheduler import readable_scheduler, start_scheduler


def started(make_app):
    """An app whose scheduler runs here, and an admin signed in to it."""
    app = make_app()
    assert start_scheduler(app)
    return app, signed_in_client(app)


def statuses(app, job_id: str) -> list[str]:
    return [r.status for r in runs(app, job_id)]


def test_run_now_keeps_a_one_off_jobs_planned_run(make_app):
    app, client = started(make_app)
    when = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    client.post("/jobs/new", data=form(id="once", trigger="date", run_date=when.strftime("%Y-%m-%dT%H:%M")))
    response = client.post("/jobs/once/run", data={"next": "/jobs/once"})
    assert response.location == "/jobs/once"
    wait_until(lambda: statuses(app, "once") == ["succeeded"])
    kept = readable_scheduler(app).get_job("once")
    assert kept is not None and kept.next_run_time == when  # it still runs at its date
    page = client.get("/jobs/once")
    assert page.status_code == 200 and 'data-testid="run-row"' in page.text
    assert when.strftime("%Y-%m-%d") in page.text


def test_run_now_keeps_an_interval_jobs_grid(make_app):
    app, client = started(make_app)
    client.post("/jobs/new", data=form(id="hourly", trigger="interval", hours="1"))
    planned = readable_scheduler(app).get_job("hourly").next_run_time
    headers = {"X-CSRFToken": CSRFClient.csrf_token(client)}
    assert client.post("/api/v1/jobs/hourly/run", headers=headers, csrf=False).status_code == 200
    wait_until(lambda: statuses(app, "hourly") == ["succeeded"])
    assert readable_scheduler(app).get_job("hourly").next_run_time == planned


def test_run_now_on_a_paused_job_runs_it_once_and_it_stays_paused(make_app):
    app, client = started(make_app)
    client.post("/jobs/new", data=form(id="held", trigger="interval", hours="1", paused="y"))
    client.post("/jobs/held/run")
    wait_until(lambda: statuses(app, "held") == ["succeeded"])
    wait_until(lambda: readable_scheduler(app).get_job("held").next_run_time is None)


def test_a_finished_one_off_jobs_runs_stay_reachable(make_app):
    app, client = started(make_app)
    readable_scheduler(app).add_job("soon", "log_message", trigger="date",
                                    run_date=datetime.now(UTC) + timedelta(seconds=1))
    wait_until(lambda: statuses(app, "soon") == ["succeeded"])
    wait_until(lambda: readable_scheduler(app).get_job("soon") is None)  # the one-off has finished
    page = client.get("/jobs/soon")
    assert page.status_code == 200
    assert 'data-testid="job-gone"' in page.text and page.text.count('data-testid="run-row"') == 1
    assert client.get("/jobs/soon/runs").get_json()["stats"]["succeeded"] == 1
    assert client.get("/jobs/never-was").status_code == 404
    assert 'href="/jobs/history"' in client.get("/jobs/").text  # the list leads to the history
    history = client.get("/jobs/history").text
    row = history[history.index('data-job-id="soon"'):]
    assert 'href="/jobs/soon"' in row[:300] and 'data-state="gone"' in row[:600]


def test_a_run_now_on_a_one_off_whose_date_passed_runs_once_and_finishes(make_app):
    app, client = started(make_app)
    scheduler = readable_scheduler(app)
    scheduler.add_job("late", "log_message", trigger="date", next_run_time=None,  # paused before its date,
                      run_date=datetime.now(UTC) + timedelta(seconds=1))  # which then passes
    wait_until(lambda: datetime.now(UTC) > scheduler.get_job("late").trigger.run_date)
    client.post("/jobs/late/run", data={"next": "/jobs/late"})
    wait_until(lambda: statuses(app, "late") == ["succeeded"])
    wait_until(lambda: scheduler.get_job("late") is None)
    assert 'data-testid="job-gone"' in client.get("/jobs/late").text


# -- a paused scheduler ----------------------------------------------------------------------

def test_jobs_under_a_paused_scheduler_say_that_nothing_runs_until_it_is_resumed(make_app):
    _app, client = started(make_app)
    client.post("/jobs/new", data=form(id="soon", trigger="interval", seconds="2"))
    client.post("/jobs/scheduler/pause")
    listing = client.get("/jobs/").text
    assert 'data-testid="scheduler-held"' in listing and 'data-state="held"' in listing
    assert "not before the scheduler is resumed" in listing and "in 2 seconds" not in listing
    assert '<td data-cell="state"><span class="badge text-bg-success">' not in listing
    detail = client.get("/jobs/soon").text
    assert 'data-state="held"' in detail and "not before the scheduler is resumed" in detail
    live = client.get("/jobs/status?id=soon").get_json()
    assert live["scheduler"] == "paused" and live["jobs"]["soon"]["held"] is True
    assert live["jobs"]["soon"]["next_run_text"] == "not before the scheduler is resumed"
    api = client.get("/api/v1/jobs/soon").get_json()
    assert api["held"] is True and api["paused"] is False
    assert client.get("/api/v1/jobs").get_json()["items"][0]["held"] is True
    info = client.get("/scheduler").get_json()  # Flask-APScheduler's "running" stays true
    assert (info["running"], info["state"]) == (True, "paused")
    client.post("/jobs/scheduler/resume")
    assert 'data-state="held"' not in client.get("/jobs/").text
    assert client.get("/api/v1/jobs/soon").get_json()["held"] is False
    assert client.get("/jobs/status?id=soon").get_json()["jobs"]["soon"]["held"] is False
    assert client.get("/scheduler").get_json()["state"] == "running"
