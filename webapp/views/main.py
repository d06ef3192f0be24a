"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Role, User

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index() -> str:
    """Overview: who is signed in and how many accounts each role has."""
    counts = dict(db.session.execute(
        select(User.role, func.count(User.id)).where(User.active.is_(True)).group_by(User.role)
    ).all()) if current_user.has_role(Role.ADMIN) else {}
    return render_template("main/index.html", role_counts=counts, roles=list(Role))
