"""Switching the language in a real browser: by keyboard alone, kept across sign-in, and the
page scripts' words in the chosen language."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer
from tests.e2e.test_accounts import create_accounts


def choose_language(page: Page, name: str) -> None:
    """Open the language menu and press the language called ``name``, by keyboard only."""
    page.get_by_test_id("language-menu").focus()
    page.keyboard.press("Enter")
    item = page.get_by_role("button", name=name, exact=True)
    expect(item).to_be_visible()
    for _step in range(3):  # the menu's items, in order, with the arrow keys
        if item.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press("ArrowDown")
    expect(item).to_be_focused()
    page.keyboard.press("Enter")


def test_a_visitor_chooses_chinese_by_keyboard_and_keeps_it_after_signing_in(
        page: Page, live_server: LiveServer) -> None:
    create_accounts(live_server, ("admin", "admin"))
    page.goto(f"{live_server.url}/auth/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    choose_language(page, "中文 (简体, 中国)")
    expect(page).to_have_url(f"{live_server.url}/auth/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_label("用户名或电子邮箱").fill("admin")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("link", name="博客", exact=True)).to_be_visible()

    page.goto(f"{live_server.url}/blogs/new")
    page.get_by_test_id("tag-input").fill("alpha")
    page.get_by_test_id("tag-input").press("Enter")
    expect(page.get_by_role("button", name="移除 alpha")).to_be_visible()  # blog_form.js's words

    choose_language(page, "English")
    expect(page).to_have_url(f"{live_server.url}/blogs/new")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("navigation").get_by_role("link", name="Blogs", exact=True)).to_be_visible()
