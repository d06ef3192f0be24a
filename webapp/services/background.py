"""Background work: long bulk actions and large downloads, in batches, with progress.

A task is a row of ``background_tasks``; nothing about it lives in process memory. The
view that starts one records it (``queued``) and calls :func:`start`. Whoever runs it
first claims it (``queued`` → ``running``, a conditional UPDATE, so a task runs once
however many processes try), then calls its kind's work function (see ``KINDS`` in
``webapp/services/blog_tasks.py``). The work goes batch by batch
(``BACKGROUND_BATCH_ROWS``, a download ``BACKGROUND_DOWNLOAD_BATCH_ROWS``), each batch
through the ordinary service functions, so roles, guards and audit entries apply as for
a request. After each batch it calls the checkpoint, which stores ``done``/``total`` and
the result so far, commits, sends :data:`progressed` (webapp/monitor/socket.py emits it
as ``task_progress`` to the task's Socket.IO room) and stops the work
(:class:`Cancelled`) once a cancel was asked for.

Where it runs: with ``BACKGROUND_IN_PROCESS`` (the default) :func:`start` runs it in
the process that took the request, on ``socketio.start_background_task`` (a thread;
a greenlet in a gevent web process). As the state is all in the table, another
process can run queued tasks instead: set ``BACKGROUND_IN_PROCESS = False`` in the
web processes and call :func:`run_next` in a worker's loop. A task whose process dies
stays ``running``; its page says how far it got.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blinker import Namespace
from flask import Flask, current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import BackgroundTask, Role, TaskStatus, User
from webapp.models.types import utcnow
from webapp.services.access import require_role
from webapp.services.common import get_or_raise
from webapp.services.errors import DomainError, Forbidden, NotFound

logger = logging.getLogger(__name__)

#: ``checkpoint(done, total, result)``: called by the work after each batch.
Checkpoint = Callable[[int, int, dict[str, Any]], None]
#: ``work(task, actor, batch_rows, checkpoint) -> result``: one kind of background work.
Work = Callable[[BackgroundTask, User, int, Checkpoint], dict[str, Any]]


_signals = Namespace()

#: Sent (after commit, sender: the app) with ``state={"id", "status", "done", "total"}``
#: when a task starts, after each of its batches (before the cancel check) and when it ends.
progressed = _signals.signal("background-task-progressed")


class Cancelled(Exception):
    """Raised by the checkpoint when the task's cancel was requested: the work stops there."""


def task_room(task_id: int) -> str:
    """The Socket.IO room (namespace ``/ws``) of one task's progress."""
    return f"task:{task_id}"


def over_threshold(rows: int) -> bool:
    """Whether work over ``rows`` rows runs in the background (``BACKGROUND_THRESHOLD_ROWS``)."""
    return rows > int(current_app.config["BACKGROUND_THRESHOLD_ROWS"])


def export_path(task_id: int, fmt: str) -> Path:
    """Where a download task writes its file: ``instance/exports/<id>.<fmt>``."""
    return Path(current_app.instance_path) / "exports" / f"{task_id}.{fmt}"


def state(task: BackgroundTask) -> dict[str, Any]:
    """What ``task_progress`` says about a task."""
    return {"id": task.id, "status": task.status, "done": task.done, "total": task.total}


# -- starting ---------------------------------------------------------------------


def create(kind: str, owner: User, params: dict[str, Any], total: int) -> BackgroundTask:
    """Record queued work; ``params`` must be JSON. The request's language goes with it,
    so messages the work produces (a refused change) read as the owner reads the pages."""
    locale = get_locale()
    task = BackgroundTask(kind=kind, owner_id=owner.id, total=total,
                          params={**params, "locale": str(locale) if locale else None})
    db.session.add(task)
    db.session.commit()
    return task


def start(task_id: int) -> None:
    """Run the task in this process, in the background (unless ``BACKGROUND_IN_PROCESS`` is off)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["BACKGROUND_IN_PROCESS"]:
        app.extensions["socketio"].start_background_task(run_in_app, app, task_id)


def run_in_app(app: Flask, task_id: int) -> None:
    """:func:`run` in its own app context (a background thread's entry point)."""
    with app.app_context():
        try:
            run(task_id)
        finally:
            db.session.remove()


def run_next() -> int | None:
    """Claim and run the oldest queued task to its end (a worker's loop); its id, or None."""
    waiting = db.session.scalars(select(BackgroundTask.id).where(BackgroundTask.status == TaskStatus.QUEUED)
                                 .order_by(BackgroundTask.id).limit(10)).all()
    db.session.commit()
    for task_id in waiting:
        if run(task_id):
            return task_id
    return None


def run(task_id: int) -> bool:
    """Claim a queued task and run it here to its end; False when it was not queued any more."""
    if not _claim(task_id):
        return False
    task = db.session.get(BackgroundTask, task_id)
    if task is None:  # its owner was deleted meanwhile, and the task with them
        return True
    owner = db.session.get(User, task.owner_id)
    locale = task.params.get("locale")
    _emit(task)
    with force_locale(locale) if locale else contextlib.nullcontext():
        _run_work(task, owner)
    return True


def _run_work(task: BackgroundTask, owner: User | None) -> None:
    from webapp.services.blog_tasks import BATCH_SETTINGS, KINDS  # the kinds of work use this module

    task_id = task.id
    work = KINDS.get(task.kind)
    try:
        if work is None or owner is None:
            raise DomainError(_("This kind of work is unknown."))
        batch = int(current_app.config[BATCH_SETTINGS.get(task.kind, "BACKGROUND_BATCH_ROWS")])
        result = work(task, owner, max(batch, 1),
                      lambda done, total, result: _checkpoint(task_id, done, total, result))
    except Cancelled:
        _finish(task_id, TaskStatus.CANCELLED)
    except DomainError as err:
        _finish(task_id, TaskStatus.FAILED, error=err.message)
    except Exception:
        logger.exception("background task %s failed", task_id)
        _finish(task_id, TaskStatus.FAILED,
                error=_("The work stopped on an unexpected error, which has been logged."))
    else:
        _finish(task_id, TaskStatus.SUCCEEDED, result=result)


def _claim(task_id: int) -> bool:
    claimed = db.session.execute(
        update(BackgroundTask)
        .where(BackgroundTask.id == task_id, BackgroundTask.status == TaskStatus.QUEUED)
        .values(status=TaskStatus.RUNNING.value, started_at=utcnow()))
    db.session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _checkpoint(task_id: int, done: int, total: int, result: dict[str, Any]) -> None:
    """Store and announce one batch's progress; raise Cancelled when asked to stop."""
    db.session.execute(update(BackgroundTask).where(BackgroundTask.id == task_id)
                       .values(done=done, total=total, result=result))
    db.session.commit()
    _announce({"id": task_id, "status": TaskStatus.RUNNING.value, "done": done, "total": total})
    if done >= total:
        return  # the last batch is done: nothing is left to cancel
    stop = db.session.scalar(select(BackgroundTask.cancel_requested).where(BackgroundTask.id == task_id))
    if stop is None or stop:  # asked to stop, or the task (and its owner) was deleted
        raise Cancelled


def _finish(task_id: int, status: TaskStatus, result: dict[str, Any] | None = None,
            error: str | None = None) -> None:
    db.session.rollback()  # whatever the failed batch left half done
    task = db.session.get(BackgroundTask, task_id)
    if task is None:
        return
    task.status, task.finished_at, task.error = status.value, utcnow(), error
    if result is not None:
        task.result = result
    db.session.commit()
    _emit(task)


def _emit(task: BackgroundTask) -> None:
    _announce(state(task))


def _announce(task_state: dict[str, Any]) -> None:
    progressed.send(current_app._get_current_object(), state=task_state)  # type: ignore[attr-defined]


# -- watching, cancelling, downloading ---------------------------------------------


def visible_task(task_id: int, actor: User) -> BackgroundTask:
    """The task, for its owner or an administrator; NotFound or Forbidden otherwise."""
    require_role(actor, Role.VIEWER)
    task = get_or_raise(BackgroundTask, task_id, _("task"))
    if task.owner_id != actor.id and not actor.has_role(Role.ADMIN):
        raise Forbidden(_("This work was started by someone else."))
    return task


def cancel(task_id: int, actor: User) -> BackgroundTask:
    """Stop a task: a queued one at once, a running one after its current batch.
    A finished task stays as it is."""
    task = visible_task(task_id, actor)
    if task.finished:
        return task
    stopped_waiting = db.session.execute(
        update(BackgroundTask)
        .where(BackgroundTask.id == task_id, BackgroundTask.status == TaskStatus.QUEUED)
        .values(status=TaskStatus.CANCELLED.value, finished_at=utcnow(), cancel_requested=True))
    if stopped_waiting.rowcount != 1:  # type: ignore[attr-defined]
        db.session.execute(update(BackgroundTask).where(BackgroundTask.id == task_id)
                           .values(cancel_requested=True))
    db.session.commit()
    task = db.session.get(BackgroundTask, task_id)
    if task is not None and task.finished:
        _emit(task)
    return task  # type: ignore[return-value]


def download_file(task_id: int, actor: User) -> tuple[BackgroundTask, Path]:
    """The finished file of a download task, for the user who asked for it."""
    task = visible_task(task_id, actor)
    if task.owner_id != actor.id:
        raise Forbidden(_("Only the user who asked for a download can open it."))
    name = (task.result or {}).get("file")
    path = export_path(task.id, str(task.params.get("format"))) if name else None
    if task.status != TaskStatus.SUCCEEDED or path is None or not path.is_file():
        raise NotFound(_("This download is not ready."))
    return task, path
