"""Security headers sent with every response."""

from __future__ import annotations

from flask import Flask, Response, current_app


def register_security(app: Flask) -> None:
    """Add the headers after every request."""
    app.after_request(security_headers)


def security_headers(response: Response) -> Response:
    """A strict Content-Security-Policy (no inline script) and the usual hardening headers."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        # Pages show account data: never let a shared cache or the back button after
        # logout serve them.
        headers.setdefault("Cache-Control", "no-store")
    return response
