"""Signing out in a real browser: the saved cookies of a signed-out browser open nothing."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.test_accounts import create_accounts, sign_in


def test_sign_out_everywhere_signs_out_the_other_browser(page: Page, browser: Browser,
                                                         live_server: LiveServer) -> None:
    create_accounts(live_server, ("admin", "admin"))
    other = browser.new_context()
    try:
        laptop = other.new_page()
        sign_in(laptop, live_server, "admin")
        expect(laptop.get_by_role("button", name="Sign out")).to_be_visible()

        sign_in(page, live_server, "admin")
        page.goto(f"{live_server.url}/auth/profile")
        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page).to_have_url(f"{live_server.url}/auth/login")
        expect(page.get_by_text("You have been signed out everywhere.")).to_be_visible()

        laptop.goto(f"{live_server.url}/users/")
        expect(laptop).to_have_url(f"{live_server.url}/auth/login?next=%2Fusers%2F")
    finally:
        other.close()


def test_a_copied_session_cookie_is_dead_after_sign_out(page: Page, browser: Browser,
                                                        live_server: LiveServer) -> None:
    create_accounts(live_server, ("admin", "admin"))
    sign_in(page, live_server, "admin")
    saved = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/auth/login")

    thief = browser.new_context()
    try:
        thief.add_cookies(saved)  # type: ignore[arg-type]
        stolen = thief.new_page()
        stolen.goto(f"{live_server.url}/")
        expect(stolen).to_have_url(f"{live_server.url}/auth/login?next=%2F")
    finally:
        thief.close()
