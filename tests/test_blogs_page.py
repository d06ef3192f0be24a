"""The blog list page's shared layout: what is rendered once and what never is.

The navigation links are rendered once per area, role and language, the signed
CSRF token is reused for a minute per session, and the signed-in user is read
with a plain query: these tests check that no user ever sees another's page.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.conftest import PASSWORD, Auth, CSRFClient
from webapp.extensions import db
from webapp.models import User
from webapp.services import blogs as blog_service
from webapp.services import users as user_service
from webapp.services.blogs import BlogData
from webapp.services.users import UserData


def signed_in(app: Flask, username: str) -> CSRFClient:
    client: CSRFClient = app.test_client()  # type: ignore[assignment]
    assert Auth(client).login(username).status_code == 302
    return client


def nav_links(html: str) -> list[str]:
    nav = html.split('id="main-nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a class="nav-link( active)?"\s*(?:aria-current="page")?\s*href="([^"]+)"', nav)


def page_token(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_each_role_sees_its_own_links_and_name(app, admin, make_user):
    make_user("vera", role="viewer")
    make_user("eddie", role="editor")
    pages = {name: signed_in(app, name).get("/blogs/").text for name in ("admin", "vera", "eddie", "admin")}
    assert [href for _, href in nav_links(pages["admin"])] == [
        "/blogs/", "/tags/", "/monitor/", "/jobs/", "/users/", "/audit/", "/auth/profile"]
    for name, role in (("vera", "viewer"), ("eddie", "editor")):
        assert "/users/" not in pages[name] and "/audit/" not in pages[name]
        user_link = re.search(r'data-testid="current-user">\s*(\w+) <span[^>]*>(\w+)<', pages[name])
        assert user_link.groups() == (name, role)
    assert 'name="ids"' not in pages["vera"] and "/blogs/new" not in pages["vera"]


def test_the_active_link_follows_the_area(app, admin):
    client = signed_in(app, "admin")
    for path, active in (("/blogs/", "/blogs/"), ("/tags/", "/tags/"), ("/blogs/", "/blogs/"), ("/", None),
                         ("/auth/profile", "/auth/profile")):
        links = nav_links(client.get(path).text)
        assert [href for flag, href in links if flag] == ([active] if active else [])


def test_a_role_change_shows_at_once(app, admin, make_user):
    eve = make_user("eve", role="viewer")
    client = signed_in(app, "eve")
    assert "/blogs/new" not in client.get("/blogs/").text
    with app.app_context():
        user = db.session.get(User, eve.id)
        user.role = "admin"
        db.session.commit()
    html = client.get("/blogs/").text
    assert "/blogs/new" in html and "/users/" in html


def test_csrf_token_is_the_sessions_own_and_is_accepted(app, admin, make_user):
    make_user("vera", role="viewer")
    admin_client, vera_client = signed_in(app, "admin"), signed_in(app, "vera")
    html = admin_client.get("/blogs/").text
    first = page_token(html)
    # One token per page: the meta tag, the sign-out form, the language menu and the bulk form.
    assert html.count(first) == 4
    again = page_token(admin_client.get("/blogs/").text)  # signed anew (with its time), same secret
    other = page_token(vera_client.get("/blogs/").text)
    assert other not in (first, again)
    # Each session's tokens work for it and for no other session.
    assert vera_client.post("/auth/logout", data={"csrf_token": first}, csrf=False).status_code == 400
    assert admin_client.post("/auth/logout", data={"csrf_token": again}, csrf=False).status_code == 302


def test_a_deactivated_user_is_signed_out_on_the_next_page(app, admin, make_user):
    vera = make_user("vera", role="viewer")
    client = signed_in(app, "vera")
    assert client.get("/blogs/").status_code == 200
    with app.app_context():
        user_service.set_active([vera.id], False, db.session.get(User, admin.id))
    assert client.get("/blogs/").status_code == 302


def test_changes_to_the_signed_in_user_are_saved_with_the_version_check(app, admin):
    client = signed_in(app, "admin")
    new = "another long one"
    data = {"current_password": PASSWORD, "password": new, "confirm": new}
    response = client.post("/auth/profile", data=data)
    assert response.status_code in (200, 302)
    with app.app_context():
        user = db.session.get(User, admin.id)
        assert user.check_password(new) and user.version == admin.version + 1


@pytest.fixture
def fifty_blogs(app, admin):
    with app.app_context():
        actor = db.session.get(User, admin.id)
        for number in range(50):
            blog_service.create_blog(BlogData(title=f"Post {number}", body="a&b", status="draft", tags=[]),
                                     actor)


@pytest.mark.parametrize("query,links", [
    ("", ["/blogs/?page=1", "/blogs/?page=2", "/blogs/?page=3", "/blogs/?page=2"]),
    ("q=Post&page=2&sort=title", ["/blogs/?q=Post&page=1&sort=title", "/blogs/?q=Post&page=1&sort=title",
                                  "/blogs/?q=Post&page=2&sort=title", "/blogs/?q=Post&page=3&sort=title",
                                  "/blogs/?q=Post&page=3&sort=title"]),
    ("foo=1&q=a%26b&foo=2", ["/blogs/?foo=1&foo=2&q=a%26b&page=1", "/blogs/?foo=1&foo=2&q=a%26b&page=2",
                             "/blogs/?foo=1&foo=2&q=a%26b&page=3", "/blogs/?foo=1&foo=2&q=a%26b&page=2"]),
])
def test_pager_links_keep_every_other_argument_in_place(as_admin, fifty_blogs, query, links):
    html = as_admin.get(f"/blogs/?{query}").text
    pager = html.split('class="pagination', 1)[1].split("</ul>", 1)[0]
    assert [h.replace("&amp;", "&") for h in re.findall(r'href="([^"#]+)"', pager)] == links


@pytest.mark.parametrize("query", ["endpoint=x", "_external=1&q=a", "_anchor=top&tag=1&tag=2",
                                   "q=a/b%20c%26d"])
def test_download_links_carry_every_argument_as_a_query_parameter(as_admin, query):
    html = as_admin.get(f"/blogs/?{query}&page=2&per_page=50").text
    href = re.search(r'href="([^"]+)" data-testid="export-csv"', html).group(1).replace("&amp;", "&")
    assert href == f"/blogs/export.csv?{query.replace('%20', '+')}"


def test_headers_pager_and_downloads_escape_the_arguments(as_admin, fifty_blogs):
    html = as_admin.get('/blogs/?q=Post&sort=-title&x="><script>alert(1)</script>').text
    assert "<script>alert" not in html
    header = re.search(r'<th scope="col" class="table-sort" aria-sort="descending">(.*?)</th>', html).group(1)
    evil = "x=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
    arrow = '<span aria-hidden="true">▼</span>'
    assert header == f'<a href="/blogs/?q=Post&amp;{evil}&amp;sort=title">Title {arrow}</a>'
    assert f'href="/blogs/?q=Post&amp;sort=-title&amp;{evil}&amp;page=2"' in html
    assert "50 results · page 1 of 3" in html


@pytest.fixture
def german_app(tmp_path, monkeypatch):
    """An app with a German catalogue for a few of the list's texts."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from tests.conftest import app_config
    from webapp import create_app

    catalog = Catalog(locale="de")
    for english, german in {"Search": "Suche", "Blogs": "Beiträge", "Filter": "Filtern",
                            "Sign out": "Abmelden", "%(num)d per page": "%(num)d pro Seite"}.items():
        catalog.add(english, german)
    folder = tmp_path / "translations" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(LANGUAGES=("en", "de"),
                                BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations")))
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_labels_follow_each_requests_language(german_app):
    with german_app.app_context():
        user_service.create_user_as_system(UserData(username="admin", email="admin@example.com",
                                                    role="admin", active=True, password=PASSWORD))
    client = signed_in(german_app, "admin")
    german = ("Suche", "Beiträge", "Filtern", "Abmelden", "20 pro Seite")
    english = ("Search", "Blogs", "Filter", "Sign out", "20 per page")
    for language, texts, absent in (("de", german, "Search"), ("en", english, "Suche"),
                                    ("de", german, "Search")):
        html = client.get("/blogs/", headers={"Accept-Language": language}).text
        assert all(text in html for text in texts), (language, texts)
        assert absent not in html
