"""Background work: long bulk actions and large downloads, with their progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class TaskStatus(StrEnum):
    """Where a background task is: waiting, running, or finished one of three ways."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: The statuses a task never leaves.
FINISHED = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED})


class BackgroundTask(db.Model):
    """One piece of background work (``kind``) started by ``owner`` with ``params``.

    ``done`` of ``total`` rows are processed; ``result`` is what it produced so far
    (``{"count": n}`` for a bulk action, ``{"file": ..., "rows": n}`` for a download).
    ``cancel_requested`` is read by the runner between batches.
    """

    __tablename__ = "background_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.QUEUED.value, index=True)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (CheckConstraint(status.in_([s.value for s in TaskStatus]), name="status"),)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"
