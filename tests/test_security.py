"""CSRF, cookies, security headers, error pages and the no-inline-script rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import abort

from tests.conftest import PASSWORD

TEMPLATES = Path(__file__).parent.parent / "webapp" / "templates"


@pytest.mark.parametrize("path,data", [
    ("/auth/login", {"login": "admin", "password": PASSWORD}),
    ("/auth/logout", {}),
    ("/users/new", {"username": "bob", "email": "bob@example.com", "role": "viewer",
                    "password": "a long password", "confirm": "a long password"}),
    ("/users/bulk", {"action": "delete", "ids": ["1"], "confirmed": "1"}),
    ("/auth/profile", {"current_password": PASSWORD, "password": "x" * 10, "confirm": "x" * 10}),
])
def test_post_without_csrf_token_is_refused_with_400(as_admin, path, data):
    response = as_admin.post(path, data=data, csrf=False)
    assert response.status_code == 400
    assert "security token" in response.text
    assert as_admin.get("/").status_code == 200  # still signed in: the logout was refused too


def test_post_with_a_forged_token_is_refused(as_admin):
    response = as_admin.post("/auth/logout", data={"csrf_token": "forged"}, csrf=False)
    assert response.status_code == 400


def test_security_headers_on_every_page(client, admin):
    for path in ("/auth/login", "/static/css/app.css", "/does-not-exist"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_are_not_cached(client, admin):
    assert client.get("/auth/login").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_http_only_and_same_site_lax(auth, admin):
    response = auth.login("admin")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_when_configured(app, auth, admin):
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    response = auth.login("admin", remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    assert all("Secure" in c for c in cookies if c.startswith(("session=", "remember_token=")))


def test_templates_have_no_inline_script_or_handlers():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"inline <script> in {template}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {template}"
        assert not re.search(r"\sstyle\s*=", text), f"inline style in {template}"
        assert "//cdn" not in text and "https://" not in text, f"external asset in {template}"


@pytest.fixture
def failing_routes(app):
    """Routes that fail with a given status (registered before the first request)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # render 500 as production does

    @app.get("/boom/<int:status>")
    def boom(status: int) -> str:
        if status == 500:
            raise RuntimeError("unexpected")
        abort(status)

    return app


@pytest.mark.parametrize("status,title", [(400, "Bad request"), (403, "Forbidden"),
                                          (404, "Page not found"), (405, "Method not allowed"),
                                          (500, "Something went wrong")])
def test_error_pages_render_in_the_layout(failing_routes, as_admin, status, title):
    response = as_admin.get(f"/boom/{status}")
    assert response.status_code == status
    assert title in response.text and 'class="navbar' in response.text
    assert "unexpected" not in response.text and "Traceback" not in response.text


def test_a_pages_csrf_token_is_refused_once_expired(app, as_admin, monkeypatch):
    import time

    token = re.search(r'name="csrf-token" content="([^"]+)"', as_admin.get("/blogs/").text).group(1)
    app.config["WTF_CSRF_TIME_LIMIT"] = 60
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 61)  # itsdangerous's clock
    assert as_admin.post("/auth/logout", data={"csrf_token": token}, csrf=False).status_code == 400


def test_socketio_responses_carry_the_security_headers(client):
    """Socket.IO answers outside Flask's after_request: its handshake is hardened too."""
    response = client.get("/socket.io/?EIO=4&transport=polling")
    assert response.status_code == 200 and response.get_data(as_text=True).startswith("0{")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert len(headers.getlist("X-Frame-Options")) == 1


def test_flask_responses_get_each_security_header_once(client, admin):
    headers = client.get("/auth/login").headers
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert len(headers.getlist(name)) == 1, name


def test_a_throttled_login_says_when_to_retry(auth, admin):
    for _ in range(5):
        auth.login("admin", "wrong")
    response = auth.login("admin", PASSWORD)
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60


def test_a_wrong_password_has_no_retry_after(auth, admin):
    response = auth.login("admin", "wrong")
    assert response.status_code == 200 and "Retry-After" not in response.headers
