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


def test_a_keyboard_only_walk_writes_a_blog_with_two_tags_and_deletes_it(
        page: Page, seeded_console: SeededConsole) -> None:
    """From the overview to a saved blog tagged with an existing tag (taken from the
    picker's suggestions with the arrow keys) and a new one, then deleted after the
    confirmation page, which starts on Cancel."""
    sign_in_by_keyboard(page, seeded_console)
    tab_to(page, page.get_by_role("link", name="Blogs", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{seeded_console.url}/blogs/")
    tab_to(page, page.get_by_role("link", name="New blog"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{seeded_console.url}/blogs/new")

    expect(page.get_by_label("Title")).to_be_focused()
    page.keyboard.type("Written by keyboard")
    page.keyboard.press("Tab")
    page.keyboard.type("No *mouse* was harmed.")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Status")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Status")).to_have_value("published")

    picker = page.get_by_test_id("tag-input")
    tab_to(page, picker)
    page.keyboard.type("gr")  # suggests "grey" (and nothing else of the seeded tags)
    expect(picker).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("option", name="grey")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    page.keyboard.type("no mouse")
    page.keyboard.press("Enter")
    page.keyboard.type("typo,")
    chips = page.locator(".tag-chip")
    expect(chips).to_have_text(["grey", "no mouse", "typo"])
    tab_to(page, page.get_by_role("button", name="Remove typo"), backwards=True)
    page.keyboard.press("Space")
    expect(chips).to_have_text(["grey", "no mouse"])
    expect(picker).to_be_focused()  # back where the typing goes
    expect(page).to_have_url(f"{seeded_console.url}/blogs/new")  # Enter in the picker did not submit

    tab_to(page, page.get_by_role("button", name="Save", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/blogs/\d+$"))
    expect(page.get_by_role("heading", name="Written by keyboard")).to_be_visible()
    expect(page.locator("main .tag-badge")).to_have_text(["grey", "no mouse"])
    expect(page.get_by_test_id("blog-body").locator("em")).to_have_text("mouse")

    tab_to(page, page.get_by_role("link", name="Delete"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Delete 1 blog?")).to_be_visible()
    expect(page.get_by_role("link", name="Cancel")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Yes, delete")).to_be_focused()
    page.keyboard.press("Space")
    expect(page).to_have_url(f"{seeded_console.url}/blogs/")
    expect(page.locator("main > .alert")).to_contain_text("Written by keyboard")
    expect(page.get_by_role("link", name="Written by keyboard")).to_have_count(0)


def test_a_keyboard_only_walk_adds_a_job_with_a_cron_trigger(
        page: Page, seeded_console: SeededConsole) -> None:
    """The Add-job form by keyboard alone: id and name typed, the task chosen with the
    arrow keys, the cron trigger picked in its radio group, the preview shown, saved."""
    sign_in_by_keyboard(page, seeded_console)
    page.goto(f"{seeded_console.url}/jobs/new")
    expect(page.get_by_label("Job id")).to_be_focused()  # the form starts where the typing goes
    page.keyboard.type("by-keyboard")
    tab_to(page, page.get_by_label("Name", exact=True))
    page.keyboard.type("By keyboard")
    task = page.get_by_label("Task")
    tab_to(page, task)
    for _ in range(10):  # arrow down to the greeting task, whatever the menu's order
        if task.input_value() == "log_message":
            break
        page.keyboard.press("ArrowDown")
    expect(task).to_have_value("log_message")
    tab_to(page, page.locator("#kw-log_message-name"))
    page.keyboard.type("keyboard users")
    cron = page.get_by_role("radio", name="Cron")
    tab_to(page, page.get_by_role("radiogroup").get_by_role("radio").and_(page.locator(":checked")))
    for _ in range(4):  # arrow keys move within the radio group
        if cron.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(cron).to_be_checked()
    tab_to(page, page.get_by_label("Crontab line"))
    page.keyboard.type("15 4 * * *")
    expect(page.get_by_test_id("fire-times").locator("li")).to_have_count(5)  # the preview, live
    tab_to(page, page.get_by_role("button", name="Add job", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/jobs/by-keyboard$"))
    expect(page.get_by_role("heading", name=re.compile("By keyboard"))).to_be_visible()
