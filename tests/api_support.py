"""Helpers for the JSON API tests: bearer clients per role, content factories, readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from webapp.extensions import db
from webapp.models import AuditEntry, User
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services import tokens as token_service
from webapp.services.blogs import BlogData
from webapp.services.tags import TagData


class ApiClient:
    """A test client that sends JSON with ``Authorization: Bearer <token>``."""

    def __init__(self, app: Flask, token: str | None, user: User | None = None) -> None:
        self.client = app.test_client()
        self.token = token
        self.user = user

    def request(self, method: str, url: str, json: Any = None, headers: dict[str, str] | None = None,
                **kwargs: Any) -> TestResponse:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        if json is not None:
            kwargs["json"] = json
        return self.client.open(url, method=method, headers=sent, **kwargs)

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", url, json=json, **kwargs)

    def patch(self, url: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", url, json=json, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", url, **kwargs)


def issue_token(app: Flask, user: User, name: str = "tests") -> str:
    """A new API token for ``user`` (through the service), as plaintext."""
    with app.app_context():
        owner = db.session.get(User, user.id)
        return token_service.create_token(owner, name)[1]


class RoleClients:
    """``clients("editor")``: an ApiClient for a user of that role (created on first use)."""

    def __init__(self, app: Flask, make_user: Callable[..., User]) -> None:
        self.app = app
        self.make_user = make_user
        self.cache: dict[str, ApiClient] = {}

    def __call__(self, role: str) -> ApiClient:
        if role == "anonymous":
            return ApiClient(self.app, None)
        if role not in self.cache:
            user = self.make_user(f"api-{role}", role=role)
            self.cache[role] = ApiClient(self.app, issue_token(self.app, user), user)
        return self.cache[role]


def make_tag(app: Flask, name: str, **fields: Any) -> int:
    """Create a tag as the system administrator; returns its id."""
    with app.app_context():
        return tag_service.create_tag(TagData(name=name, **fields), _any_admin()).id


def make_blog(app: Flask, title: str, author: User | None = None, **fields: Any) -> int:
    """Create a blog (tags by name) written by ``author`` (default: the first admin); returns its id."""
    with app.app_context():
        writer = db.session.get(User, author.id) if author else _any_admin()
        data = BlogData(title=title, **fields)
        data.author_id = data.author_id or writer.id
        return blog_service.create_blog(data, _any_admin() if author is None else writer).id


def _any_admin() -> User:
    admin = db.session.scalar(select(User).where(User.role == "admin", User.active.is_(True))
                              .order_by(User.id))
    assert admin is not None, "create an administrator first"
    return admin


def audit_entries(app: Flask, object_type: str) -> list[tuple[str, str, str]]:
    """(actor, action, object id) of every audit entry for ``object_type``, oldest first."""
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == object_type).order_by(AuditEntry.id))
        return [(e.actor_name, e.action, e.object_id) for e in entries]


def error_of(response: TestResponse) -> dict[str, Any]:
    """The ``error`` object of a JSON error response (checking the shape on the way)."""
    assert response.mimetype == "application/json", response.data[:200]
    error = response.get_json()["error"]
    assert error["status"] == response.status_code
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]
