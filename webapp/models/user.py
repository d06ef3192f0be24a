"""Accounts and sign-in bookkeeping."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class Role(StrEnum):
    """Roles, from least to most privileged."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


#: A role may do everything a lower-ranked role may do.
ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class User(UserMixin, db.Model):
    """A console account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The language chosen with the switcher (one of LANGUAGES); None: the browser's.
    locale: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("uq_users_email_lower", func.lower(email), unique=True),
        CheckConstraint(role.in_([r.value for r in Role]), name="role"),
    )
    # Every UPDATE checks and bumps the version: a second line of defence
    # behind the explicit expected_version check in the services.
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    def __str__(self) -> str:
        return self.username

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    #: The key of the sign-in session this object was loaded for (not a column):
    #: set by ``services.sessions`` when signing in and when a request's cookie is checked.
    login_key = None

    def get_id(self) -> str:
        """What the session and remember cookies hold: the id and the sign-in session's key.

        The key names a row of ``login_sessions``; deleting that row (sign-out,
        "sign out everywhere", a new password) makes every copy of the cookies useless.
        """
        if not self.login_key:
            raise RuntimeError("start a sign-in session (services.sessions.start) before login_user")
        return f"{self.id}:{self.login_key}"

    def __eq__(self, other: object) -> bool:
        """The same account (Flask-Login's compares cookie ids, which differ per sign-in)."""
        if isinstance(other, User):
            return self is other or (self.id is not None and self.id == other.id)
        return NotImplemented

    __hash__ = object.__hash__

    def set_password(self, password: str, method: str = "scrypt") -> None:
        """Hash and store a new password (the services end the user's sessions)."""
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def has_role(self, minimum: str) -> bool:
        """True when the user's role ranks at least as high as ``minimum``."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]


class LoginSession(db.Model):
    """One signed-in browser: its cookies name it, and deleting it signs that browser out."""

    __tablename__ = "login_sessions"

    #: SHA-256 of the key the cookies carry: a copy of this table signs nobody in.
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginThrottle(db.Model):
    """Sign-in attempts counted for one account or one address within a window.

    A counter row is incremented atomically *before* the password is checked, so
    parallel attempts cannot all slip under the limit.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(270), primary_key=True)  # "account:..." or "address:..."
    attempts: Mapped[int]
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
