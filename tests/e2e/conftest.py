"""Browser tests: Debian's Chromium driven by Playwright against a live server.

With CI=true a missing browser fails the run; elsewhere the tests are skipped
with a message saying what to install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import ThreadedWSGIServer, make_server

from tests.conftest import PASSWORD, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.jobs.scheduler import start_scheduler

CHROMIUM = os.environ.get("WEBAPP_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as e2e (``-m "not e2e"`` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium instead of a Playwright download."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: run scripts/ensure-chromium (or make test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"],
    }


class LiveServer:
    """The app served by Werkzeug on a free loopback port, in a background thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class ConnectionTrackingServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, remembering its open connections so they can be cut.

    ``shutdown()`` alone only stops accepting: the handler threads of open WebSockets
    would carry on serving. Cutting the connections is what a crashed or restarted
    server looks like to the browser.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.connections_lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)


class RestartableLiveServer(LiveServer):
    """A LiveServer that ``stop()`` really stops, and ``restart()`` serves again on the same port."""

    def __init__(self, app: Flask, port: int = 0) -> None:
        self.app = app
        self.server = ConnectionTrackingServer("127.0.0.1", port, app)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.stopped = False

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        super().stop()
        self.server.server_close()  # release the port
        self.server.cut_connections()

    def restart(self) -> None:
        """A new server for the same app, bound to the same port (the browser's URL stays)."""
        self.stop()
        RestartableLiveServer.__init__(self, self.app, self.server.server_port)
        self.start()


@pytest.fixture
def live_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on a fresh SQLite file (shared by the server threads)."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    config = app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'e2e.sqlite'}")
    config.pop("SERVER_NAME")
    app = create_app(config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(live_app).start()
    yield server
    server.stop()


# -- a console with something on every page ------------------------------------------

#: Tag colours that test badge contrast at the extremes: black, white, a bright yellow,
#: a mid grey (about as close to both black and white text as a colour gets), and more.
SEEDED_TAG_COLOURS = {"black": "#000000", "white": "#ffffff", "yellow": "#ffc107",
                      "grey": "#777777", "navy": "#1a237e", "rose": "#e91e63", "teal": "#20c997"}


@dataclass(frozen=True)
class SeededConsole:
    """A running console with users, tagged blogs, a job with runs and audit entries."""

    server: LiveServer
    admin: str
    ids: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url


def seed_console(app: Flask) -> dict[str, Any]:
    """Fill the database through the services (so the audit log fills too); returns ids."""
    from webapp.models import JobRun, Tag, User
    from webapp.services import jobs as job_service
    from webapp.services.blogs import BlogData, create_blog
    from webapp.services.tags import TagData, create_tag
    from webapp.services.tokens import create_token
    from webapp.services.users import UserData, create_user, create_user_as_system

    with app.app_context():
        admin = create_user_as_system(UserData(username="root", email="root@example.com", role="admin",
                                               password=PASSWORD))
        admin = db.session.get(User, admin.id)
        people = [create_user(UserData(username=name, email=f"{name}@example.com", role=role,
                                       password=PASSWORD, active=active), admin)
                  for name, role, active in (("ada", "editor", True), ("grace", "viewer", True),
                                             ("linus", "viewer", False))]
        for name, colour in SEEDED_TAG_COLOURS.items():
            create_tag(TagData(name=name, colour=colour, description=f"A {name} tag."), admin)
        blog_ids = []
        for number, (title, tags, status) in enumerate((
                ("Every colour", list(SEEDED_TAG_COLOURS), "published"),
                ("Black and white", ["black", "white"], "draft"),
                ("Yellow notes", ["yellow", "grey"], "published"),
                ("Untagged draft", [], "draft"))):
            blog = create_blog(BlogData(title=title, body=f"# {title}\n\nSome *text* number {number}.",
                                        tags=tags, status=status), admin)
            blog_ids.append(blog.id)
        create_token(admin, "deploy script")
        job_service.create_job({"id": "nightly", "name": "Nightly greeting", "task": "log_message",
                                "kwargs": {"name": "admins"}, "trigger": "cron",
                                "trigger_args": {"crontab": "0 3 * * *"}}, admin)
        now = datetime.now(UTC)
        for hours, status, error in ((3, "succeeded", None), (2, "failed", "ValueError: boom"),
                                     (1, "missed", None)):
            db.session.add(JobRun(job_id="nightly", scheduled_at=now - timedelta(hours=hours), status=status,
                                  started_at=now - timedelta(hours=hours), duration_ms=12.5, error=error,
                                  traceback="Traceback ...\nValueError: boom" if error else None))
        db.session.commit()
        tag_id = db.session.scalar(select(Tag.id).where(Tag.name == "grey"))
        ids = {"admin": admin.id, "editor": people[0].id, "viewer": people[1].id, "blog": blog_ids[0],
               "blogs": blog_ids, "tag": tag_id, "job": "nightly"}
        db.session.remove()
    return ids


@pytest.fixture(scope="module")
def seeded_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededConsole]:
    """One seeded console for a whole test module, its scheduler running (for its panel)."""
    folder = tmp_path_factory.mktemp("seeded")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(folder / "instance"))
        config = app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'e2e.sqlite'}")
        config.pop("SERVER_NAME")
        app = create_app(config)
        with app.app_context():
            db.create_all()
        start_scheduler(app)
        ids = seed_console(app)
        server = LiveServer(app).start()
        yield SeededConsole(server=server, admin="root", ids=ids)
        server.stop()
        app.extensions["scheduler"].shutdown(wait=True)
        with app.app_context():
            db.engine.dispose()
