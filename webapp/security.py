"""Security headers sent with every response."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response


def register_security(app: Flask) -> None:
    """Add the headers to every response.

    Call it after ``socketio.init_app``: Socket.IO answers ``/socket.io/`` in a WSGI
    middleware of its own, before Flask sees the request, so the headers are added
    around the whole WSGI app, where every response passes.
    """
    app.after_request(security_headers)
    app.wsgi_app = SecurityHeadersMiddleware(app.wsgi_app, app)  # type: ignore[method-assign]


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
