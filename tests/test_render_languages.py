"""A page in one language right after the same page in another is wholly in its own.

Rendered as in production (``render_support.production_app``): whatever the app
keeps between requests must be kept per language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CSRFClient
from tests.render_support import Page, add_job, add_user, dispose, html_of, production_app, signed_in
from webapp.services import blogs as blog_service
from webapp.services.blogs import BlogData

# -- languages -------------------------------------------------------------------------------

#: English texts of the list pages and their Dutch translations (Dutch has two plural forms, like
#: English, so ``ngettext`` needs no more).
DUTCH = {
    # navigation
    "Blogs": "Berichten", "Tags": "Labels", "Monitor": "Bewaking", "Jobs": "Taken", "Sign out": "Afmelden",
    # table heads
    "Title": "Titel", "Status": "Toestand", "Author": "Auteur", "Publish at": "Publicatie",
    "Created": "Aangemaakt", "Updated": "Bijgewerkt", "Job": "Opdracht", "Task": "Taak",
    "Trigger": "Aanleiding", "Next run": "Volgende keer", "State": "Stand", "Last run": "Vorige keer",
    "Name": "Naam", "Slug": "Kortenaam", "Description": "Omschrijving", "Executor": "Uitvoerder",
    "store": "opslag", "Actions": "Acties",
    # badges in the rows
    "published": "gepubliceerd", "draft": "concept", "paused": "gepauzeerd", "scheduled": "gepland",
    # pager and menus
    "page %(page)d of %(pages)d": "pagina %(page)d van %(pages)d", "%(num)d per page": "%(num)d per pagina",
    "Search": "Zoeken", "Filter": "Filteren",
}
DUTCH_PLURALS = {("%(count)s result", "%(count)s results"): ("%(count)s resultaat", "%(count)s resultaten")}

#: What each list must show in each language: table head, row badges, pager text.
LANGUAGE_PAGES = {
    "/blogs/": (["Title", "Status", "Author", "Tags", "Publish at", "Created", "Updated"],
                ["published", "draft"], ("3 results · page 1 of 2", "3 resultaten · pagina 1 van 2")),
    "/jobs/?per_page=10": (["Job", "Task", "Trigger", "Next run", "State", "Last run", "Executor / store",
                            "Actions"],
                           ["paused", "scheduled"], ("3 results", "3 resultaten")),
    "/tags/": (["Name", "Slug", "Blogs", "Description", "Created", "Actions"], [],
               ("3 results · page 1 of 2", "3 resultaten · pagina 1 van 2")),
}
NAV = ["Blogs", "Tags", "Monitor", "Jobs"]


def _write_catalogue(folder: Path) -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalog = Catalog(locale="nl")
    assert catalog.num_plurals == 2
    for english, dutch in DUTCH.items():
        catalog.add(english, dutch)
    for english, dutch in DUTCH_PLURALS.items():
        catalog.add(english, dutch)
    target = folder / "nl" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)


@pytest.fixture(scope="module")
def dutch_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CSRFClient]:
    folder = tmp_path_factory.mktemp("languages")
    _write_catalogue(folder / "translations")
    app = production_app(folder, LANGUAGES=("en", "nl"), PAGE_SIZES=(2, 10),
                         BABEL_TRANSLATION_DIRECTORIES=str(folder / "translations"))
    with app.app_context():
        admin = add_user("admin", "admin")
        for number, status in enumerate(("published", "published", "draft")):  # page 1: draft, published
            data = BlogData(title=f"Post {number}", status=status, tags=[f"tag{number}"])
            blog_service.create_blog(data, admin)
        add_job(admin, "nightly", "Nightly")
        add_job(admin, "weekly", "Weekly", crontab="0 4 * * 0")
        add_job(admin, "held", "Held", paused=True)
    yield signed_in(app, "admin")
    dispose(app)


def _language_view(html: str) -> dict[str, Any]:
    """The parts of a list page whose words come from the catalogue."""
    page = Page(html)
    heads = [re.sub(r"[▲▼]", "", th.text).strip() for th in page.find("th") if th.inside("thead") is not None]
    badges = [s.text for s in page.elements if s.tag == "span" and "badge" in s.attrs.get("class", "").split()
              and s.inside("tbody") is not None]
    nav = [a.text for a in page.find("a") if "nav-link" in a.attrs.get("class", "").split()]
    per_page = [o.text for o in page.find("option")
                if (s := o.inside("select")) and s.attrs.get("name") == "per_page"]
    return {"lang": page.find("html")[0].attrs.get("lang"), "heads": [h for h in heads if h],
            "badges": badges, "nav": nav, "per_page": per_page, "text": " ".join(page.text.split())}


def _assert_in_language(url: str, html: str, language: str) -> None:
    heads, badges, (english_pager, dutch_pager) = LANGUAGE_PAGES[url]
    def dutch(english: str) -> str:
        return " / ".join(DUTCH[part] for part in english.split(" / "))

    def same(english: str) -> str:
        return english

    words, other = (dutch, same) if language == "nl" else (same, dutch)
    view = _language_view(html)
    where = f"{url} in {language}"
    assert view["lang"] == language, where
    assert view["heads"] == [words(h) for h in heads], where
    assert all(words(b) in view["badges"] for b in badges), (where, view["badges"])
    assert not any(other(b) in view["badges"] for b in ("published", "draft", "paused", "scheduled")), where
    assert all(words(n) in view["nav"] for n in NAV), (where, view["nav"])
    assert not any(other(n) in view["nav"] for n in NAV), (where, view["nav"])
    pager, wrong = (dutch_pager, english_pager) if language == "nl" else (english_pager, dutch_pager)
    assert pager in view["text"] and wrong not in view["text"], (where, pager)
    per_page = "10 per pagina" if language == "nl" else "10 per page"
    assert per_page in view["per_page"], (where, view["per_page"])


@pytest.mark.parametrize("url", list(LANGUAGE_PAGES))
def test_a_page_right_after_the_same_page_in_another_language_is_in_its_own(dutch_app: CSRFClient,
                                                                              url: str) -> None:
    for language in ("nl", "en", "nl", "en", "en", "nl"):
        html = html_of(dutch_app, url, headers={"Accept-Language": language})
        _assert_in_language(url, html, language)


def test_two_clients_in_two_languages_alternating(dutch_app: CSRFClient) -> None:
    """A second session (its own CSRF token and cookie) in the other language, page after page."""
    app = dutch_app.application
    other = signed_in(app, "admin")
    for _round in range(2):
        for url in LANGUAGE_PAGES:
            _assert_in_language(url, html_of(dutch_app, url, headers={"Accept-Language": "nl"}), "nl")
            _assert_in_language(url, html_of(other, url, headers={"Accept-Language": "en-GB,en;q=0.9"}), "en")


def test_two_apps_in_one_process_keep_their_own_catalogues_of_one_language(tmp_path: Path) -> None:
    """Flask-Babel keeps loaded catalogues with its Babel object: one per app."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    clients = []
    for name, word in (("one", "Berichten"), ("two", "Blogposts")):
        folder = tmp_path / name / "translations" / "nl" / "LC_MESSAGES"
        folder.mkdir(parents=True)
        catalog = Catalog(locale="nl")
        catalog.add("Blogs", word)
        with open(folder / "messages.mo", "wb") as handle:
            write_mo(handle, catalog)
        app = production_app(tmp_path / name, LANGUAGES=("en", "nl"),
                             BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / name / "translations"))
        with app.app_context():
            add_user("admin", "admin")
        clients.append((word, signed_in(app, "admin")))
    try:
        for _ in range(2):
            for word, client in clients:
                html = html_of(client, "/blogs/", headers={"Accept-Language": "nl"})
                others = {w for w, _c in clients} - {word}
                assert f"<title>{word}" in html and not any(other in html for other in others)
    finally:
        for _word, client in clients:
            dispose(client.application)
