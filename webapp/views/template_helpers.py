"""Jinja filters and globals: dates in the display time zone, words for stored values, list URLs.

They return text and URLs, never markup built from data: the templates build every
element and Jinja's autoescaping escapes what these return.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request, url_for
from flask_babel import format_datetime, format_decimal, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from webapp import localtime
from webapp.i18n import current_language, html_lang, language_choices
from webapp.services.paging import Page


def register(app: Flask) -> None:
    """Install the helpers on ``app``'s Jinja environment."""
    app.add_template_filter(display_datetime, "datetime")
    app.add_template_filter(localtime.relative, "reltime")
    app.add_template_filter(localtime.short, "short_dt")
    app.add_template_filter(format_decimal, "number")
    app.add_template_filter(label)
    app.add_template_global(list_url)
    app.add_template_global(sort_link)
    app.add_template_global(page_urls)
    app.add_template_global(get_locale)
    app.add_template_global(html_lang)
    app.add_template_global(language_choices)
    app.add_template_global(current_language)
    app.context_processor(page_gettext)


def page_gettext() -> dict[str, Any]:
    """A page's ``gettext`` and ``ngettext``, bound to the request's catalogue once.

    Jinja's i18n extension calls whatever ``gettext`` the page's context holds;
    Flask-Babel's own looks the catalogue up again on every call (a page has about
    fifty labels). Same semantics as Jinja's "newstyle" functions: the translation
    is markup in an autoescaped template, and the variables are %-formatted into
    it (escaped). Macros imported without context use Flask-Babel's, with the same
    result.
    """
    translations = get_translations()

    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text = translations.ugettext(message)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables

    return {"gettext": gettext, "ngettext": ngettext}


def display_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A UTC datetime shown in the configured display time zone."""
    return format_datetime(value, fmt) if value else ""


_LABELS = {
    "role": {"admin": _l("administrator"), "editor": _l("editor"), "viewer": _l("viewer")},
    "action": {"create": _l("create"), "update": _l("update"), "delete": _l("delete")},
    "status": {"draft": _l("draft"), "published": _l("published")},
    "run_status": {"submitted": _l("submitted"), "succeeded": _l("succeeded"), "failed": _l("failed"),
                   "missed": _l("missed"), "skipped": _l("skipped")},
    "param_type": {"str": _l("text"), "int": _l("whole number"), "float": _l("number"),
                   "bool": _l("yes or no")},
}


def label(value: str, kind: str) -> str:
    """The translated word for a stored value: ``{{ user.role|label('role') }}``."""
    return str(_LABELS.get(kind, {}).get(value, value))


def list_url(_endpoint: str | None = None, **changes: Any) -> str:
    """The current list URL with some arguments changed (None removes one).

    Repeated arguments (``tag=1&tag=2``) are kept. ``_endpoint`` sends the same
    filters and sort elsewhere, without the page (the list's download links).
    """
    args: dict[str, Any] = request.args.to_dict(flat=False)
    if _endpoint:  # the request's arguments go in the query string, whatever their names
        path = url_for(_endpoint, **changes)
        dropped = ("page", "per_page", *changes)
        query = urlencode([(k, v) for k, values in args.items() if k not in dropped for v in values],
                          safe=_URL_SAFE)  # as url_for encodes them (werkzeug's safe characters)
        return f"{path}{'&' if '?' in path else '?'}{query}" if query else path
    if set(changes) - {"page"}:
        args.pop("page", None)  # a new sort, filter or size starts at page 1
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [value]
    query = urlencode([(k, v) for k, values in args.items() for v in values])
    return f"{request.script_root}{request.path}?{query}" if query else f"{request.script_root}{request.path}"


#: Characters werkzeug leaves unquoted in the query strings it builds.
_URL_SAFE = "!$'()*,/:;?@"


def page_urls(page: Page[Any], window: Iterable[int | None] | None = None) -> dict[int, str]:
    """``list_url(page=n)`` for each page the pager links to (``window``: ``page.window()``).

    The other arguments keep their order and ``page`` its place, so the links differ
    only in the number.
    """
    args = request.args.to_dict(flat=False)
    keys = list(args)
    at = keys.index("page") if "page" in args else len(keys)
    before = urlencode([(k, v) for k in keys[:at] for v in args[k]])
    after = urlencode([(k, v) for k in keys[at + 1:] for v in args[k]])
    base = f"{request.script_root}{request.path}?"
    numbers = {n for n in (page.window() if window is None else window) if n is not None}
    numbers.update((page.page - 1, page.page + 1))
    return {n: base + "&".join(p for p in (before, f"page={n}", after) if p) for n in numbers}


def sort_link(column: str, current: str, desc: bool) -> tuple[str, str]:
    """URL and arrow for a sortable header: clicking toggles the direction.

    The other arguments stay in order, the page goes (a new order starts at page 1)
    and the sort comes last.
    """
    target = column if column != current else (column if desc else f"-{column}")
    arrow = ("▼" if desc else "▲") if column == current else ""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("sort", "page")]
    return f"{request.script_root}{request.path}?{urlencode([*kept, ('sort', target)])}", arrow
