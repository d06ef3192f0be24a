"""Signing in and out, first-run setup, and the user's own profile."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.forms import LoginForm, PasswordChangeForm, SetupForm
from webapp.services import auth as auth_service
from webapp.services import users as user_service
from webapp.services.errors import DomainError, ValidationError
from webapp.services.users import UserData
from webapp.views.helpers import add_form_errors, client_address, safe_next_url, validate_form

bp = Blueprint("auth", __name__, url_prefix="/auth")

#: Endpoints reachable before the first administrator exists.
SETUP_OPEN_ENDPOINTS = {"auth.setup", "static"}


@bp.before_app_request
def require_setup() -> Response | None:
    """Until the first account exists, every page leads to the setup page."""
    if current_app.extensions.get("webapp.setup_done"):
        return None
    if user_service.any_user_exists():
        current_app.extensions["webapp.setup_done"] = True
        return None
    if request.endpoint in SETUP_OPEN_ENDPOINTS:
        return None
    return redirect(url_for("auth.setup"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> str | Response:
    """Create the first administrator; gone (404) once any account exists."""
    if current_app.extensions.get("webapp.setup_done") or user_service.any_user_exists():
        abort(404)
    form = SetupForm()
    data = UserData(username=form.username.data, email=form.email.data, password=form.password.data)
    if validate_form(form, lambda: user_service.check_user_data(data)):
        try:
            user = user_service.create_first_admin(data)
        except ValidationError as err:
            add_form_errors(form, err)
        else:
            current_app.extensions["webapp.setup_done"] = True
            login_user(user)
            flash(_("Welcome, %(name)s. The console is ready.", name=user.username), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """The sign-in form; redirects to ``next`` only when it is a path on this site."""
    if current_user.is_authenticated:
        return redirect(safe_next_url(request.args.get("next")) or url_for("main.index"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            user = auth_service.authenticate(form.login.data, form.password.data, client_address())
        except DomainError as err:
            form.form_errors.append(err.message)
            status = err.status if err.status == 429 else 200
        else:
            login_user(user, remember=form.remember.data)
            current_app.logger.info("sign-in: %s from %s", user.username, client_address())
            return redirect(safe_next_url(form.next.data) or url_for("main.index"))
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out (POST only, with the CSRF token)."""
    logout_user()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> str | Response:
    """The signed-in user's account and password change."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user_service.change_own_password(current_user, form.current_password.data,
                                             form.password.data)
        except ValidationError as err:
            add_form_errors(form, err)
        else:
            # The new session token signs out other sessions; keep this one.
            login_user(current_user._get_current_object())
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)
