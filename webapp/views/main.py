"""The home page and the language switcher."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from webapp.forms import LanguageForm
from webapp.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE, offered_languages
from webapp.models import Role
from webapp.services import dashboard, preferences
from webapp.services.errors import ValidationError
from webapp.views.audit_words import entry_views
from webapp.views.helpers import safe_next_url

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index() -> str:
    """Overview: counts, the latest changes, failed runs, the next jobs and memory."""
    summary = dashboard.overview(current_user)
    return render_template("main/index.html", overview=summary, roles=list(Role),
                           recent=entry_views(summary.recent), spark=dashboard.sparkline(summary.memory))


@bp.post("/language")
def set_language() -> Response:
    """The navigation bar's language switcher: keep the choice, then back to the page.

    A signed-in user's choice is saved with the account; every browser also keeps it
    in a cookie, so the sign-in page speaks it too.
    """
    form = LanguageForm()
    response = redirect(safe_next_url(form.next.data) or url_for("main.index"))
    try:
        if current_user.is_authenticated:
            code = preferences.save_language(current_user._get_current_object(), form.locale.data,
                                             offered_languages())
        else:
            code = preferences.check_language(form.locale.data, offered_languages())
    except ValidationError as err:
        flash(err.message, "warning")
        return response
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=LANGUAGE_COOKIE_MAX_AGE, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
