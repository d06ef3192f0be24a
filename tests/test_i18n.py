"""Chinese beside English: every text is in the catalogue, pages and API errors speak the
request's language, and a user's saved choice wins over the browser's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from flask import Flask
from sqlalchemy import select

from tests import i18n_check
from tests.conftest import PASSWORD, CSRFClient
from tests.render_support import dispose, production_app, signed_in
from webapp.extensions import db
from webapp.models import User
from webapp.services import blogs as blog_service
from webapp.services import jobs as job_service
from webapp.services import tokens as token_service
from webapp.services import users as user_service
from webapp.services.blogs import BlogData
from webapp.services.users import UserData

CHINESE = {"Accept-Language": "zh-CN"}
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Account data on the pages below: names and addresses are shown as they are stored.
DATA = ("admin@example.com", "editor@example.com", "admin", "editor")
#: Names that Chinese text writes in Latin letters too: abbreviations, formats and units.
LATIN_IN_CHINESE = frozenset({"ID", "URL", "API", "CSV", "JSON", "Markdown", "PNG", "JPEG", "WebP", "MB"})


# -- the completeness check ------------------------------------------------------------------


def test_templates_show_no_text_that_skips_the_catalogue() -> None:
    found = i18n_check.untranslated_text()
    assert not found, "wrap these in _() / ngettext():\n" + "\n".join(map(str, found))


def test_the_template_check_finds_plain_text_and_attributes(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '{% extends "base.html" %}{% block row_attrs %} data-id="{{ id }}"{% endblock %}\n'
        "<p>{{ _('Saved') }} · 12 ms</p>{# Comment #}{% if x %}<b>{{ name }}</b>{% endif %}\n"
        '<button title="Remove it">{{ _("Remove") }}</button>\n'
        "<td>Nothing here</td><script>var words = 'inert';</script>\n"
        '<input type="submit" value="Go"><input type="text" value="typed">\n', encoding="utf-8")
    found = [(item.line, item.where, item.text) for item in i18n_check.untranslated_text(tmp_path)]
    assert found == [(3, "<button>[title]", "Remove it"), (4, "text", "Nothing here"),
                     (5, "<input>[value]", "Go")]


def test_every_catalogue_translates_every_id_that_extraction_finds() -> None:
    languages = dict(i18n_check.catalogues())
    assert "zh_CN" in languages
    wanted = i18n_check.extracted_ids()
    assert len(wanted) > 500  # the whole console, not an empty extraction
    for language, path in languages.items():
        problems = i18n_check.catalogue_problems(path, wanted)
        assert not problems, (f"{language} ({path}), run `make messages` and translate:\n"
                              + "\n".join(problems))


def test_the_catalogue_check_finds_missing_fuzzy_and_empty_entries(tmp_path: Path) -> None:
    catalog = Catalog(locale="zh_CN", fuzzy=False)
    catalog.add("Blogs", "博客")
    catalog.add("Tags", "标签", flags=["fuzzy"])
    catalog.add("Users", "")
    catalog.add(("%(num)d blog", "%(num)d blogs"), ("",))
    catalog.add("Active", "活跃", context="memory")
    path = tmp_path / "messages.po"
    with path.open("wb") as handle:
        write_po(handle, catalog)
    wanted = {(None, "Blogs"), (None, "Tags"), (None, "Users"), (None, "%(num)d blog"),
              ("memory", "Active"), (None, "Active"), (None, "Jobs")}
    assert i18n_check.catalogue_problems(path, wanted) == [
        "missing: 'Active'", "missing: 'Jobs'", "fuzzy: 'Tags'", "empty: 'Users'",
        "empty: ('%(num)d blog', '%(num)d blogs')"]


def test_the_compiled_catalogues_are_those_of_their_sources() -> None:
    for language, path in i18n_check.catalogues():
        compiled = path.with_suffix(".mo")
        assert compiled.exists(), f"{compiled} is missing: `make install` compiles it"
        assert compiled.read_bytes() == i18n_check.compiled(path), \
            f"{compiled} ({language}) is older than its .po: `make install` compiles it again"


# -- which language a request gets -----------------------------------------------------------


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]*)"', html)
    assert match, html[:200]
    return match.group(1)


@pytest.mark.parametrize("header", ["zh-CN", "zh", "zh-Hans", "zh-Hans-CN", "zh-SG", "zh-cn,en;q=0.5",
                                    "fr, zh;q=0.3"])
def test_every_spelling_of_simplified_chinese_gets_chinese(client: CSRFClient, admin: User,
                                                           header: str) -> None:
    html = client.get("/auth/login", headers={"Accept-Language": header}).text
    assert _lang(html) == "zh-CN" and "登录" in html


@pytest.mark.parametrize("header", [None, "en-GB", "fr", "zh-TW", "zh-Hant", "*", "zh;q=0, en"])
def test_other_languages_get_english(client: CSRFClient, admin: User, header: str | None) -> None:
    headers = {"Accept-Language": header} if header else {}
    html = client.get("/auth/login", headers=headers).text
    assert _lang(html) == "en" and "Sign in" in html
    assert not CJK.search(" ".join(VisibleText(html).parts))  # the menu names Chinese in Chinese only


# -- pages in Chinese ------------------------------------------------------------------------


class VisibleText(HTMLParser):
    """The words a reader meets in the navigation, forms, flashes and table heads: text and
    the attributes that are read out (aria-label, title, placeholder). Elements marked with
    their own ``lang`` (the language menu's names) are theirs, not the page's."""

    SCOPES = frozenset({"nav", "thead", "form"})
    VOID = frozenset({"br", "hr", "img", "input", "link", "meta"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, dict[str, str]]] = []
        self.parts: list[str] = []
        self.feed(html)

    def _visible(self, stack: list[tuple[str, dict[str, str]]]) -> bool:
        if any(tag in ("script", "style") or (tag != "html" and "lang" in attrs) for tag, attrs in stack):
            return False
        return any(tag in self.SCOPES or "alert" in attrs.get("class", "").split() for tag, attrs in stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = (tag, {k: v or "" for k, v in attrs})
        if self._visible([*self.open, element]):
            self.parts.extend(element[1].get(name, "") for name in ("aria-label", "title", "placeholder"))
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._visible(self.open):
            self.parts.append(data)


def english_left(html: str) -> list[str]:
    """ASCII words a Chinese reader would meet in the navigation, forms, flashes and heads."""
    text = " ".join(VisibleText(html).parts)
    for value in DATA:
        text = text.replace(value, " ")
    return [word for word in re.findall(r"[A-Za-z]+", text) if word not in LATIN_IN_CHINESE]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app with blogs, a job and two accounts, rendering as in production."""
    app = production_app(tmp_path_factory.mktemp("i18n"))
    with app.app_context():
        admin = user_service.create_user_as_system(UserData(
            username="admin", email="admin@example.com", role="admin", active=True, password=PASSWORD))
        user_service.create_user_as_system(UserData(
            username="editor", email="editor@example.com", role="editor", active=True, password=PASSWORD))
        for number, status in enumerate(("published", "draft")):
            blog_service.create_blog(BlogData(title=f"第{number}篇", status=status, tags=["随笔"]), admin)
        job_service.create_job({"id": "nightly", "name": "夜间", "task": "log_message",
                                "kwargs": {"name": "世界"}, "trigger": "interval",
                                "trigger_args": {"minutes": 5}}, admin)
    yield app
    dispose(app)


@pytest.mark.parametrize("url", ["/blogs/", "/jobs/", "/users/", "/tags/", "/blogs/new"])
def test_a_page_for_zh_cn_has_no_english_in_navigation_forms_and_table_heads(console: Flask,
                                                                          url: str) -> None:
    html = signed_in(console, "admin").get(url, headers=CHINESE).text
    assert _lang(html) == "zh-CN"
    assert english_left(html) == [], url
    assert CJK.search(" ".join(VisibleText(html).parts))


def test_the_job_list_speaks_chinese_in_its_rows_and_its_script_words(console: Flask) -> None:
    html = signed_in(console, "admin").get("/jobs/", headers=CHINESE).text
    assert "每 5 分钟" in html  # the trigger in words
    words = re.search(r'<template id="job-words">(.*?)</template>', html, re.S)
    assert words and not re.search(r">[^<]*[A-Za-z][^<]*<", words.group(1)), words


def test_a_form_with_an_error_and_a_flash_after_saving_are_in_chinese(console: Flask) -> None:
    client = signed_in(console, "admin")
    html = client.post("/blogs/new", data={"title": "", "body": "正文", "status": "draft"},
                       headers=CHINESE).text
    assert 'class="invalid-feedback"' in html and english_left(html) == []
    assert re.search(r'data-remove-label="移除 \{name\}"', html)  # the tag picker's words
    html = client.post("/tags/new", data={"name": "新标签", "colour": "#112233"}, headers=CHINESE,
                       follow_redirects=True).text
    assert "已创建标签“新标签”。" in html and english_left(html) == []


def test_english_stays_the_default(console: Flask) -> None:
    html = signed_in(console, "admin").get("/blogs/").text
    assert _lang(html) == "en" and ">Blogs</a>" in html and ">Title" in html


@pytest.mark.parametrize("url", ["/", "/auth/profile", "/monitor/", "/audit/", "/jobs/new", "/jobs/nightly",
                                 "/jobs/history", "/blogs/1", "/blogs/1/edit", "/users/2/edit",
                                 "/users/2/delete", "/tags/1/merge", "/api/v1/docs"])
def test_every_page_renders_in_chinese(console: Flask, url: str) -> None:
    response = signed_in(console, "admin").get(url, headers=CHINESE)
    assert response.status_code == 200, url
    assert _lang(response.text) == "zh-CN" and CJK.search(response.text)


def test_the_error_page_is_in_chinese(console: Flask) -> None:
    response = signed_in(console, "admin").get("/no/such/page", headers=CHINESE)
    assert response.status_code == 404 and "页面不存在" in response.text


# -- the switcher and the saved preference ---------------------------------------------------


def _account(username: str) -> User:
    """The account in this app context's session."""
    return db.session.scalars(select(User).where(User.username == username)).one()


def test_the_navigation_bar_names_each_language_in_itself(console: Flask) -> None:
    html = signed_in(console, "admin").get("/blogs/", headers=CHINESE).text
    buttons = re.findall(r'<button type="submit" class="dropdown-item( active)?" name="locale" '
                         r'value="([^"]+)"\s+lang="([^"]+)"[^>]*>([^<]+)</button>', html)
    assert [(value, lang, name) for _active, value, lang, name in buttons] == [
        ("en", "en", "English"), ("zh_CN", "zh-CN", "中文 (简体, 中国)")]
    assert [value for active, value, _lang, _name in buttons if active] == ["zh_CN"]


def test_the_saved_preference_wins_over_the_browser(app: Flask, admin: User, auth: Any) -> None:
    client = auth.client
    auth.login("admin")
    with app.app_context():
        version = _account("admin").version
    response = client.post("/language", data={"locale": "zh_CN", "next": "/blogs/?q=x"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 302 and response.headers["Location"] == "/blogs/?q=x"
    with app.app_context():
        saved = _account("admin")
        assert saved.locale == "zh_CN" and saved.version == version  # a preference, not an edit
    assert _lang(client.get("/blogs/", headers={"Accept-Language": "en"}).text) == "zh-CN"
    client.post("/language", data={"locale": "en", "next": "/blogs/"})
    client.delete_cookie("language")  # the account's choice alone
    assert _lang(client.get("/blogs/", headers=CHINESE).text) == "en"


def test_a_visitor_who_is_not_signed_in_keeps_the_choice_in_a_cookie(client: CSRFClient,
                                                                     admin: User) -> None:
    response = client.post("/language", data={"locale": "zh_CN", "next": "/auth/login"})
    assert response.headers["Location"] == "/auth/login"
    assert "language=zh_CN" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    assert _lang(client.get("/auth/login", headers={"Accept-Language": "en"}).text) == "zh-CN"


def test_the_switcher_refuses_other_languages_and_other_sites(client: CSRFClient, admin: User) -> None:
    response = client.post("/language", data={"locale": "xx", "next": "/auth/login"})
    assert response.headers["Location"] == "/auth/login"
    assert not any(c.startswith("language=") for c in response.headers.getlist("Set-Cookie"))
    assert "Choose one of the offered languages." in client.get("/auth/login").text
    response = client.post("/language", data={"locale": "zh_CN", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"
    assert client.post("/language", data={"locale": "zh_CN"}, csrf=False).status_code == 400


# -- the JSON API ----------------------------------------------------------------------------


def _chinese_only(text: str) -> bool:
    return bool(CJK.search(text)) and set(re.findall(r"[A-Za-z]+", text)) <= LATIN_IN_CHINESE


def test_api_errors_come_back_in_chinese(app: Flask, admin: User) -> None:
    with app.app_context():
        _token, secret = token_service.create_token(_account("admin"), "脚本")
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    missing = client.get("/api/v1/blogs/999999", headers={**bearer, **CHINESE}).json["error"]
    assert missing["status"] == 404 and _chinese_only(missing["message"]), missing
    invalid = client.post("/api/v1/tags", csrf=False, json={"name": 5, "colour": "red"},
                          headers={**bearer, **CHINESE}).json["error"]
    assert invalid["status"] == 422 and _chinese_only(invalid["message"]), invalid
    assert invalid["fields"] and all(_chinese_only(m) for ms in invalid["fields"].values() for m in ms)
    english = client.get("/api/v1/blogs/999999", headers=bearer).json["error"]
    assert english["message"] == "No blog with id 999999."


def test_the_api_follows_the_token_owners_saved_language(app: Flask, admin: User) -> None:
    with app.app_context():
        user = _account("admin")
        _token, secret = token_service.create_token(user, "脚本")
        user.locale = "zh_CN"
        db.session.commit()
    error = app.test_client().get("/api/v1/blogs/999999", headers={
        "Authorization": f"Bearer {secret}", "Accept-Language": "en"}).json["error"]
    assert _chinese_only(error["message"]), error
