"""Locks that make a rule hold when two requests change the same thing at once.

A rule such as "at least one active administrator remains" reads a count and
then writes. Two requests that both read before either writes would both pass,
so the read is done under a lock the database gives:

- SQLite: ``BEGIN IMMEDIATE``, the database's write lock taken at the start of
  the transaction (Python's sqlite3 does not begin a transaction before a
  SELECT, so without it the read would see no lock at all);
- PostgreSQL and others: ``SELECT ... FOR UPDATE`` of the rows the rule counts.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Role, User


def lock_active_admins() -> None:
    """Serialise every change that could leave the console without an active administrator.

    Call first in the service function, before reading anything the rule depends
    on; objects read before the lock are expired so they are read again under it.
    """
    session = db.session
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.driver_connection
        if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        session.execute(
            select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True))
            .order_by(User.id).with_for_update()
        ).all()
    session.expire_all()
