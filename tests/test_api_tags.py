"""JSON API for tags: usage counts, unique names regardless of case, merge, conflicts, audit."""

from __future__ import annotations

import pytest

from tests.api_support import RoleClients, audit_entries, error_of, make_blog, make_tag


@pytest.fixture
def clients(app, make_user, admin) -> RoleClients:
    return RoleClients(app, make_user)


@pytest.fixture
def api(clients):
    return clients("editor")


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [t["name"] for t in response.get_json()["items"]]


# -- roles -----------------------------------------------------------------------------------

OPERATIONS = [
    ("get", "/api/v1/tags", None, "viewer"),
    ("get", "/api/v1/tags/{id}", None, "viewer"),
    ("post", "/api/v1/tags", {"name": "fresh"}, "editor"),
    ("patch", "/api/v1/tags/{id}", {"description": "changed"}, "editor"),
    ("delete", "/api/v1/tags/{id}", None, "editor"),
    ("post", "/api/v1/tags/{id}/merge", {"target": "{other}"}, "editor"),
]
RANK = {"viewer": 1, "editor": 2, "admin": 3}


@pytest.mark.parametrize("method,path,body,minimum", OPERATIONS)
@pytest.mark.parametrize("role", ["admin", "editor", "viewer", "anonymous"])
def test_role_matrix(app, clients, method, path, body, minimum, role):
    tag_id, other_id = make_tag(app, "existing"), make_tag(app, "other")
    if body and body.get("target") == "{other}":
        body = {"target": other_id}
    response = getattr(clients(role), method)(path.format(id=tag_id), **({"json": body} if body else {}))
    if role == "anonymous":
        assert response.status_code == 401 and error_of(response)["status"] == 401
        assert "Bearer" in response.headers["WWW-Authenticate"]
    elif RANK[role] >= RANK[minimum]:
        assert response.status_code in (200, 201, 204), response.get_json()
    else:
        assert response.status_code == 403 and error_of(response)["status"] == 403
        assert len(audit_entries(app, "tags")) == 2  # only the two creations


# -- list ------------------------------------------------------------------------------------

def test_list_has_usage_counts_sorting_search_and_totals(app, api):
    make_tag(app, "rare")
    for number in range(3):
        make_blog(app, f"Post {number}", tags=["common"] + (["mid"] if number else []))
    response = api.get("/api/v1/tags?sort=-usage")
    assert [(t["name"], t["usage"]) for t in response.get_json()["items"]] == [
        ("common", 3), ("mid", 2), ("rare", 0)]
    assert response.headers["X-Total-Count"] == "3"
    assert names(api.get("/api/v1/tags?q=MI")) == ["mid"]
    assert names(api.get("/api/v1/tags?sort=name")) == ["common", "mid", "rare"]
    paged = api.get("/api/v1/tags?sort=name&per_page=2&page=2")
    assert names(paged) == ["rare"] and paged.get_json()["pages"] == 2
    assert 'page=1>; rel="prev"' in paged.headers["Link"]


def test_search_treats_wildcards_literally(app, api):
    make_tag(app, "100%")
    make_tag(app, "1000")
    assert names(api.get("/api/v1/tags?q=0%25")) == ["100%"]


# -- get, create -----------------------------------------------------------------------------

def test_get_includes_usage_and_etag(app, api):
    make_blog(app, "One", tags=["solo"])
    tag = api.get("/api/v1/tags?q=solo").get_json()["items"][0]
    response = api.get(f"/api/v1/tags/{tag['id']}")
    assert response.get_json()["usage"] == 1 and response.headers["ETag"] == '"1"'
    assert api.get("/api/v1/tags/777").status_code == 404


def test_create_returns_201_and_is_audited(app, api):
    response = api.post("/api/v1/tags", json={"name": "  Flask  Tips ", "colour": "#AABBCC",
                                              "description": "How-tos"})
    assert response.status_code == 201
    tag = response.get_json()
    assert (tag["name"], tag["slug"], tag["colour"], tag["usage"]) == ("Flask Tips", "flask-tips",
                                                                       "#aabbcc", 0)
    assert response.headers["Location"].endswith(f"/api/v1/tags/{tag['id']}")
    assert ("api-editor", "create", str(tag["id"])) in audit_entries(app, "tags")


@pytest.mark.parametrize("body,field", [
    ({"name": "PYTHON"}, "name"), ({"name": ""}, "name"), ({"name": "x" * 51}, "name"),
    ({"name": "ok", "colour": "red"}, "colour"), ({"name": "ok", "slug": "Bad Slug"}, "slug"),
    ({"name": "ok", "slug": "python"}, "slug"), ({"colour": "#000000"}, "name"),
    ({"name": ["list"]}, "name"),
])
def test_create_validation_errors_are_422(app, api, body, field):
    make_tag(app, "python")
    response = api.post("/api/v1/tags", json=body)
    assert response.status_code == 422
    assert field in error_of(response)["fields"]


def test_names_differing_only_in_case_of_non_ascii_letters_are_one_tag(app, api):
    make_tag(app, "Élan")
    duplicate = api.post("/api/v1/tags", json={"name": "élan"})
    assert duplicate.status_code == 422 and "name" in error_of(duplicate)["fields"]
    blog = api.post("/api/v1/blogs", json={"title": "Reuses it", "tags": ["ÉLAN"]})
    assert blog.status_code == 201 and blog.get_json()["tags"][0]["name"] == "Élan"


# -- update ----------------------------------------------------------------------------------

def test_patch_changes_only_the_fields_sent(app, api):
    tag_id = make_tag(app, "python", description="lang")
    response = api.patch(f"/api/v1/tags/{tag_id}", json={"colour": "#112233", "version": 1})
    tag = response.get_json()
    assert (tag["name"], tag["description"], tag["colour"], tag["version"]) == (
        "python", "lang", "#112233", 2)
    assert response.headers["ETag"] == '"2"'
    assert ("api-editor", "update", str(tag_id)) in audit_entries(app, "tags")


def test_patch_conflicts_with_version_and_with_if_match(app, api, clients):
    tag_id = make_tag(app, "shared")
    etag = api.get(f"/api/v1/tags/{tag_id}").headers["ETag"]
    assert clients("admin").patch(f"/api/v1/tags/{tag_id}", json={"name": "theirs"}).status_code == 200
    by_body = api.patch(f"/api/v1/tags/{tag_id}", json={"name": "mine", "version": 1})
    by_header = api.patch(f"/api/v1/tags/{tag_id}", json={"name": "mine"}, headers={"If-Match": etag})
    for response in (by_body, by_header):
        assert response.status_code == 409
        error = error_of(response)
        assert error["current_version"] == 2 and "api-admin" in error["message"]
    assert api.get(f"/api/v1/tags/{tag_id}").get_json()["name"] == "theirs"
    star = api.patch(f"/api/v1/tags/{tag_id}", json={"name": "mine"}, headers={"If-Match": "*"})
    assert star.status_code == 200  # "*": any version


def test_renaming_to_a_taken_name_is_422(app, api):
    make_tag(app, "python")
    tag_id = make_tag(app, "flask")
    response = api.patch(f"/api/v1/tags/{tag_id}", json={"name": "Python"})
    assert response.status_code == 422 and "name" in error_of(response)["fields"]


# -- delete, merge ---------------------------------------------------------------------------

def test_delete_removes_the_tag_from_its_blogs(app, api):
    blog_id = make_blog(app, "Tagged", tags=["gone", "kept"])
    tag_id = api.get("/api/v1/tags?q=gone").get_json()["items"][0]["id"]
    assert api.delete(f"/api/v1/tags/{tag_id}").status_code == 204
    assert api.get(f"/api/v1/tags/{tag_id}").status_code == 404
    assert [t["name"] for t in api.get(f"/api/v1/blogs/{blog_id}").get_json()["tags"]] == ["kept"]
    assert ("api-editor", "delete", str(tag_id)) in audit_entries(app, "tags")


def test_merge_moves_blogs_to_the_target(app, api):
    make_blog(app, "A", tags=["py"])
    make_blog(app, "B", tags=["py", "python"])
    source = api.get("/api/v1/tags?q=py&sort=name").get_json()["items"][0]
    target = api.get("/api/v1/tags?q=python").get_json()["items"][0]
    response = api.post(f"/api/v1/tags/{source['id']}/merge", json={"target": target["id"]})
    assert response.status_code == 200
    result = response.get_json()
    assert result["moved"] == 1 and result["target"]["usage"] == 2  # "B" already had both
    assert api.get(f"/api/v1/tags/{source['id']}").status_code == 404
    actions = [(action, object_id) for _, action, object_id in audit_entries(app, "tags")]
    assert ("delete", str(source["id"])) in actions and ("update", str(target["id"])) in actions


@pytest.mark.parametrize("target,status,field", [
    ("self", 422, "target"), (9999, 404, None), ("7", 422, "target"), (None, 422, "target"),
])
def test_merge_errors(app, api, target, status, field):
    tag_id = make_tag(app, "lonely")
    body = {"target": tag_id if target == "self" else target}
    response = api.post(f"/api/v1/tags/{tag_id}/merge", json=body)
    assert response.status_code == status
    error = error_of(response)
    if field:
        assert field in error["fields"]
