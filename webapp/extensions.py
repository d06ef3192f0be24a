"""Flask extensions, created unbound here and initialised in ``create_app``.

Flask-Babel is the exception: its ``Babel`` object keeps the loaded catalogues, so
each app gets its own (``register_extensions``) and two apps never share them.
"""

import sqlite3
from typing import Any

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Named constraints so Alembic can alter them later (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
socketio = SocketIO()


@event.listens_for(Engine, "connect")
def _sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Make SQLite behave like PostgreSQL where the app relies on it.

    Foreign keys (and their ON DELETE rules) are off unless asked per connection,
    and SQLite's own lower() only folds ASCII letters, so the "unique regardless
    of case" indexes on lower(name) would let "Élan" and "élan" both in.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# Socket.IO handlers must be known before the first init_app (Flask-SocketIO copies
# them into each new server), so they are attached here, at import time.
from webapp.monitor.socket import register_handlers  # noqa: E402

register_handlers(socketio)
