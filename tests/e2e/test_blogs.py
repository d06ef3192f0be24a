"""Blog and tag screens in a real browser: writing a blog with the tag picker and the
live preview, filtering and downloading the list, bulk publishing and deletion, merging and deleting
tags, and a clean console on every blog and tag page.

Each test gets a fresh empty database (``live_server``) and a fresh page. Accounts and
the blogs a test starts from are created through the service layer; everything the
test is about happens through the browser.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

from playwright.sync_api import ConsoleMessage, Error, Locator, Page, expect
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer
from webapp.extensions import db
from webapp.models import Blog, User
from webapp.services.blogs import BlogData, create_blog
from webapp.services.users import UserData, create_user_as_system

CSV_HEADER = ["id", "title", "slug", "status", "publish_at", "author", "tags", "created_at",
              "updated_at"]


# -- helpers -----------------------------------------------------------------


def create_accounts(server: LiveServer, *specs: tuple[str, str]) -> None:
    """Create ``(username, role)`` accounts with PASSWORD, as the CLI would."""
    with server.app.app_context():
        for username, role in specs:
            create_user_as_system(UserData(username=username, email=f"{username}@example.com",
                                           role=role, password=PASSWORD))


def create_blogs(server: LiveServer, author: str, blogs: Iterable[tuple[str, list[str]]]) -> list[int]:
    """Create ``(title, tag names)`` blogs written by ``author``; returns their ids."""
    with server.app.app_context():
        actor = db.session.scalar(select(User).where(User.username == author))
        assert actor is not None
        return [create_blog(BlogData(title=title, body=f"About {title}.", tags=tags), actor).id
                for title, tags in blogs]


def blog_statuses(server: LiveServer, ids: list[int]) -> list[str]:
    with server.app.app_context():
        statuses = [db.session.get(Blog, i).status for i in ids]
        db.session.remove()
        return statuses


def sign_in(page: Page, server: LiveServer, login: str) -> None:
    """Sign in through the form and wait for the overview page."""
    page.goto(f"{server.url}/auth/login")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")


def flash(page: Page) -> Locator:
    return page.locator("main > .alert")


def blog_rows(page: Page) -> Locator:
    return page.get_by_test_id("blog-row")


def tag_row(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="tag-row"][data-name="{name}"]')


# -- tests -------------------------------------------------------------------


def test_write_a_blog_with_a_new_tag_preview_publish_and_find_it(page: Page, live_server: LiveServer) -> None:
    """An editor writes and publishes a tagged blog, sees a safe preview, then finds it by tag."""
    create_accounts(live_server, ("editor", "editor"))
    create_blogs(live_server, "editor", [("Unrelated notes", ["misc"])])
    sign_in(page, live_server, "editor")

    page.goto(f"{live_server.url}/blogs/")
    page.get_by_role("link", name="New blog").click()
    expect(page).to_have_url(f"{live_server.url}/blogs/new")
    page.get_by_label("Title").fill("Launch day")

    tag_input = page.get_by_test_id("tag-input")
    tag_input.fill("fresh ideas")
    tag_input.press("Enter")
    expect(page.locator(".tag-chip")).to_have_count(1)
    expect(page.locator(".tag-chip")).to_have_text("fresh ideas")
    expect(tag_input).to_have_value("")
    expect(page).to_have_url(f"{live_server.url}/blogs/new")  # Enter did not submit the form

    page.get_by_label("Text (Markdown)").fill(
        "We are **bold** today.\n\n<script>document.title = 'pwned'</script>\n")
    preview = page.get_by_test_id("preview")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview.locator("script")).to_have_count(0)
    expect(preview).to_contain_text("<script>")  # shown as text, not run

    page.get_by_label("Status").select_option(label="Published")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/blogs/\d+$"))
    expect(flash(page)).to_contain_text("Blog “Launch day” created.")
    body = page.get_by_test_id("blog-body")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("script")).to_have_count(0)
    expect(page).not_to_have_title(re.compile("pwned"))
    expect(page.locator("main .badge", has_text="published")).to_be_visible()
    expect(page.locator("main .tag-badge")).to_have_text("fresh ideas")
    blog_url = page.url

    page.goto(f"{live_server.url}/blogs/")
    expect(blog_rows(page)).to_have_count(2)
    page.locator("#filter-tag").select_option(label="fresh ideas")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]tag=\d+"))
    expect(blog_rows(page)).to_have_count(1)
    row = blog_rows(page).first
    expect(row.get_by_role("link", name="Launch day")).to_have_attribute(
        "href", blog_url.removeprefix(live_server.url))
    expect(row.locator(".tag-badge")).to_have_text("fresh ideas")
    expect(row).to_contain_text("published")


def test_download_the_filtered_list_as_csv(page: Page, live_server: LiveServer) -> None:
    """The CSV link downloads exactly the blogs the filtered list shows, with a header row."""
    create_accounts(live_server, ("admin", "admin"))
    create_blogs(live_server, "admin", [("Zebra crossings", ["roads", "safety"]),
                                        ("Apple harvest", ["food"]), ("Pear season", ["food"])])
    sign_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/blogs/")
    expect(blog_rows(page)).to_have_count(3)
    page.locator("#q").fill("zebra")
    page.get_by_role("button", name="Filter").click()
    expect(blog_rows(page)).to_have_count(1)
    expect(blog_rows(page)).to_contain_text("Zebra crossings")

    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert re.fullmatch(r"blogs-\d{8}-\d{4}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))

    assert rows[0] == CSV_HEADER
    assert len(rows) == 2, rows
    record = dict(zip(CSV_HEADER, rows[1], strict=True))
    assert record["title"] == "Zebra crossings"
    assert record["slug"] == "zebra-crossings"
    assert record["author"] == "admin"
    assert record["status"] == "draft"
    assert record["tags"] == "roads, safety"


def test_bulk_delete_from_the_list(page: Page, live_server: LiveServer) -> None:
    """Ticking two blogs and applying Delete asks first, then deletes exactly those two."""
    create_accounts(live_server, ("editor", "editor"))
    create_blogs(live_server, "editor", [("First post", []), ("Second post", []), ("Third post", [])])
    sign_in(page, live_server, "editor")

    page.goto(f"{live_server.url}/blogs/")
    expect(blog_rows(page)).to_have_count(3)
    apply = page.get_by_role("button", name=re.compile(r"^Apply"))
    expect(apply).to_be_disabled()
    page.get_by_label("First post", exact=True).check()
    page.get_by_label("Third post", exact=True).check()
    expect(apply).to_contain_text("(2)")
    page.get_by_label("With selected").select_option(label="Delete")
    apply.click()

    expect(page.get_by_role("heading", name="Delete 2 blogs?")).to_be_visible()
    delete_list = page.get_by_test_id("delete-list").locator("li")
    expect(delete_list).to_have_count(2)
    for title in ("First post", "Third post"):
        expect(delete_list.filter(has_text=title)).to_have_count(1)
    page.get_by_role("button", name="Yes, delete").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/blogs/\??$"))
    expect(flash(page)).to_contain_text("2 blogs deleted.")
    expect(blog_rows(page)).to_have_count(1)
    expect(blog_rows(page)).to_contain_text("Second post")


def test_bulk_publish_asks_first_and_says_how_many(page: Page, live_server: LiveServer) -> None:
    """Select all and Apply: the menu starts blank, and Publish goes through a confirmation
    page that counts the drafts, starts on Cancel and is usable from the keyboard."""
    create_accounts(live_server, ("editor", "editor"))
    ids = create_blogs(live_server, "editor", [("Alpha", []), ("Beta", []), ("Gamma", [])])
    sign_in(page, live_server, "editor")

    page.goto(f"{live_server.url}/blogs/")
    menu = page.get_by_label("With selected")
    expect(menu).to_have_value("")
    expect(menu.locator("option:checked")).to_have_text("Choose an action…")
    page.get_by_label("Select all on this page").check()
    apply = page.get_by_role("button", name=re.compile(r"^Apply"))
    expect(apply).to_contain_text("(3)")
    apply.click()  # no action chosen: the browser does not send the form
    assert menu.evaluate("select => select.validity.valueMissing")
    expect(page).to_have_url(f"{live_server.url}/blogs/")

    menu.select_option(label="Publish")
    apply.click()
    expect(page.get_by_role("heading", name="Publish 3 blogs?")).to_be_visible()
    expect(page.get_by_test_id("bulk-list").locator("li")).to_have_count(3)
    expect(page.get_by_role("link", name="Cancel")).to_be_focused()
    assert blog_statuses(live_server, ids) == ["draft"] * 3  # nothing published yet

    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Yes, publish 3 blogs")).to_be_focused()
    page.keyboard.press("Enter")
    expect(flash(page)).to_contain_text("3 blogs published.")
    expect(blog_rows(page).filter(has_text="published")).to_have_count(3)
    assert blog_statuses(live_server, ids) == ["published"] * 3


def test_tag_screens_merge_and_delete(page: Page, live_server: LiveServer) -> None:
    """Merging moves a tag's blogs to the target; deleting says how many blogs lose the tag."""
    create_accounts(live_server, ("editor", "editor"))
    create_blogs(live_server, "editor", [("Both tags", ["python", "py"]), ("Short tag", ["py"]),
                                         ("Long tag", ["python"]), ("Other", ["rust"])])
    sign_in(page, live_server, "editor")

    page.goto(f"{live_server.url}/tags/")
    expect(page.get_by_test_id("tag-row")).to_have_count(3)
    expect(tag_row(page, "py").get_by_test_id("usage")).to_have_text("2")
    expect(tag_row(page, "python").get_by_test_id("usage")).to_have_text("2")

    tag_row(page, "py").get_by_role("link", name="Merge").click()
    expect(page).to_have_url(re.compile(r"/tags/\d+/merge$"))
    expect(page.get_by_text("2 blogs use this tag.")).to_be_visible()
    page.get_by_label("Merge into").select_option(label="python")
    page.get_by_role("button", name="Merge").click()

    expect(page).to_have_url(f"{live_server.url}/tags/")
    expect(flash(page)).to_contain_text("Merged “py” into “python”")
    expect(tag_row(page, "py")).to_have_count(0)
    expect(tag_row(page, "python").get_by_test_id("usage")).to_have_text("3")
    expect(page.get_by_test_id("tag-row")).to_have_count(2)

    tag_row(page, "python").get_by_role("link", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/tags/\d+/delete$"))
    expect(page.get_by_test_id("delete-usage")).to_contain_text(
        "3 blogs use this tag; they will lose the tag.")
    page.get_by_role("button", name="Yes, delete").click()

    expect(page).to_have_url(f"{live_server.url}/tags/")
    expect(flash(page)).to_contain_text("Tag “python” deleted.")
    expect(page.get_by_test_id("tag-row")).to_have_count(1)
    expect(tag_row(page, "rust").get_by_test_id("usage")).to_have_text("1")

    page.goto(f"{live_server.url}/blogs/")  # the blogs themselves are kept, untagged
    expect(blog_rows(page)).to_have_count(4)
    expect(page.locator('[data-testid="blog-row"] .tag-badge')).to_have_text(["rust"])


def test_blog_pages_log_no_console_errors(page: Page, live_server: LiveServer) -> None:
    """List, new, edit, detail and tag pages (with their scripts in use) log no error."""
    create_accounts(live_server, ("admin", "admin"))
    (blog_id,) = create_blogs(live_server, "admin", [("Console check", ["alpha", "beta"])])
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console on {page.url}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error on {page.url}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    sign_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/blogs/")
    expect(blog_rows(page)).to_have_count(1)
    page.get_by_label("Select all on this page").check()  # app.js selection
    expect(page.get_by_role("button", name=re.compile(r"^Apply"))).to_contain_text("(1)")
    page.locator("#filter-status").select_option("draft")
    page.get_by_role("button", name="Filter").click()  # filters apply on the button, not on change
    expect(page).to_have_url(re.compile(r"status=draft"))
    expect(blog_rows(page)).to_have_count(1)

    page.goto(f"{live_server.url}/blogs/new")
    page.get_by_label("Text (Markdown)").fill("# Heading")  # preview fetch
    expect(page.get_by_test_id("preview").locator("h1")).to_have_text("Heading")
    page.get_by_test_id("tag-input").fill("gamma")
    page.get_by_test_id("tag-input").press("Enter")
    expect(page.locator(".tag-chip")).to_have_count(1)

    page.goto(f"{live_server.url}/blogs/{blog_id}/edit")
    expect(page.locator(".tag-chip")).to_have_count(2)  # existing tags become chips
    expect(page.get_by_test_id("preview")).to_contain_text("About Console check.")  # initial preview
    page.get_by_role("button", name="Remove alpha").click()
    expect(page.locator(".tag-chip")).to_have_count(1)

    page.goto(f"{live_server.url}/blogs/{blog_id}")
    expect(page.get_by_test_id("blog-body")).to_contain_text("About Console check.")
    page.goto(f"{live_server.url}/tags/")
    expect(page.get_by_test_id("tag-row")).to_have_count(2)
    tag_row(page, "alpha").get_by_role("link", name="Merge").click()
    expect(page.get_by_label("Merge into")).to_be_visible()
    page.wait_for_load_state("load")

    assert problems == [], "\n".join(problems)


def test_markdown_tables_have_borders(page: Page, live_server: LiveServer) -> None:
    """A table in a blog's text is drawn with cell borders, as a reader expects."""
    create_accounts(live_server, ("tabler", "editor"))
    with live_server.app.app_context():
        actor = db.session.scalar(select(User).where(User.username == "tabler"))
        blog_id = create_blog(BlogData(title="Table", body="| a | b |\n|---|---|\n| 1 | 2 |"), actor).id
    sign_in(page, live_server, "tabler")
    page.goto(f"{live_server.url}/blogs/{blog_id}")
    cell = page.get_by_test_id("blog-body").locator("td").first
    expect(cell).to_have_text("1")
    assert cell.evaluate("td => getComputedStyle(td).borderTopStyle") == "solid"
    assert cell.evaluate("td => parseFloat(getComputedStyle(td).borderTopWidth)") >= 1


def test_bulk_publish_of_all_matching_blogs_across_pages(page: Page, live_server: LiveServer) -> None:
    """Tick the page, choose "all N matching", confirm with the count: every matching blog
    on every page changes, and the ones the filter leaves out do not."""
    create_accounts(live_server, ("bulker", "editor"))
    matching = create_blogs(live_server, "bulker", [(f"Match {n:02d}", []) for n in range(25)])
    other = create_blogs(live_server, "bulker", [("Elsewhere", [])])
    sign_in(page, live_server, "bulker")
    page.goto(f"{live_server.url}/blogs/?q=Match")
    expect(blog_rows(page)).to_have_count(20)
    offer = page.locator("[data-all-matching]")
    expect(offer).to_be_hidden()
    page.get_by_label("Select all on this page").check()
    expect(offer).to_be_visible()
    apply = page.get_by_role("button", name=re.compile(r"^Apply"))
    expect(apply).to_contain_text("(20)")
    page.get_by_role("button", name="Select all 25 matching rows").click()
    expect(apply).to_contain_text("(25)")
    page.get_by_label("With selected").select_option(label="Publish")
    apply.click()

    expect(page.get_by_role("heading", name="Publish 25 blogs?")).to_be_visible()
    expect(page.get_by_test_id("bulk-list").locator("li")).to_have_count(25)
    assert blog_statuses(live_server, matching) == ["draft"] * 25  # nothing before the confirmation
    page.get_by_role("button", name="Yes, publish 25 blogs").click()
    expect(flash(page)).to_contain_text("25 blogs published.")
    assert blog_statuses(live_server, matching) == ["published"] * 25
    assert blog_statuses(live_server, other) == ["draft"]
