"""Accounts and sign-in bookkeeping."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Index, String, func
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


def new_session_token() -> str:
    """A random token; changing it signs the user out of every other session."""
    return secrets.token_urlsafe(16)


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
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
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

    def get_id(self) -> str:
        """Session identifier: id plus token, so a password change ends old sessions."""
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str, method: str = "scrypt") -> None:
        """Hash and store a new password, ending the user's other sessions."""
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def has_role(self, minimum: str) -> bool:
        """True when the user's role ranks at least as high as ``minimum``."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]


class LoginFailure(db.Model):
    """One failed sign-in, kept for the throttling window."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(254), index=True)  # as typed, lower-cased
    address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
