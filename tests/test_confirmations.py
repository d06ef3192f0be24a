"""Confirmation pages: they start on the safe choice, and bulk actions that publish,
deactivate or delete ask first, saying how many rows they change."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.api_support import make_blog, make_tag
from webapp.extensions import db
from webapp.models import Blog, User


class _Elements(HTMLParser):
    """Start tags with their attributes and the text up to the next tag."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_data(self, data: str) -> None:
        if self.elements:
            self.elements[-1]["text"] = str(self.elements[-1]["text"]) + data


def elements(html: str) -> list[dict[str, object]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def focused(html: str) -> list[tuple[str, str]]:
    """(tag, text) of every element with ``autofocus``."""
    return [(str(e["tag"]), str(e["text"]).strip()) for e in elements(html) if "autofocus" in e["attrs"]]


# -- the safe choice has the focus ----------------------------------------------------------------

def test_delete_confirmations_focus_cancel(app, as_admin, make_user):
    blog_id = make_blog(app, "Doomed")
    tag_id = make_tag(app, "doomed")
    bob = make_user("bob")
    pages = [as_admin.get(f"/blogs/{blog_id}/delete"), as_admin.get(f"/tags/{tag_id}/delete"),
             as_admin.get(f"/users/{bob.id}/delete"),
             as_admin.post("/blogs/bulk", data={"action": "delete", "ids": [str(blog_id)]}),
             as_admin.post("/users/bulk", data={"action": "delete", "ids": [str(bob.id)]})]
    for page in pages:
        assert page.status_code == 200
        assert focused(page.text) == [("a", "Cancel")], page.request.path


def test_job_delete_confirmation_focuses_cancel(app, as_admin):
    from webapp.jobs.scheduler import readable_scheduler

    readable_scheduler(app).add_job("nightly", "log_message", kwargs={"name": "n"},
                                    trigger="interval", hours=1)
    page = as_admin.get("/jobs/nightly/delete")
    assert page.status_code == 200
    assert focused(page.text) == [("a", "Cancel")]


# -- bulk menus start blank ---------------------------------------------------------------------

def action_menu(html: str) -> list[dict[str, object]]:
    """The options of the bulk action menu (``<select name="action">``), in order."""
    found, inside = [], False
    for element in elements(html):
        if element["tag"] == "select":
            inside = element["attrs"].get("name") == "action"
            if inside:
                assert "required" in element["attrs"]
        elif element["tag"] == "option" and inside:
            found.append(element)
    return found


def test_bulk_menus_start_on_a_blank_placeholder(app, as_admin, make_user):
    make_blog(app, "A draft")
    make_user("bob")
    for page in (as_admin.get("/blogs/").text, as_admin.get("/users/").text):
        options = action_menu(page)
        assert options[0]["attrs"]["value"] == "" and str(options[0]["text"]).strip() == "Choose an action…"
        assert [o for o in options if "selected" in o["attrs"]] in ([], [options[0]])
        assert len(options) > 1


@pytest.mark.parametrize("data", [{"action": ""}, {}])
def test_the_placeholder_is_refused_and_changes_nothing(app, as_admin, make_user, data):
    blog_id = make_blog(app, "Still a draft")
    bob = make_user("bob")
    for path, ids in (("/blogs/bulk", [str(blog_id)]), ("/users/bulk", [str(bob.id)])):
        response = as_admin.post(path, data={**data, "ids": ids}, follow_redirects=True)
        assert "Choose an action from the menu first. Nothing was changed." in response.text
    with app.app_context():
        assert db.session.get(Blog, blog_id).status == "draft"
        assert db.session.get(User, bob.id).active


# -- publishing, deactivating and deleting ask first, with the count ------------------------------

def hidden_fields(html: str) -> list[tuple[str, str]]:
    """(name, value) of every hidden input of the confirmation form, in order."""
    return [(str(e["attrs"]["name"]), str(e["attrs"].get("value") or "")) for e in elements(html)
            if e["tag"] == "input" and e["attrs"].get("type") == "hidden" and e["attrs"].get("name")]


def confirm_form(html: str) -> list[tuple[str, str]]:
    """The confirmation form's fields: what pressing its button sends (the meta tag's token aside)."""
    form = html.split('data-testid="bulk-confirm"', 1)[1].split("</form>", 1)[0]
    return hidden_fields("<form " + form)


def test_bulk_publish_asks_first_and_counts_the_drafts(app, as_admin):
    drafts = [make_blog(app, f"Draft {n}") for n in range(3)]
    published = make_blog(app, "Live already", status="published")
    ids = [*drafts, published]
    page = as_admin.post("/blogs/bulk", data={"action": "publish", "ids": [str(i) for i in ids],
                                              "back": "/blogs/?status=draft"})
    assert page.status_code == 200
    assert "Publish 3 blogs?" in page.text
    assert "3 drafts will be published" in page.text
    assert "1 of the selected blogs is published already" in page.text
    assert "Yes, publish 3 blogs" in page.text
    assert focused(page.text) == [("a", "Cancel")]
    with app.app_context():
        assert [db.session.get(Blog, i).status for i in drafts] == ["draft"] * 3

    fields = confirm_form(page.text)
    assert ("action", "publish") in fields and ("confirmed", "1") in fields
    assert ("back", "/blogs/?status=draft") in fields
    assert sorted(int(v) for k, v in fields if k == "ids") == sorted(ids)
    assert any(k == "csrf_token" and v for k, v in fields)
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    done = as_admin.post("/blogs/bulk", data=data, csrf=False)  # the page's own token
    assert done.status_code == 302 and done.location == "/blogs/?status=draft"
    with app.app_context():
        assert {db.session.get(Blog, i).status for i in ids} == {"published"}
    assert "3 blogs published." in as_admin.get("/blogs/").text


def test_the_confirmation_needs_the_csrf_token(app, as_admin):
    blog_id = make_blog(app, "Draft")
    response = as_admin.post("/blogs/bulk", data={"action": "publish", "ids": [str(blog_id)],
                                                  "confirmed": "1"}, csrf=False)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Blog, blog_id).status == "draft"


def test_unpublishing_and_tagging_apply_at_once(app, as_admin):
    blog_id = make_blog(app, "Live", status="published")
    response = as_admin.post("/blogs/bulk", data={"action": "unpublish", "ids": [str(blog_id)]})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Blog, blog_id).status == "draft"


def test_bulk_deactivate_asks_first_and_counts_the_active_accounts(app, as_admin, admin, make_user):
    users = [make_user(name) for name in ("ann", "bob")]
    dormant = make_user("dormant", active=False)
    ids = [str(u.id) for u in (*users, dormant)]
    page = as_admin.post("/users/bulk", data={"action": "deactivate", "ids": ids})
    assert page.status_code == 200
    assert "Deactivate 2 users?" in page.text and "Yes, deactivate 2 users" in page.text
    assert "inactive already" in page.text
    assert focused(page.text) == [("a", "Cancel")]
    with app.app_context():
        assert all(db.session.get(User, u.id).active for u in users)
    fields = confirm_form(page.text)
    assert ("action", "deactivate") in fields and ("confirmed", "1") in fields
    assert sorted(v for k, v in fields if k == "ids") == sorted(ids)

    done = as_admin.post("/users/bulk", data={"action": "deactivate", "ids": ids, "confirmed": "1"},
                         follow_redirects=True)
    assert "2 users updated." in done.text
    with app.app_context():
        assert not any(db.session.get(User, u.id).active for u in users)


def test_activating_applies_at_once(app, as_admin, make_user):
    bob = make_user("bob", active=False)
    assert as_admin.post("/users/bulk", data={"action": "activate", "ids": [str(bob.id)]}).status_code == 302
    with app.app_context():
        assert db.session.get(User, bob.id).active


def test_your_own_row_offers_no_checkbox_and_no_delete(as_admin, admin, make_user):
    bob = make_user("bob")
    html = as_admin.get("/users/").text
    boxes = [e for e in elements(html) if e["tag"] == "input" and e["attrs"].get("type") == "checkbox"]
    named = [str(e["attrs"].get("value")) for e in boxes if e["attrs"].get("name") == "ids"]
    assert named == [str(bob.id)]
    (own,) = [e for e in boxes if e["attrs"].get("data-testid") == "own-row-check"]
    assert "disabled" in own["attrs"] and "name" not in own["attrs"]
    assert own["attrs"]["title"] == "You cannot deactivate or delete your own account."
    assert f'href="/users/{admin.id}/delete"' not in html
    assert f'href="/users/{bob.id}/delete"' in html


def test_bulk_actions_say_what_they_did(app, as_admin, admin):
    from webapp.services import blogs as blog_service

    with app.app_context():
        actor = db.session.get(User, admin.id)
        ids = [blog_service.create_blog(blog_service.BlogData(title=f"B{n}"), actor).id for n in range(2)]
    said = {}
    for action in ("publish", "unpublish", "delete"):
        data = {"action": action, "ids": [str(i) for i in ids], "confirmed": "1", "back": "/blogs/"}
        as_admin.post("/blogs/bulk", data=data)
        said[action] = as_admin.get("/blogs/").text
    assert "2 blogs published." in said["publish"]
    assert "2 blogs moved back to drafts." in said["unpublish"]
    assert "2 blogs deleted." in said["delete"] and "changed" not in said["delete"]
