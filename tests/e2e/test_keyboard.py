"""The console by keyboard alone: filter menus that wait for the Filter button, and a
walk that writes a blog with two tags in the tag picker and deletes it after confirming.

Everything a test does in the page goes through ``page.keyboard`` (Tab, Shift+Tab,
Enter, Space, arrow keys, typing); ``page.goto`` opens the first page and
``evaluate`` only reads.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import SeededConsole

MAX_TABS = 80


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, target: Locator, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``target`` has the focus."""
    for _ in range(MAX_TABS):
        if target.count() == 1 and is_focused(target):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {target}")


def sign_in_by_keyboard(page: Page, console: SeededConsole) -> None:
    page.goto(f"{console.url}/auth/login")
    tab_to(page, page.get_by_label("Username or email"))
    page.keyboard.type(console.admin)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("current-user")).to_be_visible()


def test_an_arrow_key_in_a_filter_menu_changes_it_and_only_the_filter_button_applies(
        page: Page, seeded_console: SeededConsole) -> None:
    """WCAG 3.2.2: choosing in a menu changes nothing else until the form is submitted."""
    sign_in_by_keyboard(page, seeded_console)
    page.goto(f"{seeded_console.url}/blogs/")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    status = page.locator("#filter-status")
    tab_to(page, status)
    page.keyboard.press("ArrowDown")
    expect(status).to_have_value("draft")
    page.keyboard.press("ArrowDown")
    expect(status).to_have_value("published")
    per_page = page.locator("#per_page")
    tab_to(page, per_page)
    page.keyboard.press("ArrowDown")
    expect(per_page).to_have_value("50")
    # A round trip to the server: a submit the menus had started would have navigated by now.
    assert page.evaluate("() => fetch('/healthz').then(response => response.status)") == 200
    assert navigations == [] and page.url == f"{seeded_console.url}/blogs/"

    tab_to(page, page.get_by_role("button", name="Filter"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"status=published"))
    expect(page).to_have_url(re.compile(r"per_page=50"))
    expect(page.locator("#filter-status")).to_have_value("published")
