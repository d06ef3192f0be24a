"""The audit log: what the services record and the page that shows it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import AuditEntry, User
from webapp.models.types import utcnow


def entries(app):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(e.actor_name, e.action, e.object_type, e.object_repr, e.changes) for e in rows]


def test_create_update_delete_are_recorded_with_changes(app, as_admin, make_user):
    before = len(entries(app))
    as_admin.post("/users/new", data={"username": "bob", "email": "bob@example.com", "role": "viewer",
                                      "active": "y", "password": "a long password",
                                      "confirm": "a long password"})
    with app.app_context():
        bob_id = db.session.scalar(select(AuditEntry.object_id).order_by(AuditEntry.id.desc()))
    as_admin.post(f"/users/{bob_id}/edit", data={"username": "bob", "email": "bob@example.com",
                                                 "role": "editor", "active": "y", "version": "1",
                                                 "password": "another password",
                                                 "confirm": "another password"})
    as_admin.post(f"/users/{bob_id}/delete")
    created, updated, deleted = entries(app)[before:]
    assert created[:4] == ("admin", "create", "users", "bob")
    assert created[4]["role"] == [None, "viewer"]
    assert updated[:2] == ("admin", "update")
    assert updated[4] == {"role": ["viewer", "editor"], "password": [None, "(changed)"]}
    assert deleted[:2] == ("admin", "delete") and deleted[4]["username"] == "bob"


def test_password_values_are_never_stored(app, as_admin, admin):
    as_admin.post("/auth/profile", data={"current_password": PASSWORD, "password": "secret-new-pass",
                                         "confirm": "secret-new-pass"})
    text = repr(entries(app))
    assert "secret-new-pass" not in text and PASSWORD not in text
    assert "password_hash" not in text and "scrypt" not in text


def test_bulk_actions_record_one_entry_per_user(app, as_admin, make_user):
    ids = [str(make_user(n).id) for n in ("u1", "u2")]
    before = len(entries(app))
    as_admin.post("/users/bulk", data={"action": "deactivate", "ids": ids, "confirmed": "1"})
    assert [e[3:] for e in entries(app)[before:]] == [
        ("u1", {"active": [True, False]}), ("u2", {"active": [True, False]})]


def test_unchanged_save_records_nothing(app, as_admin, make_user):
    bob = make_user("bob")
    before = len(entries(app))
    as_admin.post(f"/users/{bob.id}/edit", data={"username": "bob", "email": "bob@example.com",
                                                 "role": "viewer", "active": "y", "version": "1"})
    assert len(entries(app)) == before


def test_audit_page_lists_and_filters(app, as_admin, make_user):
    make_user("bob")
    make_user("carol")
    page = as_admin.get("/audit/")
    assert page.status_code == 200
    assert page.text.count('data-testid="audit-row"') == 3  # admin, bob, carol created
    assert as_admin.get("/audit/?q=carol").text.count('data-testid="audit-row"') == 1
    assert as_admin.get("/audit/?action=delete").text.count('data-testid="audit-row"') == 0
    assert as_admin.get("/audit/?object_type=users").text.count('data-testid="audit-row"') == 3
    assert as_admin.get("/audit/?actor=system").text.count('data-testid="audit-row"') == 3


def test_audit_page_filters_by_date_range(app, as_admin, make_user):
    make_user("old")
    with app.app_context():
        db.session.execute(update(AuditEntry).where(AuditEntry.object_repr == "old")
                           .values(created_at=utcnow() - timedelta(days=10)))
        db.session.commit()
    today = utcnow().date().isoformat()
    ten_days_ago = (utcnow() - timedelta(days=10)).date().isoformat()
    assert "old" not in _objects(as_admin.get(f"/audit/?since={today}").text)
    assert _objects(as_admin.get(f"/audit/?since={ten_days_ago}&until={ten_days_ago}").text) == ["old"]


@pytest.mark.parametrize("query", ["since=yesterday", "until=9999-12-31", "since=0001-01-01"])
def test_audit_page_rejects_a_bad_date_and_keeps_the_other_filters(as_admin, make_user, query):
    make_user("bob")
    response = as_admin.get(f"/audit/?q=bob&{query}")
    assert response.status_code == 200
    assert "Use a date" in response.text
    assert _objects(response.text) == ["bob"]


def test_audit_search_treats_wildcards_literally(as_admin, make_user):
    make_user("bob")
    assert _objects(as_admin.get("/audit/?q=_").text) == []
    assert _objects(as_admin.get("/audit/?q=%25").text) == []


def _objects(html: str) -> list[str]:
    import re

    cell = r'<td>(?:<a href="[^"]*">)?([^<]+?)(?:</a>)?\s*<span class="text-body-secondary small">#'
    return re.findall(cell, html)


def test_audit_entries_read_in_plain_words_and_link_their_objects(app, as_admin, admin):
    from webapp.services import tags as tag_service

    with app.app_context():
        actor = db.session.get(User, admin.id)
        tag = tag_service.create_tag(tag_service.TagData(name="news", colour="#112233"), actor)
        tag_id = tag.id
    html = as_admin.get("/audit/?object_type=tags").text
    assert f'<a href="/tags/{tag_id}/edit">news</a>' in html
    assert "<li>Name: news</li>" in html and "<li>Description: —</li>" in html
    assert "None" not in html and "[" not in html.split("<tbody>")[1].split("</tbody>")[0]
    with app.app_context():
        users_html = as_admin.get("/audit/?object_type=users").text
    assert "<li>Active: yes</li>" in users_html and "True" not in users_html


def test_a_records_history_link_shows_only_its_entries(app, as_admin, admin):
    from webapp.services import tags as tag_service

    with app.app_context():
        actor = db.session.get(User, admin.id)
        first = tag_service.create_tag(tag_service.TagData(name="first"), actor).id
        tag_service.create_tag(tag_service.TagData(name="second"), actor)
    html = as_admin.get(f"/audit/?object_type=tags&object_id={first}").text
    assert _objects(html) == ["first"] and 'data-testid="record-history"' in html
    assert _objects(as_admin.get(f"/audit/?object_id={first}").text) != ["first"]  # the type is needed too


def test_every_record_page_links_to_its_history_for_admins(app, as_admin, admin, make_user):
    from webapp.services import blogs as blog_service
    from webapp.services import tags as tag_service

    with app.app_context():
        actor = db.session.get(User, admin.id)
        blog_id = blog_service.create_blog(blog_service.BlogData(title="Noted"), actor).id
        tag_id = tag_service.create_tag(tag_service.TagData(name="noted"), actor).id
    user_id = make_user("noted").id
    pages = ((f"/blogs/{blog_id}", "blogs", blog_id), (f"/tags/{tag_id}/edit", "tags", tag_id),
             (f"/users/{user_id}/edit", "users", user_id))
    for page, kind, object_id in pages:
        html = as_admin.get(page).text
        link = f'href="/audit/?object_type={kind}&amp;object_id={object_id}" data-testid="history-link"'
        assert link in html, page
        history = as_admin.get(f"/audit/?object_type={kind}&object_id={object_id}").text
        assert len(_objects(history)) == 1


def test_the_type_menu_lists_each_type_in_the_log_once(app, as_admin):
    """Read by hopping along the index from one type to the next: every type, in order."""
    with app.app_context():
        for number, kind in enumerate(["users", "tags", "blogs", "tags", "jobs", "users", "blogs"]):
            db.session.add(AuditEntry(actor_name="x", action="update", object_type=kind,
                                      object_id=str(number), object_repr=kind))
        db.session.commit()
        expected = sorted(set(db.session.scalars(select(AuditEntry.object_type))))
    assert expected == ["blogs", "jobs", "tags", "users"]
    menu = as_admin.get("/audit/").text
    assert [m for m in re.findall(r'<option value="(\w+)"', menu) if m in expected] == expected
