"""The roles a process can play, and the health report each one gives.

- ``all``: the embedded default. One process serves the pages, the API and the
  sockets, runs the scheduler and samples memory (``make run``, ``run.py``).
- ``web``: pages, API and sockets only (gunicorn ``-k gevent``, one worker per
  process, as many processes as needed). It edits jobs in the shared job stores and
  never runs them; the memory samples reach its browsers through the Socket.IO
  message queue (Redis).
- ``worker``: no pages. It waits for the owner lock (webapp/jobs/ownership.py); the
  holder runs the scheduler and the memory sampler on plain threads, and a standby
  takes over when the holder dies.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import text

from webapp.extensions import db

ROLES = ("all", "web", "worker")


def check_role(app: Flask) -> str:
    """The process's role, refusing an unknown one or a split without a message queue."""
    role = app.config["ROLE"]
    if role not in ROLES:
        raise ValueError(f"ROLE must be one of {', '.join(ROLES)}, not {role!r}")
    if role != "all" and not app.config["SOCKETIO_MESSAGE_QUEUE"]:
        raise ValueError(f"ROLE={role} needs SOCKETIO_MESSAGE_QUEUE (a Redis URL): the web "
                         "processes and the worker reach the browsers through it")
    return str(role)


def health(app: Flask) -> tuple[dict[str, Any], int]:
    """``/healthz``: the database, the message queue, whether this process owns the scheduler.

    200 when the database and the queue (if any) answer, else 503; each part says
    "ok", "none" (not used here) or what went wrong.
    """
    report: dict[str, Any] = {"role": app.config["ROLE"]}
    with app.app_context():
        report["database"] = _check(lambda: db.session.execute(text("SELECT 1")).scalar_one())
        db.session.remove()
    state = app.extensions["monitor.sampler"].state  # RedisState exactly when there is a queue
    report["queue"] = _check(state.reachable) if app.config["SOCKETIO_MESSAGE_QUEUE"] else "none"
    owner = app.extensions.get("scheduler_owner")
    report["scheduler"] = "owner" if owner else "standby" if app.config["ROLE"] == "worker" else "none"
    healthy = report["database"] == "ok" and report["queue"] in ("ok", "none")
    report["status"] = "ok" if healthy else "failing"
    return report, 200 if healthy else 503


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as err:  # the report says what failed instead of failing itself
        return f"error: {type(err).__name__}: {err}"[:300]
    return "ok"
