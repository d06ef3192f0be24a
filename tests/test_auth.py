"""Signing in and out, redirects after sign-in, throttling and sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import LoginThrottle, User
from webapp.models.types import utcnow

GENERIC = "Invalid username, email or password."


def test_login_page_renders(client, admin):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b'name="login"' in response.data and b'name="password"' in response.data


def test_sign_in_with_username_or_email_ignoring_case(auth, admin):
    assert auth.login("ADMIN").location == "/"
    auth.logout()
    assert auth.login("Admin@Example.com").location == "/"


def test_sign_in_records_last_login_without_bumping_version(app, auth, admin):
    auth.login("admin")
    with app.app_context():
        stored = db.session.get(User, admin.id)
        assert stored.last_login_at is not None
        assert stored.version == admin.version


@pytest.mark.parametrize("login,password", [("admin", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_credentials_get_one_generic_message(auth, admin, login, password):
    response = auth.login(login, password)
    assert response.status_code == 200
    assert GENERIC in response.text


def test_deactivated_account_cannot_sign_in(auth, make_user):
    make_user("sleepy", active=False)
    response = auth.login("sleepy")
    assert "deactivated" in response.text
    assert auth.client.get("/").status_code == 302


def test_logout_requires_post(client, as_admin):
    assert client.get("/auth/logout").status_code == 405
    response = client.post("/auth/logout")
    assert response.location == "/auth/login"
    assert client.get("/").location.startswith("/auth/login")


def test_pages_redirect_anonymous_users_to_login_with_next(client, admin):
    response = client.get("/users/?page=2")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=%2Fusers%2F%3Fpage%3D2"


def test_next_redirects_to_a_path_on_this_site(auth, admin):
    response = auth.login("admin", next="/users/?page=2")
    assert response.location == "/users/?page=2"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "http:/evil", "javascript:alert(1)",
    "users", "/users\r\nSet-Cookie: x=1",
])
def test_next_never_leaves_the_site(auth, admin, target):
    response = auth.login("admin", next=target)
    assert response.location == "/"


def test_no_remember_cookie_unless_asked(auth, admin):
    cookies = auth.login("admin").headers.getlist("Set-Cookie")
    assert not [c for c in cookies if c.startswith("remember_token=")]


def test_remember_me_sets_a_persistent_http_only_cookie(auth, admin):
    response = auth.login("admin", remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "Expires=" in remember[0]


def test_five_failures_for_an_account_refuse_even_the_right_password(auth, admin):
    for _ in range(5):
        assert GENERIC in auth.login("admin", "wrong").text
    response = auth.login("admin", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in response.text


def test_failures_by_email_and_username_count_for_the_same_account(auth, admin):
    for login in ("admin", "admin@example.com", "ADMIN", "admin", "Admin@example.com"):
        auth.login(login, "wrong")
    assert auth.login("admin", PASSWORD).status_code == 429


def test_five_failures_from_an_address_refuse_other_accounts(auth, admin, make_user):
    make_user("bob")
    for name in ("x1", "x2", "x3", "x4", "x5"):
        auth.login(name, "wrong")
    assert auth.login("bob", PASSWORD).status_code == 429
    # Another address is not affected.
    other = auth.client.application.test_client()
    response = other.post("/auth/login", data={"login": "bob", "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 302


def test_throttle_lifts_when_the_window_passes(app, auth, admin):
    for _ in range(5):
        auth.login("admin", "wrong")
    assert auth.login("admin", PASSWORD).status_code == 429
    with app.app_context():
        db.session.execute(update(LoginThrottle).values(
            window_started_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert auth.login("admin", PASSWORD).status_code == 302


def test_successful_sign_in_clears_the_account_failures(app, auth, admin):
    for _ in range(4):
        auth.login("admin", "wrong")
    assert auth.login("admin", PASSWORD).status_code == 302
    auth.logout()
    for _ in range(4):
        auth.login("admin", "wrong")
    assert auth.login("admin", PASSWORD).status_code == 302


def test_deactivating_a_user_ends_their_session(app, auth, make_user):
    bob = make_user("bob")
    auth.login("bob")
    assert auth.client.get("/").status_code == 200
    with app.app_context():
        db.session.get(User, bob.id).active = False
        db.session.commit()
    assert auth.client.get("/").status_code == 302


def test_password_change_signs_out_other_sessions_but_keeps_this_one(app, auth, admin):
    other = app.test_client()
    other.post("/auth/login", data={"login": "admin", "password": PASSWORD})
    assert other.get("/").status_code == 200
    auth.login("admin")
    response = auth.client.post("/auth/profile", data={
        "current_password": PASSWORD, "password": "a new password", "confirm": "a new password"})
    assert response.location == "/auth/profile"
    assert auth.client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    auth.logout()
    assert auth.login("admin", "a new password").location == "/"


def test_password_change_needs_the_current_password(auth, admin):
    auth.login("admin")
    response = auth.client.post("/auth/profile", data={
        "current_password": "wrong", "password": "a new password", "confirm": "a new password"})
    assert "The current password is not correct." in response.text
    auth.logout()
    assert auth.login("admin", PASSWORD).location == "/"


def test_password_change_checks_length_and_confirmation(auth, admin):
    auth.login("admin")
    short = auth.client.post("/auth/profile", data={
        "current_password": PASSWORD, "password": "short", "confirm": "short"})
    assert "Use at least 8 characters." in short.text
    mismatch = auth.client.post("/auth/profile", data={
        "current_password": PASSWORD, "password": "a new password", "confirm": "another one"})
    assert "The passwords do not match." in mismatch.text
