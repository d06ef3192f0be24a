"""Jinja filters and globals: dates in the display time zone, list URLs."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, request, url_for
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from webapp import localtime
from webapp.i18n import catalogue_memo, install_template_gettext, request_translations
from webapp.models.types import utcnow
from webapp.services.choices import Choices
from webapp.services.paging import Page


def register(app: Flask) -> None:
    """Install the helpers on ``app``'s Jinja environment."""
    install_template_gettext(app)
    app.add_template_filter(display_datetime, "datetime")
    app.add_template_filter(relative_time, "reltime")
    app.add_template_filter(localtime.short, "short_dt")
    app.add_template_global(list_url)
    app.add_template_global(sort_link)
    app.add_template_global(sort_links)
    app.add_template_global(page_urls)
    app.add_template_global(get_locale)
    app.add_template_filter(label)
    app.add_template_global(options)
    app.add_template_global(cached_fragment)
    app.add_template_global(cached_url)
    app.extensions["webapp.fragments"] = {}
    app.extensions["webapp.urls"] = {}
    from webapp.views import list_widgets  # uses the helpers above

    for widget in (list_widgets.sort_header, list_widgets.list_pager, list_widgets.list_downloads,
                   list_widgets.keep_sort_field, list_widgets.per_page_menu):
        app.add_template_global(widget)


def display_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A UTC datetime shown in the configured display time zone."""
    return format_datetime(value, fmt) if value else ""


def relative_time(value: datetime | None) -> str:
    """'3 minutes ago' / 'in 2 hours'."""
    if value is None:
        return ""
    return format_timedelta(value - utcnow(), add_direction=True, granularity="second")


_LABELS = {
    "role": {"admin": _l("administrator"), "editor": _l("editor"), "viewer": _l("viewer")},
    "action": {"create": _l("create"), "update": _l("update"), "delete": _l("delete")},
    "status": {"draft": _l("draft"), "published": _l("published")},
}


def label(value: str, kind: str) -> str:
    """The translated word for a stored value: ``{{ user.role|label('role') }}``."""
    memo = catalogue_memo()
    key = ("label", kind, value)
    text = memo.get(key)
    if text is None:
        text = memo[key] = str(_LABELS.get(kind, {}).get(value, value))
    return text


def options(choices: Choices, selected: Any = ()) -> Markup:
    """``<option>`` elements for pre-escaped (value, label) pairs (see services.choices).

    List pages render a few hundred options per request; a Jinja loop that escapes
    each attribute costs several times more than this. With nothing selected the
    markup is kept with the choices list, which is never changed once built
    (services.choices replaces the list when the menu changes).
    """
    if selected is None or selected == () or selected == "":
        cached = _UNSELECTED.get(id(choices))
        if cached is not None and cached[0] is choices:
            return cached[1]
        html = _options(choices, set())
        if len(_UNSELECTED) >= 64:
            _UNSELECTED.clear()
        _UNSELECTED[id(choices)] = (choices, html)  # holds the list: its id cannot be reused
        return html
    many = isinstance(selected, set | list | tuple)
    return _options(choices, {escape(str(v)) for v in selected} if many else {escape(str(selected))})


_UNSELECTED: dict[int, tuple[Choices, Markup]] = {}


def _options(choices: Choices, chosen: set[str]) -> Markup:
    return Markup("".join([
        f'<option value="{value}"{" selected" if value in chosen else ""}>{label}</option>'
        for value, label in choices
    ]))


def cached_fragment(name: str, *vary: Hashable, caller: Callable[[], str]) -> Markup:
    """The markup of a ``{% call cached_fragment(name, *vary) %}`` block, rendered once.

    For layout that depends on nothing but the language and the arguments in
    ``vary`` (say, the navigation links per area and role): the block must not
    show anything else of the request, the user or the session (no CSRF token,
    no user name). Kept per app, language and script root; off while templates
    reload, so an edited template shows at once.
    """
    app = current_app
    if app.jinja_env.auto_reload:
        return Markup(caller())
    fragments: dict[tuple[Hashable, ...], Markup] = app.extensions["webapp.fragments"]
    # The catalogue object stands for the language (one per language; a reloaded
    # catalogue is a new object, so its fragments are rendered anew).
    key = (name, request_translations(), request.script_root, *vary)
    html = fragments.get(key)
    if html is None:
        html = Markup(caller())
        if len(fragments) >= 1024:  # a bounded set of combinations; this is a safety net
            fragments.clear()
        fragments[key] = html
    return html


def list_url(_endpoint: str | None = None, **changes: Any) -> str:
    """The current list URL with some arguments changed (None removes one).

    Repeated arguments (``tag=1&tag=2``) are kept. ``_endpoint`` sends the same
    arguments elsewhere (the list's download links).
    """
    args: dict[str, Any] = request.args.to_dict(flat=False)
    if _endpoint:  # same filters and sort, all pages
        path = cached_url(_endpoint, **changes)
        dropped = ("page", "per_page", *changes)
        query = [(k, v) for k, values in args.items() if k not in dropped for v in values]
        if not query:
            return path
        # Encoded as url_for would (werkzeug's safe characters), after the rule's own arguments.
        return f"{path}{'&' if '?' in path else '?'}{urlencode(query, safe=_URL_SAFE)}"
    if set(changes) - {"page"}:
        args.pop("page", None)  # a new sort, filter or size starts at page 1
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [value]
    # The same path with new arguments: no URL building needed (cheap, and a list
    # page makes a dozen of these).
    query = urlencode([(k, v) for k, values in args.items() for v in values])
    return f"{request.script_root}{request.path}?{query}" if query else f"{request.script_root}{request.path}"


#: Characters werkzeug leaves unquoted in the query strings it builds.
_URL_SAFE = "!$'()*,/:;?@"


def cached_url(endpoint: str, **values: Hashable) -> str:
    """``url_for(endpoint, **values)`` for links fixed in a template (menus, buttons, downloads).

    Built once per app and script root: nothing else of the request changes a
    relative URL here (no URL defaults, no host or subdomain matching).
    """
    app = current_app
    urls: dict[tuple[Hashable, ...], str] = app.extensions["webapp.urls"]
    key = (endpoint, request.script_root, *sorted(values.items()))
    url = urls.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if app.url_map.host_matching or app.subdomain_matching or any(app.url_default_functions.values()):
            return url
        if len(urls) >= 1024:
            urls.clear()
        urls[key] = url
    return url


def page_urls(page: Page[Any], window: Iterable[int | None] | None = None) -> dict[int, str]:
    """``list_url(page=n)`` for each page the pager links to (``window``: ``page.window()``)."""
    args = request.args.to_dict(flat=False)
    keys = list(args)
    at = keys.index("page") if "page" in args else len(keys)  # the page keeps its place
    before = urlencode([(k, v) for k in keys[:at] for v in args[k]])
    after = urlencode([(k, v) for k in keys[at + 1:] for v in args[k]])
    base = f"{request.script_root}{request.path}?"
    numbers = {n for n in (page.window() if window is None else window) if n is not None}
    numbers.update((page.page - 1, page.page + 1))
    return {n: base + "&".join(p for p in (before, f"page={n}", after) if p) for n in numbers}


def sort_links(columns: Iterable[str], current: str, desc: bool) -> dict[str, tuple[str, str]]:
    """``sort_link`` for several headers at once, reading the request's arguments once."""
    kept = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in ("sort", "page")])
    base = f"{request.script_root}{request.path}?{kept}{'&' if kept else ''}"
    links = {}
    for column in columns:
        target = column if column != current else (column if desc else f"-{column}")
        arrow = ("▼" if desc else "▲") if column == current else ""
        links[column] = (base + urlencode([("sort", target)]), arrow)
    return links


def sort_link(column: str, current: str, desc: bool) -> tuple[str, str]:
    """URL and arrow for a sortable header: clicking toggles the direction."""
    if column == current:
        return list_url(sort=column if desc else f"-{column}"), ("▼" if desc else "▲")
    return list_url(sort=column), ""
