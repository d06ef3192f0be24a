"""The blog form's preview: the Markdown rendered and sanitised as the blog page renders it,
for a POST with the form's CSRF token only (it reads no data, so it runs on SQLite alone)."""

from __future__ import annotations


def test_preview_renders_sanitised_html(as_admin):
    response = as_admin.post("/blogs/preview", data={"body": "*hi* <script>x()</script><b onclick=x()>b</b>"})
    assert response.status_code == 200
    assert "<em>hi</em>" in response.text
    assert "<script" not in response.text and "onclick" not in response.text.replace("&lt;b onclick", "")


def test_preview_needs_the_csrf_token(as_admin):
    assert as_admin.post("/blogs/preview", data={"body": "x"}, csrf=False).status_code == 400
