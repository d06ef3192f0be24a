"""Role checks, shared by the view decorator and the services."""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.models import User
from webapp.services.errors import Forbidden


def require_role(actor: User | None, minimum: str) -> None:
    """Raise Forbidden unless ``actor`` is an active user with at least ``minimum`` role."""
    if actor is None or not actor.is_authenticated or not actor.active:
        raise Forbidden(_("Sign in to continue."))
    if not actor.has_role(minimum):
        raise Forbidden(_("Your role does not allow this."))
