"""Signing out ends the sign-in session on the server: no saved cookie opens anything after it."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select, update

from tests.conftest import PASSWORD, Auth, CSRFClient
from webapp.extensions import db, socketio
from webapp.models import LoginSession
from webapp.models.types import utcnow
from webapp.monitor.sampler import NAMESPACE


def saved_copy(app: Flask, client: CSRFClient, *names: str) -> CSRFClient:
    """A new browser holding copies of ``client``'s cookies ``names``."""
    copy: CSRFClient = app.test_client()  # type: ignore[assignment]
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        copy.set_cookie(name, cookie.value, domain=cookie.domain)
    return copy


def is_signed_in(client: CSRFClient) -> bool:
    return client.get("/").status_code == 200


def test_a_saved_session_cookie_opens_nothing_after_sign_out(app, auth, admin):
    auth.login("admin")
    saved = saved_copy(app, auth.client, "session")
    assert is_signed_in(saved)
    auth.logout()
    assert not is_signed_in(saved)
    assert saved.get("/api/v1/users").status_code == 401
    sock = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=saved)
    assert not sock.is_connected(NAMESPACE)


def test_a_saved_remember_cookie_signs_nobody_in_after_sign_out(app, auth, admin):
    auth.login("admin", remember="y")
    remembered = saved_copy(app, auth.client, "remember_token")
    assert is_signed_in(remembered)  # the remember cookie alone signs this browser in
    remembered_again = saved_copy(app, auth.client, "remember_token")
    auth.logout()
    assert not is_signed_in(remembered)
    assert not is_signed_in(remembered_again)


def test_signing_out_in_one_browser_leaves_the_others_signed_in(app, auth, admin):
    other = Auth(app.test_client())  # type: ignore[arg-type]
    other.login("admin")
    auth.login("admin")
    auth.logout()
    assert is_signed_in(other.client)


def test_sign_out_everywhere_ends_every_browser_cookie_and_socket(app, auth, admin):
    other = Auth(app.test_client())  # type: ignore[arg-type]
    other.login("admin", remember="y")
    remembered = saved_copy(app, other.client, "remember_token")
    sock = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=other.client)
    assert sock.is_connected(NAMESPACE)
    auth.login("admin")
    response = auth.client.post("/auth/logout-everywhere")
    assert response.location == "/auth/login"
    assert not is_signed_in(auth.client)
    assert not is_signed_in(other.client)
    assert not is_signed_in(remembered)
    assert not sock.is_connected(NAMESPACE)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_sign_out_everywhere_needs_the_csrf_token(app, auth, admin):
    auth.login("admin")
    auth.client.post("/auth/logout-everywhere", csrf=False)
    assert is_signed_in(auth.client)


def test_the_profile_page_offers_sign_out_everywhere(auth, admin):
    auth.login("admin")
    page = auth.client.get("/auth/profile").text
    assert 'action="/auth/logout-everywhere"' in page and "Sign out everywhere" in page


def test_a_sign_in_session_ends_after_its_maximum_age(app, auth, admin):
    auth.login("admin", remember="y")
    with app.app_context():
        too_old = utcnow() - timedelta(seconds=app.config["LOGIN_SESSION_MAX_AGE_SECONDS"] + 1)
        db.session.execute(update(LoginSession).values(created_at=too_old))
        db.session.commit()
    assert not is_signed_in(auth.client)


def test_the_database_keeps_only_a_hash_of_the_cookie_key(app, auth, admin):
    auth.login("admin")
    with auth.client.session_transaction() as session:
        _user_id, _, key = session["_user_id"].partition(":")
    with app.app_context():
        stored = db.session.scalars(select(LoginSession.key_hash)).all()
    assert len(stored) == 1 and key not in stored[0] and stored[0] != key
    assert len(stored[0]) == 64


def test_an_admin_new_password_for_a_user_ends_that_users_sessions(app, auth, admin, make_user):
    bob = make_user("bob")
    bob_browser = Auth(app.test_client())  # type: ignore[arg-type]
    bob_browser.login("bob")
    assert is_signed_in(bob_browser.client)
    auth.login("admin")
    response = auth.client.post(f"/users/{bob.id}/edit", data={
        "username": "bob", "email": "bob@example.com", "role": "viewer", "active": "y",
        "password": "a brand new password", "confirm": "a brand new password", "version": bob.version})
    assert response.status_code == 302
    assert not is_signed_in(bob_browser.client)
    assert bob_browser.login("bob", PASSWORD).status_code == 200  # the old password is gone


def test_an_admin_changing_their_own_password_stays_signed_in_here_only(app, auth, admin):
    other = Auth(app.test_client())  # type: ignore[arg-type]
    other.login("admin")
    auth.login("admin")
    response = auth.client.post(f"/users/{admin.id}/edit", data={
        "username": "admin", "email": "admin@example.com", "role": "admin", "active": "y",
        "password": "a brand new password", "confirm": "a brand new password", "version": admin.version})
    assert response.status_code == 302
    assert is_signed_in(auth.client)
    assert not is_signed_in(other.client)
