"""Development server: ``python run.py`` (Flask-SocketIO on Werkzeug, debug mode, reloader).

It runs everything in one process, like ``make run``, but reloads on code changes
and shows the interactive debugger, so it binds to 127.0.0.1 by default. Serve the
console with gunicorn instead (``make run``, or the README's "Production").
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
    start_scheduler(app)  # this serving process owns the scheduler (skipped in the reloader's parent)
    socketio.run(app, host=host, port=port, debug=True)
