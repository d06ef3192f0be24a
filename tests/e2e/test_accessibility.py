"""axe-core on every page of every area, in the light and the dark theme.

axe-core (tests/e2e/vendor/axe-core, from the npm registry) is added to each page by
the browser context as an init script, so the pages keep their strict CSP. Every page
is checked as an administrator of a console with data in every list (users, blogs with
tags from black to white, a job with runs, audit entries), plus the pages a visitor
sees signed out. A violation of impact "serious" or "critical" fails the page.

One browser context per theme, signed in once, and one seeded server for the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SEEDED_TAG_COLOURS, LiveServer, SeededConsole
from tests.e2e.pages import PAGES, sign_in, themed_context

THEMES = ("light", "dark")
BLOCKING = ("serious", "critical")

RUN_AXE = """async () => {
    const results = await window.axe.run(document, {resultTypes: ["violations"]});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
    }));
}"""


# -- contexts ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=THEMES)
def admin_page(request: pytest.FixtureRequest, browser: Browser,
               seeded_console: SeededConsole) -> Iterator[Page]:
    """A page signed in as the seeded administrator, in one theme (the fixture's param)."""
    context = themed_context(browser, request.param, axe=True)
    page = context.new_page()
    sign_in(page, seeded_console)
    expect(page.locator("html")).to_have_attribute("data-bs-theme", request.param)
    yield page
    context.close()


# -- checking ------------------------------------------------------------------------


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe violations of the page as it is now."""
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:8]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}  {summary[:220]}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    violations = blocking_violations(page)
    assert violations == [], f"{page.url}\n{describe(violations)}"


# -- the pages -----------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_signed_in_pages_have_no_serious_violations(admin_page: Page, seeded_console: SeededConsole,
                                                    name: str) -> None:
    PAGES[name].open(admin_page, seeded_console)
    assert_accessible(admin_page)


@pytest.mark.parametrize("theme", THEMES)
def test_signed_out_pages_have_no_serious_violations(browser: Browser, seeded_console: SeededConsole,
                                                     theme: str) -> None:
    """The sign-in page, as it opens and after a failed attempt, and an error page."""
    context = themed_context(browser, theme, axe=True)
    page = context.new_page()
    page.goto(f"{seeded_console.url}/auth/login")
    assert_accessible(page)
    page.get_by_label("Username or email").fill("root")
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{seeded_console.url}/no-such-page")
    assert_accessible(page)
    context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_the_setup_page_has_no_serious_violations(browser: Browser, live_server: LiveServer,
                                                  theme: str) -> None:
    """The first-run page of an empty console."""
    context = themed_context(browser, theme, axe=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/auth/setup")
    expect(page.get_by_role("button", name="Create administrator")).to_be_visible()
    assert_accessible(page)
    context.close()


# -- tag badges ----------------------------------------------------------------------


BADGE_COLOURS = """() => {
    const page = getComputedStyle(document.body).backgroundColor;
    return [...document.querySelectorAll("main .tag-badge")].map(badge => {
        const style = getComputedStyle(badge);
        return {name: badge.textContent.trim(), text: style.color, background: style.backgroundColor,
                border: style.borderTopColor, borderWidth: parseFloat(style.borderTopWidth),
                clip: style.backgroundClip, page: page};
    });
}"""


Colour = tuple[float, ...]  # red, green, blue (0-255) and alpha (0-1)


def parse_colour(css: str) -> Colour:
    """``rgb(r, g, b)`` or ``rgba(r, g, b, a)`` as numbers."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    return (numbers[0], numbers[1], numbers[2], numbers[3] if len(numbers) > 3 else 1.0)


def over(colour: Colour, under: Colour) -> Colour:
    """``colour`` composited over an opaque ``under``."""
    alpha = colour[3]
    return (*(alpha * c + (1 - alpha) * u for c, u in zip(colour[:3], under[:3], strict=True)), 1.0)


def luminance(colour: Colour) -> float:
    """WCAG relative luminance of an opaque sRGB colour."""
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(c) for c in colour[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: Colour, two: Colour) -> float:
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_tag_badges_are_readable_and_stand_out_from_the_page(admin_page: Page,
                                                            seeded_console: SeededConsole) -> None:
    """Text at 4.5:1 or more on every tag colour, and every badge visible against the page
    (3:1, by its colour or by its border): a black tag in the dark theme, a white one in the light."""
    admin_page.goto(f"{seeded_console.url}/tags/")
    badges = admin_page.evaluate(BADGE_COLOURS)
    assert sorted(b["name"] for b in badges) == sorted(SEEDED_TAG_COLOURS)
    for badge in badges:
        page_colour = parse_colour(badge["page"])
        background = over(parse_colour(badge["background"]), page_colour)
        text = over(parse_colour(badge["text"]), background)
        assert contrast(text, background) >= 4.5, badge
        edge_under = page_colour if badge["clip"] == "padding-box" else background
        edge = over(parse_colour(badge["border"]), edge_under) if badge["borderWidth"] >= 1 else background
        assert max(contrast(background, page_colour), contrast(edge, page_colour)) >= 3, badge


# -- focus ---------------------------------------------------------------------------


FOCUS_RING = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    let around = element.parentElement, background = "rgb(255, 255, 255)";
    for (; around; around = around.parentElement) {
        const colour = getComputedStyle(around).backgroundColor;
        if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") { background = colour; break; }
    }
    if (!around) { background = getComputedStyle(document.documentElement).backgroundColor; }
    return {element: element.outerHTML.slice(0, 120), visible: element.matches(":focus-visible"),
            style: style.outlineStyle, width: parseFloat(style.outlineWidth), colour: style.outlineColor,
            background: background};
}"""


def test_the_keyboard_focus_shows_a_ring_of_3_to_1_on_every_control(admin_page: Page,
                                                                    seeded_console: SeededConsole) -> None:
    """Tabbing through the user list (skip link, navigation, downloads, filters, rows):
    each control gets a solid outline of 2 px or more at 3:1 against what is around it."""
    admin_page.goto(f"{seeded_console.url}/users/")
    seen = set()
    for _ in range(30):
        admin_page.keyboard.press("Tab")
        ring = admin_page.evaluate(FOCUS_RING)
        seen.add(ring["element"].split(" ")[0])
        background = parse_colour(ring["background"])
        assert ring["visible"] and ring["style"] == "solid" and ring["width"] >= 2, ring
        assert contrast(over(parse_colour(ring["colour"]), background), background) >= 3, ring
    assert {"<a", "<button", "<input", "<select"} <= seen, seen
