"""Background work: a bulk action or a download over more than BACKGROUND_THRESHOLD_ROWS
rows runs in batches outside the request, with a progress page, Cancel and a socket room.

Here the threshold is 5 rows and a batch 2 rows, so 7 blogs make a background task of
four batches (2, 4, 6, 7); a download's batch is 3 rows (3, 6, 7). The app is on a
SQLite file: the work runs in a thread with its own connection, as in production. A test
that must act between two batches does so from a receiver of ``background.progressed``,
which the work sends after each batch is stored and before it checks for a cancel.
"""

from __future__ import annotations

import csv
import io
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from tests.conftest import CSRFClient, app_config
from tests.pg_support import close_app
from webapp import create_app
from webapp.extensions import db, socketio
from webapp.models import AuditEntry, BackgroundTask, Blog, Tag, User
from webapp.models.types import utcnow
from webapp.services import background, blog_tasks

THRESHOLD, BATCH, DOWNLOAD_BATCH = 5, 2, 3
NS = "/ws"


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema, made once: each test starts from a copy (creating the
    tables in a file takes most of a second, a copy a millisecond)."""
    folder = tmp_path_factory.mktemp("schema")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(folder / "instance"))
        schema_app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'empty.sqlite'}"))
        with schema_app.app_context():
            db.create_all()
        close_app(schema_app)
    return folder / "empty.sqlite"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_database: Path) -> Iterator[Flask]:
    """The conftest app, on a SQLite file, with a threshold of 5 rows and batches of 2."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    shutil.copy(empty_database, tmp_path / "bg.sqlite")
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'bg.sqlite'}",
                                BACKGROUND_THRESHOLD_ROWS=THRESHOLD, BACKGROUND_BATCH_ROWS=BATCH,
                                BACKGROUND_DOWNLOAD_BATCH_ROWS=DOWNLOAD_BATCH))
    app.test_client_class = CSRFClient
    yield app
    with app.app_context():  # no work may outlive the test's database
        wait_until(lambda: not db.session.scalar(select(func.count()).select_from(BackgroundTask)
                                                 .where(BackgroundTask.status == "running")))
        db.session.remove()
    close_app(app)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def drafts(app: Flask, editor: User) -> Callable[[int], list[int]]:
    """``drafts(n)``: n draft blogs by the editor, in list order (newest first), by bulk INSERT."""

    def make(count: int) -> list[int]:
        with app.app_context():
            now = utcnow()
            db.session.execute(insert(Blog), [
                {"title": f"Post {i:02d}", "slug": f"post-{i}", "body": "b", "status": "draft",
                 "author_id": editor.id, "created_at": now, "updated_at": now, "version": 1}
                for i in range(count)])
            db.session.commit()
            return list(db.session.scalars(select(Blog.id).order_by(Blog.id)))

    return make


def signed_in(app: Flask, username: str) -> CSRFClient:
    client: CSRFClient = app.test_client()  # type: ignore[assignment]
    assert client.post("/auth/login", data={"login": username, "password": "correct horse battery"}
                       ).status_code == 302
    return client


def finished(app: Flask, task_id: int) -> BackgroundTask:
    """The task once it has finished (a poll with a deadline)."""
    def read() -> BackgroundTask | None:
        with app.app_context():
            task = db.session.get(BackgroundTask, task_id)
            db.session.expunge_all()
            return task if task is not None and task.finished else None
    wait_until(read)
    return read()  # type: ignore[return-value]


def task_id_of(response: Any) -> int:
    assert response.status_code == 302 and response.location.startswith("/tasks/"), response.text
    return int(response.location.rsplit("/", 1)[1])


def publish(client: CSRFClient, ids: list[int]) -> Any:
    return client.post("/blogs/bulk", data={"action": "publish", "ids": [str(i) for i in ids],
                                            "confirmed": "1", "back": "/blogs/?q=Post"})


def statuses(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Blog.status).order_by(Blog.id)))


# -- switching to the background ----------------------------------------------------------------


def test_a_bulk_action_over_the_threshold_runs_in_batches_through_the_services(app, editor, drafts):
    ids = drafts(7)
    client = signed_in(app, "editor")
    seen: list[tuple[int, int]] = []

    def watch(sender: Flask, state: dict[str, Any]) -> None:
        if state["status"] == "running" and state["done"]:
            seen.append((state["done"], state["total"]))

    with background.progressed.connected_to(watch):
        task_id = task_id_of(publish(client, ids))
        task = finished(app, task_id)
    assert (task.status, task.done, task.total, task.result) == ("succeeded", 7, 7, {"count": 7})
    assert seen == [(2, 7), (4, 7), (6, 7), (7, 7)]  # one transaction and one report per batch
    assert statuses(app) == ["published"] * 7
    with app.app_context():  # audited like a publish in the request, by the user who asked
        entries = db.session.execute(select(AuditEntry.actor_name, AuditEntry.changes)
                                     .where(AuditEntry.object_type == "blogs")).all()
    assert len(entries) == 7 and {name for name, _ in entries} == {"editor"}
    assert all(changes["status"] == ["draft", "published"] for _, changes in entries)
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and "7 blogs published." in page.text and "Finished" in page.text


def test_up_to_the_threshold_the_action_runs_in_the_request(app, editor, drafts):
    ids = drafts(THRESHOLD)
    answer = publish(signed_in(app, "editor"), ids)
    assert answer.status_code == 302 and answer.location == "/blogs/?q=Post"
    assert statuses(app) == ["published"] * THRESHOLD
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BackgroundTask)) == 0


def test_all_matching_over_the_threshold_asks_first_then_goes_to_the_background(app, editor, drafts):
    drafts(7)
    client = signed_in(app, "editor")
    confirm = client.post("/blogs/bulk", data={"action": "delete", "all_matching": "1",
                                               "back": "/blogs/?q=Post"})
    assert confirm.status_code == 200 and "Delete 7 blogs?" in confirm.text
    assert statuses(app) == ["draft"] * 7  # nothing before the answer
    ids = [int(i) for i in confirm.text.split('name="ids" value="')[1:] for i in [i.split('"')[0]]]
    task_id = task_id_of(client.post("/blogs/bulk", data={"action": "delete", "ids": ids, "confirmed": "1",
                                                          "back": "/blogs/?q=Post"}))
    assert finished(app, task_id).result == {"count": 7} and statuses(app) == []


def test_blogs_deleted_meanwhile_are_skipped(app, editor, drafts):
    ids = drafts(7)
    with app.app_context():
        actor = db.session.get(User, editor.id)
        app.config["BACKGROUND_IN_PROCESS"] = False
        task = blog_tasks.start_bulk("publish", ids, None, actor)
        db.session.delete(db.session.get(Blog, ids[3]))
        db.session.commit()
        assert background.run(task.id)
    assert finished(app, task.id).result == {"count": 6}


# -- cancelling ---------------------------------------------------------------------------------


def cancel_at(done: int, by: str) -> Callable[[Flask, dict[str, Any]], None]:
    """A ``progressed`` receiver that asks, as ``by``, to cancel once ``done`` rows are done."""
    def receiver(sender: Flask, state: dict[str, Any]) -> None:
        if state["status"] == "running" and state["done"] == done:
            background.cancel(state["id"], db.session.scalar(select(User).where(User.username == by)))
    return receiver


def test_cancel_stops_between_batches_and_says_how_far_it_got(app, editor, drafts):
    ids = drafts(7)
    client = signed_in(app, "editor")
    with background.progressed.connected_to(cancel_at(4, "editor")):
        task_id = task_id_of(publish(client, ids))
        task = finished(app, task_id)
    assert (task.status, task.done, task.total, task.result) == ("cancelled", 4, 7, {"count": 4})
    assert statuses(app) == ["published"] * 4 + ["draft"] * 3
    page = client.get(f"/tasks/{task_id}").text
    assert "Cancelled after 4 of 7 rows. 4 blogs published." in page
    assert 'data-task-cancel' not in page  # nothing left to cancel


def test_a_cancelled_download_leaves_no_partial_file(app, editor, drafts, tmp_path):
    drafts(7)
    client = signed_in(app, "editor")
    assert "The download has 7 rows." in client.get("/blogs/export.csv?q=Post").text
    with background.progressed.connected_to(cancel_at(3, "editor")):  # a download's batch: 3 rows
        task_id = task_id_of(client.post("/blogs/export.csv?q=Post"))
        task = finished(app, task_id)
    assert (task.status, task.done) == ("cancelled", 3)
    assert list((tmp_path / "instance" / "exports").iterdir()) == []
    assert client.get(f"/tasks/{task_id}/download").status_code == 404


def test_a_queued_task_is_cancelled_at_once_and_never_runs(app, editor, drafts):
    app.config["BACKGROUND_IN_PROCESS"] = False  # queued for a worker that calls run_next()
    ids = drafts(7)
    client = signed_in(app, "editor")
    first, second = task_id_of(publish(client, ids)), task_id_of(publish(client, ids))
    assert "Waiting to start" in client.get(f"/tasks/{first}").text
    answer = client.post(f"/tasks/{first}/cancel", follow_redirects=True)
    assert "Cancelled after 0 of 7 rows. 0 blogs published." in answer.text
    with app.app_context():
        assert background.run(first) is False  # claimed by nobody: it was not queued any more
        assert background.run_next() == second
        assert background.run_next() is None
    assert finished(app, second).result == {"count": 7}


def test_cancel_needs_the_csrf_token(app, editor, drafts):
    app.config["BACKGROUND_IN_PROCESS"] = False
    client = signed_in(app, "editor")
    task_id = task_id_of(publish(client, drafts(7)))
    assert client.post(f"/tasks/{task_id}/cancel", csrf=False).status_code == 400
    assert client.get(f"/tasks/{task_id}/state").json["status"] == "queued"


# -- who may see what ---------------------------------------------------------------------------


def test_only_the_owner_or_an_admin_sees_or_cancels_a_task(app, editor, admin, make_user, drafts):
    app.config["BACKGROUND_IN_PROCESS"] = False
    make_user("other", role="editor")
    task_id = task_id_of(publish(signed_in(app, "editor"), drafts(7)))
    other = signed_in(app, "other")
    for answer in (other.get(f"/tasks/{task_id}"), other.get(f"/tasks/{task_id}/state"),
                   other.post(f"/tasks/{task_id}/cancel")):
        assert answer.status_code == 403
    assert app.test_client().get(f"/tasks/{task_id}").location.startswith("/auth/login")
    boss = signed_in(app, "admin")
    assert boss.get(f"/tasks/{task_id}").status_code == 200
    boss.post(f"/tasks/{task_id}/cancel")
    assert boss.get(f"/tasks/{task_id}/state").json["status"] == "cancelled"
    assert boss.get("/tasks/999999").status_code == 404


def test_a_viewer_cannot_start_a_bulk_action(app, viewer, editor, drafts):
    answer = publish(signed_in(app, "viewer"), drafts(7))
    assert answer.status_code == 403 and statuses(app) == ["draft"] * 7
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BackgroundTask)) == 0


def test_a_big_download_is_prepared_then_opened_by_its_owner_only(app, editor, admin, viewer, drafts):
    drafts(7)
    client = signed_in(app, "viewer")  # reading the blogs is enough to download them
    ask = client.get("/blogs/export.csv?q=Post&sort=title")
    assert ask.status_code == 200 and 'data-testid="export-confirm"' in ask.text
    task_id = task_id_of(client.post("/blogs/export.csv?q=Post&sort=title"))
    task = finished(app, task_id)
    assert (task.status, task.result) == ("succeeded", {"file": f"{task_id}.csv", "rows": 7})
    page = client.get(f"/tasks/{task_id}").text
    assert "The download has 7 rows." in page and f"/tasks/{task_id}/download" in page
    download = client.get(f"/tasks/{task_id}/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "no-store" in download.headers["Cache-Control"]
    assert download.headers["Content-Disposition"].startswith("attachment; filename=blogs-")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert [r[1] for r in rows[1:]] == [f"Post {i:02d}" for i in range(7)]
    boss = signed_in(app, "admin")
    assert boss.get(f"/tasks/{task_id}").status_code == 200
    assert f"/tasks/{task_id}/download" not in boss.get(f"/tasks/{task_id}").text
    assert boss.get(f"/tasks/{task_id}/download").status_code == 403


def test_a_small_download_is_still_streamed_in_the_request(app, editor, drafts):
    drafts(THRESHOLD)
    answer = signed_in(app, "editor").get("/blogs/export.json?q=Post")
    assert answer.status_code == 200 and answer.mimetype == "application/json" and len(answer.json) == 5


# -- failures -----------------------------------------------------------------------------------


def test_a_refused_batch_is_recorded_with_its_message_not_a_500(app, editor, drafts):
    ids = drafts(7)
    app.config["BACKGROUND_IN_PROCESS"] = False
    with app.app_context():
        tag_id = db.session.execute(insert(Tag).values(
            name="t", slug="t", description="", colour="#123456", version=1, created_at=utcnow())
        ).inserted_primary_key[0]
        db.session.commit()
    client = signed_in(app, "editor")
    answer = client.post("/blogs/bulk", data={"action": "add_tag", "tag_id": str(tag_id), "back": "/blogs/",
                                              "ids": [str(i) for i in ids]})
    task_id = task_id_of(answer)
    with app.app_context():
        db.session.delete(db.session.get(Tag, tag_id))  # gone before the work starts
        db.session.commit()
        background.run(task_id)
    task = finished(app, task_id)
    assert (task.status, task.done, task.error) == ("failed", 0, f"No tag with id {tag_id}.")
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and f"The work stopped: No tag with id {tag_id}." in page.text


@pytest.mark.parametrize(("language", "refusal"), [("en", "Your role does not allow this."),
                                                   ("zh-CN", "你的角色无权执行此操作。")])
def test_a_user_who_lost_the_role_meanwhile_changes_nothing_more(app, editor, drafts, language, refusal):
    """The refusal is recorded in the language of the request that started the work."""
    ids = drafts(7)
    app.config["BACKGROUND_IN_PROCESS"] = False
    client = signed_in(app, "editor")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    task_id = task_id_of(publish(client, ids))
    with app.app_context():
        db.session.get(User, editor.id).role = "viewer"
        db.session.commit()
        background.run(task_id)
    task = finished(app, task_id)
    assert (task.status, task.error) == ("failed", refusal)
    assert statuses(app) == ["draft"] * 7


def test_an_unexpected_error_is_logged_and_recorded(app, editor, drafts, tmp_path, caplog):
    drafts(7)
    (tmp_path / "instance" / "exports").write_text("a file where the folder should be")
    client = signed_in(app, "editor")
    task = finished(app, task_id_of(client.post("/blogs/export.json")))
    assert task.status == "failed"
    assert task.error == "The work stopped on an unexpected error, which has been logged."
    assert "background task" in caplog.text and "FileExistsError" in caplog.text
    assert client.get(f"/tasks/{task.id}").status_code == 200


# -- the socket room ----------------------------------------------------------------------------


def test_the_socket_follows_the_tasks_you_may_see(app, editor, admin, make_user, drafts):
    app.config["BACKGROUND_IN_PROCESS"] = False
    make_user("other", role="editor")
    owner_client = signed_in(app, "editor")
    task_id = task_id_of(publish(owner_client, drafts(7)))
    owner = socketio.test_client(app, namespace=NS, flask_test_client=owner_client)
    stranger = socketio.test_client(app, namespace=NS, flask_test_client=signed_in(app, "other"))
    joined = owner.emit("join_task", {"id": task_id}, namespace=NS, callback=True)
    assert joined == {"ok": True, "task": {"id": task_id, "status": "queued", "done": 0, "total": 7}}
    refused = stranger.emit("join_task", {"id": task_id}, namespace=NS, callback=True)
    assert refused == {"ok": False, "error": "This work was started by someone else."}
    assert stranger.emit("join_task", {"id": "1"}, namespace=NS, callback=True)["ok"] is False
    with app.app_context():
        background.run(task_id)
    progress = [e["args"][0] for e in owner.get_received(NS) if e["name"] == "task_progress"]
    assert [(p["status"], p["done"]) for p in progress] == [
        ("running", 0), ("running", 2), ("running", 4), ("running", 6), ("running", 7), ("succeeded", 7)]
    assert not [e for e in stranger.get_received(NS) if e["name"] == "task_progress"]
    owner.disconnect(namespace=NS)
    stranger.disconnect(namespace=NS)


def test_the_progress_page_speaks_the_users_language(app, editor, drafts):
    client = signed_in(app, "editor")
    task_id = task_id_of(publish(client, drafts(7)))
    finished(app, task_id)
    page = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "正在发布博客" in page and "已完成" in page and "7 / 7 行" in page and "Progress" not in page
