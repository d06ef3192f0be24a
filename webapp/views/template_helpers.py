"""Jinja filters and globals: dates in the display time zone, list URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, request, url_for
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import lazy_gettext as _l

from webapp import localtime
from webapp.models.types import utcnow


def register(app: Flask) -> None:
    """Install the helpers on ``app``'s Jinja environment."""
    app.add_template_filter(display_datetime, "datetime")
    app.add_template_filter(relative_time, "reltime")
    app.add_template_filter(localtime.short, "short_dt")
    app.add_template_global(list_url)
    app.add_template_global(sort_link)
    app.add_template_global(get_locale)
    app.add_template_filter(label)


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
    return str(_LABELS.get(kind, {}).get(value, value))


def list_url(_endpoint: str | None = None, **changes: Any) -> str:
    """The current list URL with some arguments changed (None removes one).

    Repeated arguments (``tag=1&tag=2``) are kept. ``_endpoint`` sends the same
    arguments elsewhere (the list's download links).
    """
    args: dict[str, Any] = request.args.to_dict(flat=False)
    if _endpoint:  # same filters and sort, all pages
        args = {k: v for k, v in args.items() if k not in ("page", "per_page", *changes)}
        return url_for(_endpoint, **args, **changes)
    if set(changes) - {"page"}:
        args.pop("page", None)  # a new sort, filter or size starts at page 1
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [value]
    return url_for(request.endpoint or "main.index", **(request.view_args or {}), **args)


def sort_link(column: str, current: str, desc: bool) -> tuple[str, str]:
    """URL and arrow for a sortable header: clicking toggles the direction."""
    if column == current:
        return list_url(sort=column if desc else f"-{column}"), ("▼" if desc else "▲")
    return list_url(sort=column), ""
