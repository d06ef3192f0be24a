"""The rows of the blog list, rendered in Python.

The blog list is the console's busiest page. Rendering its rows here instead of
in a Jinja loop avoids Jinja's per-attribute lookups and per-value Markup objects
(about a third of the page's cost). Every value is escaped with ``html.escape``;
``tests/test_blogs.py`` checks that titles, names and colours cannot inject markup.
The surrounding page stays in ``templates/blogs/index.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from markupsafe import Markup

from webapp.i18n import request_translations
from webapp.localtime import display_zone
from webapp.services.blog_list import BlogRow, TagRef

#: Zone names whose local time is UTC: stored values need no conversion.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})

#: Tag badges by (name, colour): the same few dozen tags fill every page.
_BADGES: dict[tuple[str, str], str] = {}
_BADGES_MAX = 4096


#: Rendered pages: (rows, markup) by (id(rows), can_edit, url_base, catalogue, zone).
#: The list service hands out the same rows object for the same query result
#: (see services.blog_list._unpack), so an unchanged page is rendered once. The
#: rows object is kept with its markup, so its id cannot be reused meanwhile.
_RENDERED: dict[tuple[object, ...], tuple[object, Markup]] = {}
_RENDERED_MAX = 256


def blog_rows(rows: Sequence[BlogRow], can_edit: bool, url_base: str) -> Markup:
    """``<tr>`` elements for one page of the blog list."""
    translations, zone = request_translations(), display_zone()
    key = (id(rows), can_edit, url_base, translations, zone.key)
    cached = _RENDERED.get(key)
    if cached is not None and cached[0] is rows:
        return cached[1]
    html = _render(rows, can_edit, url_base, translations.ugettext, zone)
    if len(_RENDERED) >= _RENDERED_MAX:
        _RENDERED.clear()
    _RENDERED[key] = (rows, html)
    return html


def _render(rows: Iterable[BlogRow], can_edit: bool, url_base: str, translate: Callable[[str], str],
            zone: ZoneInfo) -> Markup:
    badges = {
        "published": f'<span class="badge text-bg-success">{escape(translate("published"))}</span>',
        "draft": f'<span class="badge text-bg-secondary">{escape(translate("draft"))}</span>',
    }
    when = _formatter(zone)
    base = escape(url_base)
    parts: list[str] = []
    for row in rows:
        title = escape(row.title)
        check = (f'<td><input class="form-check-input" type="checkbox" name="ids" value="{row.id}" '
                 f'aria-label="{title}"></td>') if can_edit else ""
        tags = "".join([_badge(t) for t in row.tags])
        status = badges.get(row.status) or escape(row.status)
        parts.append(
            f'<tr data-testid="blog-row">{check}<td><a href="{base}{row.id}">{title}</a></td>'
            f'<td>{status}</td><td>{escape(row.author_name)}</td>'
            f'<td>{tags}</td><td class="text-nowrap">{when(row.publish_at)}</td>'
            f'<td class="text-nowrap">{when(row.created_at)}</td>'
            f'<td class="text-nowrap">{when(row.updated_at)}</td></tr>\n'
        )
    return Markup("".join(parts))  # every interpolated value above is escaped


def _formatter(zone: ZoneInfo) -> Callable[[datetime | None], str]:
    """``2024-05-01 14:03`` in ``zone`` for an aware datetime, "" for None."""
    if zone.key in _UTC_NAMES:  # stored values are UTC already: format them as they are

        def utc(value: datetime | None) -> str:
            return "" if value is None else _minutes(value)

        return utc

    def local(value: datetime | None) -> str:
        return "" if value is None else _minutes(value.astimezone(zone))

    return local


#: "HH:MM" for each minute of the day, and "YYYY-MM-DD" per day number (bounded):
#: looking them up is about four times as fast as formatting the fields, which
#: adds up over three timestamps a row.
_CLOCK = [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in range(60)]
_DAYS: dict[int, str] = {}


def _minutes(value: datetime) -> str:
    ordinal = value.toordinal()
    day = _DAYS.get(ordinal)
    if day is None:
        if len(_DAYS) >= 100_000:
            _DAYS.clear()
        day = _DAYS[ordinal] = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return f"{day} {_CLOCK[value.hour * 60 + value.minute]}"


def _badge(tag: TagRef) -> str:
    key = (tag.name, tag.colour)
    html = _BADGES.get(key)
    if html is None:
        html = f'<span class="badge tag-badge" data-colour="{escape(tag.colour)}">{escape(tag.name)}</span> '
        if len(_BADGES) >= _BADGES_MAX:
            _BADGES.clear()
        _BADGES[key] = html
    return html
