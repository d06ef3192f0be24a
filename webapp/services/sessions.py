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

from flask import current_app
from sqlalchemy import delete

from webapp.extensions import db
from webapp.models import LoginSession, User
from webapp.models.types import utcnow


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
