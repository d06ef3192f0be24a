"""The live memory monitor page (every signed-in role)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from webapp.models import Role
from webapp.models.types import utcnow
from webapp.monitor.sampler import INTERVALS, NAMESPACE
from webapp.services.memory_history import RANGES, stored_samples
from webapp.views.helpers import role_required

bp = Blueprint("monitor", __name__, url_prefix="/monitor")


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    """RAM and swap, live over Socket.IO; settings travel to the page script as data attributes."""
    config = current_app.config
    settings = {
        "namespace": NAMESPACE,
        "tick": config["MONITOR_TICK_SECONDS"],
        "warning": config["MONITOR_WARNING_PERCENT"],
        "critical": config["MONITOR_CRITICAL_PERCENT"],
        "hysteresis": config["MONITOR_HYSTERESIS_PERCENT"],
        "history": config["MONITOR_HISTORY"],
    }
    return render_template("monitor/index.html", settings=settings, intervals=INTERVALS)


@bp.get("/samples")
@role_required(Role.VIEWER)
def samples() -> Response | tuple[Response, int]:
    """The stored samples of the last hour or day, for the chart's long ranges."""
    seconds = request.args.get("range", type=int)
    if seconds not in RANGES:
        return jsonify(message=_("range must be one of %(ranges)s", ranges=list(RANGES))), 400
    history = stored_samples(seconds, utcnow())
    return jsonify(step=history.step,
                   samples=[{"ts": ts, "used": used, "swap": swap} for ts, used, swap in history.points])
