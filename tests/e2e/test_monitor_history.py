"""The monitor's 1 h and 24 h ranges in a real browser: the stored samples are drawn
beside the live ones, and a silence in them is a gap in the line, not a straight line."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.conftest import RestartableLiveServer
from tests.e2e.test_monitor import WAIT_MS, monitor_app, monitor_server, open_monitor, sign_in
from webapp.extensions import db
from webapp.models import MemorySample
from webapp.models.types import utcnow

__all__ = ["monitor_app", "monitor_server"]  # the fixtures, shared with test_monitor.py

GIB = 1024 ** 3
STORED_MINUTES_AGO = [40, 39, 38, 37, 5, 4, 3, 2, 1]  # silent from 37 to 5 minutes ago

USED = "window.webappMonitor.chart.data.datasets[0].data"


def test_the_long_ranges_draw_stored_samples_and_show_silences_as_gaps(
        page: Page, monitor_app: Flask, monitor_server: RestartableLiveServer) -> None:
    now = utcnow()
    with monitor_app.app_context():
        for minutes in STORED_MINUTES_AGO:
            db.session.add(MemorySample(taken_at=now - timedelta(minutes=minutes), ram_total=8 * GIB,
                                        ram_used=minutes * GIB // 10, ram_percent=50.0,
                                        swap_total=GIB, swap_used=0))
        db.session.commit()
    sign_in(page, monitor_server)
    open_monitor(page, monitor_server)
    opened_ms = now.timestamp() * 1000
    assert page.evaluate(f"{USED}.filter(p => p.x < {opened_ms}).length") == 0  # live samples only

    page.get_by_role("button", name="1 h", exact=True).click()
    expect(page.locator("#monitor")).to_have_attribute("data-stored-loaded", "1", timeout=WAIT_MS)
    points = page.evaluate(USED)
    stored = [p for p in points if p["y"] is not None and p["x"] < opened_ms]
    assert [round((opened_ms - p["x"]) / 60_000) for p in stored] == STORED_MINUTES_AGO
    gaps = [p["x"] for p in points if p["y"] is None]
    assert len(gaps) == 1, gaps  # only the silence: none among the stored or the live samples
    assert opened_ms - 37 * 60_000 < gaps[0] < opened_ms - 5 * 60_000

    page.get_by_role("button", name="5 min", exact=True).click()
    page.wait_for_function(f"{USED}.every(p => p.y !== null)", timeout=WAIT_MS)
