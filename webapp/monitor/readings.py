"""psutil readings as plain, JSON-ready dicts (pure functions: no Flask, no Socket.IO).

The message format is documented in the README ("Live memory monitor").
"""

from __future__ import annotations

import time
from typing import Any

import psutil

PROCESS_ATTRS = ["pid", "name", "username", "memory_info", "memory_percent"]


def memory_sample(seq: int = 0) -> dict[str, Any]:
    """One reading of RAM and swap.

    ``virtual`` and ``swap`` hold every field psutil reports on this platform.
    ``ram.used`` is total - available (what is really taken), which psutil's own
    ``virtual.used`` is not: it leaves out caches that can be reclaimed and
    differs between platforms.
    """
    virtual = psutil.virtual_memory()
    swap = psutil.swap_memory()
    used = virtual.total - virtual.available
    return {
        "seq": seq,
        "ts": time.time(),
        "ram": {"total": virtual.total, "available": virtual.available, "used": used,
                "percent": round(used / virtual.total * 100, 1) if virtual.total else 0.0},
        "swap_used_percent": swap.percent,
        "virtual": virtual._asdict(),
        "swap": swap._asdict(),
    }


def top_processes(limit: int = 10) -> dict[str, Any]:
    """The ``limit`` processes using the most resident memory."""
    rows = []
    for process in psutil.process_iter(PROCESS_ATTRS):
        info = process.info
        memory = info.get("memory_info")
        if memory is None:  # gone, or not ours to read
            continue
        rows.append({"pid": info["pid"], "name": info.get("name") or "?",
                     "username": info.get("username") or "",
                     "rss": memory.rss, "percent": round(info.get("memory_percent") or 0.0, 2)})
    rows.sort(key=lambda row: row["rss"], reverse=True)
    return {"ts": time.time(), "items": rows[:limit]}
