"""Signing in: credential checks and the failed-attempt throttle."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import LoginThrottle, User
from webapp.models.types import UTCDateTime, utcnow
from webapp.services import sessions
from webapp.services.errors import DomainError, Forbidden, Throttled
from webapp.services.signals import access_revoked
from webapp.services.users import find_by_login


class InvalidCredentials(DomainError):
    """Wrong username, email or password: one message for all of them."""

    status = 401


def authenticate(login: str, password: str, address: str) -> User:
    """Return the active user for these credentials, or raise.

    Raises Throttled after too many recent attempts for the account or the
    address (even for a correct password), InvalidCredentials for any wrong
    input, Forbidden for a deactivated account.

    The attempt is counted before the password is checked, in one atomic
    statement per key, so parallel attempts cannot check more passwords than
    the limit allows; a successful sign-in gives its count back.
    """
    user = find_by_login(login) if login else None
    account = f"user:{user.id}" if user else f"name:{login.strip().lower()[:200]}"
    keys = (f"account:{account}", f"address:{address[:64]}")
    _count_attempt(keys)
    if user is None or not user.check_password(password):
        if user is None:
            check_password_hash(_dummy_hash(), password)
        raise InvalidCredentials(_("Invalid username, email or password."))
    _give_back(keys)
    if not user.active:
        db.session.commit()
        raise Forbidden(_("This account is deactivated. Ask an administrator to activate it."))
    # A plain UPDATE: signing in must not bump the version an editor may hold.
    db.session.execute(
        update(User).where(User.id == user.id).values(last_login_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return user


def check_token_throttle(address: str) -> None:
    """Throttled when this address sent too many unknown API tokens in the window."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    row = db.session.get(LoginThrottle, _token_key(address))
    if row is not None and row.attempts >= limit and row.window_started_at >= utcnow() - _window():
        raise _throttled(row.window_started_at + _window() - utcnow())


def count_bad_token(address: str) -> None:
    """Count an unknown or revoked API token from ``address`` (atomically); Throttled past the limit."""
    _count_attempt((_token_key(address),))


def _token_key(address: str) -> str:
    return f"token-address:{address[:64]}"


def sign_out_everywhere(user: User) -> None:
    """End every sign-in session of ``user``: all browsers, remember cookies and sockets."""
    sessions.end_all([user.id])
    db.session.commit()
    access_revoked.send(current_app._get_current_object(), user_ids=[user.id])


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _count_attempt(keys: tuple[str, ...]) -> None:
    """Add one attempt to each key's counter (atomically) and commit; Throttled over the limit."""
    now = utcnow()
    since = now - _window()
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.window_started_at < since))
    reopen_at = None
    for key in keys:
        attempts, started = db.session.execute(_upsert(key, now, since)).one()
        if attempts > limit:
            reopen = started + _window()
            reopen_at = reopen if reopen_at is None else max(reopen_at, reopen)
    db.session.commit()
    if reopen_at is not None:
        raise _throttled(reopen_at - now)


def _throttled(wait: timedelta) -> Throttled:
    seconds = max(math.ceil(wait.total_seconds()), 1)
    minutes = math.ceil(seconds / 60)
    return Throttled(
        ngettext(
            "Too many failed sign-in attempts. Try again in %(num)d minute.",
            "Too many failed sign-in attempts. Try again in %(num)d minutes.",
            minutes,
        ),
        retry_after=seconds,
    )


def _upsert(key: str, now: datetime, since: datetime) -> Any:
    """INSERT the counter at 1, or add one (restarting a window that has passed), RETURNING it."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(LoginThrottle).values(key=key, attempts=1, window_started_at=now)
    expired = LoginThrottle.window_started_at < since
    return stmt.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "attempts": case((expired, 1), else_=LoginThrottle.attempts + 1),
            "window_started_at": case((expired, literal(now, UTCDateTime())),
                                      else_=LoginThrottle.window_started_at),
        },
    ).returning(LoginThrottle.attempts, LoginThrottle.window_started_at)


def _give_back(keys: tuple[str, ...]) -> None:
    """A right password: the account starts afresh, and the address gets back the attempts
    that were this account's (a user who mistyped, then got it right, is not held against)."""
    account, address = keys
    given = db.session.scalar(
        delete(LoginThrottle).where(LoginThrottle.key == account).returning(LoginThrottle.attempts)
    ) or 1
    db.session.execute(
        update(LoginThrottle).where(LoginThrottle.key == address).values(
            attempts=case((LoginThrottle.attempts > given, LoginThrottle.attempts - given), else_=0))
    )


def _dummy_hash() -> str:
    """Compared against when the account does not exist, so a wrong username takes as
    long as a wrong password and timing does not reveal which accounts exist."""
    return _hash_of_nothing(current_app.config["PASSWORD_HASH_METHOD"])


@lru_cache(maxsize=8)
def _hash_of_nothing(method: str) -> str:
    return generate_password_hash("not a real password", method=method)
