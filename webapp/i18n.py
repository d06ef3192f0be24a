"""Translation helpers: Flask-Babel for the catalogues, a cheaper lookup for templates."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context
from flask_babel import get_translations


def request_translations() -> Any:
    """This request's translations, looked up once per request.

    Flask-Babel resolves the locale and its catalogue on every ``_()`` call; a list
    page makes about fifty such calls, so the templates use this cached lookup.
    """
    if not has_request_context():
        return get_translations()
    translations = g.get("_webapp_translations")
    if translations is None:
        translations = g._webapp_translations = get_translations()
    return translations


def install_template_gettext(app: Flask) -> None:
    """Make ``_``/``gettext``/``ngettext`` in templates use the cached lookup."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
