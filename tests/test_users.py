"""User administration screens: access, list, create, edit, delete, bulk actions, guards."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import User


def stored(app, username):
    """The user as stored now, or None."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None:
            db.session.expunge(user)
        return user


def field_errors(html: str) -> list[str]:
    return re.findall(r'class="invalid-feedback"[^>]*>\s*<div>([^<]*)</div>', html)


def user_form(**fields):
    data = {"username": "bob", "email": "bob@example.com", "role": "editor", "active": "y",
            "password": "a long password", "confirm": "a long password"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


# -- access ----------------------------------------------------------------------------------

USER_PAGES = [
    ("get", "/users/"),
    ("get", "/users/new"),
    ("post", "/users/new"),
    ("get", "/users/{id}/edit"),
    ("post", "/users/{id}/edit"),
    ("get", "/users/{id}/delete"),
    ("post", "/users/{id}/delete"),
    ("post", "/users/bulk"),
    ("get", "/audit/"),
]


@pytest.mark.parametrize("method,path", USER_PAGES)
@pytest.mark.parametrize("role,allowed", [("admin", True), ("editor", False), ("viewer", False)])
def test_role_page_matrix(app, auth, make_user, method, path, role, allowed):
    make_user("someone", role=role)
    target = make_user("target")
    make_user("spare-admin", role="admin")
    auth.login("someone")
    url = path.format(id=target.id)
    response = getattr(auth.client, method)(url, **({"data": {}} if method == "post" else {}))
    if allowed:
        # GETs show the page; POSTs with empty data re-show the form or confirmation (200)
        # or come back to the list with a message (302).
        expected = {"get": {200}, "post": {200} if path in ("/users/new", "/users/{id}/edit") else {200, 302}}
        assert response.status_code in expected[method]
        assert 'class="navbar' in response.text or response.location.startswith("/users/")
    else:
        assert response.status_code == 403
        assert "Forbidden" in response.text and 'class="navbar' in response.text
        assert stored(app, "target") is not None


@pytest.mark.parametrize("path", ["/users/", "/users/1/edit", "/audit/"])
def test_anonymous_users_are_sent_to_login(client, admin, path):
    assert client.get(path).location.startswith("/auth/login?next=")


def test_navigation_shows_user_admin_only_to_admins(auth, admin, editor):
    auth.login("editor")
    assert 'href="/users/"' not in auth.client.get("/").text
    auth.logout()
    auth.login("admin")
    assert 'href="/users/"' in auth.client.get("/").text


# -- list ------------------------------------------------------------------------------------

def usernames(html: str) -> list[str]:
    return re.findall(r'data-username="([^"]+)"', html)


def test_list_paginates_with_a_choice_of_page_size(as_admin, make_user):
    for i in range(24):
        make_user(f"user{i:02d}")
    first = as_admin.get("/users/?sort=username")
    assert len(usernames(first.text)) == 20
    assert "25 results" in first.text
    second = as_admin.get("/users/?sort=username&page=2")
    assert usernames(second.text) == ["user19", "user20", "user21", "user22", "user23"]
    assert len(usernames(as_admin.get("/users/?per_page=50").text)) == 25
    # Unknown sizes and pages past the end fall back to something sensible.
    assert len(usernames(as_admin.get("/users/?per_page=7").text)) == 20
    assert usernames(as_admin.get("/users/?sort=username&page=99").text)[-1] == "user23"
    assert as_admin.get("/users/?page=abc").status_code == 200


@pytest.mark.parametrize(
    "column", ["username", "email", "role", "active", "created_at", "last_login_at", "id"])
def test_list_sorts_by_every_column_both_ways(as_admin, make_user, column):
    make_user("zed", role="editor")
    make_user("amy", role="viewer", active=False)
    asc = usernames(as_admin.get(f"/users/?sort={column}").text)
    desc = usernames(as_admin.get(f"/users/?sort=-{column}").text)
    assert sorted(asc) == sorted(desc) == ["admin", "amy", "zed"]
    if column == "username":
        assert asc == ["admin", "amy", "zed"] and desc == ["zed", "amy", "admin"]


def test_list_searches_username_and_email(as_admin, make_user):
    make_user("carol", email="carol@corp.example.org")
    make_user("dave")
    assert usernames(as_admin.get("/users/?q=corp.example").text) == ["carol"]
    assert usernames(as_admin.get("/users/?q=DAV").text) == ["dave"]
    assert "No users match." in as_admin.get("/users/?q=nothing-like-this").text


def test_list_filters_by_role_and_active(as_admin, make_user):
    make_user("ed", role="editor")
    make_user("vi", role="viewer", active=False)
    assert usernames(as_admin.get("/users/?role=editor").text) == ["ed"]
    assert usernames(as_admin.get("/users/?active=0").text) == ["vi"]
    assert sorted(usernames(as_admin.get("/users/?active=1").text)) == ["admin", "ed"]
    assert len(usernames(as_admin.get("/users/?role=nonsense").text)) == 3


# -- create ----------------------------------------------------------------------------------

def test_create_user(app, as_admin):
    response = as_admin.post("/users/new", data=user_form())
    assert response.location == "/users/"
    bob = stored(app, "bob")
    assert bob.role == "editor" and bob.active and bob.check_password("a long password")
    assert bob.password_hash.startswith("scrypt:")
    assert "User bob created." in as_admin.get("/users/").text


@pytest.mark.parametrize("fields,message", [
    ({"username": "b"}, "Use 2 to 64 letters"),
    ({"username": "bad name!"}, "Use 2 to 64 letters"),
    ({"email": "not-an-email"}, "Enter a valid email address."),
    ({"password": "short", "confirm": "short"}, "Use at least 8 characters."),
    ({"confirm": "different"}, "The passwords do not match."),
    ({"password": None, "confirm": None}, "Enter a password for the new account."),
    ({"role": "superuser"}, "Not a valid choice."),
    ({"username": ""}, "This field is required."),
])
def test_create_user_shows_field_errors(app, as_admin, fields, message):
    response = as_admin.post("/users/new", data=user_form(**fields))
    assert response.status_code == 200
    assert any(message in error for error in field_errors(response.text)), field_errors(response.text)
    assert stored(app, "bob") is None


def test_duplicate_username_or_email_is_a_field_error_regardless_of_case(app, as_admin, make_user):
    make_user("bob")
    response = as_admin.post("/users/new", data=user_form(username="BOB", email="Bob@Example.com"))
    assert response.status_code == 200
    errors = field_errors(response.text)
    assert "This username is already taken." in errors
    assert "This email address is already in use." in errors


# -- edit ------------------------------------------------------------------------------------

def edit_form(user, **fields):
    data = {"username": user.username, "email": user.email, "role": user.role,
            "active": "y" if user.active else None, "version": str(user.version)}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_edit_without_password_keeps_the_old_one(app, as_admin, make_user):
    bob = make_user("bob")
    response = as_admin.post(f"/users/{bob.id}/edit", data=edit_form(bob, role="editor"))
    assert response.location == "/users/"
    after = stored(app, "bob")
    assert after.role == "editor" and after.check_password(PASSWORD)
    assert after.version == bob.version + 1


def test_edit_can_set_a_new_password(app, as_admin, make_user):
    bob = make_user("bob")
    as_admin.post(f"/users/{bob.id}/edit",
                  data=edit_form(bob, password="brand new secret", confirm="brand new secret"))
    assert stored(app, "bob").check_password("brand new secret")


def test_edit_form_shows_current_values_and_version(as_admin, make_user):
    bob = make_user("bob", role="editor")
    html = as_admin.get(f"/users/{bob.id}/edit").text
    assert 'value="bob"' in html and f'name="version" type="hidden" value="{bob.version}"' in html
    assert '<option selected value="editor">' in html


def test_edit_refuses_a_duplicate_name(app, as_admin, make_user):
    bob = make_user("bob")
    make_user("carol")
    response = as_admin.post(f"/users/{bob.id}/edit", data=edit_form(bob, username="Carol"))
    assert "This username is already taken." in field_errors(response.text)
    assert stored(app, "bob") is not None


def test_concurrent_edit_is_refused_and_overwrites_nothing(app, as_admin, make_user):
    bob = make_user("bob")
    # Someone else saves first...
    first = as_admin.post(f"/users/{bob.id}/edit", data=edit_form(bob, email="first@example.com"))
    assert first.status_code == 302
    # ...then a save based on the old version arrives.
    second = as_admin.post(f"/users/{bob.id}/edit", data=edit_form(bob, email="second@example.com"))
    assert second.status_code == 200
    assert "was changed by admin after you opened the form; nothing was saved." in second.text
    assert 'value="second@example.com"' in second.text  # the typed values are kept in the form
    assert stored(app, "bob").email == "first@example.com"


def test_missing_user_is_404(as_admin):
    assert as_admin.get("/users/999/edit").status_code == 404
    assert as_admin.post("/users/999/delete").status_code == 404


@pytest.mark.parametrize("path", ["/users/99999999999999999999/edit", "/users/99999999999999999999/delete"])
def test_ids_too_large_for_the_database_are_404(as_admin, path):
    assert as_admin.get(path).status_code == 404
    assert as_admin.post(path).status_code == 404


@pytest.mark.parametrize("ids", [["99999999999999999999"], ["²"], ["-1"], ["1e3"]])
def test_bulk_ignores_ids_that_are_not_ids(as_admin, ids):
    response = as_admin.post("/users/bulk", data={"action": "delete", "ids": ids}, follow_redirects=True)
    assert response.status_code == 200 and "Select at least one user." in response.text


def test_search_treats_wildcards_literally(as_admin, make_user):
    make_user("bob")
    assert usernames(as_admin.get("/users/?q=_").text) == []
    assert usernames(as_admin.get("/users/?q=%25").text) == []


def test_edit_post_without_a_version_is_a_conflict(app, as_admin, make_user):
    bob = make_user("bob")
    data = edit_form(bob, role="editor")
    del data["version"]
    response = as_admin.post(f"/users/{bob.id}/edit", data=data)
    assert "nothing was saved" in response.text
    assert stored(app, "bob").role == "viewer"


def test_admin_changing_their_own_password_on_the_user_form_stays_signed_in(app, as_admin, admin):
    response = as_admin.post(f"/users/{admin.id}/edit",
                             data=edit_form(admin, password="brand new secret", confirm="brand new secret"))
    assert response.location == "/users/"
    assert as_admin.get("/users/").status_code == 200
    assert stored(app, "admin").check_password("brand new secret")


# -- guards ----------------------------------------------------------------------------------

def test_admin_cannot_deactivate_themselves(app, as_admin, admin, make_user):
    make_user("other-admin", role="admin")
    response = as_admin.post(f"/users/{admin.id}/edit", data=edit_form(admin, active=None))
    assert "You cannot deactivate your own account." in field_errors(response.text)
    assert stored(app, "admin").active


def test_last_active_admin_cannot_be_demoted(app, as_admin, admin):
    response = as_admin.post(f"/users/{admin.id}/edit", data=edit_form(admin, role="editor"))
    assert "At least one active administrator must remain." in field_errors(response.text)
    assert stored(app, "admin").role == "admin"


def test_an_admin_can_be_demoted_while_another_remains(app, as_admin, make_user):
    other = make_user("other-admin", role="admin")
    response = as_admin.post(f"/users/{other.id}/edit", data=edit_form(other, role="viewer"))
    assert response.status_code == 302
    assert stored(app, "other-admin").role == "viewer"


def test_inactive_admins_do_not_count_as_remaining(app, as_admin, make_user):
    make_user("dormant", role="admin", active=False)
    other = make_user("other-admin", role="admin")
    as_admin.post(f"/users/{other.id}/edit", data=edit_form(other, role="viewer"))
    admin = stored(app, "admin")
    response = as_admin.post(f"/users/{admin.id}/edit", data=edit_form(admin, role="editor"))
    assert "At least one active administrator must remain." in field_errors(response.text)


def test_nobody_can_delete_themselves(app, as_admin, admin, make_user):
    make_user("other-admin", role="admin")
    response = as_admin.post(f"/users/{admin.id}/delete", follow_redirects=True)
    assert "You cannot delete your own account." in response.text
    assert stored(app, "admin") is not None


def test_bulk_refuses_to_deactivate_yourself_but_deletes_inactive_admins(app, as_admin, admin, make_user):
    dormant = make_user("dormant", role="admin", active=False)
    response = as_admin.post("/users/bulk", data={"action": "deactivate", "ids": [str(admin.id)],
                                                  "confirmed": "1"}, follow_redirects=True)
    assert "You cannot deactivate your own account." in response.text
    # Deleting an inactive admin is fine: the active one remains.
    as_admin.post("/users/bulk", data={"action": "delete", "ids": [str(dormant.id)], "confirmed": "1"})
    assert stored(app, "dormant") is None


@pytest.mark.parametrize("action", ["deactivate", "delete"])
def test_bulk_skips_your_own_row_says_so_and_changes_the_others(app, as_admin, admin, make_user, action):
    bob, carol = make_user("bob"), make_user("carol")
    ids = [str(admin.id), str(bob.id), str(carol.id)]
    response = as_admin.post("/users/bulk", data={"action": action, "ids": ids, "confirmed": "1"},
                             follow_redirects=True)
    verb = "delete" if action == "delete" else "deactivate"
    assert f"admin was skipped: You cannot {verb} your own account." in response.text
    assert "2 users" in response.text
    me = stored(app, "admin")
    assert me is not None and me.active
    for name in ("bob", "carol"):
        user = stored(app, name)
        assert user is None if action == "delete" else not user.active


# -- delete ----------------------------------------------------------------------------------

def test_delete_asks_for_confirmation_first(app, as_admin, make_user):
    bob = make_user("bob")
    page = as_admin.get(f"/users/{bob.id}/delete")
    assert page.status_code == 200 and "Delete 1 user?" in page.text and "bob@example.com" in page.text
    assert stored(app, "bob") is not None
    response = as_admin.post(f"/users/{bob.id}/delete")
    assert response.location == "/users/"
    assert stored(app, "bob") is None
    assert "User bob deleted." in as_admin.get("/users/").text


def test_delete_is_refused_by_get_without_confirming(app, as_admin, make_user):
    bob = make_user("bob")
    as_admin.get(f"/users/{bob.id}/delete?confirm=1")
    assert stored(app, "bob") is not None


# -- bulk ------------------------------------------------------------------------------------

def test_bulk_deactivate_and_activate(app, as_admin, make_user):
    ids = [str(make_user(name).id) for name in ("u1", "u2", "u3")]
    response = as_admin.post("/users/bulk", data={"action": "deactivate", "ids": ids[:2], "confirmed": "1"},
                             follow_redirects=True)
    assert "2 users updated." in response.text
    assert [stored(app, n).active for n in ("u1", "u2", "u3")] == [False, False, True]
    as_admin.post("/users/bulk", data={"action": "activate", "ids": ids})
    assert all(stored(app, n).active for n in ("u1", "u2", "u3"))


def test_bulk_delete_confirms_then_deletes(app, as_admin, make_user):
    ids = [str(make_user(name).id) for name in ("u1", "u2")]
    confirm = as_admin.post("/users/bulk", data={"action": "delete", "ids": ids, "back": "/users/?q=u"})
    assert confirm.status_code == 200 and "Delete 2 users?" in confirm.text
    assert stored(app, "u1") is not None
    assert 'name="confirmed" type="hidden" value="1"' in confirm.text
    done = as_admin.post("/users/bulk", data={"action": "delete", "ids": ids, "confirmed": "1",
                                              "back": "/users/?q=u"})
    assert done.location == "/users/?q=u"
    assert stored(app, "u1") is None and stored(app, "u2") is None


def test_bulk_with_nothing_selected_says_so(as_admin):
    response = as_admin.post("/users/bulk", data={"action": "delete"}, follow_redirects=True)
    assert "Select at least one user." in response.text


def test_bulk_is_all_or_nothing(app, as_admin, admin, make_user):
    # Your own row is skipped with a message (above); a row that cannot be changed stops them all.
    bob = make_user("bob")
    response = as_admin.post("/users/bulk", data={"action": "delete", "ids": [str(bob.id), "9999"],
                                                  "confirmed": "1"}, follow_redirects=True)
    assert "No user with id 9999." in response.text
    assert stored(app, "bob") is not None


def test_bulk_back_link_stays_on_the_user_pages(as_admin, make_user):
    bob = make_user("bob")
    response = as_admin.post("/users/bulk", data={"action": "activate", "ids": [str(bob.id)],
                                                  "back": "https://evil.example/"})
    assert response.location == "/users/"
