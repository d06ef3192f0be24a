"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from webapp.models import Role
from webapp.services import users as user_service

bp = Blueprint("main", __name__)


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    """Liveness probe for load balancers: no session, no database."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/")
@login_required
def index() -> str:
    """Overview: who is signed in and how many accounts each role has."""
    counts = user_service.active_counts_by_role() if current_user.has_role(Role.ADMIN) else {}
    return render_template("main/index.html", role_counts=counts, roles=list(Role))
