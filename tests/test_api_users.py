"""JSON API for users: administrators only; the same rules, guards, conflicts and audit as the pages."""

from __future__ import annotations

import pytest

from tests.api_support import RoleClients, audit_entries, error_of, make_blog
from tests.conftest import PASSWORD


@pytest.fixture
def clients(app, make_user) -> RoleClients:
    return RoleClients(app, make_user)


@pytest.fixture
def api(clients, admin):
    """An administrator's bearer client (``admin`` exists too, so guards leave room)."""
    return clients("admin")


def new_user(**fields):
    body = {"username": "bob", "email": "bob@example.com", "role": "editor",
            "password": "a long password"}
    body.update(fields)
    return body


# -- roles -----------------------------------------------------------------------------------

OPERATIONS = [
    ("get", "/api/v1/users", None),
    ("post", "/api/v1/users", new_user()),
    ("get", "/api/v1/users/{id}", None),
    ("patch", "/api/v1/users/{id}", {"email": "changed@example.com"}),
    ("delete", "/api/v1/users/{id}", None),
]


@pytest.mark.parametrize("method,path,body", OPERATIONS)
@pytest.mark.parametrize("role,status", [("admin", "ok"), ("editor", 403), ("viewer", 403),
                                         ("anonymous", 401)])
def test_role_matrix(app, clients, make_user, admin, method, path, body, role, status):
    target = make_user("target")
    client = clients(role)
    response = getattr(client, method)(path.format(id=target.id), **({"json": body} if body else {}))
    if status == "ok":
        assert response.status_code in (200, 201, 204)
    else:
        assert response.status_code == status
        assert error_of(response)["status"] == status
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert ("api-admin", "delete", str(target.id)) not in audit_entries(app, "users")


# -- list ------------------------------------------------------------------------------------

def test_list_paginates_with_totals_and_link_headers(api, make_user):
    for number in range(23):
        make_user(f"user{number:02d}")
    response = api.get("/api/v1/users?sort=username&per_page=10&page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (25, 2, 10, 3)
    assert [u["username"] for u in body["items"]][:2] == ["user08", "user09"]
    assert response.headers["X-Total-Count"] == "25"
    links = response.headers["Link"]
    for rel, page in (("first", 1), ("prev", 1), ("next", 3), ("last", 3)):
        assert f'per_page=10&page={page}>; rel="{rel}"' in links
    assert "sort=username" in links and links.startswith("<http://localhost/api/v1/users?")
    last = api.get("/api/v1/users?per_page=10&page=3")
    assert 'rel="next"' not in last.headers["Link"] and len(last.get_json()["items"]) == 5


def test_list_sorts_searches_and_filters(api, make_user):
    make_user("carol", email="carol@corp.example.org", role="editor")
    make_user("dave", active=False)
    names = lambda response: [u["username"] for u in response.get_json()["items"]]  # noqa: E731
    assert names(api.get("/api/v1/users?sort=-username")) == ["dave", "carol", "api-admin", "admin"]
    assert names(api.get("/api/v1/users?q=corp.example")) == ["carol"]
    assert names(api.get("/api/v1/users?role=editor")) == ["carol"]
    assert names(api.get("/api/v1/users?active=false")) == ["dave"]
    assert "dave" not in names(api.get("/api/v1/users?active=true"))


@pytest.mark.parametrize("query,field", [
    ("per_page=0", "per_page"), ("per_page=1000", "per_page"), ("page=abc", "page"),
    ("sort=password_hash", "sort"), ("role=root", "role"), ("active=maybe", "active"),
    ("q=" + "x" * 201, "q"),
])
def test_bad_list_parameters_are_400_with_the_parameter_named(api, query, field):
    response = api.get(f"/api/v1/users?{query}")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


# -- get -------------------------------------------------------------------------------------

def test_get_returns_the_user_with_an_etag_and_never_secrets(api, admin):
    response = api.get(f"/api/v1/users/{admin.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "admin" and body["role"] == "admin" and body["version"] == 1
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Cache-Control"] == "no-store"
    assert not {"password", "password_hash", "session_token"} & set(body)


@pytest.mark.parametrize("path", ["/api/v1/users/999", "/api/v1/users/0", "/api/v1/users/abc",
                                  "/api/v1/users/99999999999999999999", "/api/v1/users/1/nothing"])
def test_unknown_users_are_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert error_of(response)["status"] == 404


# -- create ----------------------------------------------------------------------------------

def test_create_returns_201_with_location_and_audits(app, api):
    response = api.post("/api/v1/users", json=new_user())
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "bob" and body["role"] == "editor" and body["active"] is True
    assert "password" not in body
    assert response.headers["Location"] == f"http://localhost/api/v1/users/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert ("api-admin", "create", str(body["id"])) in audit_entries(app, "users")
    assert api.client.post("/auth/login", data={"login": "bob", "password": "a long password"}
                           ).status_code == 302  # the password works on the sign-in page


def test_create_validation_errors_are_422_with_the_services_field_messages(api, admin):
    response = api.post("/api/v1/users", json=new_user(username="admin", email="not-an-email",
                                                       password="short"))
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert fields["username"] == ["This username is already taken."]
    assert fields["email"] == ["Enter a valid email address."]
    assert "8 characters" in fields["password"][0]


def test_create_checks_types_required_fields_and_unknown_fields(api):
    response = api.post("/api/v1/users", json={"username": 5, "role": "root", "shoe_size": 44})
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"username", "email", "password", "role", "shoe_size"}
    assert fields["email"] == ["This field is required."]
    assert fields["shoe_size"] == ["Unknown field."]


def test_text_no_database_can_store_is_refused(api):
    response = api.post("/api/v1/users", json=new_user(password="nul\u0000inside"))
    assert response.status_code == 422
    assert "password" in error_of(response)["fields"]


def test_emails_differing_only_in_case_of_non_ascii_letters_are_taken(api):
    assert api.post("/api/v1/users", json=new_user(email="Ärger@example.com")).status_code == 201
    again = api.post("/api/v1/users", json=new_user(username="bob2", email="Ärger@example.com"))
    assert again.status_code == 422
    assert "email" in error_of(again)["fields"]


# -- update ----------------------------------------------------------------------------------

def test_patch_changes_only_the_fields_sent(app, api, make_user):
    target = make_user("target", role="viewer")
    response = api.patch(f"/api/v1/users/{target.id}", json={"role": "editor", "version": 1})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["role"], body["email"], body["version"]) == ("editor", "target@example.com", 2)
    assert response.headers["ETag"] == '"2"'
    assert ("api-admin", "update", str(target.id)) in audit_entries(app, "users")


def test_patch_with_a_stale_version_is_409_and_saves_nothing(api, make_user):
    target = make_user("target")
    api.patch(f"/api/v1/users/{target.id}", json={"role": "editor"})
    response = api.patch(f"/api/v1/users/{target.id}", json={"role": "admin", "version": 1})
    assert response.status_code == 409
    error = error_of(response)
    assert error["current_version"] == 2 and "api-admin" in error["message"]
    assert response.headers["ETag"] == '"2"'
    assert api.get(f"/api/v1/users/{target.id}").get_json()["role"] == "editor"


def test_patch_with_a_stale_if_match_is_409(api, make_user):
    target = make_user("target")
    etag = api.get(f"/api/v1/users/{target.id}").headers["ETag"]
    assert api.patch(f"/api/v1/users/{target.id}", json={"role": "editor"},
                     headers={"If-Match": etag}).status_code == 200
    stale = api.patch(f"/api/v1/users/{target.id}", json={"role": "admin"}, headers={"If-Match": etag})
    assert stale.status_code == 409 and error_of(stale)["current_version"] == 2


@pytest.mark.parametrize("header,body", [("3", {}), ('"abc"', {}), ('"1"', {"version": 2})])
def test_malformed_or_contradicting_if_match_is_400(api, make_user, header, body):
    target = make_user("target")
    response = api.patch(f"/api/v1/users/{target.id}", json=body, headers={"If-Match": header})
    assert response.status_code == 400 and "If-Match" in error_of(response)["fields"]


def test_patch_keeps_the_guards_of_the_pages(api, admin):
    response = api.patch(f"/api/v1/users/{api.user.id}", json={"active": False})
    assert response.status_code == 422
    assert error_of(response)["fields"]["active"] == ["You cannot deactivate your own account."]


def test_patch_can_set_a_new_password(api, make_user):
    target = make_user("target")
    assert api.patch(f"/api/v1/users/{target.id}", json={"password": "brand new password"}
                     ).status_code == 200
    login = lambda password: api.client.post(  # noqa: E731
        "/auth/login", data={"login": "target", "password": password}).status_code
    assert login(PASSWORD) == 200 and login("brand new password") == 302


# -- delete ----------------------------------------------------------------------------------

def test_delete_is_204_and_audited(app, api, make_user):
    target = make_user("target")
    response = api.delete(f"/api/v1/users/{target.id}")
    assert response.status_code == 204 and response.data == b""
    assert api.get(f"/api/v1/users/{target.id}").status_code == 404
    assert ("api-admin", "delete", str(target.id)) in audit_entries(app, "users")


def test_deleting_oneself_is_403(api):
    response = api.delete(f"/api/v1/users/{api.user.id}")
    assert response.status_code == 403 and "your own account" in error_of(response)["message"]


def test_deleting_an_author_asks_what_happens_to_their_blogs(app, api, make_user):
    author = make_user("author", role="editor")
    heir = make_user("heir", role="editor")
    blog_id = make_blog(app, "Kept", author=author)
    undecided = api.delete(f"/api/v1/users/{author.id}")
    assert undecided.status_code == 422 and "blogs" in error_of(undecided)["fields"]
    bad_heir = api.delete(f"/api/v1/users/{author.id}?blogs=reassign&reassign_to={author.id}")
    assert bad_heir.status_code == 422 and "reassign_to" in error_of(bad_heir)["fields"]
    assert api.delete(f"/api/v1/users/{author.id}?blogs=sell").status_code == 400
    response = api.delete(f"/api/v1/users/{author.id}?blogs=reassign&reassign_to={heir.id}")
    assert response.status_code == 204
    assert api.get(f"/api/v1/blogs/{blog_id}").get_json()["author_id"] == heir.id


def test_deleting_an_author_with_their_blogs(app, api, make_user):
    author = make_user("author", role="editor")
    blog_id = make_blog(app, "Gone", author=author)
    assert api.delete(f"/api/v1/users/{author.id}?blogs=delete").status_code == 204
    assert api.get(f"/api/v1/blogs/{blog_id}").status_code == 404
