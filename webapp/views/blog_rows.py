"""The rows of the blog list, rendered in Python.

The blog list is the console's busiest page. Rendering its rows here instead of
in a Jinja loop avoids Jinja's per-attribute lookups and per-value Markup objects
(about a third of the page's cost). Every value is escaped with ``html.escape``;
``tests/test_blogs.py`` checks that titles, names and colours cannot inject markup.
The surrounding page stays in ``templates/blogs/index.html``.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from markupsafe import Markup

from webapp.i18n import request_translations
from webapp.localtime import display_zone
from webapp.services.blog_list import BlogRow


def blog_rows(rows: Iterable[BlogRow], can_edit: bool, url_base: str) -> Markup:
    """``<tr>`` elements for one page of the blog list."""
    translate = request_translations().ugettext
    badges = {
        "published": f'<span class="badge text-bg-success">{escape(translate("published"))}</span>',
        "draft": f'<span class="badge text-bg-secondary">{escape(translate("draft"))}</span>',
    }
    zone = display_zone()

    def when(value: object) -> str:
        if value is None:
            return ""
        return value.astimezone(zone).replace(tzinfo=None).isoformat(" ", "minutes")  # type: ignore[attr-defined]

    base = escape(url_base)
    parts: list[str] = []
    for row in rows:
        title = escape(row.title)
        check = (f'<td><input class="form-check-input" type="checkbox" name="ids" value="{row.id}" '
                 f'aria-label="{title}"></td>') if can_edit else ""
        tags = "".join(
            f'<span class="badge tag-badge" data-colour="{escape(t.colour)}">{escape(t.name)}</span> '
            for t in row.tags)
        parts.append(
            f'<tr data-testid="blog-row">{check}<td><a href="{base}{row.id}">{title}</a></td>'
            f'<td>{badges.get(row.status, escape(row.status))}</td><td>{escape(row.author_name)}</td>'
            f'<td>{tags}</td><td class="text-nowrap">{when(row.publish_at)}</td>'
            f'<td class="text-nowrap">{when(row.created_at)}</td>'
            f'<td class="text-nowrap">{when(row.updated_at)}</td></tr>\n'
        )
    return Markup("".join(parts))  # every interpolated value above is escaped
