"""Socket.IO handlers of the ``/ws`` namespace (see the README for the message format)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import SocketIO, disconnect, emit, join_room, leave_room

from webapp.extensions import db
from webapp.monitor.sampler import INTERVALS, LISTENERS_ROOM, NAMESPACE, Sampler, interval_room
from webapp.services import background, sessions
from webapp.services.errors import DomainError
from webapp.services.signals import access_revoked

logger = logging.getLogger(__name__)


def sampler() -> Sampler:
    """This app's sampler (one per server process)."""
    return current_app.extensions["monitor.sampler"]  # type: ignore[no-any-return]


def register_handlers(socketio: SocketIO) -> None:
    """Attach the namespace's handlers to ``socketio`` (once, before ``init_app``)."""

    @socketio.on("connect", namespace=NAMESPACE)
    def on_connect(auth: Any = None) -> bool:
        """Refuse anyone not signed in (the handshake carries the session cookie)."""
        if not current_user.is_authenticated:
            return False
        sampler().connected(request.sid, current_user.id,  # type: ignore[attr-defined]
                            sessions.key_hash(current_user.login_key))
        return True

    @socketio.on("disconnect", namespace=NAMESPACE)
    def on_disconnect(reason: Any = None) -> None:
        sampler().disconnected(request.sid)  # type: ignore[attr-defined]

    @socketio.on("subscribe", namespace=NAMESPACE)
    def on_subscribe(data: Any = None) -> dict[str, Any]:
        """Join the room of an update interval (1, 2, 5 or 10 ticks) and get the recent history."""
        if not current_user.is_authenticated:  # signed out, deactivated or password changed since
            disconnect()
            return {"ok": False, "error": _("not signed in")}
        interval = data.get("interval") if isinstance(data, dict) else None
        if type(interval) is not int or interval not in INTERVALS:
            return {"ok": False,
                    "error": _("interval must be one of %(intervals)s", intervals=list(INTERVALS))}
        sid = request.sid  # type: ignore[attr-defined]
        for other in INTERVALS:
            leave_room(interval_room(other))
        join_room(interval_room(interval))
        join_room(LISTENERS_ROOM)
        history = sampler().subscribe(sid, interval)
        emit("history", {"interval": interval, "samples": history})
        if sampler().latest_processes is not None:
            emit("processes", sampler().latest_processes)
        return {"ok": True, "interval": interval}

    @socketio.on("unsubscribe", namespace=NAMESPACE)
    def on_unsubscribe(data: Any = None) -> dict[str, Any]:
        """Stop receiving samples (the Stop button, or a hidden tab)."""
        for interval in INTERVALS:
            leave_room(interval_room(interval))
        leave_room(LISTENERS_ROOM)
        sampler().unsubscribe(request.sid)  # type: ignore[attr-defined]
        return {"ok": True}

    @socketio.on("join_task", namespace=NAMESPACE)
    def on_join_task(data: Any = None) -> dict[str, Any]:
        """Follow one background task's progress (its owner or an admin); the ack carries its state."""
        if not current_user.is_authenticated:
            disconnect()
            return {"ok": False, "error": _("not signed in")}
        task_id = data.get("id") if isinstance(data, dict) else None
        if type(task_id) is not int:
            return {"ok": False, "error": _("id must be a task's number")}
        try:
            task = background.visible_task(task_id, current_user)
        except DomainError as err:
            return {"ok": False, "error": err.message}
        join_room(background.task_room(task.id))
        db.session.refresh(task)  # read after joining: no progress falls between the two
        return {"ok": True, "task": background.state(task)}


def disconnect_session(login_key: str) -> None:
    """End the monitor sockets opened by one sign-in session (called when it signs out)."""
    for sid in sampler().sids_of_session(sessions.key_hash(login_key)):
        disconnect(sid=sid, namespace=NAMESPACE)


@access_revoked.connect
def _end_revoked_sockets(app: Flask, user_ids: list[int]) -> None:
    """Deactivated, deleted, re-passworded or signed-out-everywhere users keep no live stream open."""
    with app.app_context():
        for user_id in user_ids:
            for sid in app.extensions["monitor.sampler"].sids_of(user_id):
                app.extensions["socketio"].server.disconnect(sid, namespace=NAMESPACE)


@background.progressed.connect
def _emit_task_progress(app: Flask, state: dict[str, Any]) -> None:
    """A background task's progress, to the browsers following it (the table stays the truth,
    so a lost emit, a message queue that is down, only delays a page: the work goes on)."""
    try:
        app.extensions["socketio"].emit("task_progress", state, to=background.task_room(state["id"]),
                                        namespace=NAMESPACE)
    except Exception:
        logger.warning("could not send the progress of background task %s", state["id"], exc_info=True)
