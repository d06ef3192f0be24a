"""The admin console: ``create_app`` builds a configured Flask application."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import load_config
from webapp.extensions import csrf, db, login_manager, migrate, socketio
from webapp.i18n import ConsoleBabel, select_locale


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory; ``config`` overrides every other configuration source."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        # Another instance folder (tests, several installs side by side).
        instance_path=os.environ.get("WEBAPP_INSTANCE_PATH") or None,
    )
    load_config(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    configure_logging(app)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_cli(app)
    if app.config["SCHEDULER_AUTOSTART"]:
        from webapp.jobs.scheduler import start_scheduler

        start_scheduler(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the extensions created in ``extensions.py`` to this app."""
    from socketio import RedisManager

    from webapp import models  # noqa: F401  (the models must be known to Migrate)
    from webapp.jobs.scheduler import configure_scheduler
    from webapp.monitor.sampler import Sampler
    from webapp.monitor.shared import RedisState
    from webapp.roles import check_role
    from webapp.views.helpers import load_user

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    ConsoleBabel(app, locale_selector=select_locale)  # one per app: it keeps the catalogues
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    role = check_role(app)
    # async_handlers=False: one client's events are handled in order (a quick
    # subscribe-then-unsubscribe must not finish the other way round). With a message
    # queue, an emit in any process reaches the browsers of every process.
    # The manager is given every time: Flask-SocketIO keeps the one it built for an
    # earlier app otherwise, and an app without a queue would inherit its Redis.
    queue = app.config["SOCKETIO_MESSAGE_QUEUE"]
    manager = RedisManager(queue, channel=app.config["SOCKETIO_CHANNEL"]) if queue else None
    socketio.init_app(app, async_mode=app.config["SOCKETIO_ASYNC_MODE"], client_manager=manager,
                      manage_session=False, async_handlers=False)
    configure_scheduler(app)
    app.extensions["monitor.sampler"] = Sampler(
        socketio,
        tick_seconds=app.config["MONITOR_TICK_SECONDS"],
        history_size=app.config["MONITOR_HISTORY"],
        processes_every=app.config["MONITOR_PROCESSES_SECONDS"],
        state=RedisState(queue, app.config["MONITOR_HISTORY"]) if queue else None,
        produces=role != "web",  # a web process beside a worker relays the worker's samples
    )


def register_blueprints(app: Flask) -> None:
    """One blueprint per area, plus the error pages and security headers."""
    from webapp.security import register_security
    from webapp.views import audit, auth, blogs, errors, health, jobs, main, monitor, tags, tasks, users
    from webapp.views.helpers import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    from webapp.views.api import register_api

    for module in (main, auth, users, audit, blogs, tags, monitor, jobs, health, tasks):
        app.register_blueprint(module.bp)
    errors.register_error_handlers(app)
    register_api(app)
    register_security(app)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates share."""
    from webapp import fragments
    from webapp.views import template_helpers

    template_helpers.register(app)
    fragments.init_app(app)


def register_cli(app: Flask) -> None:
    """``flask init-db``, ``flask create-admin``, ``flask seed-demo``."""
    from webapp.cli import register_commands

    register_commands(app)


def configure_logging(app: Flask) -> None:
    """Log to stderr; an embedded install also to a rotating file under ``instance/logs``.

    Web processes and workers log to stderr only: several processes cannot share one
    rotating file, and whatever runs them (scripts/cluster, Docker) keeps their output.
    """
    app.logger.setLevel(app.config["LOG_LEVEL"])
    if app.debug or app.testing or app.config["ROLE"] != "all" \
            or any(isinstance(h, RotatingFileHandler) for h in app.logger.handlers):
        return
    log_dir = Path(app.instance_path) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(log_dir / "webapp.log", maxBytes=5_000_000, backupCount=5)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    app.logger.addHandler(handler)
