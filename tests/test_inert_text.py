"""Every text a user can enter renders inert: on every page, menu and download, for every role.

The data is made through the forms and the services behind them, with values as
hostile as each field's validation allows. Then each role signs in and follows
every same-origin link from "/" (state changes are POSTs, so following GET links
is safe), plus list URLs with hostile filters, hostile paths, the downloads and
the JSON API. Nowhere may the markup come back raw, and the template expression
``{{7*7}}zq1`` must never come back evaluated (``49zq1``).

Usernames and job ids refuse markup and braces (letters, digits and ``._-`` /
``._:-``), and colours are ``#rrggbb``: they get the most hostile value allowed.
E-mail addresses take ``'``, ``&``, ``{``, ``}`` and ``*`` but no ``<`` or ``"``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from werkzeug.test import TestResponse

from tests.conftest import CSRFClient
from tests.inert_support import (
    ACCOUNTS,
    BLOG_BODY,
    BLOG_TITLES,
    DOUBLE_QUOTE,
    EVALUATED,
    IMG,
    JOB_ID,
    JOB_NAME,
    JOB_PARAMETER,
    RAW_IN_HTML,
    RUN_ERROR,
    SCRIPT,
    SINGLE_QUOTE,
    TAG_DESCRIPTION,
    TEMPLATE,
    TOKEN_NAME,
    Seeded,
    seed,
)
from tests.render_support import Page, dispose, fetch, production_app

#: Pages fetched per role at most, and distinct query strings followed per path.
PAGE_LIMIT = 400
QUERIES_PER_PATH = 6
SKIPPED_PREFIXES = ("/static/", "/auth/logout", "/blogs/covers/")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    app = production_app(tmp_path_factory.mktemp("inert"))
    yield seed(app)
    dispose(app)


# -- crawling --------------------------------------------------------------------------


def _hostile_urls(data: Seeded) -> list[str]:
    """List URLs whose filters and search are hostile text, and paths made of it."""
    tag_id = data.tag_ids[IMG]
    other = data.tag_ids[TEMPLATE]
    hostile = quote(f"{SCRIPT}{IMG}{TEMPLATE}{DOUBLE_QUOTE}{SINGLE_QUOTE}", safe="")
    # A path segment cannot hold "/" (werkzeug decodes %2F before routing): no closing tag.
    segment = quote(f"{IMG}{TEMPLATE}{DOUBLE_QUOTE}{SINGLE_QUOTE}<script>alert(1)", safe="")
    urls = [
        f"/blogs/?q={quote(SCRIPT)}", f"/blogs/?q={quote(TEMPLATE)}", f"/blogs/?tag={tag_id}",
        f"/blogs/?tag={tag_id}&tag={other}", f"/blogs/?author={data.user_ids['editor']}&status=published",
        f"/blogs/?q={hostile}&tag={hostile}&author={hostile}&status={hostile}&since={hostile}&until={hostile}",
        f"/blogs/?sort={hostile}&per_page={hostile}&page={hostile}",
        f"/blogs/export.csv?tag={tag_id}", f"/blogs/export.json?tag={tag_id}",
        f"/blogs/export.json?q={hostile}", f"/tags/?q={quote(IMG)}", f"/tags/?q={hostile}&sort={hostile}",
        "/tags/export.csv", "/tags/export.json",
        f"/jobs/?q={hostile}&state={hostile}&sort={hostile}", f"/jobs/?q={quote('zq1')}&state=paused",
        f"/jobs/history?page={hostile}", f"/jobs/status?id={quote(JOB_ID)}&id={hostile}",
        f"/users/?q={hostile}&role={hostile}&active={hostile}", f"/users/?q={quote('zq1')}",
        "/users/export.csv", "/users/export.json",
        f"/audit/?q={hostile}&actor={hostile}&action={hostile}&object_type={hostile}&since={hostile}",
        f"/audit/?q={quote(IMG)}", f"/auth/login?next={hostile}",
        f"/jobs/{segment}", f"/jobs/{segment}/runs", f"/jobs/{segment}/edit", f"/jobs/{segment}/delete",
        f"/blogs/{segment}", f"/tags/{segment}/edit", f"/{segment}", f"/blogs/covers/{segment}",
        f"/jobs/{quote(JOB_ID, safe='')}/runs?page={hostile}",
        f"/api/v1/blogs?q={quote(SCRIPT)}", f"/api/v1/blogs?tag={tag_id}", "/api/v1/tags", "/api/v1/users",
        "/api/v1/jobs", f"/api/v1/jobs/{quote(JOB_ID)}", f"/api/v1/jobs/{quote(JOB_ID)}/runs",
        f"/api/v1/jobs/{segment}", "/api/v1/tasks", "/api/v1/openapi.json", "/scheduler/jobs",
        f"/scheduler/jobs/{quote(JOB_ID)}",
    ]
    urls += [f"/api/v1/blogs/{i}" for i in data.blog_ids]
    urls += [f"/api/v1/tags/{i}" for i in data.tag_ids.values()]
    urls += [f"/api/v1/users/{i}" for i in data.user_ids.values()]
    return urls


def _links(html: str, base: str) -> list[str]:
    """Same-origin GET targets of the page's links, as path?query."""
    found = []
    for element in Page(html).find("a", href=None):
        href = element.attrs["href"].strip()
        if not href or href.startswith("#"):
            continue
        parts = urlsplit(urljoin(f"http://localhost{base}", href))
        if parts.scheme not in ("http", "https") or parts.netloc != "localhost":
            continue
        if parts.path.startswith(SKIPPED_PREFIXES):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(client: CSRFClient, starts: list[str]) -> dict[str, TestResponse]:
    """Breadth first from ``starts`` over same-origin links (redirects followed as links)."""
    pages: dict[str, TestResponse] = {}
    per_path: Counter[str] = Counter()
    queue = deque(starts)
    queued = set(starts)
    while queue and len(pages) < PAGE_LIMIT:
        url = queue.popleft()
        response = pages[url] = fetch(client, url)
        targets = []
        if response.status_code in (301, 302, 303, 307, 308) and response.location:
            targets.append(response.location)
        elif response.mimetype == "text/html":
            targets = _links(response.get_data(as_text=True), urlsplit(url).path)
        for target in targets:
            path = urlsplit(target).path
            if target in queued or path.startswith(SKIPPED_PREFIXES):
                continue
            if "?" in target:
                if per_path[path] >= QUERIES_PER_PATH:
                    continue
                per_path[path] += 1
            queued.add(target)
            queue.append(target)
    return pages


def crawled(data: Seeded, role: str) -> dict[str, TestResponse]:
    if role not in data.crawls:
        data.crawls[role] = crawl(data.clients[role], ["/", *_hostile_urls(data)])
    return data.crawls[role]


# -- checks ------------------------------------------------------------------------------


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def problems(url: str, response: TestResponse) -> list[str]:
    """What is wrong with one response: a server error, raw markup, an evaluated template."""
    found = []
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    body = response.get_data(as_text=True)
    if EVALUATED in body:
        found.append(f"{EVALUATED!r} in the body: {{{{7*7}}}} was evaluated")
    if response.mimetype == "text/html":
        for raw in RAW_IN_HTML:
            if raw in body:
                at = body.index(raw)
                found.append(f"raw {raw!r} in the HTML: …{body[max(at - 80, 0):at + 60]!r}…")
        for element in Page(body).elements:
            for name, value in element.attrs.items():
                if name.startswith("on"):
                    found.append(f"event handler attribute {name}={value!r} on <{element.tag}>")
                scheme = "".join(value.split()).lower()
                if name in ("href", "src", "action") and scheme.startswith("javascript:"):
                    found.append(f"{name}={value!r} on <{element.tag}>")
    elif response.mimetype == "application/json" and body:
        strings = list(_json_strings(json.loads(body)))
        if any(EVALUATED in s for s in strings):
            found.append("evaluated template in the JSON data")
    elif response.mimetype not in ("text/csv", "text/plain", "") and any(raw in body for raw in RAW_IN_HTML):
        found.append(f"hostile text served as {response.mimetype}")
    return found


def _report(pages: dict[str, TestResponse]) -> list[str]:
    return [f"{url}: {problem}" for url, response in pages.items() for problem in problems(url, response)]


#: Paths every crawl must have reached (so that a crawl cannot pass by seeing nothing).
ROLE_REACHES = {
    "anonymous": ("/auth/login",),
    "viewer": ("/blogs/", "/tags/", "/jobs/", "/auth/profile", "/monitor/", "/jobs/history"),
    "editor": ("/blogs/", "/blogs/new", "/tags/", "/tags/new", "/jobs/", "/auth/profile"),
    "admin": ("/blogs/", "/blogs/new", "/tags/", "/jobs/", "/jobs/new", "/users/", "/users/new", "/audit/",
              "/auth/profile"),
}


@pytest.mark.parametrize("role", ["admin", "editor", "viewer", "anonymous"])
def test_every_page_a_role_reaches_renders_user_text_inert(seeded: Seeded, role: str) -> None:
    pages = crawled(seeded, role)
    paths = {unquote(urlsplit(url).path) for url, response in pages.items() if response.status_code == 200}
    assert set(ROLE_REACHES[role]) <= paths, f"not reached: {set(ROLE_REACHES[role]) - paths}"
    assert len(pages) < PAGE_LIMIT, "the crawl hit its page limit: raise it or narrow the link rules"
    assert _report(pages) == []
    if role == "anonymous":
        return
    # Detail, edit and confirmation pages of the hostile rows were reached through the lists' links.
    for blog_id in seeded.blog_ids:
        assert f"/blogs/{blog_id}" in paths
        if role != "viewer":
            assert f"/blogs/{blog_id}/edit" in paths and f"/blogs/{blog_id}/delete" in paths
    assert f"/jobs/{JOB_ID}" in paths
    if role == "admin":
        assert {f"/jobs/{JOB_ID}/edit", f"/jobs/{JOB_ID}/delete", f"/jobs/{JOB_ID}/runs"} <= paths
        assert all(f"/users/{i}/edit" in paths for i in seeded.user_ids.values())
    if role != "viewer":
        assert all(f"/tags/{i}/merge" in paths for i in seeded.tag_ids.values())


def test_pages_after_saving_a_form_quote_what_was_typed_inert(seeded: Seeded) -> None:
    """Saving a tag, a blog or a job flashes a message with its name: escaped like the rest."""
    assert set(seeded.flashed) == {"/tags/new", "/blogs/new", "/jobs/new"}
    expected = {"/tags/new": DOUBLE_QUOTE, "/blogs/new": BLOG_TITLES[2], "/jobs/new": TEMPLATE}
    for url, response in seeded.flashed.items():
        assert response.status_code == 200
        page = Page(response.get_data(as_text=True))
        alerts = [e.text for e in page.elements if "alert" in e.attrs.get("class", "").split()]
        assert any(expected[url] in alert for alert in alerts), (url, alerts)
        assert problems(url, response) == []


@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_hostile_text_shows_as_text_where_it_was_entered(seeded: Seeded, role: str) -> None:
    """The escaped markup reads back as exactly what was typed: escaped once, not twice, not dropped."""
    pages = crawled(seeded, role)

    def text(url: str) -> str:
        response = pages[url]
        assert response.status_code == 200, url
        return Page(response.get_data(as_text=True)).text

    blogs = text("/blogs/")
    assert all(title in blogs for title in BLOG_TITLES[:2])
    assert all(name in blogs for name in (IMG, TEMPLATE, DOUBLE_QUOTE))
    tags = text(f"/tags/?q={quote(IMG)}")
    assert IMG in tags and SCRIPT in tags  # the name and its description
    jobs = text(f"/jobs/?q={quote('zq1')}&state=paused")
    assert TEMPLATE in jobs and IMG in jobs  # the paused job's name and parameter
    detail = text(f"/blogs/{seeded.blog_ids[0]}")
    assert SCRIPT in detail and IMG in detail and TEMPLATE in detail  # Markdown shows raw HTML as text
    job = text(f"/jobs/{JOB_ID}")
    assert JOB_NAME in job and JOB_PARAMETER in job and RUN_ERROR in job
    profile = text("/auth/profile")
    assert ACCOUNTS[role][1] in profile and TOKEN_NAME in profile
    if role == "admin":
        users = text("/users/?q=zq1")
        assert all(email in users for _name, email in ACCOUNTS.values())
        audit = text(f"/audit/?q={quote(IMG)}")
        assert IMG in audit and TAG_DESCRIPTION in audit


def _options(html: str, select_name: str) -> list[tuple[str, str]]:
    """(value, text) of the options of the <select name=select_name> elements."""
    page = Page(html)
    return [(o.attrs.get("value", ""), o.text) for o in page.find("option")
            if (s := o.inside("select")) is not None and s.attrs.get("name") == select_name]


def _raw_options(html: str) -> list[str]:
    """The inner markup of every <option> element, as sent."""
    chunks = html.split("<option")[1:]
    return [chunk.split(">", 1)[1].split("</option>", 1)[0] for chunk in chunks]


ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"


def test_menus_list_hostile_tag_names_escaped(seeded: Seeded) -> None:
    """The blog filter's tag menu, the bulk tag menu and the merge menu: names escaped, as typed."""
    editor, viewer = seeded.clients["editor"], seeded.clients["viewer"]
    img_id, template_id = str(seeded.tag_ids[IMG]), str(seeded.tag_ids[TEMPLATE])
    for client, bulk in ((editor, True), (viewer, False), (editor, True)):
        html = fetch(client, "/blogs/").get_data(as_text=True)
        assert (img_id, IMG) in _options(html, "tag")
        assert (template_id, TEMPLATE) in _options(html, "tag")
        if bulk:
            assert (img_id, IMG) in _options(html, "tag_id")
            assert (template_id, TEMPLATE) in _options(html, "tag_id")
        assert sum(raw.strip() == ESCAPED_IMG for raw in _raw_options(html)) == (2 if bulk else 1)
        authors = [text for _value, text in _options(html, "author")]
        assert ACCOUNTS["editor"][0] in authors
        assert problems("/blogs/", fetch(client, "/blogs/")) == []
    merge = fetch(editor, f"/tags/{template_id}/merge").get_data(as_text=True)
    assert (img_id, IMG) in _options(merge, "target")
    assert any(raw.strip() == ESCAPED_IMG for raw in _raw_options(merge))
    # With a tag chosen, the chosen option is marked and still escaped.
    chosen = fetch(viewer, f"/blogs/?tag={img_id}").get_data(as_text=True)
    selected = [o for o in Page(chosen).find("option", value=img_id) if "selected" in o.attrs]
    assert [o.text for o in selected] == [IMG]


def test_downloads_carry_hostile_text_as_data(seeded: Seeded) -> None:
    """CSV and JSON give the exact text back, never evaluated; CSV cells that a spreadsheet
    would run as a formula are quoted (the exports guard against formula injection)."""
    admin = seeded.clients["admin"]
    blogs = json.loads(fetch(admin, "/blogs/export.json").get_data(as_text=True))
    assert {b["title"] for b in blogs} == set(BLOG_TITLES)
    assert {name for b in blogs for name in b["tags"]} == {IMG, TEMPLATE, DOUBLE_QUOTE, f"{SINGLE_QUOTE}!"}
    tags = json.loads(fetch(admin, "/tags/export.json").get_data(as_text=True))
    assert {t["name"] for t in tags} == set(seeded.tag_ids)
    assert {t["description"] for t in tags} == {TAG_DESCRIPTION}
    users = json.loads(fetch(admin, "/users/export.json").get_data(as_text=True))
    assert {u["email"] for u in users} == {email for _name, email in ACCOUNTS.values()}

    rows = list(csv.DictReader(io.StringIO(fetch(admin, "/tags/export.csv").get_data(as_text=True))))
    assert {r["name"] for r in rows} == set(seeded.tag_ids)
    assert {r["description"] for r in rows} == {"'" + TAG_DESCRIPTION}  # the formula is quoted
    rows = list(csv.DictReader(io.StringIO(fetch(admin, "/blogs/export.csv").get_data(as_text=True))))
    assert {r["title"] for r in rows} == set(BLOG_TITLES)
    for url in ("/blogs/export.csv", "/blogs/export.json", "/tags/export.csv", "/users/export.csv"):
        response = fetch(admin, url)
        assert response.mimetype in ("text/csv", "application/json")
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert EVALUATED not in response.get_data(as_text=True)


def test_the_api_returns_hostile_text_as_json_data(seeded: Seeded) -> None:
    """The API (with the browser session) hands back exactly what was stored, as JSON."""
    admin = seeded.clients["admin"]
    texts = set()
    urls = ["/api/v1/blogs", "/api/v1/tags", "/api/v1/users", "/api/v1/jobs", f"/api/v1/jobs/{JOB_ID}",
            f"/api/v1/jobs/{JOB_ID}/runs", "/scheduler/jobs"]
    urls += [f"/api/v1/blogs/{i}" for i in seeded.blog_ids]
    for url in urls:
        response = fetch(admin, url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.mimetype == "application/json", url
        texts.update(_json_strings(response.get_json()))
    expected = {*BLOG_TITLES, *seeded.tag_ids, TAG_DESCRIPTION, JOB_NAME, JOB_PARAMETER, BLOG_BODY,
                *(email for _name, email in ACCOUNTS.values())}
    assert expected <= texts, expected - texts
    assert not any(EVALUATED in t for t in texts)
