"""Background work in a real browser: a bulk action over "all N matching" and a big
download go to a progress page that follows the work live over the socket, and
Cancel stops a download between two batches.

The console here sends work over 5 rows to the background (``BACKGROUND_THRESHOLD_ROWS``).
Where a test must see the page before the work moves, the work is left queued
(``BACKGROUND_IN_PROCESS`` off) and the test runs it, as a worker would, with
``background.run_next()``. The download to cancel has 5,000 rows read one row per
batch (``BACKGROUND_DOWNLOAD_BATCH_ROWS``), each batch a commit: seconds of work, in which the
test waits for the first rows to be counted and then presses Cancel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import insert, select

from tests.conftest import app_config
from tests.e2e.conftest import LiveServer
from tests.e2e.pages import themed_context
from tests.e2e.test_accessibility import assert_accessible
from tests.e2e.test_blogs import blog_statuses, create_accounts, create_blogs, sign_in
from webapp import create_app
from webapp.extensions import db
from webapp.models import BackgroundTask, Blog, User
from webapp.models.types import utcnow
from webapp.services import background

WORK_MS = 30_000  # the cancellable download takes seconds; everything else far less


def make_app(folder: Path, **config: Any) -> Flask:
    config = app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'e2e.sqlite'}",
                        BACKGROUND_THRESHOLD_ROWS=5, **config)
    config.pop("SERVER_NAME")
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[LiveServer]:
    """A live console; ``@pytest.mark.parametrize("server", [{...config}], indirect=True)`` adds config."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_app(tmp_path, **getattr(request, "param", {}))
    live = LiveServer(app).start()
    yield live
    live.stop()
    with app.app_context():
        db.engine.dispose()


def task_count(server: LiveServer, status: str) -> int:
    with server.app.app_context():
        count = len(db.session.scalars(select(BackgroundTask.id)
                                       .where(BackgroundTask.status == status)).all())
        db.session.remove()
        return count


def publish_all_matching(page: Page, server: LiveServer, query: str, count: int) -> None:
    """Tick the list's page, pick "all N matching", Publish and confirm: the progress page opens."""
    page.goto(f"{server.url}/blogs/?q={query}")
    page.get_by_label("Select all on this page").check()
    page.get_by_role("button", name=f"Select all {count} matching rows").click()
    page.get_by_label("With selected").select_option(label="Publish")
    page.get_by_role("button", name=re.compile(r"^Apply")).click()
    page.get_by_role("button", name=f"Yes, publish {count} blogs").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(server.url)}/tasks/\d+$"))


# -- a bulk action --------------------------------------------------------------------


def test_a_bulk_action_over_all_matching_shows_its_progress_and_the_count(page: Page, server: LiveServer
                                                                           ) -> None:
    create_accounts(server, ("bulker", "editor"))
    matching = create_blogs(server, "bulker", [(f"Match {n:02d}", []) for n in range(25)])
    other = create_blogs(server, "bulker", [("Elsewhere", [])])
    sign_in(page, server, "bulker")
    publish_all_matching(page, server, "Match", 25)

    expect(page.get_by_role("heading", name="Publishing blogs")).to_be_visible()
    expect(page.get_by_test_id("task-message")).to_have_text("25 blogs published.")
    expect(page.get_by_test_id("task-status")).to_have_text("Finished")
    progress = page.get_by_role("progressbar", name="Progress")
    expect(progress).to_have_attribute("value", "25")
    expect(progress).to_have_attribute("max", "25")
    expect(page.get_by_test_id("task-counts")).to_have_text("25 of 25 rows")
    expect(page.get_by_role("button", name="Cancel the work")).to_have_count(0)
    assert blog_statuses(server, matching) == ["published"] * 25
    assert blog_statuses(server, other) == ["draft"]
    page.get_by_role("link", name="Back to the blogs").click()
    expect(page).to_have_url(f"{server.url}/blogs/?q=Match")


@pytest.mark.parametrize("server", [{"BACKGROUND_IN_PROCESS": False}], indirect=True)
def test_the_progress_page_follows_the_work_live_and_without_the_socket(browser: Browser, server: LiveServer
                                                                         ) -> None:
    """Queued work, run by "a worker" (the test) once the page shows it: the page moves to
    the result without a reload, over the socket; with the socket blocked, by asking the
    server; and it has no serious axe violation in either theme, waiting or finished."""
    create_accounts(server, ("bulker", "editor"))
    create_blogs(server, "bulker", [(f"Live {n:02d}", []) for n in range(25)])
    create_blogs(server, "bulker", [(f"Quiet {n:02d}", []) for n in range(25)])
    for theme, query, blocked in (("light", "Live", False), ("dark", "Quiet", True)):
        context = themed_context(browser, theme, axe=True)
        page = context.new_page()
        if blocked:  # the server refuses the WebSocket, as a proxy without WebSocket support would
            page.route_web_socket(re.compile(r"/socket\.io/"), lambda socket: socket.close())
        sign_in(page, server, "bulker")
        publish_all_matching(page, server, query, 25)
        expect(page.get_by_test_id("task-status")).to_have_text("Waiting to start")
        expect(page.get_by_test_id("task-counts")).to_have_text("0 of 25 rows")
        assert_accessible(page)
        page.evaluate("window.stillTheSamePage = true")
        expect(page.locator("#task")).to_have_attribute("data-connection", "polling" if blocked else "socket")

        with server.app.app_context():
            assert background.run_next() is not None
            db.session.remove()
        expect(page.get_by_test_id("task-status")).to_have_text("Finished", timeout=WORK_MS)
        expect(page.get_by_test_id("task-message")).to_have_text("25 blogs published.")
        expect(page.get_by_test_id("task-message")).to_have_attribute("aria-live", "polite")
        expect(page.get_by_test_id("task-counts")).to_have_text("25 of 25 rows")
        expect(page.get_by_role("button", name="Cancel the work")).to_be_hidden()
        assert page.evaluate("window.stillTheSamePage") is True  # no reload
        assert_accessible(page)
        context.close()


# -- a download -----------------------------------------------------------------------


@pytest.mark.parametrize("server", [{"BACKGROUND_DOWNLOAD_BATCH_ROWS": 1}], indirect=True)
def test_cancelling_a_large_download_stops_it_and_keeps_no_file(page: Page, server: LiveServer,
                                                                tmp_path: Path) -> None:
    create_accounts(server, ("reader", "viewer"), ("writer", "editor"))
    with server.app.app_context():
        author = db.session.scalar(select(User.id).where(User.username == "writer"))
        now = utcnow()
        db.session.execute(insert(Blog), [
            {"title": f"Row {n:04d}", "slug": f"row-{n}", "body": "b", "status": "published",
             "author_id": author, "created_at": now, "updated_at": now, "version": 1} for n in range(5000)])
        db.session.commit()
        db.session.remove()
    sign_in(page, server, "reader")
    page.goto(f"{server.url}/blogs/?q=Row")
    page.get_by_test_id("export-csv").click()
    expect(page.get_by_test_id("export-summary")).to_contain_text("The download has 5,000 rows.")
    page.get_by_role("button", name="Prepare the download").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(server.url)}/tasks/\d+$"))
    expect(page.get_by_role("heading", name="Blog download (CSV)")).to_be_visible()

    # The count moves live; once rows are done (but far from all), Cancel.
    expect(page.get_by_test_id("task-counts")).to_have_text(re.compile(r"^[1-9]\d* of 5,000 rows$"),
                                                            timeout=WORK_MS)
    page.get_by_role("button", name="Cancel the work").click()
    expect(page.get_by_test_id("task-status")).to_have_text("Cancelled", timeout=WORK_MS)
    message = page.get_by_test_id("task-message")
    expect(message).to_have_text(re.compile(r"^Cancelled after [\d,]+ of 5,000 rows\. No file was kept\.$"))
    done = re.search(r"after ([\d,]+) of", message.inner_text())
    assert done is not None and 0 < int(done.group(1).replace(",", "")) < 5000
    expect(page.get_by_test_id("task-download")).to_be_hidden()
    assert list((tmp_path / "instance" / "exports").iterdir()) == []
    assert task_count(server, "cancelled") == 1
