"""Tag screens: list with usage, create, edit, delete (with its count), merge; deleting authors."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Blog, Tag, User
from webapp.services import blogs as blog_service
from webapp.services.blogs import BlogData


@pytest.fixture
def write_blog(app, admin):
    def write(title: str, tags=(), author=None) -> int:
        with app.app_context():
            actor = db.session.get(User, admin.id)
            return blog_service.create_blog(
                BlogData(title=title, tags=list(tags), author_id=author.id if author else None), actor).id

    return write


def tag_id(app, name: str) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Tag.id).where(Tag.name == name))


def blog_tags(app, title: str) -> list[str]:
    with app.app_context():
        blog_id = db.session.scalar(select(Blog.id).where(Blog.title == title))
        return [t.name for t in blog_service.get_blog(blog_id).tags]


@pytest.mark.parametrize("path,minimum", [("/tags/", "viewer"), ("/tags/export.json", "viewer"),
                                          ("/tags/new", "editor"), ("/tags/{id}/edit", "editor"),
                                          ("/tags/{id}/delete", "editor"), ("/tags/{id}/merge", "editor")])
@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_role_page_matrix(app, auth, make_user, write_blog, path, minimum, role):
    make_user("someone", role=role)
    write_blog("B", tags=["t"])
    auth.login("someone")
    url = path.format(id=tag_id(app, "t"))
    allowed = minimum == "viewer" or role != "viewer"
    assert (auth.client.get(url).status_code == 200) == allowed
    if not allowed:
        assert auth.client.post(url, data={"name": "x"}).status_code == 403


def test_list_shows_usage_counts_and_sorts_by_them(as_admin, write_blog):
    write_blog("One", tags=["popular", "rare"])
    write_blog("Two", tags=["popular"])
    html = as_admin.get("/tags/?sort=-usage").text
    assert re.findall(r'data-name="([^"]+)"', html) == ["popular", "rare"]
    assert re.findall(r'data-testid="usage">(\d+)<', html) == ["2", "1"]
    assert re.findall(r'data-name="([^"]+)"', as_admin.get("/tags/?q=RAR").text) == ["rare"]


def test_create_and_edit_a_tag(app, as_admin):
    response = as_admin.post("/tags/new", data={"name": "Release notes", "colour": "#AABBCC",
                                                "description": "Changes", "slug": ""})
    assert response.location == "/tags/"
    with app.app_context():
        tag = db.session.scalar(select(Tag))
        assert (tag.slug, tag.colour, tag.version) == ("release-notes", "#aabbcc", 1)
    edited = as_admin.post(f"/tags/{tag.id}/edit", data={"name": "Releases", "colour": "#000000",
                                                         "description": "", "slug": "releases",
                                                         "version": "1"})
    assert edited.location == "/tags/"
    stale = as_admin.post(f"/tags/{tag.id}/edit", data={"name": "Stale", "colour": "#000000",
                                                        "description": "", "slug": "", "version": "1"})
    assert "nothing was saved" in stale.text
    assert tag_id(app, "Releases") and not tag_id(app, "Stale")


@pytest.mark.parametrize("fields,message", [
    ({"name": "PYTHON"}, "A tag with this name already exists."),
    ({"colour": "red"}, "Use a colour like #1a2b3c."),
    ({"slug": "Bad Slug"}, "Use lower-case letters, digits and dashes."),
    ({"name": "x" * 60}, "Field cannot be longer than 50 characters."),
])
def test_tag_validation_errors(as_admin, write_blog, fields, message):
    write_blog("B", tags=["python"])
    data = {"name": "new", "colour": "#123456", "description": "", "slug": "", **fields}
    response = as_admin.post("/tags/new", data=data)
    assert response.status_code == 200 and message in response.text


def test_delete_confirmation_says_how_many_blogs_use_the_tag(app, as_admin, write_blog):
    write_blog("One", tags=["doomed", "kept"])
    write_blog("Two", tags=["doomed"])
    doomed = tag_id(app, "doomed")
    page = as_admin.get(f"/tags/{doomed}/delete").text
    assert "2 blogs use this tag; they will lose the tag." in page
    as_admin.post(f"/tags/{doomed}/delete")
    assert tag_id(app, "doomed") is None
    assert blog_tags(app, "One") == ["kept"] and blog_tags(app, "Two") == []


def test_merge_moves_blogs_to_the_target(app, as_admin, write_blog):
    write_blog("One", tags=["py", "python"])
    write_blog("Two", tags=["py"])
    response = as_admin.post(f"/tags/{tag_id(app, 'py')}/merge", data={"target": tag_id(app, "python")},
                             follow_redirects=True)
    assert "Merged “py” into “python”: 1 blog moved." in response.text  # "One" had both
    assert tag_id(app, "py") is None
    assert blog_tags(app, "One") == ["python"] and blog_tags(app, "Two") == ["python"]


def test_merge_into_itself_is_refused(app, as_admin, write_blog):
    write_blog("One", tags=["py"])
    py = tag_id(app, "py")
    response = as_admin.post(f"/tags/{py}/merge", data={"target": py})
    assert response.status_code == 200 and "Choose a different tag to merge into." in response.text


def test_deleting_an_author_asks_about_their_blogs(app, as_admin, make_user, write_blog):
    grace = make_user("grace", role="editor")
    linus = make_user("linus", role="editor")
    write_blog("Hers", author=grace)
    page = as_admin.get(f"/users/{grace.id}/delete").text
    assert "1 blog" in page and "What happens to their blogs?" in page
    refused = as_admin.post(f"/users/{grace.id}/delete", data={})
    assert "choose whether to reassign or delete" in refused.text
    as_admin.post(f"/users/{grace.id}/delete", data={"blogs": "reassign", "reassign_to": str(linus.id)})
    with app.app_context():
        assert db.session.get(User, grace.id) is None
        assert db.session.scalar(select(Blog.author_id).where(Blog.title == "Hers")) == linus.id


def test_deleting_an_author_can_delete_their_blogs(app, as_admin, make_user, write_blog):
    grace = make_user("grace", role="editor")
    write_blog("Hers", tags=["t"], author=grace)
    as_admin.post("/users/bulk", data={"action": "delete", "ids": [str(grace.id)], "confirmed": "1",
                                       "blogs": "delete"})
    with app.app_context():
        assert db.session.get(User, grace.id) is None
        assert db.session.scalar(select(Blog.id)) is None


def test_reassigning_to_a_user_being_deleted_is_refused(app, as_admin, make_user, write_blog):
    grace = make_user("grace", role="editor")
    write_blog("Hers", author=grace)
    response = as_admin.post(f"/users/{grace.id}/delete",
                             data={"blogs": "reassign", "reassign_to": str(grace.id)})
    assert "who is not being deleted" in response.text
    with app.app_context():
        assert db.session.get(User, grace.id) is not None


def test_deleting_a_tag_makes_open_blog_forms_stale(app, as_admin, write_blog):
    write_blog("Tagged", tags=["obsolete", "kept"])
    with app.app_context():
        blog_id = db.session.scalar(select(Blog.id))
    as_admin.post(f"/tags/{tag_id(app, 'obsolete')}/delete")
    stale = as_admin.post(f"/blogs/{blog_id}/edit", data={
        "title": "Tagged", "body": "", "status": "draft", "tags": "obsolete, kept", "slug": "",
        "version": "1"})
    assert "nothing was saved" in stale.text
    assert tag_id(app, "obsolete") is None and blog_tags(app, "Tagged") == ["kept"]
    with app.app_context():
        from webapp.models import AuditEntry

        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "blogs")
                                  .order_by(AuditEntry.id.desc()))
        assert entry.changes == {"tag": ["obsolete", None]}


def test_renaming_a_tag_makes_open_blog_forms_stale(app, as_admin, write_blog):
    write_blog("Tagged", tags=["orig"])
    with app.app_context():
        blog_id = db.session.scalar(select(Blog.id))
    as_admin.post(f"/tags/{tag_id(app, 'orig')}/edit", data={
        "name": "renamed", "colour": "#123456", "description": "", "slug": "", "version": "1"})
    stale = as_admin.post(f"/blogs/{blog_id}/edit", data={
        "title": "Tagged", "body": "", "status": "draft", "tags": "orig", "slug": "", "version": "1"})
    assert "nothing was saved" in stale.text
    assert tag_id(app, "orig") is None and blog_tags(app, "Tagged") == ["renamed"]


@pytest.mark.parametrize("name,message", [
    ("a,b", "cannot contain a comma"), ("bell\x07", "control or formatting"),
    ("rtl\u202eoverride", "control or formatting"),
])
def test_tag_names_refuse_commas_and_control_characters(as_admin, name, message):
    response = as_admin.post("/tags/new", data={"name": name, "colour": "#123456", "description": "",
                                                "slug": ""})
    assert response.status_code == 200 and message in response.text


def test_tag_names_are_unique_regardless_of_case_beyond_ascii(as_admin, write_blog):
    write_blog("B", tags=["Élan"])
    response = as_admin.post("/tags/new", data={"name": "ÉLAN", "colour": "#123456", "description": "",
                                                "slug": ""})
    assert "A tag with this name already exists." in response.text


def test_long_non_latin_tag_names_get_a_slug_that_fits(app, as_admin):
    name = "漢字" * 25
    assert as_admin.post("/tags/new", data={"name": name, "colour": "#123456", "description": "",
                                            "slug": ""}).status_code == 302
    with app.app_context():
        assert len(db.session.scalar(select(Tag.slug))) <= 60


def test_tags_sort_by_name_regardless_of_case(as_admin, write_blog):
    write_blog("One", tags=["beta", "Alpha", "gamma", "Delta"])
    names = re.findall(r'data-name="([^"]+)"', as_admin.get("/tags/").text)
    assert names == ["Alpha", "beta", "Delta", "gamma"]
    backwards = re.findall(r'data-name="([^"]+)"', as_admin.get("/tags/?sort=-name").text)
    assert backwards == ["gamma", "Delta", "beta", "Alpha"]


def test_a_failed_form_starts_with_a_summary_linking_each_field(as_admin, write_blog):
    write_blog("B", tags=["python"])
    data = {"name": "PYTHON", "colour": "red", "description": "", "slug": ""}
    html = as_admin.post("/tags/new", data=data).text
    summary = html.split('data-testid="form-errors"', 1)[1].split("</div>", 1)[0]
    assert "2 fields need a change:" in summary
    assert '<a class="alert-link" href="#name">Name</a>: A tag with this name already exists.' in summary
    assert '<a class="alert-link" href="#colour">Colour</a>: Use a colour like #1a2b3c.' in summary
    assert html.index('data-testid="form-errors"') < html.index('id="name"')  # above the fields
    assert 'data-testid="form-errors"' not in as_admin.get("/tags/new").text  # a blank form: none


@pytest.mark.parametrize("then,where", [("", "/tags/"), ("add", "/tags/new"), ("continue", "edit")])
def test_save_and_add_another_or_continue_editing(app, as_admin, then, where):
    name = f"saved {then or 'plain'}"
    data = {"name": name, "colour": "#123456", "description": "", "slug": "", "then": then}
    response = as_admin.post("/tags/new", data=data)
    expected = f"/tags/{tag_id(app, name)}/edit" if where == "edit" else where
    assert response.status_code == 302 and response.location == expected
    assert "created." in as_admin.get(expected).text  # the message follows to the next page
    form = as_admin.get(expected if where != "/tags/" else "/tags/new").text
    assert 'data-testid="save-add"' in form and 'data-testid="save-continue"' in form
