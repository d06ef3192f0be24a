"""Rules that must hold when requests arrive at the same time, on SQLite and PostgreSQL.

Each test fires real requests from several threads at once (each thread with its
own client, the app and its database shared) against a database file or server,
never the in-memory SQLite that serialises everything on one connection.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update

from tests.conftest import PASSWORD, CSRFClient, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import LoginThrottle, Role, User
from webapp.services import tokens as token_service
from webapp.services import users as user_service
from webapp.services.users import UserData

ROUNDS = 6


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def race_app(request: pytest.FixtureRequest, tmp_path: Any,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on a SQLite file, then on PostgreSQL: databases that see real concurrency."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'race.sqlite'}"
    else:
        uri = request.getfixturevalue("pg_url")
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=uri))
    app.test_client_class = CSRFClient
    with app.app_context():
        if request.param == "postgres":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.create_all()
    yield app
    with app.app_context():
        db.session.close()
        db.engine.dispose()


def all_at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def make_admin(app: Flask, name: str) -> tuple[int, str]:
    """An administrator and an API token of theirs."""
    with app.app_context():
        user = user_service.create_user_as_system(UserData(
            username=name, email=f"{name}@example.com", role=Role.ADMIN.value, password=PASSWORD))
        _token, plaintext = token_service.create_token(user, "race")
        return user.id, plaintext


def signed_in(app: Flask, name: str) -> CSRFClient:
    client: CSRFClient = app.test_client()  # type: ignore[assignment]
    assert client.post("/auth/login", data={"login": name, "password": PASSWORD}).status_code == 302
    return client


def active_admins(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)).where(
            User.role == Role.ADMIN.value, User.active.is_(True))) or 0


def restore(app: Flask, *user_ids: int) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.id.in_(user_ids))
                           .values(role=Role.ADMIN.value, active=True))
        db.session.commit()


def version_of(app: Flask, user_id: int) -> int:
    with app.app_context():
        return db.session.get(User, user_id).version  # type: ignore[union-attr]


def test_two_admins_removing_each_other_at_once_leave_one_active_admin(race_app):
    """Over the API, the edit page and the bulk action, in every pairing of the three."""
    app = race_app
    # The loser's token stops working (its owner was deactivated) and counts as a bad
    # token for the address: this test is about the admin rule, not that throttle.
    app.config["LOGIN_MAX_FAILURES"] = 1000
    ann, ann_token = make_admin(app, "ann")
    bob, bob_token = make_admin(app, "bob")

    def api_deactivate(target: int, token: str) -> Callable[[], int]:
        client = app.test_client()
        return lambda: client.patch(f"/api/v1/users/{target}", json={"active": False},
                                    headers={"Authorization": f"Bearer {token}"}).status_code

    def page_demote(target: int) -> Callable[[], int]:
        version = version_of(app, target)
        ann_page = signed_in(app, "ann")  # afresh: deactivating ann ends her sessions
        return lambda: ann_page.post(f"/users/{target}/edit", data={
            "username": "bob", "email": "bob@example.com", "role": "editor", "active": "y",
            "version": version}).status_code

    def bulk_deactivate(target: int) -> Callable[[], int]:
        ann_page = signed_in(app, "ann")
        return lambda: ann_page.post("/users/bulk", data={"action": "deactivate",
                                                          "ids": [target], "confirmed": "1"}).status_code

    pairings = [
        lambda: (api_deactivate(bob, ann_token), api_deactivate(ann, bob_token)),
        lambda: (page_demote(bob), api_deactivate(ann, bob_token)),
        lambda: (bulk_deactivate(bob), api_deactivate(ann, bob_token)),
    ]
    for pairing in pairings:
        for alone in (0, 1):  # each request alone does remove its admin
            restore(app, ann, bob)
            status = pairing()[alone]()
            assert active_admins(app) == 1, status
        for _ in range(ROUNDS):
            restore(app, ann, bob)
            all_at_once(*pairing())
            assert active_admins(app) == 1


def test_parallel_wrong_basic_auth_passwords_are_checked_at_most_the_limit(race_app):
    app = race_app
    make_admin(app, "ann")
    credentials = base64.b64encode(b"ann:wrong password").decode()

    def attempt() -> int:
        return app.test_client().get("/scheduler", headers={
            "Authorization": f"Basic {credentials}"}).status_code

    statuses = all_at_once(*[attempt] * 20)
    checked = statuses.count(401)
    assert checked == app.config["LOGIN_MAX_FAILURES"], statuses
    assert statuses.count(429) == 20 - checked


def test_parallel_form_sign_ins_cannot_reach_the_right_password_past_the_limit(race_app):
    app = race_app
    ann, _token = make_admin(app, "ann")

    def attempt(password: str) -> Callable[[], int]:
        client = app.test_client()
        return lambda: client.post("/auth/login", data={"login": "ann", "password": password}).status_code

    guesses = [attempt(f"guess {i}") for i in range(15)]
    statuses = all_at_once(*guesses)
    assert statuses.count(429) == 15 - app.config["LOGIN_MAX_FAILURES"]
    # The window is full: the right password now waits like any other guess.
    assert attempt(PASSWORD)() == 429
    with app.app_context():
        counted = dict(db.session.execute(select(LoginThrottle.key, LoginThrottle.attempts)).all())
    assert counted[f"account:user:{ann}"] == 16


def test_links_added_and_removed_at_once_leave_every_tag_count_exact(race_app):
    """tags.blog_count is changed by the database with each link (webapp/models/tag_counts.py):
    six requests tagging and untagging at once lose no change."""
    from webapp.models import Tag, blog_tags
    from webapp.services import blogs as blog_service
    from webapp.services.blogs import BlogData

    make_admin(race_app, "boss")
    with race_app.app_context():
        actor = db.session.scalar(select(User).where(User.username == "boss"))
        ids = [blog_service.create_blog(BlogData(title=f"Post {n}", tags=["hot"] if n < 3 else []), actor).id
               for n in range(6)]
        hot = db.session.scalar(select(Tag.id).where(Tag.name == "hot"))
    clients = [signed_in(race_app, "boss") for _ in ids]

    def change(client: CSRFClient, blog_id: int, action: str) -> Callable[[], Any]:
        return lambda: client.post("/blogs/bulk", data={"action": action, "tag_id": str(hot),
                                                        "ids": [str(blog_id)], "back": "/blogs/"})

    answers = all_at_once(*(change(client, blog_id, "remove_tag" if n < 3 else "add_tag")
                            for n, (client, blog_id) in enumerate(zip(clients, ids, strict=True))))
    assert [answer.status_code for answer in answers] == [302] * 6
    with race_app.app_context():
        links = db.session.scalar(select(func.count()).where(blog_tags.c.tag_id == hot))
        assert (db.session.scalar(select(Tag.blog_count).where(Tag.id == hot)), links) == (3, 3)
