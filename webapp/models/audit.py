"""The audit trail: who changed what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


def actor_key_of(name: str) -> str:
    """An actor's name as the audit log's user filter compares it: in lower case, as SQL's
    lower() gives it (cut to the column's 64 characters: a few letters grow in lower case)."""
    return name.lower()[:64]


def _actor_key(context: Any) -> str:
    """``actor_key`` from the row's ``actor_name``, for every insert that does not set it."""
    return actor_key_of(context.get_current_parameters()["actor_name"])


class AuditEntry(db.Model):
    """One create, update or delete done through the services."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Kept as text so the entry still reads right after the actor is deleted.
    actor_name: Mapped[str] = mapped_column(String(64))
    #: ``actor_name`` in lower case, what the user filter compares: a plain column, so its
    #: index needs no function of the app's (any SQLite client can check it, as for
    #: tags.name_key). Null only in rows older than migration 0010 that it did not reach.
    actor_key: Mapped[str | None] = mapped_column(String(64), default=_actor_key)
    action: Mapped[str] = mapped_column(String(16))  # create / update / delete
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    object_repr: Mapped[str] = mapped_column(String(200))
    # {"field": [old, new]}; secrets are recorded as changed, never by value.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor = relationship("User", lazy="raise")

    # The log's filters, each followed by its order (newest first: the index read
    # backwards), so a filtered page reads its rows in order and stops: the user (by
    # the name recorded, regardless of case), the action, the object type, and one
    # object's history (type and id). The date range is ix_audit_log_created_at. The id
    # comes last for PostgreSQL; SQLite has it anyway.
    __table_args__ = (
        Index("ix_audit_log_actor_key_created_at", actor_key, created_at, id),
        Index("ix_audit_log_action_created_at", action, created_at, id),
        Index("ix_audit_log_object_type_created_at", object_type, created_at, id),
        Index("ix_audit_log_object_created_at", object_type, object_id, created_at, id),
    )
