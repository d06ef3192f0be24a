"""Serve the console: ``python run.py`` (Flask-SocketIO's server, threading mode).

Production runs gunicorn instead; see the README.
"""

from __future__ import annotations

import os

from webapp import create_app
from webapp.extensions import socketio
from webapp.jobs.scheduler import start_scheduler

app = create_app()

if __name__ == "__main__":
    host = os.environ.get("WEBAPP_HOST", "127.0.0.1")
    port = int(os.environ.get("WEBAPP_PORT", "5000"))
    debug = os.environ.get("FLASK_DEBUG", "") in {"1", "true"}
    start_scheduler(app)  # this serving process owns the scheduler (skipped in the reloader's parent)
    socketio.run(app, host=host, port=port, debug=debug, allow_unsafe_werkzeug=True)
