"""Who is calling the API: a personal token (``Authorization: Bearer``) or the browser session.

A bearer token needs no CSRF token: browsers never add the header on their own.
The session cookie, which browsers do send cross-site, must come with the
``X-CSRFToken`` header for every state change.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from webapp.extensions import csrf
from webapp.models import User
from webapp.services import auth as auth_service
from webapp.services import tokens
from webapp.views.api.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def authenticate_request() -> None:
    """``before_request`` of the API: sets ``g.api_user`` or raises a 401 / 400 ApiError."""
    header = request.headers.get("Authorization")
    if header is not None:
        g.api_user = _token_user(header)
        g.api_auth = "token"
    elif current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            csrf.protect()  # raises CSRFError (400) without a valid X-CSRFToken header
        g.api_user = current_user._get_current_object()
        g.api_auth = "session"
    else:
        raise unauthorized(_("Sign in or send an API token (Authorization: Bearer <token>)."))
    _require_json_body()


def api_user() -> User:
    """The authenticated caller (set by :func:`authenticate_request`)."""
    return g.api_user  # type: ignore[no-any-return]


def unauthorized(message: str, invalid_token: bool = False) -> ApiError:
    """A 401 with the ``WWW-Authenticate: Bearer`` challenge."""
    challenge = 'Bearer realm="api"'
    if invalid_token:
        challenge += ', error="invalid_token"'
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


def _token_user(header: str) -> User:
    scheme, _sep, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(_("Use Authorization: Bearer <token>."), invalid_token=True)
    address = request.remote_addr or "unknown"
    auth_service.check_token_throttle(address)
    user = tokens.authenticate_token(token.strip())
    if user is None:
        auth_service.count_bad_token(address)
        raise unauthorized(_("The API token is not valid or has been revoked."), invalid_token=True)
    return user


def _require_json_body() -> None:
    """A request body must be JSON: a form post would otherwise read as an empty object.

    The body is parsed here, with Flask's parser, which turns every ``ValueError``
    into a 400: the schemas' parser (webargs) catches only syntax errors, and a
    number of more than 4,300 digits raises a plain ``ValueError`` in ``json.loads``.
    """
    if request.method not in BODY_METHODS:
        return
    if request.content_length and not request.is_json:
        raise ApiError(415, _("Send a JSON body with Content-Type: application/json."))
    if request.is_json and request.get_data(cache=True):
        try:
            request.get_json()
        except BadRequest:
            raise ApiError(400, _("The request body is not valid JSON.")) from None
