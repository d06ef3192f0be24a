"""The home page's overview: counts, recent changes, failed runs, next jobs, memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import AuditEntry, Blog, JobRun, MemorySample, Role, Tag, User
from webapp.services import jobs as job_service

RECENT = 8  # recent changes, failed runs and next jobs shown
SPARK_POINTS = 60  # stored memory samples in the sparkline


@dataclass(frozen=True)
class Overview:
    """What the home page shows; lists are empty where the user may not see them."""

    blogs: dict[str, int]
    tags: int
    users: dict[str, int]
    recent: list[AuditEntry] = field(default_factory=list)
    failed_runs: list[JobRun] = field(default_factory=list)
    next_jobs: list[Any] = field(default_factory=list)
    memory: list[tuple[datetime, float]] = field(default_factory=list)


def overview(user: User) -> Overview:
    """The overview for ``user``: admins also see accounts and the audit log's latest."""
    admin = user.has_role(Role.ADMIN)
    blogs = dict(db.session.execute(select(Blog.status, func.count()).group_by(Blog.status)).all())
    users = active_counts_by_role() if admin else {}
    recent = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(RECENT))) \
        if admin else []
    failed = list(db.session.scalars(select(JobRun).where(JobRun.status == "failed")
                                     .order_by(JobRun.scheduled_at.desc()).limit(RECENT)))
    samples = db.session.execute(select(MemorySample.taken_at, MemorySample.ram_percent)
                                 .order_by(MemorySample.taken_at.desc()).limit(SPARK_POINTS)).all()
    return Overview(
        blogs={str(status): count for status, count in blogs.items()},
        tags=db.session.scalar(select(func.count()).select_from(Tag)) or 0,
        users=users, recent=recent, failed_runs=failed, next_jobs=_next_jobs(),
        memory=[(taken, percent) for taken, percent in reversed(samples)],
    )


def _next_jobs() -> list[Any]:
    """The jobs due next, scheduled ones only (the job list's first page, by next run)."""
    page = job_service.list_jobs(1, RECENT, "next_run", False, "", "scheduled")
    return list(page.items)


def sparkline(points: list[tuple[datetime, float]], width: int = 240, height: int = 40) -> str:
    """SVG polyline points (``x,y x,y ...``) for percentages over time; "" for fewer than two."""
    if len(points) < 2:
        return ""
    start, end = points[0][0].timestamp(), points[-1][0].timestamp()
    span = max(end - start, 1.0)
    return " ".join(f"{(taken.timestamp() - start) / span * width:.1f},{height - percent / 100 * height:.1f}"
                    for taken, percent in points)


def active_counts_by_role() -> dict[str, int]:
    """How many active accounts each role has."""
    rows = db.session.execute(
        select(User.role, func.count(User.id)).where(User.active.is_(True)).group_by(User.role))
    return {role: count for role, count in rows}
