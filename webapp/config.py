"""Configuration: defaults here, then ``instance/config.py``, then ``WEBAPP_*`` variables.

``create_app(config)`` applies a mapping last, which is how tests and scripts
override single values.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask


class DefaultConfig:
    """Defaults for an embedded single-process install."""

    # SQLALCHEMY_DATABASE_URI defaults to a SQLite file in the instance folder (see below).
    # pool_pre_ping defaults to on for database servers, off for SQLite (see load_config).
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set True (WEBAPP_SESSION_COOKIE_SECURE=true) behind HTTPS
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

    WTF_CSRF_TIME_LIMIT = 12 * 3600

    # Largest request body (a 2 MB cover image plus the form fits easily); more is a 413.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024

    # Accounts.
    PASSWORD_HASH_METHOD = "scrypt"
    PASSWORD_MIN_LENGTH = 8
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
    # A sign-in session ends after this long even if its cookies are kept (the
    # remember cookie's own lifetime); signing out ends it at once.
    LOGIN_SESSION_MAX_AGE_SECONDS = 14 * 24 * 3600

    # Lists.
    PAGE_SIZES = (20, 50, 100)
    # A list's total counts at most this many rows (plus one, to know there are more):
    # past it the page says "10,000+ results", and the pages after it are still offered.
    COUNT_CAP = 10_000
    # A search or a tag matching at most this many blogs is read from its index and sorted;
    # more are found by walking the list's order and testing each blog on the way (see
    # webapp/services/blog_shapes.py). Either way gives the same rows.
    LIST_SORT_MAX_ROWS = 2_000

    # Background work (webapp/services/background.py): a bulk action or a download over
    # more than this many rows runs in the background, with a progress page (/tasks/<id>).
    BACKGROUND_THRESHOLD_ROWS = 10_000
    # Rows per batch: one transaction, one progress update and one cancel check each.
    # A bulk action's batch writes (and holds SQLite's write lock); a download's only reads,
    # and bigger batches spend less of its time on progress updates: a quarter more rows
    # a second on PostgreSQL at 2,000 than at 500, a cancel still within a tenth of a second.
    BACKGROUND_BATCH_ROWS = 500
    BACKGROUND_DOWNLOAD_BATCH_ROWS = 2_000
    # Run a task in a thread of the process that took the request (a greenlet under
    # gevent). False leaves it queued for a process that calls background.run_next().
    BACKGROUND_IN_PROCESS = True

    # Rendered list rows, kept by everything they are made of (see webapp/fragments.py).
    # A Flask-Caching backend: "SimpleCache" (this process, bounded), "RedisCache" with
    # FRAGMENT_CACHE_REDIS_URL to share it, "NullCache" to turn it off.
    FRAGMENT_CACHE_TYPE = "SimpleCache"
    FRAGMENT_CACHE_TIMEOUT = 300  # seconds
    FRAGMENT_CACHE_THRESHOLD = 500  # SimpleCache: entries kept at most
    FRAGMENT_CACHE_KEY_PREFIX = "webapp-fragment:"
    FRAGMENT_CACHE_REDIS_URL = None

    # Display.
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"  # the display time zone; storage is always UTC
    # The languages offered, by their catalogue names (webapp/translations/<name>/).
    LANGUAGES = ("en", "zh_CN")

    # Security headers (see webapp/security.py).
    CONTENT_SECURITY_POLICY = (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )

    # Number of proxies in front of the app whose X-Forwarded-For can be trusted.
    PROXY_FIX_X_FOR = 0

    LOG_LEVEL = "INFO"

    # What this process does (see webapp/roles.py and the README, "Production"):
    # "all": everything in one process (the embedded default: `make run`, run.py);
    # "web": pages, API and sockets, never a scheduler (gunicorn -k gevent);
    # "worker": the scheduler and the memory sampler, when it holds the owner lock.
    ROLE = "all"
    # Redis URL through which every process emits to every browser (several processes).
    SOCKETIO_MESSAGE_QUEUE = None
    # The Redis Pub/Sub channel of that queue. Channels ignore Redis's database number,
    # so two deployments on one Redis server need two names (scripts/cluster sets one).
    SOCKETIO_CHANNEL = "webapp-socketio"
    # Flask-SocketIO's async mode: threading, or gevent under gunicorn -k gevent (serve.py).
    SOCKETIO_ASYNC_MODE = "threading"

    # The process that owns the scheduler: run.py and serve.py ("all") start it; a
    # worker starts it once it holds the owner lock. SCHEDULER_AUTOSTART starts it in
    # create_app itself (scripts, tests).
    SCHEDULER_AUTOSTART = False
    # A worker that owns the scheduler re-reads the job stores this often, so a job
    # changed by a web process takes effect within a second.
    SCHEDULER_WAKEUP_SECONDS = 0.5
    # Claim each (job, scheduled time) in the run history before running it, so that
    # no run happens twice across an owner change (on for workers, see roles.py).
    SCHEDULER_CLAIM_RUNS = False
    # The PostgreSQL advisory lock (or, on SQLite, instance/scheduler.lock) held by the owner.
    SCHEDULER_LOCK_KEY = 7_301_001
    # The shortest interval a job may have (a shorter one keeps a core busy running it).
    SCHEDULER_MIN_INTERVAL_SECONDS = 1.0
    # Run history is kept this many days by a daily "purge-run-history" job (0 keeps it all).
    JOB_HISTORY_DAYS = 30

    # Live memory monitor (see the README for the message format).
    MONITOR_TICK_SECONDS = 1.0  # one psutil reading per tick; intervals are 1, 2, 5, 10 ticks
    MONITOR_HISTORY = 300  # samples a joining client gets at once (5 minutes at 1 s)
    MONITOR_PROCESSES_SECONDS = 5.0
    MONITOR_WARNING_PERCENT = 80
    MONITOR_CRITICAL_PERCENT = 90
    MONITOR_HYSTERESIS_PERCENT = 3  # a level clears only this far below its threshold


#: Short environment names accepted beside the full Flask/extension keys.
ENV_ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` in precedence order and make sure a SECRET_KEY exists."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("WEBAPP")
    for short, full in ENV_ALIASES.items():
        if short in app.config:
            app.config[full] = app.config.pop(short)
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        db_path = Path(app.instance_path) / "webapp.sqlite"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    # A server can drop a pooled connection (restart, idle timeout), so each checkout
    # tests it first; a SQLite file cannot, and the test would be a query per request.
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options.setdefault("pool_pre_ping", not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


def instance_secret_key(instance_path: Path) -> str:
    """Return the key stored in ``instance/secret_key``, generating it on first use."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: if two processes start at once, the loser reads the winner's key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
