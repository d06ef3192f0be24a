"""Job screens in a real browser: add a cron job through the form with its preview,
pause and resume it, run it now and watch the run appear without reloading.

The live server's app owns a running scheduler, as the serving process does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.test_blogs import create_accounts, sign_in
from webapp.jobs.scheduler import readable_scheduler, start_scheduler


@pytest.fixture
def scheduled_server(live_app: Flask) -> Iterator[LiveServer]:
    start_scheduler(live_app)
    server = LiveServer(live_app).start()
    yield server
    server.stop()
    live_app.extensions["scheduler"].shutdown(wait=True)


def test_add_a_cron_job_pause_resume_and_run_it_now(page: Page, scheduled_server: LiveServer) -> None:
    server = scheduled_server
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console on {page.url}: {message.text}")

    page.on("console", on_console)
    create_accounts(server, ("root", "admin"))
    sign_in(page, server, "root")
    page.goto(f"{server.url}/jobs/")
    page.get_by_test_id("job-add").click()
    page.wait_for_load_state("networkidle")  # the first preview has come back
    expect(page.get_by_test_id("fire-times-error")).to_be_hidden()  # a blank form: no error yet
    expect(page.locator(".is-invalid")).to_have_count(0)

    page.get_by_label("Job id").fill("weekday-hello")
    page.get_by_label("Name", exact=True).fill("Weekday hello")
    page.get_by_label("Task").select_option("log_message")
    page.locator("#kw-log_message-name").fill("admins")
    expect(page.get_by_test_id("task-params-purge_run_history")).to_be_hidden()
    page.get_by_role("radio", name="Cron").check()
    expect(page.get_by_label("Run at")).to_be_hidden()  # only the chosen trigger's fields

    # A bad line: the preview says why, live.
    page.get_by_label("Crontab line").fill("0 25 * * mon-fri")
    expect(page.get_by_test_id("fire-times-error")).to_contain_text("higher than the maximum value (23)")
    # A good one: five weekday runs at 09:30 in the chosen time zone, before saving.
    page.get_by_label("Crontab line").fill("30 9 * * 1-5")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    times = page.get_by_test_id("fire-times").locator("li")
    expect(times).to_have_count(5)
    expect(page.get_by_test_id("fire-times-error")).to_be_hidden()
    for text in times.all_inner_texts():
        assert re.match(r"(Mon|Tue|Wed|Thu|Fri), \w{3} \d{1,2}, \d{4}, 9:30:00\s?AM CE(S)?T", text), text
    page.get_by_test_id("job-save").click()

    expect(page).to_have_url(f"{server.url}/jobs/weekday-hello")
    expect(page.get_by_text("cron 30 9 * * mon-fri")).to_be_visible()
    expect(page.get_by_test_id("job-state")).to_have_text("scheduled")

    # Pause and resume from the list.
    page.goto(f"{server.url}/jobs/")
    row = page.locator('tr[data-job-id="weekday-hello"]')
    row.get_by_test_id("job-pause").click()
    expect(row.locator("[data-cell=state]")).to_have_text("paused")
    assert readable_scheduler(server.app).get_job("weekday-hello").next_run_time is None
    row.get_by_test_id("job-resume").click()
    expect(row.locator("[data-cell=state]")).to_have_text("scheduled")
    assert readable_scheduler(server.app).get_job("weekday-hello").next_run_time is not None

    # Run now from the list in a second tab while the detail page stays open: its run
    # row appears there without a reload.
    page.get_by_role("link", name="Weekday hello").click()
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    page.evaluate("window.notReloaded = true")
    other = page.context.new_page()
    other.goto(f"{server.url}/jobs/")
    other.locator('tr[data-job-id="weekday-hello"]').get_by_test_id("job-run").click()
    expect(other.locator(".alert-success")).to_contain_text("will run now")
    expect(page.get_by_test_id("run-row").first.locator("[data-status]")).to_have_text("succeeded",
                                                                                       timeout=10_000)
    expect(page.locator("[data-stat=success_rate]")).to_have_text("100.0%")
    assert page.evaluate("window.notReloaded") is True  # it came by the live update
    other.close()

    # The list shows the last run live as well.
    page.goto(f"{server.url}/jobs/")
    expect(row.locator("[data-cell=last_run] [data-status]")).to_have_text("succeeded")
    assert problems == []


def test_an_open_job_list_shows_jobs_held_once_the_scheduler_is_paused(page: Page,
                                                                        scheduled_server: LiveServer) -> None:
    """The rows refresh themselves: a scheduler paused elsewhere holds every scheduled job."""
    server = scheduled_server
    create_accounts(server, ("root", "admin"))
    readable_scheduler(server.app).add_job("hourly", "log_message", trigger="interval", hours=1)
    sign_in(page, server, "root")
    page.goto(f"{server.url}/jobs/")
    state = page.locator('tr[data-job-id="hourly"] [data-cell=state]')
    expect(state).to_have_text("scheduled")
    server.app.extensions["scheduler"].pause()  # as the scheduler panel does, from another tab
    expect(state).to_have_text("held: scheduler paused", timeout=10_000)
    expect(page.locator('tr[data-job-id="hourly"] [data-part=relative]')).to_have_text(
        "not before the scheduler is resumed")
    server.app.extensions["scheduler"].resume()
    expect(state).to_have_text("scheduled", timeout=10_000)
