"""Security headers sent with every response, and the CSRF token the templates show."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, g, session
from flask_wtf.csrf import generate_csrf

#: How long a signed CSRF token is shown again before it is signed anew. Signing
#: (a key derivation and an HMAC) costs as much as a small page; a token stays
#: valid for WTF_CSRF_TIME_LIMIT (hours), so reusing it for a minute changes nothing.
CSRF_REUSE_SECONDS = 60.0


def register_security(app: Flask) -> None:
    """Add the headers to every response; templates get the reusing ``csrf_token()``.

    Call it after ``socketio.init_app``: Socket.IO answers ``/socket.io/`` in a WSGI
    middleware of its own, before Flask sees the request, so the headers are added
    around the whole WSGI app, where every response passes.
    """
    app.after_request(security_headers)
    app.wsgi_app = SecurityHeadersMiddleware(app.wsgi_app, app)  # type: ignore[method-assign]
    app.extensions["webapp.signed_csrf"] = {}
    # Flask-WTF installs its own as a global and as a context variable: replace both.
    app.add_template_global(csrf_token)
    app.context_processor(_csrf_context)


def security_headers(response: Response) -> Response:
    """Pages are never cached (the rest of the headers come from the middleware below)."""
    if response.mimetype == "text/html":
        # Pages show account data: never let a shared cache or the back button after
        # logout serve them.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def base_headers(config: Any) -> list[tuple[str, str]]:
    """The headers every response carries, whatever its type."""
    return [
        ("Content-Security-Policy", config["CONTENT_SECURITY_POLICY"]),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]


StartResponse = Callable[..., Any]


class SecurityHeadersMiddleware:
    """WSGI middleware adding :func:`base_headers` to responses that lack them.

    Every response passes here: Flask's pages and API answers, and the ones Flask
    never builds, such as the Socket.IO (Engine.IO) handshake and polling responses.
    Headers a view set itself are left as they are.
    """

    def __init__(self, wsgi_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
                 app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request with a ``start_response`` that fills in the missing headers."""

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _value in headers}
            missing = [(name, value) for name, value in base_headers(self.app.config)
                       if name.lower() not in present]
            return start_response(status, [*headers, *missing], exc_info)

        return self.wsgi_app(environ, start)


def csrf_token() -> str:
    """Flask-WTF's ``generate_csrf()``, signing a session's token at most once a minute.

    The signed token is kept per raw token (the secret in the session), so a
    session only ever sees tokens made from its own secret; a new session, or a
    new secret after sign-in, is signed anew.
    """
    app = current_app
    field = app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    token = g.get(field)
    if token is not None:  # already shown on this page
        return token  # type: ignore[no-any-return]
    raw = session.get(field)
    if not isinstance(raw, str):
        return generate_csrf()  # no secret in the session yet: Flask-WTF makes one
    signed: dict[str, tuple[float, str]] = app.extensions["webapp.signed_csrf"]
    now = time.monotonic()
    entry = signed.get(raw)
    if entry is None or now - entry[0] >= _reuse_seconds(app):
        token = generate_csrf()
        if len(signed) >= 10_000:  # sessions come and go: forget them all now and then
            signed.clear()
        signed[raw] = (now, token)
        return token
    setattr(g, field, entry[1])  # later calls in this request (forms) show the same token
    return entry[1]


def _csrf_context() -> dict[str, object]:
    return {"csrf_token": csrf_token}


def _reuse_seconds(app: Flask) -> float:
    limit = app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
    return CSRF_REUSE_SECONDS if limit is None else min(CSRF_REUSE_SECONDS, limit / 100)
