"""``/healthz`` for load balancers and process managers (no sign-in, nothing secret)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from webapp.roles import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """The database, the message queue and whether this process owns the scheduler."""
    report, status = health(current_app)
    return jsonify(report), status


@bp.get("/livez")
def livez() -> tuple[str, int, dict[str, str]]:
    """Liveness: the process answers (no database, no queue). Also the benchmarks' hello route."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
