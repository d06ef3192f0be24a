"""The console under gunicorn: ``gunicorn "webapp.serve:app()"``.

The role comes from ``WEBAPP_ROLE`` (webapp/roles.py):
- ``all`` (default), the embedded install:
  ``gunicorn --worker-class gthread --threads 100 --workers 1 "webapp.serve:app()"``.
  The one process also runs the scheduler and the memory sampler (``make run``);
- ``web``, beside workers: ``gunicorn --worker-class gevent --workers 1 "webapp.serve:app()"``,
  one process per core or per port, all sharing PostgreSQL and Redis.

Under the gevent worker (which has patched the standard library by now) Socket.IO
runs in gevent mode, WebSockets through simple-websocket.
"""

from __future__ import annotations

import atexit
import sys

from flask import Flask

from webapp import create_app


def app() -> Flask:
    """A web (or embedded) application for this gunicorn worker process."""
    overrides = {"SOCKETIO_ASYNC_MODE": "gevent"} if _gevent_patched() else {}
    application = create_app(overrides)
    role = application.config["ROLE"]
    if role == "worker":
        raise SystemExit("WEBAPP_ROLE=worker runs as `python -m webapp.worker`, not under gunicorn")
    if role == "all":
        from webapp.jobs.scheduler import start_scheduler

        if start_scheduler(application):
            # Gunicorn's graceful stop ends in a normal exit: running jobs finish first.
            atexit.register(application.extensions["scheduler"].shutdown, True)
    return application


def _gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))
