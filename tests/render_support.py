"""Apps that render as in production, signed-in clients, a shared fragment store, an HTML reader.

The ``app`` fixture of ``conftest.py`` is fine for behaviour, but rendering tests
must see every cache the app keeps: templates do not reload here, so the fragment
cache is on. Each app gets its own SQLite file and instance folder.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from flask import Flask
from flask_caching.backends.simplecache import SimpleCache
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD, Auth, CSRFClient, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.services import jobs as job_service
from webapp.services import users as user_service
from webapp.services.users import UserData


def production_app(folder: Path, **config: Any) -> Flask:
    """An app on its own SQLite file under ``folder``, rendering with template caching on."""
    folder.mkdir(parents=True, exist_ok=True)
    config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{folder / 'app.sqlite'}")
    with pytest.MonkeyPatch.context() as patch:
        # The instance folder is read when the app is made (uploads, logs, secret key).
        patch.setenv("WEBAPP_INSTANCE_PATH", str(folder / "instance"))
        app = create_app(app_config(TEMPLATES_AUTO_RELOAD=False, **config))
    app.test_client_class = CSRFClient
    assert app.jinja_env.auto_reload is False, "templates must not reload: caches would be off"
    assert app.instance_path == str(folder / "instance")
    with app.app_context():
        db.create_all()
    return app


class SharedMemoryCache(SimpleCache):
    """A fragment cache backend that every app of the process using the same key prefix
    shares: what one Redis is to several processes (``FRAGMENT_CACHE_TYPE="RedisCache"``),
    without a server. Use :func:`shared_cache_config`."""

    stores: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any],
                kwargs: dict[str, Any]) -> SimpleCache:
        cache = super().factory(app, config, args, kwargs)
        cache._cache = cls.stores.setdefault(config["CACHE_KEY_PREFIX"], {})
        return cache


def shared_cache_config() -> dict[str, Any]:
    """Configuration for apps that share one new fragment store (pass the same dict to each)."""
    return {"FRAGMENT_CACHE_TYPE": f"{__name__}.SharedMemoryCache",
            "FRAGMENT_CACHE_KEY_PREFIX": f"shared-{uuid4().hex}:"}


def dispose(app: Flask) -> None:
    """Stop the app's scheduler if it runs, close its database connections, drop its shared store."""
    scheduler = app.extensions.get("scheduler")
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=True)
    with app.app_context():
        db.engine.dispose()
    SharedMemoryCache.stores.pop(app.config.get("FRAGMENT_CACHE_KEY_PREFIX", ""), None)


def signed_in(app: Flask, login: str, password: str = PASSWORD) -> CSRFClient:
    """A client of ``app`` signed in through the login form."""
    client: CSRFClient = app.test_client()  # type: ignore[assignment]
    response = Auth(client).login(login, password)
    assert response.status_code == 302, f"{login} could not sign in: {response.status_code}"
    return client


def fetch(client: CSRFClient, url: str, **kwargs: Any) -> TestResponse:
    """GET ``url`` and read the whole body at once (a streamed download ends its context then)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


class Element:
    """An element as the reader saw it: tag, attributes, text inside and enclosing elements."""

    def __init__(self, tag: str, attrs: dict[str, str], parents: tuple[Element, ...]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parents = parents
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())

    def inside(self, tag: str, **attrs: str) -> Element | None:
        """The nearest enclosing ``tag`` element whose attributes include ``attrs``."""
        for parent in reversed(self.parents):
            if parent.tag == tag and all(parent.attrs.get(k) == v for k, v in attrs.items()):
                return parent
        return None

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>{self.text[:60]}"


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})


class Page(HTMLParser):
    """Every element of an HTML page with its attributes (character references decoded) and text.

    Lenient like a browser: an end tag closes up to its start tag, stray end tags
    are ignored.
    """

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.texts: list[str] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(self._open))
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, tuple(self._open)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        for element in self._open:
            element.text_parts.append(data)

    def find(self, tag: str, **attrs: str) -> list[Element]:
        """Elements ``tag`` whose attributes include ``attrs`` (``attrs`` value None: present)."""
        return [e for e in self.elements if e.tag == tag
                and all((k in e.attrs) if v is None else e.attrs.get(k) == v for k, v in attrs.items())]

    @property
    def text(self) -> str:
        """All text of the page (scripts' and styles' included), character references decoded."""
        return "".join(self.texts)


def add_user(username: str, role: str) -> User:
    """An active account with the tests' password, made as the CLI would."""
    data = UserData(username=username, email=f"{username}@example.com", role=role, active=True,
                    password=PASSWORD)
    return user_service.create_user_as_system(data)


def add_job(actor: User, job_id: str, name: str, paused: bool = False, crontab: str = "30 3 * * 1-5") -> None:
    """A cron job of the log_message task, through the job service."""
    job_service.create_job({"id": job_id, "name": name, "task": "log_message", "kwargs": {"name": name},
                            "trigger": "cron", "trigger_args": {"crontab": crontab, "timezone": "UTC"},
                            "paused": paused}, actor)


def html_of(client: CSRFClient, url: str, **kwargs: Any) -> str:
    """The page at ``url``, which must answer 200."""
    response = fetch(client, url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)
