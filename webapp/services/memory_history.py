"""Stored memory samples (the "Record a memory sample" task) for the monitor's long ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import MemorySample

#: The chart ranges that read stored samples, in seconds (the page's 1 h and 24 h).
RANGES = (3600, 86400)
#: At most this many rows are read for one range (one a second for a day, with room).
MAX_ROWS = 100_000


@dataclass(frozen=True)
class History:
    """Samples as ``(unix seconds, RAM used, swap used)``, oldest first, and their usual spacing."""

    points: list[tuple[float, int, int]]
    step: float | None  # the median seconds between two samples; None for fewer than two


def stored_samples(seconds: int, now: datetime) -> History:
    """The samples stored in the ``seconds`` before ``now``, oldest first.

    ``step`` tells the page how far apart the samples normally are, so that it can
    draw a longer silence (the task paused, the server down) as a gap, not a line.
    """
    rows = db.session.execute(
        select(MemorySample.taken_at, MemorySample.ram_used, MemorySample.swap_used)
        .where(MemorySample.taken_at >= now - timedelta(seconds=seconds), MemorySample.taken_at <= now)
        .order_by(MemorySample.taken_at).limit(MAX_ROWS)).all()
    points = [(taken.timestamp(), used, swap) for taken, used, swap in rows]
    spacings = [later[0] - earlier[0] for earlier, later in pairwise(points)]
    return History(points=points, step=median(spacings) if spacings else None)
