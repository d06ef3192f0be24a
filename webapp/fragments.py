"""Rendered template fragments, kept by everything they are rendered from.

This is the console's one cache. A list's rows are most of the page's cost and the
same rows are shown again and again, so ``render_fragment`` keeps what a template
rendered, in a per-app cache from Flask-Caching (``FRAGMENT_CACHE_*`` settings: a
bounded in-process ``SimpleCache`` by default, ``RedisCache`` to share it between
processes).

A kept fragment can only be right if its key covers every input, so nothing is
left to the caller:

- the key is a digest of the template's name, the templates' own digest, every
  keyword argument (pickled: the values themselves, not their ids), the language
  and the display time zone; a call site never writes a key;
- the fragment is rendered in an environment of its own with ``StrictUndefined``
  and none of the request's globals (no ``request``, ``session``, ``g``,
  ``current_user``, ``csrf_token``, ``url_for``, ``config``) and no filter that
  reads the clock: a value the template needs but was not given is an error, not
  a silent share between users;
- values are stored pickled, so what comes back is a copy nobody can change.

While templates reload (debug), fragments are rendered every time.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale
from flask_caching import Cache
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

#: Globals a fragment may use: Jinja's own and the translation functions (the
#: language is part of the key). Anything else of the request must come as an input.
FRAGMENT_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace",
                              "gettext", "ngettext", "_"})
#: Filters that depend on the time of rendering: not available in a fragment.
CLOCK_FILTERS = frozenset({"reltime"})

EXTENSION = "webapp.fragments"


def init_app(app: Flask) -> None:
    """Give ``app`` its fragment environment and cache (call after the template helpers)."""
    cache = Cache(config={
        "CACHE_TYPE": app.config["FRAGMENT_CACHE_TYPE"],
        "CACHE_DEFAULT_TIMEOUT": app.config["FRAGMENT_CACHE_TIMEOUT"],
        "CACHE_THRESHOLD": app.config["FRAGMENT_CACHE_THRESHOLD"],
        "CACHE_KEY_PREFIX": app.config["FRAGMENT_CACHE_KEY_PREFIX"],
        "CACHE_REDIS_URL": app.config.get("FRAGMENT_CACHE_REDIS_URL"),
    })
    cache.init_app(app)
    app.extensions[EXTENSION] = Fragments(app, cache)
    app.add_template_global(render_fragment)


class Fragments:
    """One app's fragment environment, cache and template digest."""

    def __init__(self, app: Flask, cache: Cache) -> None:
        self.app = app
        self.cache = cache
        # Its own compiled templates (no bytecode cache shared with the pages' environment):
        # without the clock filters a template compiles to other code.
        env = app.jinja_env.overlay(undefined=StrictUndefined, cache_size=100, bytecode_cache=None)
        parent = app.jinja_env
        env.globals = {name: value for name, value in parent.globals.items() if name in FRAGMENT_GLOBALS}
        env.filters = {name: value for name, value in parent.filters.items() if name not in CLOCK_FILTERS}
        self.env: Environment = env
        self.templates_digest = _templates_digest(app.jinja_env)

    def render(self, template: str, inputs: dict[str, Any]) -> Markup:
        """``template`` rendered from ``inputs`` alone, kept by all of them."""
        if self.app.jinja_env.auto_reload:
            return Markup(self._render(template, inputs))
        key = self.key(template, inputs)
        html = self.cache.get(key)
        if html is None:
            html = self._render(template, inputs)
            self.cache.set(key, html)
        return Markup(html)

    def key(self, template: str, inputs: dict[str, Any]) -> str:
        """The digest of everything the fragment is made from."""
        made_of = (template, self.templates_digest, str(get_locale() or ""),
                   self.app.config["BABEL_DEFAULT_TIMEZONE"], sorted(inputs.items()))
        return hashlib.blake2b(pickle.dumps(made_of, protocol=5), digest_size=20).hexdigest()

    def _render(self, template: str, inputs: dict[str, Any]) -> str:
        return self.env.get_template(template).render(inputs)


def render_fragment(template: str, **inputs: Any) -> Markup:
    """``{{ render_fragment('blogs/_rows.html', rows=page.items, can_edit=can_edit) }}``:
    the template rendered from these inputs only, kept while they stay the same."""
    fragments: Fragments = current_app.extensions[EXTENSION]
    return fragments.render(template, inputs)


def _templates_digest(env: Environment) -> str:
    """A digest of every template's source: a changed template is a new key (a cache
    shared by several processes never serves another version's markup)."""
    digest = hashlib.blake2b(digest_size=16)
    if env.loader is None:
        return ""
    for name in sorted(env.list_templates()):
        source, _filename, _uptodate = env.loader.get_source(env, name)
        digest.update(name.encode() + b"\0" + source.encode() + b"\0")
    return digest.hexdigest()
