"""The home page: counts, the latest changes, failed runs, the next jobs and memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Auth
from webapp.extensions import db
from webapp.models import JobRun, MemorySample, User
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service


def test_the_overview_counts_and_links_the_latest_changes(app, as_admin, admin):
    with app.app_context():
        actor = db.session.get(User, admin.id)
        blog_service.create_blog(blog_service.BlogData(title="Draft one"), actor)
        blog_service.create_blog(blog_service.BlogData(title="Live one", status="published"), actor)
        tag_id = tag_service.create_tag(tag_service.TagData(name="news"), actor).id
    html = as_admin.get("/").text
    assert 'data-count="published">1<' in html and 'data-count="draft">1<' in html
    assert 'data-count="tags">1<' in html and 'data-count="admin">1<' in html
    recent = html.split('data-testid="recent-actions"', 1)[1].split("</ul>", 1)[0]
    assert f'<a href="/tags/{tag_id}/edit">news</a>' in recent and "Live one" in recent


def test_viewers_see_no_accounts_and_no_audit_entries(app, make_user, client):
    make_user("vera", role="viewer")
    Auth(client).login("vera")
    html = client.get("/").text
    assert 'data-count="draft"' in html
    assert 'data-testid="recent-actions"' not in html and 'data-count="admin"' not in html


def test_failed_runs_and_memory_samples_show(app, as_admin):
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add(JobRun(job_id="nightly", scheduled_at=now, status="failed", started_at=now,
                              duration_ms=3.0, error="ValueError: boom", created_at=now))
        for minutes, percent in ((3, 40.0), (2, 55.0), (1, 70.0)):
            db.session.add(MemorySample(taken_at=now - timedelta(minutes=minutes), ram_total=100, ram_used=50,
                                        ram_percent=percent, swap_total=0, swap_used=0))
        db.session.commit()
    html = as_admin.get("/").text
    failed = html.split('data-testid="failed-runs"', 1)[1].split("</ul>", 1)[0]
    assert 'href="/jobs/nightly"' in failed and "ValueError: boom" in failed
    spark = html.split('data-testid="memory-sparkline"', 1)[1].split("</svg>", 1)[0]
    assert 'points="0.0,24.0 120.0,18.0 240.0,12.0"' in spark and "now 70%" in spark
