"""Every page on a phone (390 x 844 CSS pixels, as an iPhone 12 to 15): nothing scrolls
sideways, wide tables scroll inside their own box with every row action reachable, and
the list filters fold away behind a button so the list starts on the first screen.

One phone-sized browser context for the module, signed in to the seeded console.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import SeededConsole
from tests.e2e.pages import PAGES, sign_in, themed_context

PHONE = {"width": 390, "height": 844}

WIDTHS = """() => ({
    document: document.documentElement.scrollWidth, viewport: window.innerWidth,
    widest: [...document.querySelectorAll("body *")]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .slice(0, 5).map(e => e.outerHTML.slice(0, 100)),
})"""


@pytest.fixture(scope="module")
def phone(browser: Browser, seeded_console: SeededConsole) -> Iterator[Page]:
    """A page on a phone-sized touch screen, signed in as the seeded administrator."""
    context = themed_context(browser, "light", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, seeded_console)
    yield page
    context.close()


def assert_no_sideways_scrolling(page: Page) -> None:
    widths = page.evaluate(WIDTHS)
    assert widths["viewport"] == PHONE["width"]
    assert widths["document"] <= widths["viewport"], f"{page.url}: {widths}"


@pytest.mark.parametrize("name", PAGES)
def test_no_page_is_wider_than_the_phone(phone: Page, seeded_console: SeededConsole, name: str) -> None:
    PAGES[name].open(phone, seeded_console)
    assert_no_sideways_scrolling(phone)


def test_the_sign_in_page_is_no_wider_than_the_phone(browser: Browser, seeded_console: SeededConsole) -> None:
    context = themed_context(browser, "light", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{seeded_console.url}/auth/login")
    assert_no_sideways_scrolling(page)
    context.close()


def assert_reachable(page: Page, action: Locator) -> None:
    """The control scrolls into view (inside its table's box) and lies wholly on screen."""
    action.scroll_into_view_if_needed()
    expect(action).to_be_visible()
    expect(action).to_be_in_viewport(ratio=0.95)  # the box scrolls by whole pixels
    box = action.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box


@pytest.mark.parametrize("path,row,actions", [
    ("/users/", '[data-testid="user-row"][data-username="ada"]', ["Edit", "Delete"]),
    ("/tags/", '[data-testid="tag-row"][data-name="grey"]', ["Edit", "Merge", "Delete"]),
    ("/jobs/", '[data-testid="job-row"][data-job-id="nightly"]', ["Pause", "Run now", "Edit", "Delete"]),
])
def test_every_row_action_can_be_reached(phone: Page, seeded_console: SeededConsole, path: str, row: str,
                                         actions: list[str]) -> None:
    phone.goto(seeded_console.url + path)
    cells = phone.locator(row)
    for name in actions:
        action = cells.get_by_role("link", name=name, exact=True).or_(
            cells.get_by_role("button", name=name, exact=True))
        assert_reachable(phone, action)
    assert_no_sideways_scrolling(phone)  # scrolling the table box did not move the page


def test_edit_on_the_user_list_opens_the_form(phone: Page, seeded_console: SeededConsole) -> None:
    phone.goto(f"{seeded_console.url}/users/")
    edit = phone.locator('[data-testid="user-row"][data-username="grace"]').get_by_role("link", name="Edit")
    assert_reachable(phone, edit)
    edit.tap()
    expect(phone).to_have_url(re.compile(r"/users/\d+/edit$"))
    expect(phone.get_by_label("Username")).to_have_value("grace")


def test_the_blog_filters_fold_away_until_asked_for(phone: Page, seeded_console: SeededConsole) -> None:
    """The list starts on the first screen; the Filters button (a keyboard can press it
    too) opens the filters, and a filtered list says its filters are in use."""
    phone.goto(f"{seeded_console.url}/blogs/")
    filters = phone.get_by_test_id("list-filters")
    toggle = phone.get_by_role("button", name="Filters", exact=True)
    expect(filters).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    first_row = phone.get_by_test_id("blog-row").first
    box = first_row.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box  # no scrolling needed

    toggle.focus()
    phone.keyboard.press("Enter")
    expect(filters).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    phone.get_by_label("Status").select_option("draft")
    phone.get_by_role("button", name="Filter", exact=True).tap()
    expect(phone).to_have_url(re.compile(r"status=draft"))
    expect(phone.get_by_test_id("blog-row")).to_have_count(2)
    expect(phone.get_by_test_id("list-filters")).to_be_hidden()
    expect(phone.get_by_role("button", name=re.compile(r"^Filters"))).to_contain_text("in use")
    assert_no_sideways_scrolling(phone)
