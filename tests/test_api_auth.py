"""API authentication: personal tokens from the profile page, the session with X-CSRFToken,
and JSON errors for everything that goes wrong under /api/."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.api_support import ApiClient, audit_entries, error_of, issue_token, make_tag
from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.models.types import utcnow
from webapp.services import tags as tag_service
from webapp.services import tokens


def stored_tokens(app) -> list[ApiToken]:
    with app.app_context():
        tokens = list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))
        for token in tokens:
            db.session.expunge(token)
        return tokens


def create_on_profile(client, name: str = "my script"):
    """Create a token through the profile page; returns (response after redirect, plaintext)."""
    response = client.post("/auth/profile/tokens", data={"name": name}, follow_redirects=True)
    match = re.search(r'id="new-token-value"[^>]*value="([^"]+)"', response.text)
    return response, (match.group(1) if match else None)


@pytest.fixture
def signed_in(auth, make_user, admin):
    make_user("writer", role="editor")
    auth.login("writer")
    return auth.client


# -- tokens on the profile page --------------------------------------------------------------

def test_token_from_the_profile_page_works_until_revoked(app, signed_in):
    response, plaintext = create_on_profile(signed_in)
    assert response.status_code == 200 and plaintext and plaintext.startswith("wa_")
    assert "it will not be shown again" in response.text
    api = ApiClient(app, plaintext)
    assert api.get("/api/v1/tags").status_code == 200
    assert api.post("/api/v1/tags", json={"name": "by token"}).status_code == 201  # no CSRF needed

    token = stored_tokens(app)[0]
    page = signed_in.get("/auth/profile").text
    assert "my script" in page and token.prefix in page and plaintext not in page  # shown once
    revoke = signed_in.post(f"/auth/profile/tokens/{token.id}/revoke", follow_redirects=True)
    assert "revoked" in revoke.text
    refused = api.get("/api/v1/tags")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_tokens_are_stored_hashed(app, signed_in):
    _, plaintext = create_on_profile(signed_in)
    token = stored_tokens(app)[0]
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.prefix == plaintext[:11] and token.name == "my script"
    with app.app_context():
        for table in ("api_tokens", "audit_log"):
            dump = "\n".join(str(row) for row in db.session.execute(db.text(f"SELECT * FROM {table}")))
            assert plaintext not in dump


def test_creating_and_revoking_tokens_is_audited(app, signed_in):
    create_on_profile(signed_in)
    token = stored_tokens(app)[0]
    signed_in.post(f"/auth/profile/tokens/{token.id}/revoke")
    assert audit_entries(app, "api_tokens") == [("writer", "create", str(token.id)),
                                                ("writer", "delete", str(token.id))]


def test_token_name_is_required(app, signed_in):
    response = signed_in.post("/auth/profile/tokens", data={"name": "   "})
    assert response.status_code == 200 and 'class="invalid-feedback"' in response.text
    assert stored_tokens(app) == []


def test_token_names_are_escaped_on_the_page(signed_in):
    response, plaintext = create_on_profile(signed_in, name="<b>bold</b>")
    assert plaintext and "<b>bold</b>" not in response.text and "&lt;b&gt;bold&lt;/b&gt;" in response.text


def test_revoking_needs_the_csrf_token(app, signed_in):
    create_on_profile(signed_in)
    token = stored_tokens(app)[0]
    assert signed_in.post(f"/auth/profile/tokens/{token.id}/revoke", csrf=False).status_code == 400
    assert len(stored_tokens(app)) == 1


def test_nobody_can_revoke_another_users_token(app, signed_in, admin):
    issue_token(app, admin)
    token = stored_tokens(app)[0]
    assert signed_in.post(f"/auth/profile/tokens/{token.id}/revoke").status_code == 404
    assert len(stored_tokens(app)) == 1


def test_token_acts_with_the_owners_current_role_and_stops_when_deactivated(app, make_user, admin):
    user = make_user("someone", role="viewer")
    api = ApiClient(app, issue_token(app, user))
    assert api.post("/api/v1/tags", json={"name": "x"}).status_code == 403
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(role="editor"))
        db.session.commit()
    assert api.post("/api/v1/tags", json={"name": "x"}).status_code == 201
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(active=False))
        db.session.commit()
    assert api.get("/api/v1/tags").status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute_without_touching_the_user(app, admin):
    api = ApiClient(app, issue_token(app, admin))
    assert stored_tokens(app)[0].last_used_at is None
    api.get("/api/v1/tags")
    first = stored_tokens(app)[0].last_used_at
    api.get("/api/v1/tags")
    assert first is not None and stored_tokens(app)[0].last_used_at == first
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
    api.get("/api/v1/tags")
    assert stored_tokens(app)[0].last_used_at > first
    with app.app_context():
        assert db.session.get(User, admin.id).version == 1


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic YWRtaW46eA==", "Bearer wa_unknown",
                                    "Bearer not-even-prefixed", "Token abc"])
def test_bad_credentials_are_401_with_a_bearer_challenge(client, admin, header):
    response = client.get("/api/v1/blogs", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")
    assert error_of(response)["status"] == 401


def test_no_credentials_is_401_json(client, admin):
    response = client.get("/api/v1/users")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "Sign in" in error_of(response)["message"]


# -- the browser session ---------------------------------------------------------------------

def send(client, method: str, url: str, json=None, csrf_header: str | None = None):
    """A JSON request from the signed-in browser, with or without the X-CSRFToken header."""
    headers = {"X-CSRFToken": csrf_header} if csrf_header else {}
    return client.open(url, method=method, json=json, headers=headers)


def test_session_reads_need_no_csrf_header(signed_in):
    assert signed_in.get("/api/v1/blogs").status_code == 200


def test_session_state_changes_need_the_csrf_header(app, signed_in):
    refused = send(signed_in, "POST", "/api/v1/tags", {"name": "no header"})
    assert refused.status_code == 400
    assert "X-CSRFToken" in error_of(refused)["message"]
    forged = send(signed_in, "POST", "/api/v1/tags", {"name": "forged"}, csrf_header="forged")
    assert forged.status_code == 400
    token = signed_in.csrf_token()
    created = send(signed_in, "POST", "/api/v1/tags", {"name": "with header"}, csrf_header=token)
    assert created.status_code == 201
    tag_id = created.get_json()["id"]
    assert send(signed_in, "PATCH", f"/api/v1/tags/{tag_id}", {"name": "x"}).status_code == 400
    assert send(signed_in, "DELETE", f"/api/v1/tags/{tag_id}").status_code == 400
    assert send(signed_in, "DELETE", f"/api/v1/tags/{tag_id}", csrf_header=token).status_code == 204
    assert [action for _, action, _ in audit_entries(app, "tags")] == ["create", "delete"]


def test_the_csrf_token_of_the_page_meta_tag_works(signed_in):
    page = signed_in.get("/auth/profile").text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    response = send(signed_in, "POST", "/api/v1/tags", {"name": "from meta"}, csrf_header=token)
    assert response.status_code == 201


def test_session_roles_apply_as_on_the_pages(auth, make_user, admin):
    make_user("reader", role="viewer")
    auth.login("reader")
    assert auth.client.get("/api/v1/users").status_code == 403
    assert auth.client.get("/api/v1/tags").status_code == 200


# -- JSON errors everywhere under /api/ ------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/users/1/nothing", "/api/v2/users", "/api/"])
def test_unknown_api_urls_are_json_404_even_without_credentials(client, admin, path):
    response = client.get(path)
    assert response.status_code == 404 and error_of(response)["status"] == 404


def test_unsupported_methods_are_json_405_with_allow(app, admin):
    api = ApiClient(app, issue_token(app, admin))
    response = api.request("PUT", "/api/v1/tags/1", json={})
    assert response.status_code == 405 and "PATCH" in response.headers["Allow"]
    assert error_of(response)["status"] == 405


def test_html_error_pages_stay_html_outside_the_api(client, admin):
    response = client.get("/does-not-exist")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_unexpected_errors_are_json_500_and_logged(app, admin, monkeypatch, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(tag_service, "list_tags", broken)
    response = ApiClient(app, issue_token(app, admin)).get("/api/v1/tags")
    assert response.status_code == 500 and error_of(response)["status"] == 500
    assert "boom" not in response.text
    assert "RuntimeError: boom" in caplog.text


def test_api_answers_401_before_setup_instead_of_redirecting(client):
    response = client.get("/api/v1/tags")
    assert response.status_code == 401 and error_of(response)["status"] == 401
    assert client.get("/").status_code == 302  # the pages still lead to setup


def test_audit_log_names_the_api_caller(app, admin):
    api = ApiClient(app, issue_token(app, admin))
    tag_id = api.post("/api/v1/tags", json={"name": "audited"}).get_json()["id"]
    api.patch(f"/api/v1/tags/{tag_id}", json={"name": "renamed"})
    make_tag(app, "other")
    entries = audit_entries(app, "tags")
    assert ("admin", "create", str(tag_id)) in entries and ("admin", "update", str(tag_id)) in entries


def test_unknown_tokens_from_one_address_are_throttled_like_sign_ins(app, admin):
    valid = ApiClient(app, issue_token(app, admin))
    guesser = ApiClient(app, "wa_guessed")
    limit = app.config["LOGIN_MAX_FAILURES"]
    assert [guesser.get("/api/v1/tags").status_code for _ in range(limit)] == [401] * limit
    refused = guesser.get("/api/v1/tags")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many failed" in error_of(refused)["message"]
    # The address waits, whatever token it sends; another address is not affected.
    assert valid.get("/api/v1/tags").status_code == 429
    other = valid.get("/api/v1/tags", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200


def test_revoking_a_token_asks_first_and_cancel_keeps_it(app, signed_in, admin):
    _response, plaintext = create_on_profile(signed_in)
    token = stored_tokens(app)[0]
    profile = signed_in.get("/auth/profile").text
    assert f'href="/auth/profile/tokens/{token.id}/revoke" data-testid="token-revoke"' in profile
    confirm = signed_in.get(f"/auth/profile/tokens/{token.id}/revoke")
    assert confirm.status_code == 200 and "my script" in confirm.text and token.prefix in confirm.text
    assert 'href="/auth/profile#api-tokens" autofocus' in confirm.text  # Cancel first: Enter changes nothing
    assert ApiClient(app, plaintext).get("/api/v1/tags").status_code == 200  # asking revoked nothing
    with app.app_context():
        others = tokens.create_token(db.session.get(User, admin.id), "admin's")[0].id
    assert signed_in.get(f"/auth/profile/tokens/{others}/revoke").status_code == 404
