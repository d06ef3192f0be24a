"""Scheduler benchmark: how late jobs start, and the job list's throughput.

    make bench-scheduler     (or: .venv/bin/python bench/scheduler.py [--jobs 100] [--seconds 30]
                              [--part all|lateness|list] [--wrk-seconds 10] [--rounds 5])

Part A, lateness. On a fresh SQLite app database with the console's default
scheduler setup (the persistent SQLAlchemy job store on the app database, the run
history listener, the thread pool of 20), 100 interval jobs run the registered
``log_message`` task every second for 30 seconds (log level WARNING, as in the
other benchmarks, so the greeting is not written). Each run's lateness is the
moment the task function is entered minus the run's scheduled time, taken inside
the worker thread. The same is then measured with the jobs in the memory store
(the reference), each store in a fresh process, side by side in one run. It
reports runs expected, runs started, runs recorded in the history, and the
lateness median, 99th percentile and maximum (with the history's own figure for
the persistent store, from ``job_runs.started_at``).

Part B, the job list. 1,000 jobs in the persistent store (interval, cron and date
triggers, some paused, 5,000 recorded runs), served with gunicorn (one process,
100 threads) as in bench/blog_list.py. wrk measures /livez (the bare hello route)
and the job list's pages 1, 20 and 50, signed in as an admin, in interleaved rounds
(hello, page 1, ..., hello, page 1, ...); each rate is also a ratio to the hello
route (the median of the rounds' ratios, with their range), and the server's CPU
time per request is shown beside it.

Targets: lateness p99 under 50 ms on the persistent store; the job list at 20% or
more of the hello route.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BIN,
    ROOT,
    Runs,
    gunicorn_process,
    instance_env,
    login_cookie,
    measure_interleaved,
    ratio_table,
    temporary_instance,
    wrk,
)

PASSWORD = "bench-password"
PAGES = {
    "hello (/livez)": "/livez",
    "job list, page 1": "/jobs/?page=1",
    "job list, page 20": "/jobs/?page=20",
    "job list, page 50": "/jobs/?page=50",
}
STORES = {"default": "persistent (SQLAlchemy, app DB)", "memory": "memory (reference)"}
P99_TARGET_MS = 50.0
LIST_TARGET = 0.20


def init_database(instance: Path) -> None:
    """A fresh app database, created by the migrations like a real install."""
    subprocess.run([str(BIN / "flask"), "--app", "webapp", "init-db"], cwd=ROOT, env=instance_env(instance),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# -- part A: lateness --------------------------------------------------------------

def instrument() -> list[tuple[str, datetime, float]]:
    """Note the moment each run enters its task function, with the run's scheduled time.

    APScheduler's ``run_job`` (in the worker thread) learns which run it is running;
    ``registry.run_task`` (what every job calls) notes the clock on entry. Both are
    wrapped in this benchmark process only.
    """
    from apscheduler.executors import pool

    from webapp.jobs import registry

    starts: list[tuple[str, datetime, float]] = []
    current = threading.local()
    run_job, run_task = pool.run_job, registry.run_task

    def timed_run_job(job: Any, alias: str, run_times: list[datetime], logger_name: str) -> Any:
        current.run = (job.id, run_times[-1])  # coalescing: one run time per submission
        return run_job(job, alias, run_times, logger_name)

    def timed_run_task(task_name: str, /, **kwargs: Any) -> Any:
        entered = time.time()
        job_id, scheduled = current.run
        starts.append((job_id, scheduled, entered))
        return run_task(task_name, **kwargs)

    pool.run_job = timed_run_job
    registry.run_task = timed_run_task  # jobs resolve "webapp.jobs.registry:run_task" when loaded
    return starts


def lateness_run(store: str, jobs: int, seconds: int) -> dict[str, Any]:
    """One measurement in this process: ``jobs`` jobs every second for ``seconds`` s in ``store``."""
    from sqlalchemy import func, select

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import JobRun

    starts = instrument()
    app = create_app()
    scheduler = app.extensions["scheduler"]
    scheduler.start(paused=True)
    first = datetime.fromtimestamp(math.ceil(time.time()) + 3, UTC)
    for i in range(jobs):
        scheduler.add_job(f"bench-{i:03d}", "log_message", trigger="interval", seconds=1, jobstore=store,
                          start_date=first, end_date=first + timedelta(seconds=seconds - 0.5),
                          kwargs={"name": f"bench {i}"})
    scheduler.resume()
    expected = jobs * seconds
    end = first.timestamp() + seconds + 1
    time.sleep(max(end - time.time(), 0))

    def recorded() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count(JobRun.id)).where(JobRun.status == "succeeded")) or 0

    deadline = time.monotonic() + 15  # let the last runs finish and the history catch up
    while recorded() < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    scheduler.shutdown(wait=True)
    with app.app_context():
        rows = db.session.execute(select(JobRun.scheduled_at, JobRun.started_at)
                                  .where(JobRun.status == "succeeded")).all()
        db.engine.dispose()
    late = [(entered - scheduled.timestamp()) * 1000 for _job, scheduled, entered in starts]
    history = [(started - scheduled).total_seconds() * 1000 for scheduled, started in rows if started]
    return {"store": store, "expected": expected, "started": len(late), "recorded": len(rows),
            **summary(late), "history": summary(history)}


def summary(values_ms: list[float]) -> dict[str, float | None]:
    """Median, 99th percentile (nearest rank) and maximum, in milliseconds."""
    if not values_ms:
        return {"median": None, "p99": None, "max": None}
    ordered = sorted(values_ms)
    p99 = ordered[max(math.ceil(0.99 * len(ordered)) - 1, 0)]
    return {"median": round(statistics.median(ordered), 2), "p99": round(p99, 2),
            "max": round(ordered[-1], 2)}


def measure_lateness(store: str, jobs: int, seconds: int) -> dict[str, Any]:
    """A fresh instance and a fresh process per store, so neither run inherits the other's threads."""
    with temporary_instance() as instance:
        init_database(instance)
        done = subprocess.run([sys.executable, __file__, "--lateness-run", store, "--jobs", str(jobs),
                               "--seconds", str(seconds)], cwd=ROOT, env=instance_env(instance),
                              capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"The {store} store run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- part B: the job list ------------------------------------------------------------

def build_jobs(instance: Path, count: int) -> None:
    """An admin, ``count`` jobs in the persistent store and five recorded runs per job."""
    init_database(instance)
    os.environ.update(instance_env(instance))
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import JobRun, User

    app = create_app()
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        db.session.execute(insert(User).values(
            username="admin", email="admin@example.com", password_hash=generate_password_hash(PASSWORD),
            role="admin", active=True, version=1, created_at=now))
        db.session.commit()
    scheduler = app.extensions["scheduler"]
    scheduler.start(paused=True)
    for i in range(count):
        kind = i % 4
        if kind == 0:
            trigger: dict[str, Any] = {"trigger": "interval", "minutes": 5 + i % 55}
        elif kind == 1:
            trigger = {"trigger": "cron", "hour": i % 24, "minute": i % 60, "day_of_week": "mon-fri"}
        elif kind == 2:
            trigger = {"trigger": "date", "run_date": now + timedelta(days=1, minutes=i)}
        else:
            trigger = {"trigger": "interval", "hours": 1 + i % 23}
        task, kwargs = [("log_message", {"name": f"job {i}"}), ("purge_run_history", {"days": 1 + i % 90}),
                        ("record_memory_sample", {}), ("backup_database", {"keep": 1 + i % 9})][i % 4]
        scheduler.add_job(f"job-{i:04d}", task, kwargs=kwargs, **trigger)
        if i % 10 == 9:
            scheduler.pause_job(f"job-{i:04d}")
    scheduler.shutdown()
    statuses = ["succeeded"] * 8 + ["failed", "missed"]
    with app.app_context():
        db.session.execute(insert(JobRun), [
            {"job_id": f"job-{i:04d}", "scheduled_at": now - timedelta(hours=k + 1),
             "status": statuses[(i + k) % 10], "started_at": now - timedelta(hours=k + 1),
             "duration_ms": 3.5 + (i % 7), "created_at": now - timedelta(hours=k + 1)}
            for i in range(count) for k in range(5)])
        db.session.commit()
        db.engine.dispose()


def measure_job_list(jobs: int, seconds: int, rounds: int) -> Runs:
    """Rates and CPU per request of the hello route and the job list pages, in
    interleaved rounds (see bench/common.py)."""
    with temporary_instance() as instance:
        build_jobs(instance, jobs)
        with gunicorn_process("webapp:create_app()", instance_env(instance), 100) as (url, worker):
            cookie = login_cookie(url, "admin", PASSWORD)
            for path in PAGES.values():  # warm up: templates compiled, caches filled
                wrk(url + path, cookie, 1)
            return measure_interleaved(url, cookie, PAGES, seconds, rounds, worker)


# -- the report ----------------------------------------------------------------------

def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100, help="interval jobs in part A")
    parser.add_argument("--seconds", type=int, default=30, help="how long part A runs per store")
    parser.add_argument("--list-jobs", type=int, default=1000, help="jobs in part B")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="wrk duration per URL in part B")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of part B")
    parser.add_argument("--part", choices=("all", "lateness", "list"), default="all")
    parser.add_argument("--lateness-run", choices=tuple(STORES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lateness_run:  # the child process of one part A measurement
        print(json.dumps(lateness_run(args.lateness_run, args.jobs, args.seconds)))
        return
    result: dict[str, Any] = {}
    if args.part in ("all", "lateness"):
        print(f"Part A: {args.jobs} interval jobs every 1 s for {args.seconds} s, per store ...", flush=True)
        result["lateness"] = [measure_lateness(store, args.jobs, args.seconds) for store in STORES]
        print(f"\n{'job store':<34}{'expected':>9}{'started':>9}{'recorded':>9}"
              f"{'median ms':>11}{'p99 ms':>9}{'max ms':>9}")
        for row in result["lateness"]:
            print(f"{STORES[row['store']]:<34}{row['expected']:>9}{row['started']:>9}{row['recorded']:>9}"
                  f"{ms(row['median']):>11}{ms(row['p99']):>9}{ms(row['max']):>9}")
        persistent = result["lateness"][0]
        hist = persistent["history"]
        print(f"(run history of the persistent store: median {ms(hist['median'])}, p99 {ms(hist['p99'])}, "
              f"max {ms(hist['max'])} ms from job_runs.started_at)")
        ok = (persistent["p99"] is not None and persistent["p99"] < P99_TARGET_MS
              and persistent["started"] == persistent["expected"] == persistent["recorded"])
        print(f"Target: persistent p99 under {P99_TARGET_MS:.0f} ms, every run started and recorded: "
              f"{ms(persistent['p99'])} ms ({'met' if ok else 'NOT met'})\n")
    if args.part in ("all", "list"):
        print(f"Part B: job list with {args.list_jobs} jobs, gunicorn + wrk ...", flush=True)
        table = ratio_table(measure_job_list(args.list_jobs, args.wrk_seconds, max(args.rounds, 1)),
                            "hello (/livez)")
        result.update(table)
        ratio = result["job_list_ratio"] = table["ratio_median"]["job list, page 1"]
        print(f"\nTarget: job list page 1 at >= {LIST_TARGET:.0%} of the hello route: {ratio:.1%} "
              f"({'met' if ratio >= LIST_TARGET else 'NOT met'})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
