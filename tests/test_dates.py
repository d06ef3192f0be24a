"""One date format on every page, in the request's language and the display time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from webapp.extensions import db
from webapp.models import ApiToken, AuditEntry, Blog, Tag, User
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service

MOMENT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
FORMATS = {  # (minutes, seconds) for each language
    "en": ("Mar 4, 2025, 5:06\u202fAM", "Mar 4, 2025, 5:06:07\u202fAM"),
    "zh-CN": ("2025年3月4日 05:06", "2025年3月4日 05:06:07"),
}


@pytest.mark.parametrize("language", FORMATS)
def test_every_page_shows_a_moment_the_same_way(app, as_admin, admin, language):
    minutes, seconds = FORMATS[language]
    with app.app_context():
        actor = db.session.get(User, admin.id)
        blog = blog_service.create_blog(blog_service.BlogData(title="Dated"), actor)
        tag_service.create_tag(tag_service.TagData(name="dated"), actor)
        blog_id = blog.id
    as_admin.post("/auth/profile/tokens", data={"name": "laptop"})
    with app.app_context():
        for model in (Blog, Tag, User, ApiToken):
            db.session.execute(update(model).values(created_at=MOMENT))
        db.session.execute(update(Blog).values(updated_at=MOMENT))
        db.session.execute(update(AuditEntry).values(created_at=MOMENT))
        db.session.commit()
    headers = {"Accept-Language": language}
    urls = ("/blogs/", f"/blogs/{blog_id}", "/tags/", "/users/", "/auth/profile", "/audit/", "/")
    pages = {url: as_admin.get(url, headers=headers).text for url in urls}
    for url, html in pages.items():
        assert minutes in html or seconds in html, url
        assert "2025-03-04" not in html.replace('datetime="2025-03-04', ""), url
    assert seconds in pages["/audit/"]
