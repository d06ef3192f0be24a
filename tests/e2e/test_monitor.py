"""The live memory monitor in a real browser: samples arrive over a WebSocket, Stop and
Start, the chart, the update interval, the pause while the tab is hidden, reconnecting
after a server restart, access control, and a clean console under the strict CSP.

The server ticks every 0.2 s here (``MONITOR_TICK_SECONDS``) so a few "intervals" pass
quickly. The page shows the sequence number of its newest sample in
``[data-testid=last-sample]``'s ``data-seq``; the server numbers its psutil readings,
so a growing number means fresh samples. The page exposes
``window.webappMonitor = {socket, chart}`` for these tests.

Proving that nothing arrives needs something else that keeps time: a second page (the
"observer", signed in as the same user) that keeps receiving samples meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Error, Locator, Page, expect

from tests.conftest import PASSWORD, app_config
from tests.e2e.conftest import LiveServer, RestartableLiveServer
from webapp import create_app
from webapp.extensions import db
from webapp.services.users import UserData, create_user_as_system

TICK = 0.2  # seconds between the server's psutil readings in these tests
WAIT_MS = 10_000  # for anything that should happen within a few ticks
RECONNECT_MS = 20_000  # socket.io's reconnection delay grows to 5 s between attempts

LAST_SEQ = "Number(document.querySelector('[data-testid=last-sample]').dataset.seq || 0)"
DATA_POINTS = "window.webappMonitor.chart.data.datasets[0].data.length"


@pytest.fixture
def monitor_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """Like ``live_app``, with a fast monitor tick and one signed-in-able viewer, "viewer"."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    config = app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'e2e.sqlite'}",
                        MONITOR_TICK_SECONDS=TICK, MONITOR_PROCESSES_SECONDS=1.0)
    config.pop("SERVER_NAME")
    app = create_app(config)
    with app.app_context():
        db.create_all()
        create_user_as_system(UserData(username="viewer", email="viewer@example.com",
                                       role="viewer", password=PASSWORD))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def monitor_server(monitor_app: Flask) -> Iterator[RestartableLiveServer]:
    server = RestartableLiveServer(monitor_app).start()
    yield server  # type: ignore[misc]
    server.stop()


# -- helpers -----------------------------------------------------------------


def sign_in(page: Page, server: LiveServer, login: str = "viewer") -> None:
    page.goto(f"{server.url}/auth/login")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(login)


def open_monitor(page: Page, server: LiveServer) -> None:
    """Open the monitor page (already signed in) and wait for the first live sample."""
    page.goto(f"{server.url}/monitor/")
    wait_for_samples(page, after=0)


def last_seq(page: Page) -> int:
    return int(page.evaluate(LAST_SEQ))


def wait_for_samples(page: Page, after: int, count: int = 1, timeout: float = WAIT_MS) -> int:
    """Wait until ``page`` shows a sample at least ``count`` readings newer than ``after``."""
    page.wait_for_function(f"n => {LAST_SEQ} >= n", arg=after + count, timeout=timeout)
    return last_seq(page)


def badge(page: Page) -> Locator:
    return page.get_by_test_id("connection-badge")


def field_value(page: Page, table: str, key: str) -> Locator:
    return page.get_by_test_id(f"{table}-fields").locator(f'tr[data-key="{key}"] td')


BYTES = re.compile(r"^\d[\d.,]* (B|KiB|MiB|GiB|TiB|PiB)$")
PERCENT = re.compile(r"^\d[\d.,]*%$")


# -- tests -------------------------------------------------------------------


def test_samples_arrive_over_a_websocket_and_the_numbers_change(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """The page connects over WebSocket from the start; its numbers keep changing."""
    sign_in(page, monitor_server)
    page.get_by_role("link", name="Monitor", exact=True).click()
    expect(page).to_have_url(f"{monitor_server.url}/monitor/")
    expect(page.get_by_role("heading", name="Memory monitor")).to_be_visible()
    expect(badge(page)).to_have_attribute("data-state", "connected")
    expect(badge(page)).to_have_text("Connected")
    assert page.evaluate("window.webappMonitor.socket.io.engine.transport.name") == "websocket"

    first = wait_for_samples(page, after=0)
    last_sample = page.get_by_test_id("last-sample")
    shown = last_sample.inner_text()
    expect(last_sample).not_to_have_text(shown)  # a newer sample replaced it
    assert last_seq(page) > first

    # Every psutil field, in readable units.
    for key in ("total", "available", "used", "free"):
        expect(field_value(page, "virtual", key)).to_have_text(BYTES)
    expect(field_value(page, "virtual", "percent")).to_have_text(PERCENT)
    for key in ("total", "used", "free", "sin", "sout"):
        expect(field_value(page, "swap", key)).to_have_text(BYTES)
    expect(field_value(page, "swap", "percent")).to_have_text(PERCENT)
    expect(page.get_by_test_id("ram-percent")).to_have_text(PERCENT)

    # The top processes, largest first.
    processes = page.get_by_test_id("processes").locator("tbody tr")
    expect(processes.first.locator("td")).to_have_count(5)
    expect(processes.first.locator("td").nth(3)).to_have_text(BYTES)
    assert 1 <= processes.count() <= 10
    assert page.evaluate("window.webappMonitor.socket.io.engine.transport.name") == "websocket"


def test_stop_halts_updates_and_start_resumes_them(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """After Stop the page stays on its last sample while another viewer keeps receiving."""
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    observer = page.context.new_page()
    open_monitor(observer, monitor_server)
    state = page.get_by_test_id("monitor-state")
    start = page.get_by_role("button", name="Start monitoring")
    stop = page.get_by_role("button", name="Stop monitoring")
    expect(state).to_have_attribute("data-state", "running")
    expect(start).to_be_disabled()  # started by default

    stop.click()
    expect(state).to_have_text("Stopped")
    expect(start).to_be_enabled()
    expect(stop).to_be_disabled()
    expect(start).to_be_focused()  # keyboard users land on the other button
    frozen = last_seq(page)
    wait_for_samples(observer, after=last_seq(observer), count=10)  # 10 ticks later
    assert last_seq(page) == frozen
    expect(page.get_by_test_id("stale-marker")).to_be_hidden()  # stopped is not stale

    start.click()
    expect(state).to_have_text("Monitoring")
    wait_for_samples(page, after=frozen)
    expect(stop).to_be_enabled()


def test_the_chart_gains_points_and_switches_range(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """Each sample adds a point to the chart; the range buttons widen its time axis."""
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    points = page.evaluate(DATA_POINTS)
    assert points >= 1
    page.wait_for_function(f"n => {DATA_POINTS} > n", arg=points, timeout=WAIT_MS)
    assert page.evaluate("window.webappMonitor.chart.data.datasets[1].data.length") > points

    def axis_span() -> float:
        """Seconds between the chart's left and right edges."""
        return float(page.evaluate(
            "() => { const x = window.webappMonitor.chart.options.scales.x; return (x.max - x.min) / 1e3; }"))

    assert axis_span() == pytest.approx(300)
    for name, seconds in (("1 h", 3600), ("24 h", 86400), ("5 min", 300)):
        button = page.get_by_role("button", name=name, exact=True)
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        assert axis_span() == pytest.approx(seconds)
    expect(page.get_by_test_id("history-note")).to_contain_text("Record a memory sample")


def test_warning_and_critical_colours_hold_until_the_value_falls_below_the_hysteresis(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """Levels start at 80% and 90% and clear only 3 points below them (the defaults).

    psutil cannot be steered, so the test hands the page's own "memory" handler crafted
    samples, dated after every real one so that those do not overwrite them.
    """
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    ram, swap = page.locator('[data-gauge="ram"]'), page.locator('[data-gauge="swap"]')
    ram_badge = ram.locator('[data-field="ram-level"]')
    percent_row = page.get_by_test_id("virtual-fields").locator('tr[data-key="percent"]')

    steps = [(50, "ok"), (80, "warning"), (78, "warning"), (77, "ok"), (92, "critical"),
             (88, "critical"), (86, "warning"), (50, "ok")]
    for number, (percent, level) in enumerate(steps):
        page.evaluate(FEED_SAMPLE, [percent, number])
        expect(ram).to_have_attribute("data-level", level)
        expect(swap).to_have_attribute("data-level", level)  # the same percentage for swap here
        if level == "ok":
            expect(ram_badge).to_be_hidden()
        else:
            expect(ram_badge).to_have_text(level.capitalize())
        row_class = {"ok": r"^(?!.*table-(warning|danger))", "warning": r"\btable-warning\b",
                     "critical": r"\btable-danger\b"}[level]
        expect(percent_row).to_have_class(re.compile(row_class))
        expect(page.get_by_test_id("ram-percent")).to_have_text(f"{percent}.0%")


def test_level_changes_are_announced_politely_once_each_not_every_sample(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """The polite live region speaks when a level changes (both gauges in one sentence)
    and stays silent while samples arrive at the same level."""
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    announcer = page.get_by_test_id("level-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    page.evaluate(FEED_SAMPLE, [50, 0])  # whatever the real memory is, start from "ok"
    page.evaluate("""() => {
        window.announcements = [];
        new MutationObserver(() => window.announcements.push(
            document.querySelector('[data-testid=level-announcer]').textContent))
            .observe(document.querySelector('[data-testid=level-announcer]'),
                     {childList: true, characterData: true, subtree: true});
    }""")
    for number, percent in enumerate((55, 60, 81, 84, 79, 78, 76, 70, 95, 93, 50), start=1):
        page.evaluate(FEED_SAMPLE, [percent, number])
        expect(page.get_by_test_id("ram-percent")).to_have_text(f"{percent}.0%")
    assert page.evaluate("window.announcements") == [
        "RAM used: Warning, 81.0% Swap used: Warning, 81.0%",
        "RAM used: Normal, 76.0% Swap used: Normal, 76.0%",
        "RAM used: Critical, 95.0% Swap used: Critical, 95.0%",
        "RAM used: Normal, 50.0% Swap used: Normal, 50.0%",
    ]


FEED_SAMPLE = """([percent, number]) => {
    const gib = 1024 ** 3, total = 16 * gib, used = total * percent / 100;
    const handler = window.webappMonitor.socket.listeners("memory")[0];
    handler({
        seq: 1e6 + number, ts: Date.now() / 1000 + 1e6 + number,
        ram: {total: total, available: total - used, used: used, percent: percent},
        swap_used_percent: percent,
        virtual: {total: total, available: total - used, percent: percent, used: used, free: total - used},
        swap: {total: gib, used: gib * percent / 100, free: gib - gib * percent / 100, percent: percent,
               sin: 0, sout: 0},
    });
}"""


def test_the_update_interval_resubscribes(page: Page, monitor_server: RestartableLiveServer) -> None:
    """Choosing a longer interval makes the server send every fifth reading only."""
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    page.evaluate("""() => {
        window.seenSeqs = [];
        window.webappMonitor.socket.on("memory", sample => window.seenSeqs.push(sample.seq));
    }""")
    page.get_by_label("Update every").select_option("5")  # 5 ticks: 1 s here
    page.wait_for_function("""() => {
        const s = window.seenSeqs, n = s.length;
        return n >= 3 && s[n - 1] - s[n - 2] === 5 && s[n - 2] - s[n - 3] === 5;
    }""", timeout=WAIT_MS)


def test_a_hidden_tab_pauses_and_a_visible_one_resumes(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """While the tab is hidden the page unsubscribes; it resubscribes when shown again."""
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    observer = page.context.new_page()
    open_monitor(observer, monitor_server)
    state = page.get_by_test_id("monitor-state")

    set_hidden(page, True)
    expect(state).to_have_attribute("data-state", "paused")
    paused_at = last_seq(page)
    wait_for_samples(observer, after=last_seq(observer), count=10)
    assert last_seq(page) == paused_at
    expect(page.get_by_test_id("stale-marker")).to_be_hidden()

    set_hidden(page, False)
    expect(state).to_have_attribute("data-state", "running")
    wait_for_samples(page, after=paused_at)


def set_hidden(page: Page, hidden: bool) -> None:
    """Pretend the tab was hidden or shown (headless pages are always visible)."""
    page.evaluate("""hidden => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
        Object.defineProperty(document, "visibilityState", {configurable: true,
                                                             get: () => hidden ? "hidden" : "visible"});
        document.dispatchEvent(new Event("visibilitychange"));
    }""", hidden)


def test_after_a_server_restart_the_badge_shows_reconnecting_then_connected(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """The connection drops, the badge says so, and samples flow again after the restart."""
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    expect(badge(page)).to_have_attribute("data-state", "connected")

    monitor_server.stop()
    expect(badge(page)).to_have_attribute("data-state", "reconnecting")
    expect(badge(page)).to_have_text("Reconnecting…")
    before_restart = last_seq(page)
    expect(page.get_by_test_id("stale-marker")).to_be_visible()  # no sample for 3 intervals

    monitor_server.restart()
    expect(badge(page)).to_have_attribute("data-state", "connected", timeout=RECONNECT_MS)
    expect(badge(page)).to_have_text("Connected")
    wait_for_samples(page, after=before_restart)  # subscribed again by itself
    expect(page.get_by_test_id("stale-marker")).to_be_hidden()
    assert page.evaluate("window.webappMonitor.socket.io.engine.transport.name") == "websocket"


def test_anonymous_visitors_are_sent_to_the_login_page(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    page.goto(f"{monitor_server.url}/monitor/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=%2Fmonitor%2F$"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_monitor_page_logs_no_console_errors_or_csp_violations(
        page: Page, monitor_server: RestartableLiveServer) -> None:
    """Every control, in both themes, runs under the strict CSP without any error."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console on {page.url}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error on {page.url}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)

    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    page.get_by_role("button", name="1 h", exact=True).click()
    page.get_by_label("Update every").select_option("2")
    seq = wait_for_samples(page, after=last_seq(page))
    page.get_by_role("button", name="Stop monitoring").click()
    page.get_by_role("button", name="Start monitoring").click()
    wait_for_samples(page, after=seq)
    page.locator("#theme-menu").click()
    page.locator('[data-theme-value="dark"]').click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    wait_for_samples(page, after=last_seq(page))  # the chart redraws in the dark theme
    page.reload()
    wait_for_samples(page, after=0)

    assert problems == [], "\n".join(problems)
