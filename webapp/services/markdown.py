"""Markdown to safe HTML: markdown-it renders, nh3 sanitises (no script survives)."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in Markdown is escaped by the renderer, and whatever it emits is still
# cleaned by nh3 against an allow-list: two independent layers.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}


@lru_cache(maxsize=256)
def render_blog_body(blog_id: int, version: int, text: str) -> Markup:
    """``render_markdown`` for a saved blog, cached per (id, version): every change to a
    blog bumps its version, and a long text renders once instead of on every view."""
    return render_markdown(text)


def render_markdown(text: str) -> Markup:
    """Render Markdown to sanitised HTML, safe to insert into a page."""
    html = _renderer.render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)
