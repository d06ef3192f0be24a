"""Small helpers the services share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Integer, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from webapp.extensions import db
from webapp.services.errors import Conflict, NotFound

M = TypeVar("M")


def get_or_raise(model: type[M], object_id: int, label: str) -> M:
    """The row with this primary key, or NotFound naming ``label``."""
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(_("No %(what)s with id %(id)s.", what=label, id=object_id))
    return obj


def check_version(obj: Any, expected_version: int | None, name: str) -> None:
    """Raise Conflict when ``obj`` moved past the version the caller edited."""
    if expected_version is None or obj.version == expected_version:
        return
    from webapp.services import audit

    entry = audit.last_change(obj.__tablename__, obj.id)
    who = entry.actor_name if entry else _("someone else")
    raise Conflict(
        _("%(name)s was changed by %(who)s after you opened it (version %(theirs)d, yours %(yours)d); "
          "nothing was saved. Reload to see the current values.",
          name=name, who=who, theirs=obj.version, yours=expected_version),
        current=obj,
    )


def unique_slug(model: Any, base: str, exclude_id: int | None = None, fallback: str = "item") -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is free in ``model.slug``."""
    base = base or fallback
    stmt = select(model.slug).where(model.slug.like(f"{base}%"))
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    taken = set(db.session.scalars(stmt))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def among(column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (ids)`` for a batch of ids; on PostgreSQL ``column = ANY(:ids)``, one array
    parameter: 500 ids are then not 500 parameters to render, send and plan on every batch
    (which takes longer than reading the rows)."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)
