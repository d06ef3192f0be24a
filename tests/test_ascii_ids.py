"""Ids and versions are ASCII digits only: Python's ``int()`` and ``str.isdigit()`` also
read fullwidth and Arabic-Indic digits, and none of them may pick a row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api_support import RoleClients, make_blog, make_tag
from webapp.extensions import db
from webapp.models import Blog, Tag, User
from webapp.services.filters import ascii_int, is_id, parse_ids

FULLWIDTH_ONE = "\uff11"
ARABIC_INDIC_ONE = "\u0661"
# Fullwidth, Arabic-Indic, Devanagari, and ASCII mixed with fullwidth.
ODD_DIGITS = ["\uff11\uff12", "\u0661\u0662", "\u0967", "1\uff12"]


@pytest.mark.parametrize("value", ODD_DIGITS)
def test_only_ascii_digits_are_ids(value):
    assert not is_id(value)
    assert parse_ids([value, "7"]) == [7]
    with pytest.raises(ValueError):
        ascii_int(value)


def test_ascii_int_reads_ascii_digits_and_ints():
    assert ascii_int("12") == 12 and ascii_int(12) == 12
    for bad in ("", " 1", "+1", "-1", "1.0", None, True):
        with pytest.raises(ValueError):
            ascii_int(bad)


@pytest.mark.parametrize("digit", [FULLWIDTH_ONE, ARABIC_INDIC_ONE])
@pytest.mark.parametrize("path", ["/users/{}/edit", "/users/{}/delete", "/blogs/{}", "/blogs/{}/edit",
                                  "/tags/{}/edit", "/api/v1/users/{}", "/api/v1/blogs/{}"])
def test_paths_with_other_digits_are_not_found(app, as_admin, admin, digit, path):
    make_blog(app, "Blog one")
    make_tag(app, "one")
    assert admin.id == 1  # so "1" in another script would name a real row of each kind
    assert as_admin.get(path.format(1)).status_code == 200
    assert as_admin.get(path.format(digit)).status_code == 404


@pytest.mark.parametrize("digit", [FULLWIDTH_ONE, ARABIC_INDIC_ONE])
def test_list_filters_refuse_other_digits(app, as_admin, admin, make_user, digit):
    make_blog(app, "By admin")
    html = as_admin.get(f"/blogs/?author={digit}").text
    assert "The author is given by their numeric id." in html
    api = RoleClients(app, make_user)("viewer")
    assert api.get(f"/api/v1/blogs?author={digit}").status_code == 400
    assert api.get(f"/api/v1/blogs?tag={digit}").status_code == 400
    assert api.get(f"/api/v1/blogs?page={digit}").status_code == 400
    assert api.get("/api/v1/blogs?page=1").status_code == 200


def test_bulk_tag_menu_refuses_other_digits(app, as_admin):
    blog_id = make_blog(app, "Untagged")
    tag = make_tag(app, "wanted")
    assert tag == 1
    as_admin.post("/blogs/bulk", data={"action": "add_tag", "ids": [str(blog_id)], "tag_id": FULLWIDTH_ONE})
    with app.app_context():
        assert db.session.get(Blog, blog_id) is not None
        assert db.session.scalar(select(Tag).where(Tag.id == tag)).name == "wanted"
    detail = as_admin.get(f"/blogs/{blog_id}").text
    assert "tag-badge" not in detail


def test_merge_target_refuses_other_digits(app, as_admin):
    target = make_tag(app, "target")
    source = make_tag(app, "source")
    assert target == 1
    response = as_admin.post(f"/tags/{source}/merge", data={"target": FULLWIDTH_ONE})
    assert response.status_code == 200  # the form again, with its error
    with app.app_context():
        assert db.session.get(Tag, source) is not None


def test_admin_author_choice_refuses_other_digits(app, as_admin, admin):
    response = as_admin.post("/blogs/new", data={"title": "Chosen author", "body": "", "status": "draft",
                                                  "tags": "", "slug": "", "author_id": FULLWIDTH_ONE})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Blog).where(Blog.title == "Chosen author")) is None


@pytest.mark.parametrize("digit", [FULLWIDTH_ONE, ARABIC_INDIC_ONE])
def test_versions_in_other_digits_are_conflicts_not_saves(app, as_admin, make_user, digit):
    blog_id = make_blog(app, "Original")
    tag = make_tag(app, "original")
    bob = make_user("bob")
    as_admin.post(f"/blogs/{blog_id}/edit", data={"title": "Changed", "body": "", "status": "draft",
                                                  "tags": "", "slug": "", "version": digit})
    as_admin.post(f"/tags/{tag}/edit", data={"name": "changed", "slug": "", "colour": "#123456",
                                             "description": "", "version": digit})
    as_admin.post(f"/users/{bob.id}/edit", data={"username": "robert", "email": bob.email,
                                                 "role": bob.role, "active": "y", "version": digit})
    with app.app_context():
        assert db.session.get(Blog, blog_id).title == "Original"
        assert db.session.get(Tag, tag).name == "original"
        assert db.session.get(User, bob.id).username == "bob"
