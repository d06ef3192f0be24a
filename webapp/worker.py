"""A worker process: ``python -m webapp.worker --health-bind 127.0.0.1:5111``.

It serves no pages. It waits for the scheduler's owner lock, then runs the
scheduler and the memory sampler on plain threads (never gevent) and emits the
samples through the Socket.IO message queue; a second worker waits as a standby
(webapp/jobs/ownership.py). ``GET /healthz`` on the health address answers as on a
web process. SIGTERM or SIGINT: the scheduler stops starting runs, the running ones
finish, then the process exits.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from collections.abc import Sequence
from typing import Any

from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from webapp import create_app
from webapp.jobs.ownership import SchedulerOwner
from webapp.roles import health


def health_app(app: Flask) -> Any:
    """A WSGI app that answers ``/healthz`` only."""

    @Request.application  # type: ignore[arg-type]
    def application(request: Request) -> Response:
        if request.path != "/healthz":
            return Response("Only /healthz is served here.\n", 404, mimetype="text/plain")
        report, status = health(app)
        return Response(json.dumps(report), status, mimetype="application/json")

    return application


def main(argv: Sequence[str] | None = None) -> int:
    """Run a worker until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m webapp.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--health-bind", default="127.0.0.1:5111", metavar="HOST:PORT",
                        help="where GET /healthz answers (default: %(default)s)")
    args = parser.parse_args(argv)
    host, _, port = args.health_bind.rpartition(":")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app = create_app({"ROLE": "worker"})
    owner = SchedulerOwner(app)
    server = make_server(host or "127.0.0.1", int(port), health_app(app), threaded=True)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: owner.stop())
    app.logger.info("worker ready; /healthz on %s:%s; waiting for the scheduler lock", host, port)
    try:
        owner.run()  # returns after stop(), once the running jobs have finished
    finally:
        server.shutdown()
    app.logger.info("worker stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
