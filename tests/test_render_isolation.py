"""What one request renders never shows in another's page: roles, time zones, apps.

(Languages: tests/test_render_languages.py.)

List pages are shown again and again with the same arguments, so whatever the app
keeps between requests (fragments, rows, menus, compiled templates) must be kept
by everything that changes the markup. These tests render in the order that a
cache missing a key would get wrong: the same page right after it was rendered
for another role, in another language, in another time zone, or by another app
in the same process. Every app renders as in production (templates do not
reload, see ``render_support.production_app``). Apps in one process are tried with
a fragment cache each and with one they share, as processes share one Redis: a
shared cache is right only if its keys hold everything the markup is made of.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from flask import Flask
from sqlalchemy import select, update

from tests.conftest import CSRFClient
from tests.render_support import (
    Page,
    add_job,
    add_user,
    dispose,
    fetch,
    html_of,
    production_app,
    shared_cache_config,
    signed_in,
)
from webapp.extensions import db
from webapp.jobs.scheduler import readable_scheduler
from webapp.models import Blog, Tag
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services.blogs import BlogData
from webapp.services.tags import TagData

# -- roles ---------------------------------------------------------------------------------


@dataclass
class Controls:
    """The editing controls a page offers."""

    row_checks: int  # <input name="ids">
    select_all: int  # <input data-select-all>
    bulk_controls: int  # fields and buttons of a form that posts to …/bulk
    edit_links: int  # links to …/edit, …/merge
    delete_links: int  # links to …/delete
    new_links: int  # links to …/new
    post_forms: int  # forms with fields that post anywhere but the sign-out and the language menu
    admin_links: int  # navigation to the users and the audit log
    ragged_rows: int  # table rows with another number of cells than the head

    @classmethod
    def of(cls, html: str) -> Controls:
        page = Page(html)
        links = [a.attrs["href"].split("?")[0].rstrip("/") for a in page.find("a", href=None)]
        fields = [(e, form) for e in page.elements if e.tag in ("input", "select", "button", "textarea")
                  and (form := e.inside("form")) is not None]
        posting = {id(form): form for _field, form in fields
                   if form.attrs.get("method", "get").lower() == "post"}
        bulk = [field for field, form in fields if form.attrs.get("action", "").endswith("/bulk")]
        return cls(
            row_checks=len(page.find("input", name="ids")),
            select_all=len(page.find("input", **{"data-select-all": None})),
            bulk_controls=len(bulk),
            edit_links=sum(link.endswith(("/edit", "/merge")) for link in links),
            delete_links=sum(link.endswith("/delete") for link in links),
            new_links=sum(link.endswith("/new") for link in links),
            post_forms=sum(not f.attrs.get("action", "").endswith(("/auth/logout", "/language"))
                           for f in posting.values()),
            admin_links=sum(link in ("/users", "/audit") for link in links),
            ragged_rows=_ragged_rows(page),
        )


def _ragged_rows(page: Page) -> int:
    """Rows of the page's tables whose cell count differs from the head's (a leaked head or
    actions column shows as this)."""
    ragged = 0
    for table in page.find("table"):
        rows = [e for e in page.elements if e.tag == "tr" and e.inside("table") is table]
        cells = {id(row): 0 for row in rows}
        spans = {id(row): False for row in rows}
        for cell in page.elements:
            if cell.tag in ("th", "td") and (row := cell.inside("tr")) is not None and id(row) in cells:
                cells[id(row)] += 1
                spans[id(row)] |= "colspan" in cell.attrs
        head = [r for r in rows if r.inside("thead") is not None]
        if not head:
            continue
        width = cells[id(head[0])]
        ragged += sum(cells[id(r)] != width for r in rows if not spans[id(r)])
    return ragged


NONE = Controls(0, 0, 0, 0, 0, 0, 0, 0, 0)


@dataclass
class RoleApp:
    app: Flask
    clients: dict[str, CSRFClient]


@pytest.fixture(scope="module")
def role_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoleApp]:
    app = production_app(tmp_path_factory.mktemp("roles"))
    with app.app_context():
        admin, editor = add_user("admin", "admin"), add_user("editor", "editor")
        add_user("viewer", "viewer")
        for number, status in enumerate(("published", "draft", "published")):
            blog_service.create_blog(BlogData(title=f"Post {number}", status=status, tags=["alpha", "beta"]),
                                     editor)
        add_job(admin, "nightly", "Nightly")
        add_job(admin, "weekly", "Weekly", paused=True)
    yield RoleApp(app, {name: signed_in(app, name) for name in ("admin", "editor", "viewer")})
    dispose(app)


#: (URL, the role that may edit there, what that role must be offered).
EDITABLE_LISTS = [
    ("/blogs/", "editor", ("row_checks", "select_all", "bulk_controls", "new_links")),
    ("/blogs/?sort=title&q=Post", "editor", ("row_checks", "select_all", "bulk_controls", "new_links")),
    ("/blogs/?tag=1&per_page=50", "admin", ("row_checks", "select_all", "bulk_controls", "new_links",
                                            "admin_links")),
    ("/tags/", "editor", ("edit_links", "delete_links", "new_links")),
    ("/tags/?sort=-name", "admin", ("edit_links", "delete_links", "new_links", "admin_links")),
    ("/jobs/", "admin", ("edit_links", "delete_links", "new_links", "post_forms", "admin_links")),
    ("/jobs/?sort=id&q=ly", "admin", ("edit_links", "delete_links", "new_links", "post_forms")),
    ("/", "admin", ("admin_links",)),
]


@pytest.mark.parametrize(("url", "editor", "offered"), EDITABLE_LISTS)
def test_a_viewer_gets_no_edit_controls_right_after_an_editor_loaded_the_list(
        role_app: RoleApp, url: str, editor: str, offered: tuple[str, ...]) -> None:
    """Editor, viewer, editor, viewer: each page shows exactly what its own role may do."""
    for _round in range(2):
        granted = Controls.of(html_of(role_app.clients[editor], url))
        missing = [name for name in offered if not getattr(granted, name)]
        assert not missing, f"{editor} on {url}: no {missing}"
        assert granted.ragged_rows == 0
        shown = Controls.of(html_of(role_app.clients["viewer"], url))
        assert shown == NONE, f"the viewer on {url} after the {editor}: {shown}"


@pytest.mark.parametrize("url", ["/users/", "/audit/", "/users/?sort=email", "/users/export.csv"])
def test_admin_only_pages_stay_closed_to_a_viewer_right_after_an_admin(role_app: RoleApp, url: str) -> None:
    admin, viewer = role_app.clients["admin"], role_app.clients["viewer"]
    for _round in range(2):
        response = fetch(admin, url)
        assert response.status_code == 200 and "editor@example.com" in response.get_data(as_text=True)
        response = fetch(viewer, url)
        assert response.status_code == 403
        assert "editor@example.com" not in response.get_data(as_text=True)


def test_a_viewers_blog_list_has_no_bulk_form_at_all(role_app: RoleApp) -> None:
    """Not even an empty one (the list used to wrap its table in the bulk form for every role)."""
    page = Page(html_of(role_app.clients["viewer"], "/blogs/"))
    assert [f.attrs for f in page.find("form") if f.attrs.get("action", "").endswith("/bulk")] == []


# -- time zones --------------------------------------------------------------------------------

#: Stored (UTC) times of the time-zone apps' rows, identical in both apps.
PUBLISH_AT = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
CREATED_AT = datetime(2030, 1, 10, 8, 30, tzinfo=UTC)


def _same_rows(app: Flask) -> None:
    """The same blogs, tags and jobs, with the same stored times, in any app."""
    with app.app_context():
        admin = add_user("admin", "admin")
        blog_service.create_blog(BlogData(title="Timed post", status="published", tags=["timed"]), admin)
        add_job(admin, "yearly", "Yearly", crontab="0 12 15 1 *")
        db.session.execute(update(Blog).values(publish_at=PUBLISH_AT, created_at=CREATED_AT,
                                               updated_at=CREATED_AT))
        db.session.execute(update(Tag).values(created_at=CREATED_AT))
        db.session.commit()


CACHES = {"own cache": lambda: {}, "shared cache": shared_cache_config}


@pytest.fixture(scope="module", params=list(CACHES))
def zoned_apps(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Flask, CSRFClient]]]:
    apps = {}
    cache = CACHES[request.param]()
    for zone in ("UTC", "Asia/Tokyo"):
        app = production_app(tmp_path_factory.mktemp("zone"), BABEL_DEFAULT_TIMEZONE=zone, **cache)
        _same_rows(app)
        apps[zone] = (app, signed_in(app, "admin"))
    yield apps
    for app, _client in apps.values():
        dispose(app)


def _local(moment: datetime, zone: str) -> str:
    """The moment as the pages show it in English (``Jan 15, 2030, 12:00 PM``), spaces normalised."""
    local = moment.astimezone(ZoneInfo(zone))
    shown = f"{format_date(local, 'medium', locale='en')}, {format_time(local, 'short', locale='en')}"
    return " ".join(shown.split())


def test_two_apps_in_two_time_zones_show_the_same_stored_times_in_their_own(zoned_apps: Any) -> None:
    with zoned_apps["UTC"][0].app_context():
        stored_run = readable_scheduler(zoned_apps["UTC"][0]).get_job("yearly").next_run_time
    for _round in range(2):
        for zone, other in (("UTC", "Asia/Tokyo"), ("Asia/Tokyo", "UTC")):
            client = zoned_apps[zone][1]
            blogs = " ".join(Page(html_of(client, "/blogs/")).text.split())
            assert _local(PUBLISH_AT, zone) in blogs and _local(CREATED_AT, zone) in blogs, zone
            assert _local(PUBLISH_AT, other) not in blogs and _local(CREATED_AT, other) not in blogs, zone
            tags = " ".join(Page(html_of(client, "/tags/")).text.split())
            assert _local(CREATED_AT, zone) in tags and _local(CREATED_AT, other) not in tags, zone
            jobs = " ".join(Page(html_of(client, "/jobs/")).text.split())
            assert _local(stored_run, zone) in jobs and _local(stored_run, other) not in jobs, zone


# -- apps -----------------------------------------------------------------------------------------

#: Each app's own names; ids are the same in both (tag 1, blog 1, user 1 …).
APP_NAMES = {
    "a": {"admin": "alice-admin", "editor": "anna-editor", "tag": "apple-tag", "blog": "Apricot post",
          "job": "apple-job", "sizes": (20, 50, 100)},
    "b": {"admin": "bob-admin", "editor": "bert-editor", "tag": "banana-tag", "blog": "Blueberry post",
          "job": "banana-job", "sizes": (20, 40, 80)},
}


@pytest.fixture(scope="module", params=list(CACHES))
def two_apps(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Flask, CSRFClient]]]:
    apps = {}
    cache = CACHES[request.param]()
    for key, names in APP_NAMES.items():
        app = production_app(tmp_path_factory.mktemp(f"app-{key}"), PAGE_SIZES=names["sizes"], **cache)
        with app.app_context():
            admin = add_user(names["admin"], "admin")
            editor = add_user(names["editor"], "editor")
            tag = tag_service.create_tag(TagData(name=names["tag"]), admin)
            assert tag.id == 1
            blog_service.create_blog(BlogData(title=names["blog"], status="published", tags=[names["tag"]]),
                                     editor)
            add_job(admin, names["job"], names["job"].title())
        apps[key] = (app, signed_in(app, names["admin"]))
    yield apps
    for app, _client in apps.values():
        dispose(app)


def _names_shown(html: str) -> set[str]:
    """The apps' names in the page, menus left out (see the filter menus' test below)."""
    text = Page(re.sub(r"<select\b.*?</select>", "", html, flags=re.S)).text
    return {value for names in APP_NAMES.values() for key, value in names.items()
            if key != "sizes" and value in text}


def _own_names(key: str, *fields: str) -> set[str]:
    return {APP_NAMES[key][f] for f in fields}


#: Pages and the names each must show (its own) and may show.
APP_PAGES = {
    "/": ("admin",),
    "/blogs/?q=post": ("blog", "tag", "editor"),
    "/tags/": ("tag",),
    "/jobs/": ("job",),
    "/users/": ("admin", "editor"),
    "/audit/": ("admin", "tag", "blog"),
    "/blogs/1": ("blog", "tag", "editor"),
}


def test_two_apps_in_one_process_show_only_their_own_rows(two_apps: Any) -> None:
    for _round in range(2):
        for url, fields in APP_PAGES.items():
            for key in ("a", "b", "b", "a"):
                shown = _names_shown(html_of(two_apps[key][1], url))
                others = _own_names("b" if key == "a" else "a", "admin", "editor", "tag", "blog", "job")
                assert _own_names(key, *fields) <= shown, (key, url, shown)
                assert not shown & others, (key, url, shown)


def test_two_apps_in_one_process_offer_their_own_page_sizes(two_apps: Any) -> None:
    for _round in range(2):
        for url in ("/blogs/", "/tags/", "/jobs/", "/users/"):
            for key in ("a", "b"):
                page = Page(html_of(two_apps[key][1], url))
                sizes = [o.attrs.get("value") for o in page.find("option")
                         if (s := o.inside("select")) and s.attrs.get("name") == "per_page"]
                assert sizes == [str(n) for n in APP_NAMES[key]["sizes"]], (key, url, sizes)


def _menus(html: str) -> dict[str, list[str]]:
    page = Page(html)
    menus: dict[str, list[str]] = {}
    for option in page.find("option"):
        select = option.inside("select")
        if select is not None and select.attrs.get("name") in ("tag", "author", "tag_id"):
            menus.setdefault(select.attrs["name"], []).append(option.text)
    return menus


def test_two_apps_in_one_process_offer_their_own_tags_and_authors_in_the_blog_filters(two_apps: Any) -> None:
    """The menus of the blog list (once kept per process by menu name only, so a second app
    showed the first app's tags and authors until a commit or a timeout)."""
    for _round in range(2):
        for key in ("a", "b", "b", "a"):
            menus = _menus(html_of(two_apps[key][1], "/blogs/"))
            names = APP_NAMES[key]
            assert names["tag"] in menus["tag"] and names["tag"] in menus["tag_id"], (key, menus)
            assert names["editor"] in menus["author"], (key, menus)
            other = APP_NAMES["b" if key == "a" else "a"]
            shown = {text for texts in menus.values() for text in texts}
            assert not shown & {other["tag"], other["editor"], other["admin"]}, (key, menus)


# -- changes -------------------------------------------------------------------------------------


@pytest.fixture
def editing_app(tmp_path: Path) -> Iterator[tuple[Flask, CSRFClient]]:
    app = production_app(tmp_path)
    with app.app_context():
        editor = add_user("editor", "editor")
        blog_service.create_blog(BlogData(title="Old title", status="draft", tags=["old-tag"]), editor)
    yield app, signed_in(app, "editor")
    dispose(app)


def _versions(app: Flask) -> tuple[int, int, int]:
    """The id and version of the one tag, and the version of blog 1."""
    with app.app_context():
        tag = db.session.scalars(select(Tag)).one()
        return tag.id, tag.version, blog_service.get_blog(1).version


def test_a_saved_change_shows_on_the_next_load_of_the_list(editing_app: tuple[Flask, CSRFClient]) -> None:
    """Rows and menus kept from the last load must not outlive an edit of what they show."""
    app, editor = editing_app
    urls = ("/blogs/", "/blogs/?sort=title")
    for url in urls:
        html = html_of(editor, url)
        assert "Old title" in html and _menus(html)["tag"] == ["old-tag"]
    tag_id, tag_version, _ = _versions(app)
    response = editor.post(f"/tags/{tag_id}/edit", data={"name": "new-tag", "colour": "#6c757d",
                                                         "version": str(tag_version)})
    assert response.status_code == 302
    blog_version = _versions(app)[2]  # the rename touched the blog too
    response = editor.post("/blogs/1/edit", data={"title": "New title", "body": "", "status": "published",
                                                  "tags": "new-tag, added-tag", "version": str(blog_version)})
    assert response.status_code == 302
    for url in urls:
        html = html_of(editor, url)
        page = Page(html)
        rows = [row.text for row in page.find("tr") if row.inside("tbody") is not None]
        assert len(rows) == 1, rows
        assert "New title" in rows[0] and "Old title" not in rows[0], rows
        assert "published" in rows[0] and "new-tag" in rows[0] and "added-tag" in rows[0], rows
        menus = _menus(html)
        assert menus["tag"] == ["added-tag", "new-tag"] and menus["tag_id"][1:] == ["added-tag", "new-tag"]
