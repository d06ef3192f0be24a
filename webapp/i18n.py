"""Languages: which one a request gets, how pages name it, and where its catalogue is.

The language comes from the signed-in user's saved preference, then the language
cookie (set by the switcher for visitors who are not signed in), then the browser's
``Accept-Language``, then English. ``LANGUAGES`` in the config lists the choices by
their catalogue names (``zh_CN``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

from babel import Locale, UnknownLocaleError, support
from flask import current_app, g, has_request_context, request
from flask_babel import Babel, Domain, get_locale
from flask_login import current_user

#: The cookie that keeps the switcher's choice for a browser that is not signed in.
LANGUAGE_COOKIE = "language"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def offered_languages() -> Sequence[str]:
    """The configured languages (``LANGUAGES``), the default first when listed."""
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str | None:
    """The language of this request: saved preference, cookie, Accept-Language, default."""
    if not has_request_context():  # CLI, scheduler: the default locale
        return None
    offered = offered_languages()
    user = g.get("api_user") or current_user
    saved = getattr(user, "locale", None) if user is not None and user.is_authenticated else None
    for choice in (saved, request.cookies.get(LANGUAGE_COOKIE)):
        if choice in offered:
            return str(choice)
    return best_language(request.accept_languages, offered)


def best_language(accepted: Iterable[tuple[str, float]], offered: Sequence[str]) -> str | None:
    """The offered language that best fits ``Accept-Language`` (werkzeug's parsed header).

    Tags are compared by language and script, so ``zh``, ``zh-CN``, ``zh-SG`` and
    ``zh-Hans`` all pick ``zh_CN`` (Simplified Chinese) while ``zh-TW`` and ``zh-Hant``
    (Traditional) do not; ``en-GB`` picks ``en``.
    """
    candidates = [(code, _parse(code)) for code in offered]
    for tag, quality in accepted:
        wanted = _parse(tag)
        if quality <= 0 or wanted is None:
            continue
        exact = [code for code, locale in candidates if locale == wanted]
        close = [code for code, locale in candidates if locale is not None
                 and locale.language == wanted.language
                 and (not wanted.script or not locale.script or locale.script == wanted.script)]
        if exact or close:
            return (exact or close)[0]
    return None


def _parse(tag: str) -> Locale | None:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):  # "*", "x-pirate", garbage
        return None


def html_lang(locale: Locale | None = None) -> str:
    """The page's ``lang``: a BCP 47 tag with a hyphen (``zh-CN``, ``en``)."""
    locale = locale or get_locale()
    if locale is None:
        return "en"
    return "-".join(part for part in (locale.language, locale.territory) if part)


def current_language() -> str:
    """The configured name (``zh_CN``) of this request's language."""
    locale = get_locale()
    for code in offered_languages():
        if _parse(code) == locale:
            return code
    return str(locale or "en")


def language_choices() -> list[tuple[str, str, str]]:
    """(code, name in that language, ``lang`` tag) for each configured language: the switcher."""
    choices = []
    for code in offered_languages():
        locale = _parse(code)
        name = locale.get_display_name(locale) if locale else code
        choices.append((code, name or code, html_lang(locale) if locale else code))
    return choices


class CatalogueDomain(Domain):
    """Flask-Babel's message domain, finding a catalogue under its short name too.

    Babel spells ``zh_CN`` with its likely script, ``zh_Hans_CN``, and gettext then
    looks in ``zh_Hans_CN/`` and ``zh/`` only: never in the ``zh_CN/`` folder that
    ``pybabel init -l zh_CN`` makes. This looks in all three, in that order.
    """

    def get_translations(self) -> support.NullTranslations:
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        cache = self.get_translations_cache(None)
        key = (str(locale), self.domain[0])
        if key not in cache:
            names = [str(locale)]
            if locale.territory:
                names.append(f"{locale.language}_{locale.territory}")
            translations = support.Translations()
            for index, directory in enumerate(self.translation_directories):
                domain = self.domain[0] if len(self.domain) == 1 else self.domain[index]
                catalogue = support.Translations.load(directory, names, domain)
                translations.merge(catalogue)
                if hasattr(catalogue, "plural"):  # merge() keeps the first catalogue's plural rule
                    translations.plural = catalogue.plural
            cache[key] = translations
        return cache[key]


class ConsoleBabel(Babel):
    """Flask-Babel with :class:`CatalogueDomain` (one per app: it keeps the loaded catalogues)."""

    @cached_property
    def domain_instance(self) -> Domain:  # type: ignore[override]
        return CatalogueDomain(domain=self.domain)
