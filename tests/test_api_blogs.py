"""JSON API for blogs: everyone signed in reads, editors and admins write, as on the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.api_support import RoleClients, audit_entries, error_of, make_blog, make_tag
from webapp.extensions import db
from webapp.models import Blog


@pytest.fixture
def clients(app, make_user, admin) -> RoleClients:
    return RoleClients(app, make_user)


@pytest.fixture
def api(clients):
    return clients("admin")


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [b["title"] for b in response.get_json()["items"]]


def backdate(app, blog_id: int, when: datetime) -> None:
    """Set a blog's creation time (the date filters read it)."""
    with app.app_context():
        db.session.execute(update(Blog).where(Blog.id == blog_id).values(created_at=when))
        db.session.commit()


# -- roles -----------------------------------------------------------------------------------

OPERATIONS = [
    ("get", "/api/v1/blogs", None, "viewer"),
    ("get", "/api/v1/blogs/{id}", None, "viewer"),
    ("post", "/api/v1/blogs", {"title": "New"}, "editor"),
    ("patch", "/api/v1/blogs/{id}", {"title": "Renamed"}, "editor"),
    ("delete", "/api/v1/blogs/{id}", None, "editor"),
]
RANK = {"viewer": 1, "editor": 2, "admin": 3}


@pytest.mark.parametrize("method,path,body,minimum", OPERATIONS)
@pytest.mark.parametrize("role", ["admin", "editor", "viewer", "anonymous"])
def test_role_matrix(app, clients, method, path, body, minimum, role):
    client = clients(role)
    # Editors may only write as themselves: give the editor their own blog to change.
    author = clients("editor").user if role == "editor" else None
    blog_id = make_blog(app, "Existing", author=author)
    response = getattr(client, method)(path.format(id=blog_id), **({"json": body} if body else {}))
    if role == "anonymous":
        assert response.status_code == 401 and error_of(response)["status"] == 401
    elif RANK[role] >= RANK[minimum]:
        assert response.status_code in (200, 201, 204), response.get_json()
    else:
        assert response.status_code == 403 and error_of(response)["status"] == 403


# -- list ------------------------------------------------------------------------------------

def test_list_paginates_with_totals_and_link_headers(app, api):
    for number in range(45):
        make_blog(app, f"Post {number:02d}")
    response = api.get("/api/v1/blogs?sort=title&per_page=20&page=2")
    body = response.get_json()
    assert (body["total"], body["page"], body["pages"], len(body["items"])) == (45, 2, 3, 20)
    assert body["items"][0]["title"] == "Post 20"
    assert response.headers["X-Total-Count"] == "45"
    rels = {part.split('rel="')[1].rstrip('"') for part in response.headers["Link"].split(", ")}
    assert rels == {"first", "prev", "next", "last"}
    assert "page=3>; rel=\"last\"" in response.headers["Link"]
    assert titles(api.get("/api/v1/blogs?sort=-title&per_page=50"))[:2] == ["Post 44", "Post 43"]


def test_list_rows_carry_author_and_tags_but_no_body(app, api):
    make_blog(app, "Tagged", tags=["python", "flask"], body="secret body")
    row = api.get("/api/v1/blogs").get_json()["items"][0]
    assert row["author_name"] == "admin" and "body" not in row
    assert [t["name"] for t in row["tags"]] == ["flask", "python"]


def test_list_filters_like_the_page(app, api, clients):
    python, flask = make_tag(app, "python"), make_tag(app, "flask")
    editor = clients("editor").user
    both = make_blog(app, "Both", tags=["python", "flask"], status="published")
    make_blog(app, "Only python", tags=["python"], author=editor)
    old = make_blog(app, "Old", tags=[])
    backdate(app, old, datetime(2020, 6, 15, 12, tzinfo=UTC))
    assert titles(api.get(f"/api/v1/blogs?tag={python}&tag={flask}")) == ["Both"]
    assert sorted(titles(api.get(f"/api/v1/blogs?tag={python}"))) == ["Both", "Only python"]
    assert titles(api.get(f"/api/v1/blogs?author={editor.id}")) == ["Only python"]
    assert titles(api.get("/api/v1/blogs?status=published")) == ["Both"]
    assert titles(api.get("/api/v1/blogs?since=2020-06-01&until=2020-06-15")) == ["Old"]
    assert "Old" not in titles(api.get("/api/v1/blogs?since=2020-06-16"))
    assert titles(api.get("/api/v1/blogs?q=only")) == ["Only python"]
    unknown = api.get("/api/v1/blogs?tag=99999").get_json()  # a tag that is not there: none
    assert (unknown["items"], unknown["total"], unknown["total_capped"]) == ([], 0, False)
    assert both


@pytest.mark.parametrize("query,field", [
    ("tag=abc", "tag"), ("tag=0", "tag"), ("author=-1", "author"), ("status=secret", "status"),
    ("since=2024-13-01", "since"), ("until=0001-01-01", "until"), ("sort=body", "sort"),
])
def test_bad_filters_are_400_with_the_parameter_named(api, query, field):
    response = api.get(f"/api/v1/blogs?{query}")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


# -- get -------------------------------------------------------------------------------------

def test_get_returns_the_whole_blog_with_an_etag(app, api):
    blog_id = make_blog(app, "Full", body="# Title\n\ntext", tags=["news"])
    response = api.get(f"/api/v1/blogs/{blog_id}")
    body = response.get_json()
    assert body["body"] == "# Title\n\ntext" and body["tags"][0]["name"] == "news"
    assert body["author_name"] == "admin" and body["cover_image"] is None
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_unknown_blog_is_json_404(api):
    response = api.get("/api/v1/blogs/4242")
    assert response.status_code == 404 and "4242" in error_of(response)["message"]


# -- create ----------------------------------------------------------------------------------

def test_create_makes_new_tags_from_names_and_audits(app, api):
    make_tag(app, "Python")
    response = api.post("/api/v1/blogs", json={"title": "Hello", "body": "*hi*",
                                               "tags": ["python", "brand new"]})
    assert response.status_code == 201
    blog = response.get_json()
    assert sorted(t["name"] for t in blog["tags"]) == ["Python", "brand new"]  # existing reused
    assert blog["status"] == "draft" and blog["slug"] == "hello"
    assert response.headers["Location"].endswith(f"/api/v1/blogs/{blog['id']}")
    assert ("api-admin", "create", str(blog["id"])) in audit_entries(app, "blogs")
    assert [name for _, action, name in audit_entries(app, "tags") if action == "create"]


def test_publish_time_without_offset_is_utc(api):
    response = api.post("/api/v1/blogs", json={"title": "Timed", "status": "published",
                                               "publish_at": "2030-01-02T03:04:05"})
    assert response.get_json()["publish_at"] == "2030-01-02T03:04:05+00:00"


def test_editors_cannot_choose_another_author(api, clients):
    editor = clients("editor")
    response = editor.post("/api/v1/blogs", json={"title": "Mine", "author_id": api.user.id})
    assert response.status_code == 403
    chosen = api.post("/api/v1/blogs", json={"title": "Theirs", "author_id": editor.user.id})
    assert chosen.status_code == 201 and chosen.get_json()["author_name"] == "api-editor"


def test_create_validation_errors_are_422_with_fields(api):
    response = api.post("/api/v1/blogs", json={"title": "  ", "status": "secret",
                                               "tags": ["x" * 51], "slug": "Not A Slug"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"status"}  # the schema answers first
    response = api.post("/api/v1/blogs", json={"title": "  ", "tags": ["x" * 51], "slug": "Not A Slug"})
    assert set(error_of(response)["fields"]) == {"title", "tags", "slug"}  # then the service
    nested = api.post("/api/v1/blogs", json={"title": "T", "tags": ["ok", 7],
                                             "publish_at": "yesterday"})
    assert set(error_of(nested)["fields"]) == {"tags.1", "publish_at"}


def test_malformed_json_is_400_and_form_posts_are_415(api):
    broken = api.client.post("/api/v1/blogs", data="{not json", content_type="application/json",
                             headers={"Authorization": f"Bearer {api.token}"})
    assert broken.status_code == 400 and "JSON" in error_of(broken)["message"]
    form = api.client.post("/api/v1/blogs", data={"title": "x"}, csrf=False,
                           headers={"Authorization": f"Bearer {api.token}"})
    assert form.status_code == 415


# -- update ----------------------------------------------------------------------------------

def test_patch_changes_only_the_fields_sent(app, api):
    blog_id = make_blog(app, "Before", body="kept", tags=["a", "b"])
    response = api.patch(f"/api/v1/blogs/{blog_id}", json={"title": "After", "version": 1})
    assert response.status_code == 200
    blog = response.get_json()
    assert (blog["title"], blog["body"], blog["version"]) == ("After", "kept", 2)
    assert [t["name"] for t in blog["tags"]] == ["a", "b"]
    assert response.headers["ETag"] == '"2"'
    retagged = api.patch(f"/api/v1/blogs/{blog_id}", json={"tags": ["c"]}).get_json()
    assert [t["name"] for t in retagged["tags"]] == ["c"] and retagged["version"] == 3
    assert ("api-admin", "update", str(blog_id)) in audit_entries(app, "blogs")


def test_patch_conflicts_with_version_and_with_if_match(app, api, clients):
    blog_id = make_blog(app, "Shared")
    etag = api.get(f"/api/v1/blogs/{blog_id}").headers["ETag"]
    clients("editor")  # a second writer...
    assert clients("admin").patch(f"/api/v1/blogs/{blog_id}", json={"body": "theirs"}).status_code == 200
    by_body = api.patch(f"/api/v1/blogs/{blog_id}", json={"body": "mine", "version": 1})
    by_header = api.patch(f"/api/v1/blogs/{blog_id}", json={"body": "mine"}, headers={"If-Match": etag})
    for response in (by_body, by_header):
        assert response.status_code == 409
        assert error_of(response)["current_version"] == 2
    assert api.get(f"/api/v1/blogs/{blog_id}").get_json()["body"] == "theirs"


def test_publishing_sets_the_publish_time(app, api):
    blog_id = make_blog(app, "Draft")
    blog = api.patch(f"/api/v1/blogs/{blog_id}", json={"status": "published"}).get_json()
    published = datetime.fromisoformat(blog["publish_at"])
    assert abs(published - datetime.now(UTC)) < timedelta(minutes=1)


# -- delete ----------------------------------------------------------------------------------

def test_delete_is_204_then_404_and_audited(app, api):
    blog_id = make_blog(app, "Doomed", tags=["x"])
    assert api.delete(f"/api/v1/blogs/{blog_id}").status_code == 204
    assert api.get(f"/api/v1/blogs/{blog_id}").status_code == 404
    assert api.delete(f"/api/v1/blogs/{blog_id}").status_code == 404
    assert ("api-admin", "delete", str(blog_id)) in audit_entries(app, "blogs")


def test_json_nested_too_deeply_is_a_400(app, api):
    blog_id = make_blog(app, "Deep")
    response = api.patch(f"/api/v1/blogs/{blog_id}", data=b"[" * 100_000,
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.is_json
