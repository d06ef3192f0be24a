"""The live memory monitor page (every signed-in role)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from webapp.models import Role
from webapp.monitor.sampler import INTERVALS, NAMESPACE
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
