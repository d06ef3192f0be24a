"""Fuzz the JSON API against its OpenAPI document with schemathesis, on a real server.

    make fuzz        (or: .venv/bin/python bench/fuzz.py [--max-examples 200] [--seed 1])

Builds a fresh SQLite database (by the migrations) in a temporary instance folder,
with four users, three tags, five blogs, three jobs and an admin API token, serves
it over HTTP on a free loopback port (werkzeug's threaded server), and runs
``schemathesis run`` on ``/api/v1/openapi.json`` with every check and every phase
(examples, coverage, fuzzing, stateful). At the end it prints the requests sent,
the 5xx answers and the failed checks, and exits non-zero unless some requests
were sent and the other two are 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, ROOT, instance_env, temporary_instance

#: Checks left out of ``--checks all``, each with the reason.
EXCLUDED_CHECKS: dict[str, str] = {
    # It expects every schema-valid request to succeed. By design the rules that need the
    # database (a name already taken, an author who is not an active editor, your own
    # account, the blogs of a user being deleted) answer 422 with a message per field, and
    # a PATCH whose If-Match and body `version` disagree is a 400: no OpenAPI 3.0 schema
    # can say which names are taken or tie a header to a body field.
    "positive_data_acceptance": "422 for database rules and 400 for If-Match against version, by design",
}
#: The run sends thousands of wrong tokens on purpose (to check that each is refused);
#: with the default limit of 5 its own address would be throttled (429) for the rest of it.
CONFIG = {"LOGIN_MAX_FAILURES": 10**9}


def build_app(instance: Path) -> Flask:
    """The app on a fresh database in ``instance``: schema by the migrations, as in production."""
    env = instance_env(instance)
    subprocess.run([str(BIN / "flask"), "--app", "webapp", "init-db"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    os.environ.update(env)
    from webapp import create_app

    return create_app(CONFIG)


def seed(app: Flask) -> str:
    """Four users, three tags, five blogs and three jobs; returns an admin API token."""
    from webapp.jobs.scheduler import readable_scheduler
    from webapp.services import blogs, tags, tokens, users
    from webapp.services.blogs import BlogData
    from webapp.services.tags import TagData
    from webapp.services.users import UserData

    with app.app_context():
        made = {name: users.create_user_as_system(UserData(
            username=name, email=f"{name}@example.com", role=role, active=True, password="fuzz-password-1"))
            for name, role in (("admin", "admin"), ("writer", "editor"), ("reader", "viewer"),
                               ("spare", "admin"))}
        for name in ("python", "flask", "news"):
            tags.create_tag(TagData(name=name), made["admin"])
        for number in range(5):
            author = made["writer"] if number % 2 else made["admin"]
            blogs.create_blog(BlogData(title=f"Post {number}", body=f"Body *{number}*", author_id=author.id,
                                       tags=["python", "news"][: number % 3],
                                       status="published" if number % 2 else "draft"), author)
        scheduler = readable_scheduler(app)
        for number, trigger in ((1, {"trigger": "interval", "hours": 1}), (2, {"trigger": "cron", "hour": 3}),
                                (3, {"trigger": "date", "run_date": "2099-01-01T00:00:00+00:00"})):
            scheduler.add_job(str(number), "log_message", kwargs={"name": f"job {number}"}, **trigger)
        return tokens.create_token(made["admin"], "fuzz")[1]


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port from a thread; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def run_schemathesis(url: str, token: str, folder: Path, report: Path, args: argparse.Namespace) -> int:
    """``schemathesis run`` with every check and phase, in ``folder``; returns its exit code."""
    command = [
        str(BIN / "schemathesis"), "run", f"{url}/api/v1/openapi.json",
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", str(args.workers),
        "--header", f"Authorization: Bearer {token}", "--continue-on-failure",
        "--suppress-health-check", "all", "--request-timeout", "30",
        "--report", "ndjson", "--report-ndjson-path", str(report),
    ]
    if EXCLUDED_CHECKS:
        command += ["--exclude-checks", ",".join(EXCLUDED_CHECKS)]
    return subprocess.run(command, cwd=folder, check=False).returncode  # its cache stays there too


def tally(report: Path) -> tuple[int, int, list[str]]:
    """Requests sent, 5xx answers, and the distinct failed checks other than the 5xx one.

    Read from schemathesis' NDJSON event log: every finished scenario records its
    requests with their responses and the result of each check per case.
    """
    requests, server_errors, failures = 0, 0, set()
    for line in report.read_text(encoding="utf-8").splitlines():
        recorder = json.loads(line).get("ScenarioFinished", {}).get("recorder", {})
        for interaction in (recorder.get("interactions") or {}).values():
            requests += 1
            response = interaction.get("response") or {}
            server_errors += response.get("status_code", 0) >= 500
        for results in (recorder.get("checks") or {}).values():
            for result in results:
                failure = (result.get("failure_info") or {}).get("failure") or {}
                if result["status"] == "failure" and result["name"] != "not_a_server_error":
                    message = (str(failure.get("message") or "").splitlines() or [""])[0][:120]
                    failures.add(f"{failure.get('operation')}: {failure.get('code')} "
                                 f"{failure.get('title')} ({message})")
    return requests, server_errors, sorted(failures)


def main() -> None:
    """Build, seed and serve the app, fuzz it, print the figures; exit 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200, help="examples per operation")
    parser.add_argument("--seed", type=int, default=1, help="the random seed (runs are reproducible)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--report", type=Path, help="keep schemathesis' NDJSON event log at this path")
    args = parser.parse_args()
    started = time.monotonic()
    with temporary_instance() as instance:
        app = build_app(instance)
        token = seed(app)
        report = (args.report or instance / "schemathesis.ndjson").resolve()
        with serve(app) as url:
            run_schemathesis(url, token, instance, report, args)
        if not report.exists():
            sys.exit("schemathesis did not run (see its output above)")
        requests, server_errors, failures = tally(report)
    print("\nFailed checks:" if failures else "", *failures, sep="\n  ")
    for check, reason in EXCLUDED_CHECKS.items():
        print(f"Excluded check: {check} ({reason})")
    print(f"Requests sent: {requests}")
    print(f"5xx responses: {server_errors}")
    print(f"Conformance failures: {len(failures)}")
    print(f"Run time: {time.monotonic() - started:.0f} s")
    sys.exit(0 if requests and not server_errors and not failures else 1)


if __name__ == "__main__":
    main()
