"""Job screens: add and edit with every trigger, the preview, the detail page, live data, the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from markupsafe import escape
from sqlalchemy import select

from tests.test_scheduler import make_app, runs, signed_in_client, wait_until  # noqa: F401
from webapp.extensions import db
from webapp.jobs.scheduler import readable_scheduler, start_scheduler
from webapp.models import AuditEntry, JobRun


def form(**fields: object) -> dict[str, object]:
    """A job form as the page posts it: cron by default, log_message, the default options."""
    data: dict[str, object] = {"id": "nightly", "name": "", "task": "log_message", "trigger": "cron",
                               "timezone": "UTC", "executor": "default", "jobstore": "default",
                               "max_instances": "1", "misfire_grace_time": "30", "coalesce": "y",
                               "kw-log_message-name": "admins"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin_app(make_app):  # noqa: F811
    app = make_app()
    return app, signed_in_client(app)


def job(app, job_id):
    return readable_scheduler(app).get_job(job_id)


def test_an_admin_adds_a_cron_job_from_a_crontab_line(admin_app):
    app, client = admin_app
    response = client.post("/jobs/new", data=form(crontab="30 3 * * 1-5", name="Nightly hello"))
    assert response.status_code == 302 and response.location == "/jobs/nightly"
    added = job(app, "nightly")
    assert isinstance(added.trigger, CronTrigger)
    assert str(added.trigger.fields[4]) == "mon-fri"  # crontab's 1-5, not APScheduler's tue-sat
    assert (added.name, added.args, added.kwargs) == ("Nightly hello", ("log_message",), {"name": "admins"})
    assert (added.executor, added.max_instances, added.coalesce, added.misfire_grace_time) == (
        "default", 1, True, 30)
    first = added.next_run_time
    assert first.weekday() < 5 and (first.hour, first.minute) == (3, 30)
    detail = client.get("/jobs/nightly").text
    assert "cron 30 3 * * mon-fri" in detail and "No runs recorded yet." in detail
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "jobs")).one()
    assert (entry.action, entry.object_id, entry.changes["task"]) == ("create", "nightly", "log_message")


def test_cron_fields_take_last_and_nth_weekdays_in_a_time_zone(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(day="3rd fri", hour="8", minute="15", timezone="Europe/Paris"))
    trigger = job(app, "nightly").trigger
    with app.app_context():
        from webapp.jobs.triggers import next_fire_times

        times = next_fire_times(trigger, 3, datetime(2026, 11, 27, tzinfo=UTC))
    assert [t.strftime("%Y-%m-%d %H:%M %Z") for t in times] == [
        "2026-12-18 08:15 CET", "2027-01-15 08:15 CET", "2027-02-19 08:15 CET"]
    client.post("/jobs/new", data=form(id="month-end", day="last fri", hour="18", minute="0"))
    assert str(job(app, "month-end").trigger.fields[2]) == "last fri"


def test_an_interval_job_with_start_end_and_jitter(admin_app):
    app, client = admin_app
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0)
    end = start + timedelta(days=2)
    response = client.post("/jobs/new", data=form(
        trigger="interval", hours="1", minutes="30", jitter="5",
        start_date=start.strftime("%Y-%m-%dT%H:%M"), end_date=end.strftime("%Y-%m-%dT%H:%M")))
    assert response.status_code == 302
    trigger = job(app, "nightly").trigger
    assert isinstance(trigger, IntervalTrigger) and trigger.interval_length == 5400
    assert (trigger.start_date, trigger.end_date, trigger.jitter) == (start, end, 5)
    assert start <= job(app, "nightly").next_run_time <= start + timedelta(seconds=5)  # jitter


def test_a_date_job_runs_once_and_a_past_date_is_refused(admin_app):
    app, client = admin_app
    when = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    client.post("/jobs/new", data=form(trigger="date", run_date=when.strftime("%Y-%m-%dT%H:%M")))
    assert isinstance(job(app, "nightly").trigger, DateTrigger)
    assert job(app, "nightly").next_run_time == when
    page = client.post("/jobs/new", data=form(id="late", trigger="date", run_date="2020-01-01T00:00")).text
    assert "This schedule never fires from now on" in page and job(app, "late") is None


def test_the_preview_lists_the_next_five_fire_times(admin_app):
    _app, client = admin_app
    page = client.post("/jobs/new", data=form(crontab="0 3 * * *", preview="1")).text
    assert page.count("3:00:00\u202fAM UTC</time>") == 5  # shown, not saved
    assert job(_app, "nightly") is None
    answer = client.post("/jobs/preview", data=form(trigger="interval", minutes="10"))
    times = [datetime.fromisoformat(t["iso"]) for t in answer.get_json()["times"]]
    assert len(times) == 5 and all(b - a == timedelta(minutes=10) for a, b in pairwise(times))
    bad = client.post("/jobs/preview", data=form(crontab="0 25 * * *"))
    assert bad.status_code == 200 and bad.get_json()["times"] == []
    assert "higher than the maximum value (23)" in bad.get_json()["errors"]["crontab"][0]
    assert client.post("/jobs/preview", data=form(), csrf=False).status_code == 400


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"crontab": "0 3 * *"}, "crontab", "A crontab line has five fields"),
    ({"crontab": "", "hour": "99"}, "hour", "higher than the maximum value"),
    ({"crontab": "0 3 * * */2"}, "crontab", "Use day names with steps"),
    ({"crontab": "0 3 31 2 *"}, "crontab", "never fires"),
    ({"trigger": "interval"}, "seconds", "longer than zero"),
    ({"trigger": "interval", "minutes": "-5"}, "minutes", "Use a number from 0 to"),
    ({"trigger": "date", "run_date": ""}, "run_date", "Enter when the job runs."),
    ({"crontab": "0 3 * * *", "timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"crontab": "0 3 * * *", "task": "os:system"}, "task", "is not a registered task"),
    ({"crontab": "0 3 * * *", "id": "a/b"}, "id", "Use 1 to 191 letters"),
    ({"crontab": "0 3 * * *", "id": "new"}, "id", "is reserved"),
    ({"crontab": "0 3 * * *", "executor": "nope"}, "executor", "Choose one of"),
    ({"crontab": "0 3 * * *", "jobstore": "nope"}, "jobstore", "Choose one of"),
    ({"crontab": "0 3 * * *", "max_instances": "0"}, "max_instances", "Use a number from 1 to"),
    ({"crontab": "0 3 * * *", "start_date": "2030-01-02T00:00", "end_date": "2030-01-01T00:00"},
     "end_date", "The end must come after the start."),
])
def test_bad_input_is_shown_beside_its_field_and_nothing_is_added(admin_app, fields, field, message):
    app, client = admin_app
    response = client.post("/jobs/new", data=form(**fields))
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text and message in response.text
    assert readable_scheduler(app).get_jobs() == []


def test_a_task_parameter_error_is_shown_beside_its_input(admin_app):
    app, client = admin_app
    page = client.post("/jobs/new", data=form(crontab="0 3 * * *", task="purge_run_history",
                                              **{"kw-purge_run_history-days": "0"})).text
    assert 'id="kw-purge_run_history-days-error"' in page and "Use 1 or more." in page
    assert job(app, "nightly") is None


def test_an_existing_id_is_refused(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(crontab="0 3 * * *"))
    page = client.post("/jobs/new", data=form(crontab="0 4 * * *")).text
    assert "A job with id “nightly” exists already." in page
    assert job(app, "nightly").trigger.fields[5].expressions[0].first == 3


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_admins_add_edit_or_preview(make_app, role):  # noqa: F811
    app = make_app(JOBS=[{"id": "hello", "func": "log_message", "trigger": "interval", "hours": 1}])
    client = signed_in_client(app, role)
    assert client.get("/jobs/new").status_code == 403
    assert client.post("/jobs/new", data=form(crontab="0 3 * * *")).status_code == 403
    assert client.get("/jobs/hello/edit").status_code == 403
    assert client.post("/jobs/preview", data=form(crontab="0 3 * * *")).status_code == 403
    assert client.get("/jobs/hello").status_code == 200  # every role reads
    assert job(app, "nightly") is None


def test_editing_changes_trigger_task_and_options_and_keeps_a_paused_job_paused(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(crontab="0 3 * * *", paused="y"))
    assert job(app, "nightly").next_run_time is None
    edit_page = client.get("/jobs/nightly/edit").text
    assert 'value="0 3 * * *"' in edit_page and 'readonly' in edit_page
    response = client.post("/jobs/nightly/edit", data=form(
        trigger="interval", minutes="15", task="purge_run_history", max_instances="3",
        misfire_grace_time="120", coalesce=None, **{"kw-purge_run_history-days": "9"}))
    assert response.status_code == 302
    changed = job(app, "nightly")
    assert isinstance(changed.trigger, IntervalTrigger) and changed.trigger.interval_length == 900
    assert (changed.args, changed.kwargs) == (("purge_run_history",), {"days": 9})
    assert (changed.max_instances, changed.misfire_grace_time, changed.coalesce) == (3, 120, False)
    assert changed.next_run_time is None  # still paused
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "update" and entry.changes["kwargs"] == [{"name": "admins"}, {"days": 9}]


def test_a_job_moves_to_another_store(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(crontab="0 3 * * *"))
    client.post("/jobs/nightly/edit", data=form(crontab="0 3 * * *", jobstore="memory"))
    moved = job(app, "nightly")
    assert readable_scheduler(app).store_of("nightly") == "memory" and moved.next_run_time is not None
    assert readable_scheduler(app).get_job("nightly", "default") is None


def test_the_detail_page_shows_runs_success_rate_and_mean_duration(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(crontab="0 3 * * *"))
    now = datetime.now(UTC)
    with app.app_context():
        for hours, status, ms, error in ((3, "succeeded", 10.0, None), (2, "succeeded", 30.0, None),
                                         (1, "failed", 20.0, "ValueError: boom"), (0, "missed", None, None)):
            db.session.add(JobRun(job_id="nightly", scheduled_at=now - timedelta(hours=hours), status=status,
                                  duration_ms=ms, error=error, traceback="Traceback ...\nValueError: boom"
                                  if error else None))
        db.session.commit()
    page = client.get("/jobs/nightly").text
    assert page.count('data-testid="run-row"') == 4
    assert '<strong data-stat="success_rate">66.7%</strong>' in page
    assert '<strong data-stat="mean_duration_ms">20.0 ms</strong>' in page
    assert "ValueError: boom</summary>" in page
    data = client.get("/jobs/nightly/runs").get_json()
    assert [r["status"] for r in data["runs"]] == ["missed", "failed", "succeeded", "succeeded"]
    assert data["stats"]["success_rate"] == 66.7 and data["stats"]["failed"] == 1
    assert client.get("/jobs/nope").status_code == 404


def test_run_now_from_the_detail_page_records_a_run(make_app):  # noqa: F811
    app = make_app()
    start_scheduler(app)
    client = signed_in_client(app)
    client.post("/jobs/new", data=form(crontab="0 3 * * *"))
    assert client.post("/jobs/nightly/run", data={"next": "/jobs/nightly"}).location == "/jobs/nightly"
    wait_until(lambda: [r.status for r in runs(app, "nightly")] == ["succeeded"])
    assert client.get("/jobs/nightly/runs").get_json()["stats"]["total"] == 1
    assert client.post("/jobs/nightly/run", data={"next": "https://evil.example/"}).location == "/jobs/"


def test_the_status_feed_gives_next_run_state_and_last_run(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(crontab="0 3 * * *"))
    client.post("/jobs/new", data=form(id="other", trigger="interval", hours="2", paused="y"))
    with app.app_context():
        db.session.add(JobRun(job_id="nightly", scheduled_at=datetime.now(UTC), status="failed",
                              duration_ms=5))
        db.session.commit()
    data = client.get("/jobs/status?id=nightly&id=other&id=gone").get_json()
    assert data["missing"] == ["gone"] and data["scheduler"] == "elsewhere"
    nightly, other = data["jobs"]["nightly"], data["jobs"]["other"]
    assert nightly["paused"] is False and nightly["next_run"].endswith("03:00:00+00:00")
    assert (nightly["last_status"], nightly["last_duration_ms"]) == ("failed", 5.0)
    assert other["paused"] is True and other["next_run"] is None and other["last_status"] is None


def test_the_list_pages_searches_filters_and_sorts(admin_app):
    app, client = admin_app
    scheduler = readable_scheduler(app)
    for n in range(45):
        scheduler.add_job(f"job-{n:02d}", "log_message", trigger="interval", minutes=n + 1,
                          jobstore="memory" if n % 3 == 0 else "default")
        if n % 5 == 0:
            scheduler.pause_job(f"job-{n:02d}")
    first = client.get("/jobs/").text
    assert first.count('data-testid="job-row"') == 20 and "45 results" in first
    assert first.index('data-job-id="job-01"') < first.index('data-job-id="job-02"')  # soonest first
    last = client.get("/jobs/?page=3").text
    assert last.count('data-testid="job-row"') == 5 and 'data-job-id="job-45"' not in last
    assert 'data-job-id="job-40"' in last  # paused jobs come last
    assert client.get("/jobs/?q=job-1").text.count('data-testid="job-row"') == 10
    paused = client.get("/jobs/?state=paused").text
    assert paused.count('data-testid="job-row"') == 9
    by_id = client.get("/jobs/?sort=-id&per_page=50").text
    assert by_id.index('data-job-id="job-44"') < by_id.index('data-job-id="job-00"')


def test_an_admin_pauses_and_resumes_the_whole_scheduler(make_app):  # noqa: F811
    app = make_app()
    start_scheduler(app)
    client = signed_in_client(app)
    assert 'data-testid="scheduler-toggle"' in client.get("/jobs/").text
    client.post("/jobs/scheduler/pause")
    assert 'data-testid="scheduler-state">paused<' in client.get("/jobs/").text
    client.post("/jobs/new", data=form(trigger="interval", seconds="1"))
    client.post("/jobs/nightly/run")
    assert runs(app, "nightly") == []  # nothing runs while the scheduler is paused
    client.post("/jobs/scheduler/resume")
    wait_until(lambda: any(r.status == "succeeded" for r in runs(app, "nightly")))
    with app.app_context():
        states = [e.changes["state"] for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "scheduler").order_by(AuditEntry.id))]
    assert states == [["running", "paused"], ["paused", "running"]]


def test_a_process_that_does_not_own_the_scheduler_cannot_pause_it(admin_app):
    _app, client = admin_app
    assert 'data-testid="scheduler-toggle"' not in client.get("/jobs/").text
    page = client.post("/jobs/scheduler/pause", follow_redirects=True).text
    assert "does not run in this process" in page


def test_run_history_retention_is_a_daily_job_set_from_the_config(make_app):  # noqa: F811
    from webapp.jobs.retention import RETENTION_JOB_ID

    app = make_app(JOB_HISTORY_DAYS=14)
    start_scheduler(app)
    retention = job(app, RETENTION_JOB_ID)
    assert (retention.args, retention.kwargs, str(retention.trigger.fields[5])) == (
        ("purge_run_history",), {"days": 14}, "3")
    readable_scheduler(app).pause_job(RETENTION_JOB_ID)  # an admin's choice survives a restart
    app.extensions["scheduler"].shutdown()
    again = make_app(JOB_HISTORY_DAYS=60)
    start_scheduler(again)
    kept = job(again, RETENTION_JOB_ID)
    assert kept.kwargs == {"days": 60} and kept.next_run_time is None
    with again.app_context():
        old, recent = datetime.now(UTC) - timedelta(days=61), datetime.now(UTC) - timedelta(days=1)
        db.session.add_all([JobRun(job_id="x", scheduled_at=old, created_at=old, status="succeeded"),
                            JobRun(job_id="x", scheduled_at=recent, created_at=recent, status="succeeded")])
        db.session.commit()
    readable_scheduler(again).resume_job(RETENTION_JOB_ID)
    readable_scheduler(again).modify_job(RETENTION_JOB_ID, next_run_time=datetime.now(UTC))
    wait_until(lambda: [r.status for r in runs(again, RETENTION_JOB_ID)] == ["succeeded"])
    assert [r.scheduled_at for r in runs(again, "x")] == [recent]


def test_no_retention_job_when_history_is_kept_forever(make_app):  # noqa: F811
    app = make_app(JOB_HISTORY_DAYS=0)
    start_scheduler(app)
    assert readable_scheduler(app).get_jobs() == []


def test_upcoming_runs_count_on_from_the_jobs_own_next_run(admin_app):
    from webapp.services import jobs as job_service

    app, client = admin_app
    client.post("/jobs/new", data=form(trigger="interval", minutes="5"))
    moved = datetime.now(UTC) + timedelta(seconds=97)  # as after "run now": off the start's grid
    readable_scheduler(app).modify_job("nightly", next_run_time=moved)
    with app.test_request_context():
        times = job_service.upcoming(job(app, "nightly"), 3)
    assert times == [moved, moved + timedelta(minutes=5), moved + timedelta(minutes=10)]


def test_names_and_parameters_cannot_inject_markup_into_the_list(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(crontab="0 3 * * *", name='<script>alert("n")</script>',
                                       **{"kw-log_message-name": '"><img src=x onerror=alert(1)>'}))
    page = client.get("/jobs/").text
    assert "<script>alert" not in page and "<img src=x" not in page
    # Shown escaped, as Jinja's autoescaping spells it (markupsafe: " is &#34;).
    assert escape('<script>alert("n")</script>') in page
    assert escape('name="><img src=x onerror=alert(1)>') in page
    assert job(app, "nightly").name == '<script>alert("n")</script>'  # kept as typed, shown escaped


def test_job_actions_read_well_in_the_audit_log(admin_app):
    _app, client = admin_app
    client.post("/jobs/new", data=form(id="x" * 120, crontab="0 3 * * *"))  # longer than the audit's id
    client.post(f"/jobs/{'x' * 120}/pause")
    page = client.get("/audit/").text
    assert "<li>Action: pause</li>" in page and "<li>Task: log_message</li>" in page
    assert ">p</span> → a<" not in page  # a value is never split into letters


@pytest.mark.parametrize("job_id", ["abc\n", "abc\r\n"])
def test_an_id_with_a_trailing_newline_is_trimmed_by_the_form_and_refused_by_the_scheduler(admin_app, job_id):
    from webapp.services.errors import ValidationError

    app, client = admin_app
    with pytest.raises(ValidationError):
        readable_scheduler(app).add_job(job_id, "log_message", trigger="interval", hours=1)
    assert client.post("/jobs/new", data=form(id=job_id, crontab="0 3 * * *")).location == "/jobs/abc"
    assert [j.id for j in readable_scheduler(app).get_jobs()] == ["abc"]


def test_run_times_show_to_the_second(admin_app):
    app, client = admin_app
    client.post("/jobs/new", data=form(crontab="0 3 * * *"))
    when = datetime(2025, 6, 1, 3, 0, 7, tzinfo=UTC)
    with app.app_context():
        db.session.add(JobRun(job_id="nightly", scheduled_at=when, started_at=when + timedelta(seconds=2),
                              status="succeeded", duration_ms=1.0))
        db.session.commit()
    page = client.get("/jobs/nightly").text
    first, second = "Jun 1, 2025, 3:00:07\u202fAM", "Jun 1, 2025, 3:00:09\u202fAM"
    assert f"<td>{first}</td>" in page and f"<td>{second}</td>" in page
    run = client.get("/jobs/nightly/runs").get_json()["runs"][0]
    assert (run["scheduled_at"], run["started_at"]) == (first, second)
    assert first in client.get("/jobs/history").text


def test_task_help_keeps_its_placeholder_and_a_blank_form_shows_no_error(admin_app):
    _app, client = admin_app
    page = client.get("/jobs/new").text
    assert "Writes “Hello, &lt;name&gt;” to the application log" in page
    assert "is-invalid" not in page and 'data-testid="form-errors"' not in page
