"""The scheduler engine: registered tasks only, triggers, run history, persistence, hosts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import app_config
from webapp import create_app
from webapp.extensions import db
from webapp.jobs.scheduler import readable_scheduler, start_scheduler
from webapp.models import JobRun
from webapp.services.errors import ValidationError

REDIS_URL = "redis://127.0.0.1:6379/15"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def make_app(tmp_path, monkeypatch) -> Iterator[Callable[..., object]]:
    """Apps on one SQLite file (so a second app sees the first one's jobs); shut down after."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = []

    def make(**config: object):
        config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'jobs.sqlite'}")
        app = create_app(app_config(**config))
        with app.app_context():
            db.create_all()
        apps.append(app)
        return app

    yield make
    for app in apps:
        scheduler = app.extensions["scheduler"]
        if scheduler.running:
            scheduler.shutdown(wait=True)
        with app.app_context():
            db.engine.dispose()


def runs(app, job_id: str) -> list[JobRun]:
    with app.app_context():
        rows = db.session.scalars(select(JobRun).where(JobRun.job_id == job_id)
                                  .order_by(JobRun.scheduled_at)).all()
        db.session.expunge_all()
        return list(rows)


def test_jobs_may_only_run_registered_tasks(make_app):
    scheduler = make_app().extensions["scheduler"]
    for func in ("os:system", "builtins:exec", "webapp.jobs.registry:run_task"):
        with pytest.raises(ValidationError):
            scheduler.add_job("evil", func, trigger="interval", seconds=5)
    with pytest.raises(ValidationError):  # log_message takes one parameter
        scheduler.add_job("bad-args", "log_message", trigger="interval", seconds=5, args=["x", "y"])
    with pytest.raises(ValidationError):
        scheduler.add_job("bad-kwargs", "purge_run_history", trigger="interval", seconds=5,
                          kwargs={"days": "many"})
    job = scheduler.add_job("hello", "log_message", trigger="interval", seconds=5, kwargs={"name": "x"})
    assert (job.func_ref, job.args, job.kwargs) == ("webapp.jobs.registry:run_task", ("log_message",),
                                                    {"name": "x"})


def fire_times(job, count: int, now: datetime) -> list[datetime]:
    times, previous = [], None
    current = now
    for _ in range(count):
        fire = job.trigger.get_next_fire_time(previous, current)
        times.append(fire)
        previous = current = fire
    return times


def test_date_interval_and_cron_triggers_fire_when_expected(make_app):
    scheduler = make_app().extensions["scheduler"]
    now = datetime(2030, 11, 29, 8, 0, tzinfo=UTC)  # a Friday (to come: a one-off date must not have passed)
    date_job = scheduler.add_job("once", "log_message", trigger="date", run_date=now + timedelta(hours=2))
    assert date_job.trigger.get_next_fire_time(None, now) == now + timedelta(hours=2)
    interval_job = scheduler.add_job("every", "log_message", trigger="interval", minutes=5,
                                     start_date=now)
    assert fire_times(interval_job, 3, now) == [now, now + timedelta(minutes=5), now + timedelta(minutes=10)]
    cron_job = scheduler.add_job("weekday", "log_message", trigger="cron", hour=3, minute=0,
                                 day_of_week="mon-fri")
    assert [t.strftime("%a %H:%M") for t in fire_times(cron_job, 3, now)] == [
        "Mon 03:00", "Tue 03:00", "Wed 03:00"]
    last_friday = scheduler.add_job("monthly", "log_message", trigger="cron", day="last fri", hour=9)
    assert fire_times(last_friday, 1, now)[0].date().isoformat() == "2030-11-29"


def test_a_run_now_is_recorded_with_status_and_duration(make_app):
    app = make_app()
    scheduler = app.extensions["scheduler"]
    assert start_scheduler(app)
    job = scheduler.add_job("hello", "log_message", trigger="interval", hours=1)
    job.modify(next_run_time=datetime.now(UTC))
    wait_until(lambda: [r.status for r in runs(app, "hello")] == ["succeeded"])
    run = runs(app, "hello")[0]
    assert run.started_at is not None and run.duration_ms is not None and run.error is None


def test_a_failing_run_is_recorded_with_its_traceback(make_app):
    """A job slipped into the store behind the console's back (raw APScheduler) names
    os:system: the entry point refuses it, and the refusal is recorded as a failed run."""
    app = make_app()
    start_scheduler(app)
    app.extensions["scheduler"].scheduler.add_job(
        "webapp.jobs.registry:run_task", trigger="date", run_date=datetime.now(UTC), id="smuggled",
        args=["os:system"], kwargs={"command": "true"})
    wait_until(lambda: [r.status for r in runs(app, "smuggled")] == ["failed"])
    run = runs(app, "smuggled")[0]
    assert run.error.startswith("ValidationError") and "is not a registered task" in run.error
    assert "Traceback (most recent call last)" in run.traceback and "get_task" in run.traceback


def test_a_run_past_its_grace_time_is_recorded_as_missed(make_app):
    """The console refuses a one-off date that has passed; a job already in the store
    (after downtime, say) whose run is past its grace time is recorded as missed."""
    app = make_app()
    start_scheduler(app)
    app.extensions["scheduler"].scheduler.add_job(
        "webapp.jobs.registry:run_task", trigger="date", run_date=datetime.now(UTC) - timedelta(minutes=5),
        id="late", args=["log_message"], misfire_grace_time=1)
    wait_until(lambda: [r.status for r in runs(app, "late")] == ["missed"])


def test_jobs_survive_a_restart_in_the_database(make_app):
    first = make_app()
    scheduler = first.extensions["scheduler"]
    scheduler.start(paused=True)
    scheduler.add_job("nightly", "purge_run_history", trigger="cron", hour=3, kwargs={"days": 14})
    scheduler.shutdown()
    second = make_app()
    second.extensions["scheduler"].start(paused=True)
    job = second.extensions["scheduler"].get_job("nightly")
    assert job is not None and job.kwargs == {"days": 14}
    assert job.next_run_time is not None and job.next_run_time.hour == 3


@pytest.mark.redis
def test_the_redis_job_store_keeps_jobs_in_redis(make_app, redis_server):
    first = make_app(SCHEDULER_REDIS_URL=REDIS_URL)
    scheduler = first.extensions["scheduler"]
    scheduler.start(paused=True)
    scheduler.add_job("in-redis", "log_message", trigger="interval", minutes=10, jobstore="redis")
    scheduler.shutdown()
    assert redis_server.hexists("apscheduler.jobs", "in-redis")
    second = make_app(SCHEDULER_REDIS_URL=REDIS_URL)
    second.extensions["scheduler"].start(paused=True)
    assert second.extensions["scheduler"].get_job("in-redis", jobstore="redis") is not None


def test_a_host_outside_the_allowed_hosts_does_not_run_the_scheduler(make_app):
    app = make_app(SCHEDULER_ALLOWED_HOSTS=["some-other-host.example"])
    assert start_scheduler(app) is False
    assert not app.extensions["scheduler"].running


def test_autostart_is_off_unless_configured(make_app):
    assert not make_app().extensions["scheduler"].running
    assert make_app(SCHEDULER_AUTOSTART=True).extensions["scheduler"].running


@pytest.mark.parametrize("trigger,words", [
    ({"trigger": "interval", "minutes": 5}, "every 5 minutes"),
    ({"trigger": "interval", "seconds": 90}, "every 90 seconds"),
    ({"trigger": "interval", "days": 1}, "every day"),
    ({"trigger": "cron", "hour": 3, "minute": 0, "day_of_week": "mon-fri"}, "cron 0 3 * * mon-fri"),
    ({"trigger": "cron", "day": "last fri", "hour": 9}, "cron 0 9 last fri * *"),
    ({"trigger": "date", "run_date": datetime(2030, 12, 1, 9, 0, tzinfo=UTC)},
     "once at Sun, Dec 1, 2030, 9:00:00\u202fAM UTC"),
])
def test_triggers_in_words(make_app, trigger, words):
    from webapp.jobs.describe import trigger_in_words

    app = make_app()
    job = app.extensions["scheduler"].add_job("j", "log_message", **trigger)
    with app.test_request_context():
        assert trigger_in_words(job.trigger) == words


def test_the_job_list_shows_configured_jobs_with_their_last_run(make_app):
    from tests.conftest import PASSWORD
    from webapp.services import users as user_service
    from webapp.services.users import UserData

    app = make_app(JOBS=[{"id": "nightly-purge", "func": "purge_run_history", "trigger": "cron",
                          "hour": 3, "minute": 0, "kwargs": {"days": 14}}])
    with app.app_context():
        user_service.create_user_as_system(UserData("viv", "viv@example.com", "viewer", True, PASSWORD))
        db.session.add(JobRun(job_id="nightly-purge", scheduled_at=datetime.now(UTC) - timedelta(days=1),
                              status="failed", duration_ms=12.0))
        db.session.commit()
    client = app.test_client()
    assert client.get("/jobs/").location.startswith("/auth/login")
    client.post("/auth/login", data={"login": "viv", "password": PASSWORD,
                                     "csrf_token": _csrf(app, client)})
    page = client.get("/jobs/").text
    assert 'data-job-id="nightly-purge"' in page and "cron 0 3 * * *" in page
    assert "purge_run_history(days=14)" in page and ">failed</span>" in page and "12 ms" in page
    assert 'data-testid="scheduler-state">not in this process<' in page  # another process owns it


def test_the_job_list_warns_when_this_host_may_not_run_jobs(make_app):
    app = make_app(SCHEDULER_ALLOWED_HOSTS=["elsewhere.example"])
    with app.test_request_context():
        from webapp.views.jobs import index

        assert "does not run here" in index.__wrapped__()  # the role check is tested above


def _csrf(app, client) -> str:
    from tests.conftest import CSRFClient

    return CSRFClient.csrf_token(client)


def signed_in_client(app, role: str = "admin"):
    from tests.conftest import PASSWORD, CSRFClient
    from webapp.services import users as user_service
    from webapp.services.users import UserData

    with app.app_context():
        user_service.create_user_as_system(UserData(role, f"{role}@example.com", role, True, PASSWORD))
    app.test_client_class = CSRFClient
    client = app.test_client()
    client.post("/auth/login", data={"login": role, "password": PASSWORD})
    return client


def test_admins_pause_resume_run_and_delete_jobs_and_each_is_audited(make_app):
    from webapp.models import AuditEntry

    app = make_app(JOBS=[{"id": "hello", "func": "log_message", "trigger": "interval", "hours": 1}])
    start_scheduler(app)
    scheduler = app.extensions["scheduler"]
    client = signed_in_client(app)
    assert client.post("/jobs/hello/pause").location == "/jobs/"
    assert scheduler.get_job("hello").next_run_time is None
    assert ">paused</span>" in client.get("/jobs/").text
    client.post("/jobs/hello/resume")
    assert scheduler.get_job("hello").next_run_time is not None
    client.post("/jobs/hello/run")  # through the scheduler: recorded like any run
    wait_until(lambda: [r.status for r in runs(app, "hello")] == ["succeeded"])
    assert "Delete job hello?" in client.get("/jobs/hello/delete").text
    client.post("/jobs/hello/delete")
    assert scheduler.get_job("hello") is None
    with app.app_context():
        actions = [e.changes["action"] for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "jobs").order_by(AuditEntry.id))]
    assert actions == ["pause", "resume", "run", "delete"]


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_admins_act_on_jobs(make_app, role):
    app = make_app(JOBS=[{"id": "hello", "func": "log_message", "trigger": "interval", "hours": 1}])
    client = signed_in_client(app, role)
    assert client.get("/jobs/").status_code == 200
    for path in ("/jobs/hello/pause", "/jobs/hello/run", "/jobs/hello/delete"):
        assert client.post(path).status_code == 403
    assert readable_scheduler(app).get_job("hello").next_run_time is not None


def test_job_actions_need_the_csrf_token_and_an_existing_job(make_app):
    app = make_app(JOBS=[{"id": "hello", "func": "log_message", "trigger": "interval", "hours": 1}])
    client = signed_in_client(app)
    assert client.post("/jobs/hello/pause", csrf=False).status_code == 400
    assert readable_scheduler(app).get_job("hello").next_run_time is not None
    assert client.post("/jobs/nope/pause").status_code == 404
    assert client.post("/jobs/hello/explode").status_code == 404


def test_a_job_cannot_be_changed_to_run_something_else(make_app):
    scheduler = make_app().extensions["scheduler"]
    scheduler.start(paused=True)
    scheduler.add_job("hello", "log_message", trigger="interval", hours=1)
    for changes in ({"func": "os:system"}, {"args": ["touch /tmp/x", "more"]}, {"kwargs": {"command": "x"}}):
        with pytest.raises(ValidationError):
            scheduler.modify_job("hello", **changes)
    scheduler.modify_job("hello", func="purge_run_history", kwargs={"days": 3})
    job = scheduler.get_job("hello")
    assert (job.func_ref, job.args, job.kwargs) == ("webapp.jobs.registry:run_task", ("purge_run_history",),
                                                    {"days": 3})


@pytest.mark.parametrize("job_id", ["a/b", "..", "", "x" * 192, "<script>"])
def test_job_ids_are_plain_names(make_app, job_id):
    with pytest.raises(ValidationError):
        make_app().extensions["scheduler"].add_job(job_id, "log_message", trigger="interval", hours=1)


def test_configured_jobs_do_not_conflict_with_their_stored_copies(make_app):
    jobs = [{"id": "nightly", "func": "log_message", "trigger": "cron", "hour": 3}]
    first = make_app(JOBS=jobs)
    assert start_scheduler(first)
    second = make_app(JOBS=jobs)  # another process of the same deployment, or a restart
    assert readable_scheduler(second).get_job("nightly") is not None


def test_each_app_runs_its_jobs_in_its_own_context(make_app, tmp_path):
    from webapp.models import MemorySample

    first = make_app()
    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'other.sqlite'}")
    start_scheduler(first)
    first.extensions["scheduler"].add_job("sample", "record_memory_sample", trigger="date",
                                          run_date=datetime.now(UTC))
    wait_until(lambda: [r.status for r in runs(first, "sample")] == ["succeeded"])
    counts = []
    for app in (first, other):
        with app.app_context():
            counts.append(db.session.scalar(select(db.func.count(MemorySample.id))))
    assert counts == [1, 0]
