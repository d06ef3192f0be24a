"""The monitor's 1 h and 24 h ranges read the samples the "Record a memory sample" task stored."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Auth
from webapp.extensions import db
from webapp.models import MemorySample
from webapp.models.types import utcnow

GIB = 1024 ** 3


def store(app, minutes_ago: list[int]) -> None:
    now = utcnow()
    with app.app_context():
        for minutes in minutes_ago:
            db.session.add(MemorySample(taken_at=now - timedelta(minutes=minutes), ram_total=8 * GIB,
                                        ram_used=minutes * GIB // 60, ram_percent=50.0,
                                        swap_total=GIB, swap_used=minutes))
        db.session.commit()


def test_a_range_returns_its_stored_samples_oldest_first_with_their_spacing(app, make_user, client):
    make_user("vera", role="viewer")
    Auth(client).login("vera")
    store(app, [3000, 40, 39, 38, 37, 5, 4, 3, 2, 1])  # one sample 50 h ago; silent from 37 to 5 minutes ago
    hour = client.get("/monitor/samples?range=3600").get_json()
    assert [sample["swap"] for sample in hour["samples"]] == [40, 39, 38, 37, 5, 4, 3, 2, 1]
    assert hour["step"] == 60.0  # the median spacing: a long silence does not count as normal
    times = [sample["ts"] for sample in hour["samples"]]
    assert times == sorted(times) and times[-1] - times[0] == 39 * 60
    assert len(client.get("/monitor/samples?range=86400").get_json()["samples"]) == 9


def test_an_empty_store_and_a_bad_range_get_clear_answers(app, as_admin):
    assert as_admin.get("/monitor/samples?range=3600").get_json() == {"samples": [], "step": None}
    store(app, [1])
    assert as_admin.get("/monitor/samples?range=3600").get_json()["step"] is None
    for query in ("", "?range=300", "?range=abc", "?range=99999999999"):
        answer = as_admin.get(f"/monitor/samples{query}")
        assert answer.status_code == 400 and "range must be one of" in answer.get_json()["message"]


def test_signed_out_visitors_get_no_samples(client):
    answer = client.get("/monitor/samples?range=3600")
    assert answer.status_code in (302, 401) and b"samples" not in answer.data
