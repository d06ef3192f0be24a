"""Signing in and out, first-run setup, and the user's own profile."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.forms import ConfirmForm, LoginForm, PasswordChangeForm, SetupForm
from webapp.forms.tokens import TokenForm
from webapp.monitor.socket import disconnect_session
from webapp.services import auth as auth_service
from webapp.services import sessions
from webapp.services import tokens as token_service
from webapp.services import users as user_service
from webapp.services.errors import DomainError, Throttled, ValidationError
from webapp.services.users import UserData
from webapp.views.helpers import add_form_errors, client_address, safe_next_url, validate_form

bp = Blueprint("auth", __name__, url_prefix="/auth")

#: Endpoints reachable before the first administrator exists.
SETUP_OPEN_ENDPOINTS = {"auth.setup", "static", "health.healthz", "health.livez", "main.set_language"}
#: Session key holding a just-created API token until the profile page shows it (once).
NEW_TOKEN_KEY = "new_api_token"


@bp.before_app_request
def require_setup() -> Response | None:
    """Until the first account exists, every page leads to the setup page."""
    if current_app.extensions.get("webapp.setup_done"):
        return None
    if request.endpoint in SETUP_OPEN_ENDPOINTS or request.path.startswith("/api/"):
        return None  # the API answers 401 (no account can authenticate yet), never a page
    if user_service.any_user_exists():
        current_app.extensions["webapp.setup_done"] = True
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
            sessions.start(user)
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
    headers: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            user = auth_service.authenticate(form.login.data, form.password.data, client_address())
        except DomainError as err:
            form.form_errors.append(err.message)
            status = err.status if err.status == 429 else 200
            if isinstance(err, Throttled):  # tells clients when to try again (RFC 9110)
                headers["Retry-After"] = str(err.retry_after)
        else:
            sessions.start(user)
            login_user(user, remember=form.remember.data)
            current_app.logger.info("sign-in: %s from %s", user.username, client_address())
            return redirect(safe_next_url(form.next.data) or url_for("main.index"))
    return render_template("auth/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out (POST only, with the CSRF token).

    The sign-in session ends on the server, so a saved copy of the session or
    remember cookie no longer works, and this browser's monitor sockets close.
    """
    if current_user.login_key:
        disconnect_session(current_user.login_key)
    sessions.end(current_user)
    logout_user()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere() -> Response:
    """End every sign-in session of this account: other browsers, remember cookies, sockets."""
    if ConfirmForm().validate_on_submit():
        auth_service.sign_out_everywhere(current_user)
        logout_user()
        flash(_("You have been signed out everywhere."), "info")
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.profile"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> str | Response:
    """The signed-in user's account, password change and API tokens."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user_service.change_own_password(current_user, form.current_password.data,
                                             form.password.data)
        except ValidationError as err:
            add_form_errors(form, err)
        else:
            flash(_("Your password has been changed. Your other sessions have been signed out."),
                  "success")
            return redirect(url_for("auth.profile"))
    return render_profile(form=form)


@bp.post("/profile/tokens")
@login_required
def create_token() -> str | Response:
    """Create a personal API token; its value is shown once, on the page this redirects to."""
    token_form = TokenForm()
    if token_form.validate_on_submit():
        try:
            token, plaintext = token_service.create_token(current_user, token_form.name.data)
        except ValidationError as err:
            add_form_errors(token_form, err)
        else:
            # Kept in the (HttpOnly) session only until the next page view shows it.
            session[NEW_TOKEN_KEY] = {"name": token.name, "value": plaintext}
            flash(_("API token “%(name)s” created. Copy it now: it will not be shown again.",
                    name=token.name), "success")
            return redirect(url_for("auth.profile", _anchor="api-tokens"))
    return render_profile(token_form=token_form)


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_token(token_id: int) -> str | Response:
    """Confirm (GET), then revoke one of the user's own API tokens (POST with the CSRF token)."""
    token = token_service.own_token(token_id, current_user)
    form = ConfirmForm()
    if request.method == "GET":
        return render_template("auth/confirm_revoke.html", token=token, form=form)
    if form.validate_on_submit():
        token_service.revoke_token(token_id, current_user)
        flash(_("The API token has been revoked."), "success")
    return redirect(url_for("auth.profile", _anchor="api-tokens"))


def render_profile(form: PasswordChangeForm | None = None, token_form: TokenForm | None = None) -> str:
    """The profile page, showing a just-created token once."""
    return render_template(
        "auth/profile.html",
        form=form or PasswordChangeForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        revoke_form=ConfirmForm(formdata=None),
        tokens=token_service.list_tokens(current_user),
        new_token=session.pop(NEW_TOKEN_KEY, None),
    )
