"""Sign-in sessions kept on the server, so signing out ends every copy of the cookies.

The session and remember cookies carry ``<user id>:<key>`` (``User.get_id``).
The key is random; the database keeps only its SHA-256 in ``login_sessions``.
A request is signed in only while that row exists, so deleting it (sign-out,
"sign out everywhere", a new password, deactivation) stops a saved cookie,
the remember cookie and the monitor socket alike.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.orm import make_transient_to_detached

from webapp.extensions import db
from webapp.models import LoginSession, User
from webapp.models.types import utcnow
from webapp.services.filters import is_id
from webapp.services.packed import first_row

#: Every column of a signed-in user, by id, while the cookie's sign-in session is open.
_USER_COLUMNS = tuple(User.__table__.columns)
_SESSION_OPEN = exists().where(
    LoginSession.key_hash == bindparam("key_hash"),
    LoginSession.user_id == User.__table__.c.id,
    LoginSession.created_at >= bindparam("oldest"),
)
USER_ROW = select(*_USER_COLUMNS).where(User.__table__.c.id == bindparam("user_id"), _SESSION_OPEN)
_SESSION_ROW = select(LoginSession.user_id).where(LoginSession.user_id == bindparam("user_id"), _SESSION_OPEN)
_USER_FIELDS = [(attr.key, attr.columns[0].key) for attr in User.__mapper__.column_attrs]


def key_hash(key: str) -> str:
    """What ``login_sessions`` stores for a cookie's key."""
    return hashlib.sha256(key.encode()).hexdigest()


def oldest_valid() -> datetime:
    """Sessions started before this have expired, whatever their cookies say."""
    return utcnow() - timedelta(seconds=current_app.config["LOGIN_SESSION_MAX_AGE_SECONDS"])


def start(user: User) -> str:
    """Open a sign-in session for ``user`` (commits); call before ``login_user``."""
    key = secrets.token_urlsafe(24)
    db.session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.created_at < oldest_valid()))
    db.session.add(LoginSession(key_hash=key_hash(key), user_id=user.id))
    db.session.commit()
    user.login_key = key
    return key


def end(user: User) -> None:
    """End the session ``user`` was loaded for (this browser's sign-out; commits)."""
    if user.login_key:
        db.session.execute(delete(LoginSession).where(
            LoginSession.key_hash == key_hash(user.login_key), LoginSession.user_id == user.id))
        db.session.commit()


def end_all(user_ids: list[int], keep: str | None = None) -> None:
    """End every session of these users except the one with key ``keep`` (no commit)."""
    stmt = delete(LoginSession).where(LoginSession.user_id.in_(user_ids))
    if keep:
        stmt = stmt.where(LoginSession.key_hash != key_hash(keep))
    db.session.execute(stmt)


def signed_in_user(session_id: str) -> User | None:
    """The active user of a cookie's ``id:key``, while that sign-in session is open.

    Runs on every signed-in request, so the row is read with a plain query (the same
    statement checks the session) and becomes a User in the session as if the ORM had
    loaded it (same identity, change tracking and version checks), at a fraction of
    the ORM's cost.
    """
    user_id, _, key = session_id.partition(":")
    if not is_id(user_id) or not key:
        return None
    params = {"user_id": int(user_id), "key_hash": key_hash(key), "oldest": oldest_valid()}
    session = db.session()
    connection = session.connection()
    if session.identity_map.get(session.identity_key(User, int(user_id))) is not None:
        # Already in this session: only the sign-in session needs checking.
        user = session.get(User, int(user_id)) if connection.scalar(_SESSION_ROW, params) else None
    else:
        values = first_row(connection, USER_ROW, params)
        user = None if values is None else _attach(session, values)
    if user is None or not user.active:
        return None
    user.login_key = key
    return user


def _attach(session: Any, values: dict[str, Any]) -> User:
    user = User(**{attr: values[column] for attr, column in _USER_FIELDS})
    make_transient_to_detached(user)  # as if loaded: no pending changes, identity key set
    session.add(user)
    return user
