"""Translation helpers: Flask-Babel for the catalogues, a cheaper lookup for templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, g, has_request_context
from flask_babel import get_translations
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.utils import LRUCache
from markupsafe import Markup


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


def template_gettext(message: str, **variables: Any) -> Markup:
    """``_()`` in templates: Jinja's "newstyle" gettext semantics, at a fraction of the cost.

    As with Jinja's own: the translation is trusted markup, the variables are escaped
    into it, and the message is always a format string (a literal % is written %%).
    Templates are all HTML (autoescaped), so the result is always Markup. Messages
    without variables (most of a page's labels) are looked up once per catalogue.
    """
    return _gettext(request_translations(), message, variables)


def _gettext(translations: Any, message: str, variables: dict[str, Any]) -> Markup:
    if variables:
        return Markup(translations.ugettext(message)) % variables
    memo = catalogue_memo(translations)
    label = memo.get(message)
    if label is None:
        label = memo[message] = Markup(translations.ugettext(message)) % {}
    return label


def template_ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
    """``ngettext()`` in templates, with ``num`` available as ``%(num)d``."""
    variables.setdefault("num", num)
    return Markup(request_translations().ungettext(singular, plural, num)) % variables


def catalogue_memo(translations: Any = None) -> dict[Any, Any]:
    """Translated texts kept with their catalogue (this request's by default).

    Flask-Babel keeps one catalogue object per language and domain, so what is
    kept here goes with it when the catalogues are reloaded.
    """
    if translations is None:
        translations = request_translations()
    memo = getattr(translations, "_webapp_memo", None)
    if memo is None:
        memo = {}
        translations._webapp_memo = memo
    return memo


def bound_gettext(translations: Any) -> tuple[Any, Any]:
    """``_`` and ``ngettext`` with the template semantics, bound to ``translations``
    (for markup rendered in Python: one catalogue look-up, not one per text)."""

    def gettext(message: str, **variables: Any) -> Markup:
        return _gettext(translations, message, variables)

    def ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
        variables.setdefault("num", num)
        return Markup(translations.ungettext(singular, plural, num)) % variables

    return gettext, ngettext


def _page_gettext() -> dict[str, Any]:
    """A page's ``_``, bound to the request's catalogue once rather than per label.

    (Macros imported without context keep the global ``_``; the result is the same.)
    """
    gettext, _ngettext = bound_gettext(request_translations())
    return {"_": gettext, "gettext": gettext}


class FoldedLabels(Extension):
    """Translates ``{{ _('a literal') }}`` when a template is compiled, not at every render.

    Most of a page's texts are such labels: each was a call, a catalogue look-up
    and an escape per render. Compiled inside a request, a template gets the
    labels of the request's language as plain template text (exactly what the
    call would have output), and is cached per language (see LanguageCache).
    Anything else (variables, filters, ``ngettext``) stays a call at render time.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        translations = request_translations() if has_request_context() else None
        expression: list[Token] = []
        for token in stream:
            if expression:
                expression.append(token)
                if token.type == "variable_end":
                    yield from _folded(expression, translations)
                    expression = []
            elif token.type == "variable_begin":
                expression.append(token)
            else:
                yield token
        yield from expression


def _folded(expression: list[Token], translations: Any) -> list[Token]:
    inner = expression[1:-1]
    if translations is None or [t.type for t in inner] != ["name", "lparen", "string", "rparen"] \
            or inner[0].value != "_":
        return expression
    try:
        label = _gettext(translations, inner[2].value, {})
    except (KeyError, TypeError, ValueError):  # a format error shows at render time, as before
        return expression
    return [Token(expression[0].lineno, "data", str(label))]


class LanguageCache(LRUCache):
    """Jinja's template cache, keyed by language as well: templates with folded labels
    differ per language. The language is this request's catalogue object (the one
    the labels were folded with); outside a request, none (nothing is folded)."""

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__((_language(), key))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__((_language(), key), value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__((_language(), key))

    def __contains__(self, key: Any) -> bool:
        return super().__contains__((_language(), key))


def _language() -> Any:
    return request_translations() if has_request_context() else None


def install_template_gettext(app: Flask) -> None:
    """Make ``_``, ``gettext`` and ``ngettext`` in templates use the cheaper functions,
    and fold constant labels into the templates per language."""
    env = app.jinja_env
    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    app.context_processor(_page_gettext)
    if isinstance(env.cache, LRUCache):  # the default; cache_size=0 or -1 keeps Jinja's own
        env.cache = LanguageCache(env.cache.capacity)
        env.add_extension(FoldedLabels)
