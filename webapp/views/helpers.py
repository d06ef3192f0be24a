"""Helpers shared by the blueprints: user loading, role checks, redirects, form errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import wraps
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlsplit

from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response as BaseResponse

from webapp.extensions import login_manager
from webapp.models import User
from webapp.services import sessions
from webapp.services.access import require_role
from webapp.services.errors import Conflict, Forbidden, ValidationError
from webapp.services.limits import MAX_ID

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


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``id:key``; an ended session or an inactive account signs out."""
    return sessions.signed_in_user(session_id)


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


def list_args(back: str) -> MultiDict[str, str]:
    """The query arguments of the list page at ``back``: what "all N matching" acts on."""
    return MultiDict(parse_qsl(urlsplit(back).query, keep_blank_values=True))


def add_form_errors(form: FlaskForm, error: ValidationError) -> None:
    """Show a service's field errors beside the form's fields."""
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
            continue
        field.errors = [*field.errors, *messages] if isinstance(field.errors, list) else list(messages)


class Saved(NamedTuple):
    """What a form's save did: the message to show, and the saved record's edit page."""

    message: str
    edit_url: str | None = None


def saved(form: FlaskForm, save: Callable[[], Saved], endpoint: str,
          add_endpoint: str | None = None) -> BaseResponse | None:
    """Run ``save``; on success flash its message and go on as the button said: back to
    the list (``endpoint``), to a blank form ("Save and add another": ``add_endpoint``) or
    to the record's form ("Save and continue editing").

    None: the form shows why not (a refused field beside the field, a newer version
    above the form) and the page is rendered again with what was typed.
    """
    try:
        done = save()
    except ValidationError as err:
        add_form_errors(form, err)
    except Conflict as err:
        flash(err.message, "warning")
    else:
        flash(done.message, "success")
        then = request.form.get("then")
        if then == "continue" and done.edit_url:
            return redirect(done.edit_url)
        if then == "add" and add_endpoint:
            return redirect(url_for(add_endpoint))
        return redirect(url_for(endpoint))
    return None


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
