"""The console's pages for the browser tests that visit every page (accessibility,
phones): how to reach each one in the seeded console (``seeded_console``), and a
browser context in a chosen theme."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import SeededConsole

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def themed_context(browser: Browser, theme: str, axe: bool = False, **options: object) -> BrowserContext:
    """A context whose pages start in ``theme`` (as chosen in the theme menu), with
    axe-core loaded in every page when ``axe`` (an init script: the page's CSP holds)."""
    context = browser.new_context(reduced_motion="reduce", **options)  # type: ignore[arg-type]
    context.add_init_script(f"localStorage.setItem('webapp.theme', {theme!r});")
    if axe:
        context.add_init_script(path=AXE)
    return context


def sign_in(page: Page, console: SeededConsole) -> None:
    """Sign in as the seeded console's administrator."""
    page.goto(f"{console.url}/auth/login")
    page.get_by_label("Username or email").fill(console.admin)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("current-user")).to_be_attached()  # folded away on a phone


# -- the pages -----------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """How to bring a page to the state checked: a path, then optional steps."""

    path: str
    steps: Callable[[Page], None] | None = None

    def open(self, page: Page, console: SeededConsole) -> None:
        page.goto(console.url + self.path.format(**console.ids))
        if self.steps:
            self.steps(page)
            # A step that submits a form shows the new page's elements as soon as they are
            # parsed; its stylesheets may still be loading (under load, app.css's colours
            # arrived after axe had read Bootstrap's): check the page once it has loaded.
            page.wait_for_load_state("load")


def wait_for_monitor(page: Page) -> None:
    """The first sample and the process list have been drawn."""
    page.wait_for_function("() => document.querySelector('[data-testid=last-sample]').dataset.seq !== ''")
    first_process = page.locator('[data-testid="processes"] tbody tr td').first
    expect(first_process).not_to_have_text("No process data yet.")


def wait_for_swagger(page: Page) -> None:
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()


def submit_empty_user_form(page: Page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()


def confirm_bulk(list_label: str, row_label: str, action: str) -> Callable[[Page], None]:
    """Tick one row, choose ``action`` in the bulk menu and Apply: the confirmation page."""
    def steps(page: Page) -> None:
        page.get_by_label(row_label, exact=True).check()
        page.get_by_label(list_label).select_option(label=action)
        page.get_by_role("button", name=re.compile(r"^Apply")).click()
        expect(page.get_by_test_id("bulk-confirm")).to_be_visible()
    return steps


def create_a_token(page: Page) -> None:
    page.get_by_label("Token name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("new-token")).to_be_visible()


def suggest_tags(page: Page) -> None:
    page.get_by_test_id("tag-input").focus()
    page.keyboard.type("e")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("listbox")).to_be_visible()


def open_theme_menu(page: Page) -> None:
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():  # a phone: the navigation is folded away
        toggler.click()
    page.locator("#theme-menu").click()
    expect(page.locator('[data-theme-value="dark"]')).to_be_visible()


PAGES = {
    "overview": Visit("/"),
    "overview-theme-menu": Visit("/", open_theme_menu),
    "users": Visit("/users/"),
    "users-filtered": Visit("/users/?q=a&role=viewer&sort=-email"),
    "user-new": Visit("/users/new"),
    "user-new-errors": Visit("/users/new", submit_empty_user_form),
    "user-edit": Visit("/users/{editor}/edit"),
    "user-delete": Visit("/users/{editor}/delete"),
    "users-bulk-confirm": Visit("/users/", confirm_bulk("With selected", "Select grace", "Deactivate")),
    "blogs": Visit("/blogs/"),
    "blogs-filtered": Visit("/blogs/?status=published&sort=title"),
    "blog-detail": Visit("/blogs/{blog}"),
    "blog-new": Visit("/blogs/new"),
    "blog-new-tag-suggestions": Visit("/blogs/new", suggest_tags),
    "blog-edit": Visit("/blogs/{blog}/edit"),
    "blog-delete": Visit("/blogs/{blog}/delete"),
    "blogs-bulk-confirm": Visit("/blogs/", confirm_bulk("With selected", "Black and white", "Publish")),
    "tags": Visit("/tags/"),
    "tag-new": Visit("/tags/new"),
    "tag-edit": Visit("/tags/{tag}/edit"),
    "tag-merge": Visit("/tags/{tag}/merge"),
    "tag-delete": Visit("/tags/{tag}/delete"),
    "monitor": Visit("/monitor/", wait_for_monitor),
    "jobs": Visit("/jobs/"),
    "job-new": Visit("/jobs/new"),
    "job-detail": Visit("/jobs/{job}"),
    "job-edit": Visit("/jobs/{job}/edit"),
    "job-delete": Visit("/jobs/{job}/delete"),
    "job-history": Visit("/jobs/history"),
    "audit": Visit("/audit/"),
    "profile": Visit("/auth/profile"),
    "profile-new-token": Visit("/auth/profile", create_a_token),
    "api-docs": Visit("/api/v1/docs", wait_for_swagger),
    "not-found": Visit("/no-such-page"),
}
