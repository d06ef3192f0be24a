"""Scheduled work: the run history of jobs and the stored memory samples."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class JobRun(db.Model):
    """One run of a job, keyed by (job id, scheduled run time)."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(191))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # submitted / succeeded / failed / missed / skipped
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    # A job's runs, newest first (the run history), read backwards from the unique index on
    # (job_id, scheduled_at); the runs in one status, newest first (the dashboard's failed
    # runs), from (status, scheduled_at).
    __table_args__ = (
        UniqueConstraint("job_id", "scheduled_at", name="uq_job_runs_job_id_scheduled_at"),
        Index("ix_job_runs_status_scheduled_at", "status", "scheduled_at"),
    )


class MemorySample(db.Model):
    """A memory reading stored by the "record a memory sample" task (longer monitor history)."""

    __tablename__ = "memory_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ram_total: Mapped[int] = mapped_column(BigInteger)
    ram_used: Mapped[int] = mapped_column(BigInteger)  # total - available
    ram_percent: Mapped[float] = mapped_column(Float)
    swap_total: Mapped[int] = mapped_column(BigInteger)
    swap_used: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_memory_samples_taken_at", "taken_at"),)
