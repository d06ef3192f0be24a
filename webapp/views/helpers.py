"""Helpers shared by the blueprints: user loading, role checks, redirects, form errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, abort, request, stream_with_context
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import make_transient_to_detached
from werkzeug.routing import IntegerConverter, Map

from webapp.extensions import db, login_manager
from webapp.models import LoginSession, User
from webapp.services import sessions
from webapp.services.access import require_role
from webapp.services.errors import Forbidden, ValidationError
from webapp.services.filters import is_id
from webapp.services.limits import MAX_ID
from webapp.services.packed import Unpacker, is_packing, packed_select

F = TypeVar("F", bound=Callable[..., Any])


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that only matches ids the database can hold, in ASCII digits.

    Larger ids are a 404, not a 500. Werkzeug's ``\\d+`` follows Python's regular
    expressions, which also match other scripts' digits, and ``int()`` would then read
    a path with fullwidth or Arabic-Indic digits as an id: such a path is a 404 too.
    """

    regex = r"[0-9]+"

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


#: Every column of the signed-in user, by id, when the cookie's sign-in session still
#: exists: one plain row, no ORM query machinery (packed into one value on SQLite,
#: see services.packed).
_USER_COLUMNS = tuple(User.__table__.columns)
_SESSION_OPEN = exists().where(
    LoginSession.key_hash == bindparam("key_hash"),
    LoginSession.user_id == User.__table__.c.id,
    LoginSession.created_at >= bindparam("oldest"),
)
_USER_WHERE = (User.__table__.c.id == bindparam("user_id"), _SESSION_OPEN)
_USER_ROW = select(*_USER_COLUMNS).where(*_USER_WHERE)
_USER_PACKED = packed_select(_USER_COLUMNS).where(*_USER_WHERE)
_SESSION_ROW = select(LoginSession.user_id).where(
    LoginSession.user_id == bindparam("user_id"), _SESSION_OPEN)
_user_unpacker = Unpacker(_USER_COLUMNS)
_USER_FIELDS = [(attr.key, attr.columns[0].key) for attr in User.__mapper__.column_attrs]


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``id:key``; an ended session or an inactive account signs out.

    Runs on every signed-in request, so the row is read with a plain query and
    becomes a User in the session as if the ORM had loaded it (same identity,
    same change tracking and version checks), at a fraction of the ORM's cost.
    The same statement checks that the cookie's sign-in session is still open.
    """
    user_id, _, key = session_id.partition(":")
    if not is_id(user_id) or not key:
        return None
    params = {"user_id": int(user_id), "key_hash": sessions.key_hash(key), "oldest": sessions.oldest_valid()}
    session = db.session()
    connection = session.connection()
    if session.identity_map.get(session.identity_key(User, int(user_id))) is not None:
        # Already in this session: only the sign-in session needs checking.
        user = session.get(User, int(user_id)) if connection.scalar(_SESSION_ROW, params) else None
    else:
        if is_packing(connection):
            values = _user_unpacker(connection.scalar(_USER_PACKED, params), connection.dialect)
        else:
            row = connection.execute(_USER_ROW, params).first()
            values = None if row is None else row._mapping
        user = None if values is None else _attach(session, values)
    if user is None or not user.active:
        return None
    user.login_key = key
    return user


def _attach(session: Any, values: Any) -> User:
    user = User(**{attr: values[column] for attr, column in _USER_FIELDS})
    make_transient_to_detached(user)  # as if loaded: no pending changes, identity key set
    session.add(user)
    return user


def role_required(minimum: str) -> Callable[[F], F]:
    """Require a signed-in user with at least ``minimum`` role; 403 otherwise."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            try:
                require_role(current_user, minimum)
            except Forbidden:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    # Only a plain path: no scheme, no host, and not "//host" or "/\host" that
    # browsers read as another site.
    if parts.scheme or parts.netloc or not target.startswith("/") or target[1:2] in {"/", "\\"}:
        return None
    if any(ch in target for ch in "\r\n\t"):
        return None
    return target


def safe_back_url(target: str | None, prefix: str) -> str | None:
    """``target`` if it is a path on this site under ``prefix`` (list pages keep their filters)."""
    target = safe_next_url(target)
    return target if target and target.startswith(prefix) else None


def add_form_errors(form: FlaskForm, error: ValidationError) -> None:
    """Show a service's field errors beside the form's fields."""
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
            continue
        field.errors = [*field.errors, *messages] if isinstance(field.errors, list) else list(messages)


def validate_form(form: FlaskForm, service_check: Callable[[], object]) -> bool:
    """Validate a submitted form; when it fails, also run the service's checks so that
    every field's problem shows at once (not the form's first, then the service's)."""
    if not form.is_submitted():
        return False
    if form.validate():
        return True
    if "csrf_token" not in form.errors:
        try:
            service_check()
        except ValidationError as err:
            fresh = {k: v for k, v in err.fields.items() if not getattr(form, k, None) or
                     not getattr(form, k).errors}
            add_form_errors(form, ValidationError(fresh))
    return False


def client_address() -> str:
    """The client's address (honouring ProxyFix when configured)."""
    return request.remote_addr or "unknown"


def download_response(body: Iterable[str], mimetype: str, filename: str) -> Response:
    """A streamed attachment named ``<stem>-<timestamp>.<ext>``; the generator keeps the request context.

    ``mimetype`` is sent as the whole Content-Type: a type that already names its
    charset keeps exactly that one. Downloads hold account and content data, so no
    cache (shared or the browser's) keeps a copy.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    name = filename.replace(".", f"-{stamp}.", 1)
    response = Response(stream_with_context(body), content_type=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    response.cache_control.no_store = True
    return response
