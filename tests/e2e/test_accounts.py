"""Account screens in a real browser: first-run setup, user management, signing in
and out, the theme menu, bulk actions, and a clean console under the strict CSP.

Each test gets a fresh empty database (``live_server``) and a fresh page. Accounts a
test needs up front are created directly through the service layer; everything the
test is about happens through the browser.
"""

from __future__ import annotations

import re

from playwright.sync_api import ConsoleMessage, Error, Locator, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer
from webapp.services.users import UserData, create_user_as_system

INVALID_CREDENTIALS = "Invalid username, email or password."


# -- helpers -----------------------------------------------------------------


def create_accounts(server: LiveServer, *specs: tuple[str, str]) -> None:
    """Create ``(username, role)`` accounts with PASSWORD, as the CLI would."""
    with server.app.app_context():
        for username, role in specs:
            create_user_as_system(UserData(username=username, email=f"{username}@example.com",
                                           role=role, password=PASSWORD))


def sign_in(page: Page, server: LiveServer, login: str, password: str = PASSWORD) -> None:
    """Fill in and submit the sign-in form."""
    page.goto(f"{server.url}/auth/login")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def user_row(page: Page, username: str) -> Locator:
    return page.locator(f'[data-testid="user-row"][data-username="{username}"]')


def flash(page: Page) -> Locator:
    return page.locator("main > .alert")


# -- tests -------------------------------------------------------------------


def test_first_run_setup_then_manage_a_user(page: Page, live_server: LiveServer) -> None:
    """A new install walks the admin from setup through creating, editing and deleting a user."""
    page.goto(live_server.url)
    expect(page).to_have_url(f"{live_server.url}/auth/setup")
    expect(page.get_by_role("heading", name="Set up the console")).to_be_visible()

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(flash(page)).to_contain_text("Welcome, admin. The console is ready.")
    expect(page.get_by_test_id("current-user")).to_contain_text("admin")

    # Create a user; the first attempt has a bad email address.
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="New user").click()
    expect(page).to_have_url(f"{live_server.url}/users/new")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Save", exact=True).click()

    email = page.get_by_label("Email")
    expect(email).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(email).to_have_attribute("aria-invalid", "true")
    error = page.locator("#email-error.invalid-feedback")
    expect(error).to_be_visible()
    expect(error).to_have_text("Enter a valid email address.")
    expect(page.locator(".invalid-feedback")).to_have_count(1)  # only beside the email
    expect(page.get_by_label("Username")).to_have_value("bob")  # the rest is kept

    email.fill("bob@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)  # passwords are not echoed back
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/users/")
    expect(flash(page)).to_contain_text("User bob created.")
    bob = user_row(page, "bob")
    expect(bob).to_contain_text("bob@example.com")
    expect(bob.locator(".badge")).to_have_text("viewer")

    # Edit: make bob an editor.
    bob.get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(r"/users/\d+/edit$"))
    expect(page.get_by_label("Username")).to_have_value("bob")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/users/")
    expect(flash(page)).to_contain_text("User bob saved.")
    expect(bob.locator(".badge")).to_have_text("editor")

    # Delete, through the confirmation page.
    bob.get_by_role("link", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/users/\d+/delete$"))
    expect(page.get_by_test_id("delete-list")).to_contain_text("bob@example.com")
    page.get_by_role("button", name="Yes, delete").click()
    expect(page).to_have_url(f"{live_server.url}/users/")
    expect(flash(page)).to_contain_text("User bob deleted.")
    expect(bob).to_have_count(0)
    expect(page.get_by_test_id("user-row")).to_have_count(1)  # only the admin is left

    # Sign out, then back in.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/auth/login")
    expect(flash(page)).to_contain_text("You have been signed out.")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    sign_in(page, live_server, "admin")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_text("Signed in as admin (administrator).")).to_be_visible()


def test_wrong_password_shows_the_generic_message(page: Page, live_server: LiveServer) -> None:
    """A wrong password and an unknown username get the same message, revealing nothing."""
    create_accounts(live_server, ("admin", "admin"))
    errors = page.get_by_test_id("form-errors")

    sign_in(page, live_server, "admin", "not the password")
    expect(page).to_have_url(f"{live_server.url}/auth/login")
    expect(errors).to_have_text(INVALID_CREDENTIALS)
    expect(page.get_by_label("Username or email")).to_have_value("admin")
    wrong_password_message = errors.inner_text()

    sign_in(page, live_server, "nobody", "not the password")
    expect(errors).to_have_text(INVALID_CREDENTIALS)
    assert errors.inner_text() == wrong_password_message
    expect(page.get_by_test_id("current-user")).to_have_count(0)  # still signed out


def test_theme_choice_survives_a_reload(page: Page, live_server: LiveServer) -> None:
    """The theme chosen in the menu is stored and applied again after a reload."""
    create_accounts(live_server, ("admin", "admin"))
    sign_in(page, live_server, "admin")
    expect(page).to_have_url(f"{live_server.url}/")
    html = page.locator("html")

    for choice in ("dark", "light"):
        page.locator("#theme-menu").click()
        page.locator(f'[data-theme-value="{choice}"]').click()
        expect(html).to_have_attribute("data-bs-theme", choice)
        assert page.evaluate("localStorage.getItem('webapp.theme')") == choice

        page.reload()
        expect(html).to_have_attribute("data-bs-theme", choice)
        expect(page.locator(f'[data-theme-value="{choice}"]')).to_have_attribute("aria-pressed", "true")


def test_bulk_deactivate_selected_users(page: Page, live_server: LiveServer) -> None:
    """Selecting two rows and applying "Deactivate" asks first, then deactivates exactly those two."""
    create_accounts(live_server, ("admin", "admin"), ("alice", "viewer"),
                    ("bob", "editor"), ("carol", "viewer"))
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/users/")
    expect(page.get_by_test_id("user-row")).to_have_count(4)

    apply = page.get_by_role("button", name=re.compile(r"^Apply"))
    expect(apply).to_be_disabled()  # nothing selected yet
    page.get_by_label("Select alice").check()
    page.get_by_label("Select bob").check()
    expect(apply).to_contain_text("(2)")
    page.get_by_label("With selected").select_option(label="Deactivate")
    apply.click()

    expect(page.get_by_role("heading", name="Deactivate 2 users?")).to_be_visible()
    page.get_by_role("button", name="Yes, deactivate 2 users").click()
    expect(flash(page)).to_contain_text("2 users updated.")
    active_cell = {name: user_row(page, name).locator("td").nth(4)
                   for name in ("admin", "alice", "bob", "carol")}
    expect(active_cell["alice"]).to_have_text("no")
    expect(active_cell["bob"]).to_have_text("no")
    expect(active_cell["carol"]).to_have_text("yes")
    expect(active_cell["admin"]).to_have_text("yes")


def test_pages_log_no_console_errors_or_csp_violations(page: Page, live_server: LiveServer) -> None:
    """Setup, login, user list and edit pages run under the strict CSP without any error."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console on {page.url}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error on {page.url}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)

    page.goto(f"{live_server.url}/auth/setup")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/users/")
    expect(page.get_by_test_id("user-row")).to_have_count(1)
    # app.js: the only row is your own, which is never selectable, so "select all" is off.
    expect(page.get_by_label("Select all on this page")).to_be_disabled()
    page.locator("#theme-menu").click()  # exercises Bootstrap's dropdown
    page.locator('[data-theme-value="dark"]').click()
    user_row(page, "admin").get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(r"/users/\d+/edit$"))
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="New user").click()
    expect(page).to_have_url(f"{live_server.url}/users/new")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/auth/login")
    sign_in(page, live_server, "admin", "wrong password")  # the login page with an error
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    page.wait_for_load_state("load")

    assert problems == [], "\n".join(problems)

