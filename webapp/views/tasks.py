"""Background work pages: a task's progress, cancelling it, and its download.

Only the user who started a task and administrators see it; only its owner opens
its download. The page shows the state stored in the table, so it is right on a
plain reload; ``static/js/tasks.js`` keeps it live over the ``/ws`` socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from webapp import localtime
from webapp.forms import ConfirmForm
from webapp.models import BackgroundTask, Role, TaskStatus
from webapp.monitor.sampler import NAMESPACE
from webapp.services import background, blog_tasks, exports
from webapp.views.helpers import role_required, safe_back_url

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.get("/<int:task_id>")
@role_required(Role.VIEWER)
def detail(task_id: int) -> str:
    """A task's progress, its outcome when finished, and Cancel while it runs."""
    task = background.visible_task(task_id, current_user)
    texts = {status.value: status_label(status.value, False) for status in TaskStatus}
    texts["cancelling"] = status_label(TaskStatus.RUNNING, True)
    texts["counts"] = counts_text("{done}", "{total}", task.total)
    return render_template("tasks/detail.html", task=task, title=title(task), message=outcome(task),
                           status=status_label(task.status, task.cancel_requested),
                           counts=counts_text(format_decimal(task.done), format_decimal(task.total),
                                              task.total),
                           download_url=_download_url(task), texts=texts, namespace=NAMESPACE,
                           back=_back(task), form=ConfirmForm())


@bp.get("/<int:task_id>/state")
@role_required(Role.VIEWER)
def state(task_id: int) -> Response:
    """The task's state as JSON: the page's fallback when its socket is down, and its outcome."""
    task = background.visible_task(task_id, current_user)
    return jsonify(**background.state(task), cancel_requested=task.cancel_requested,
                   label=status_label(task.status, task.cancel_requested), message=outcome(task),
                   download_url=_download_url(task), started_at=_when(task.started_at),
                   finished_at=_when(task.finished_at))


@bp.post("/<int:task_id>/cancel")
@role_required(Role.VIEWER)
def cancel(task_id: int) -> BaseResponse:
    """Stop the task between two batches (a queued one at once)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        task = background.cancel(task_id, current_user)
        if task.status == TaskStatus.CANCELLED:
            flash(outcome(task), "info")
        elif task.finished:
            flash(_("This work had already finished."), "info")
        else:
            flash(_("Stopping after the current batch."), "info")
    return redirect(url_for("tasks.detail", task_id=task_id))


@bp.get("/<int:task_id>/download")
@role_required(Role.VIEWER)
def download(task_id: int) -> BaseResponse:
    """The finished file of a download task (its owner only)."""
    task, path = background.download_file(task_id, current_user)
    fmt = str(task.params["format"])
    stamp = localtime.to_local(task.created_at).strftime("%Y%m%d-%H%M")
    response = send_file(path, mimetype=exports.FORMATS[fmt][0], as_attachment=True,
                         download_name=f"blogs-{stamp}.{fmt}")
    response.cache_control.no_store = True
    return response


# -- hand-off from the blog list --------------------------------------------------------


def start_bulk(action: str, ids: Sequence[int], tag_id: int | None, back: str) -> BaseResponse:
    """Start a big bulk action in the background and show its progress page."""
    task = blog_tasks.start_bulk(action, ids, tag_id, current_user, back=back)
    return redirect(url_for("tasks.detail", task_id=task.id))


def start_export(fmt: str) -> str | BaseResponse:
    """A big download: GET asks first (how many rows, prepared in the background); POST starts it."""
    form = ConfirmForm()
    query_string = request.query_string.decode()
    back = url_for("blogs.index") + (f"?{query_string}" if query_string else "")
    if form.validate_on_submit():
        task = blog_tasks.start_export(fmt, request.args.items(multi=True), current_user, back=back)
        return redirect(url_for("tasks.detail", task_id=task.id))
    rows = blog_tasks.count_blogs(*blog_tasks.list_request(request.args.items(multi=True)))
    return render_template("tasks/confirm_export.html", form=form, rows=rows, fmt=fmt.upper(), back=back)


# -- words ------------------------------------------------------------------------------


def title(task: BackgroundTask) -> str:
    """What the task does, as the page's title."""
    if task.kind == blog_tasks.EXPORT:
        return _("Blog download (%(format)s)", format=str(task.params.get("format", "")).upper())
    return {
        "publish": _("Publishing blogs"),
        "unpublish": _("Moving blogs back to drafts"),
        "add_tag": _("Adding a tag to blogs"),
        "remove_tag": _("Removing a tag from blogs"),
        "delete": _("Deleting blogs"),
    }.get(str(task.params.get("action")), _("Background work"))


def status_label(status: str, cancel_requested: bool) -> str:
    """A status in a word or two."""
    if status == TaskStatus.RUNNING and cancel_requested:
        return _("Stopping…")
    labels = {
        TaskStatus.QUEUED: _("Waiting to start"),
        TaskStatus.RUNNING: _("Running"),
        TaskStatus.SUCCEEDED: _("Finished"),
        TaskStatus.FAILED: _("Failed"),
        TaskStatus.CANCELLED: _("Cancelled"),
    }
    return labels.get(status, status)  # type: ignore[call-overload]


def counts_text(done: str, total: str, rows: int) -> str:
    """``done`` of ``total`` rows (numbers already formatted, or placeholders for the page script)."""
    return ngettext("%(done)s of %(total)s row", "%(done)s of %(total)s rows", rows, done=done, total=total)


def outcome(task: BackgroundTask) -> str:
    """What happened, in a sentence: the count changed, the download's rows, the error, how far it got."""
    result: dict[str, Any] = task.result or {}
    if task.status == TaskStatus.FAILED:
        return _("The work stopped: %(error)s", error=task.error or "")
    if task.status == TaskStatus.CANCELLED:
        stopped = _("Cancelled after %(done)s of %(total)s rows.", done=format_decimal(task.done),
                    total=format_decimal(task.total))
        then = _("No file was kept.") if task.kind == blog_tasks.EXPORT else _changed(task, result)
        return f"{stopped} {then}"
    if task.status != TaskStatus.SUCCEEDED:
        return status_label(task.status, task.cancel_requested)
    return _changed(task, result)


def _changed(task: BackgroundTask, result: dict[str, Any]) -> str:
    if task.kind == blog_tasks.EXPORT:
        rows = int(result.get("rows", 0))
        return ngettext("The download has %(num)d row.", "The download has %(num)d rows.", rows)
    return bulk_done_message(str(task.params.get("action")), int(result.get("count", 0)))


def bulk_done_message(action: str, count: int) -> str:
    """What a bulk action on blogs did, in its own words (in the request or in the background)."""
    if action == "delete":
        return ngettext("%(num)d blog deleted.", "%(num)d blogs deleted.", count)
    if action == "publish":
        return ngettext("%(num)d blog published.", "%(num)d blogs published.", count)
    if action == "unpublish":
        return ngettext("%(num)d blog moved back to drafts.", "%(num)d blogs moved back to drafts.", count)
    return ngettext("%(num)d blog changed.", "%(num)d blogs changed.", count)


def _download_url(task: BackgroundTask) -> str | None:
    ready = task.kind == blog_tasks.EXPORT and task.status == TaskStatus.SUCCEEDED
    return url_for("tasks.download", task_id=task.id) if ready and task.owner_id == current_user.id else None


def _when(moment: datetime | None) -> str | None:
    return localtime.short(moment, seconds=True) if moment else None


def _back(task: BackgroundTask) -> str:
    return safe_back_url(task.params.get("back"), "/blogs") or url_for("blogs.index")

