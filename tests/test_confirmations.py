"""Confirmation pages: they start on the safe choice, and bulk actions that publish,
deactivate or delete ask first, saying how many rows they change."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.api_support import make_blog, make_tag


class _Elements(HTMLParser):
    """Start tags with their attributes and the text up to the next tag."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_data(self, data: str) -> None:
        if self.elements:
            self.elements[-1]["text"] = str(self.elements[-1]["text"]) + data


def elements(html: str) -> list[dict[str, object]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def focused(html: str) -> list[tuple[str, str]]:
    """(tag, text) of every element with ``autofocus``."""
    return [(str(e["tag"]), str(e["text"]).strip()) for e in elements(html) if "autofocus" in e["attrs"]]


# -- the safe choice has the focus ----------------------------------------------------------------

def test_delete_confirmations_focus_cancel(app, as_admin, make_user):
    blog_id = make_blog(app, "Doomed")
    tag_id = make_tag(app, "doomed")
    bob = make_user("bob")
    pages = [as_admin.get(f"/blogs/{blog_id}/delete"), as_admin.get(f"/tags/{tag_id}/delete"),
             as_admin.get(f"/users/{bob.id}/delete"),
             as_admin.post("/blogs/bulk", data={"action": "delete", "ids": [str(blog_id)]}),
             as_admin.post("/users/bulk", data={"action": "delete", "ids": [str(bob.id)]})]
    for page in pages:
        assert page.status_code == 200
        assert focused(page.text) == [("a", "Cancel")], page.request.path
