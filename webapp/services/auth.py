"""Signing in: credential checks and the failed-attempt throttle."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import LoginFailure, User
from webapp.models.types import utcnow
from webapp.services.errors import DomainError, Forbidden, Throttled
from webapp.services.users import find_by_login

# Compared against when the account does not exist, so a wrong username takes
# as long as a wrong password and timing does not reveal which accounts exist.
_DUMMY_HASH: dict[str, str] = {}


class InvalidCredentials(DomainError):
    """Wrong username, email or password: one message for all of them."""

    status = 401


def authenticate(login: str, password: str, address: str) -> User:
    """Return the active user for these credentials, or raise.

    Raises Throttled after too many recent failures for the account or the
    address (even for a correct password), InvalidCredentials for any wrong
    input, Forbidden for a deactivated account.
    """
    user = find_by_login(login) if login else None
    account = f"user:{user.id}" if user else f"name:{login.strip().lower()[:200]}"
    _check_throttle(account, address)
    if user is None or not user.check_password(password):
        if user is None:
            check_password_hash(_dummy_hash(), password)
        _record_failure(account, address)
        raise InvalidCredentials(_("Invalid username, email or password."))
    if not user.active:
        raise Forbidden(_("This account is deactivated. Ask an administrator to activate it."))
    db.session.execute(delete(LoginFailure).where(LoginFailure.account == account))
    # A plain UPDATE: signing in must not bump the version an editor may hold.
    db.session.execute(
        update(User).where(User.id == user.id).values(last_login_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return user


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _check_throttle(account: str, address: str) -> None:
    since = utcnow() - _window()
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    rows = db.session.execute(
        select(LoginFailure.account, LoginFailure.address, LoginFailure.created_at)
        .where(LoginFailure.created_at > since)
        .where(or_(LoginFailure.account == account, LoginFailure.address == address))
        .order_by(LoginFailure.created_at)
    ).all()
    for key, index in ((account, 0), (address, 1)):
        times = [row.created_at for row in rows if row[index] == key]
        if len(times) >= limit:
            # Refused until the oldest failure that still counts leaves the window.
            reopen = times[-limit] + _window()
            seconds = max(int((reopen - utcnow()).total_seconds()), 1)
            minutes = math.ceil(seconds / 60)
            raise Throttled(
                ngettext(
                    "Too many failed sign-in attempts. Try again in %(num)d minute.",
                    "Too many failed sign-in attempts. Try again in %(num)d minutes.",
                    minutes,
                ),
                retry_after=seconds,
            )


def _record_failure(account: str, address: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.created_at < utcnow() - _window()))
    db.session.add(LoginFailure(account=account, address=address[:64]))
    db.session.commit()


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash("not a real password", method=method)
    return _DUMMY_HASH[method]

