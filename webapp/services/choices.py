"""Menu choices (tags, authors) cached per process and rebuilt after any change.

The blog list shows every tag and author in its filters on every request; these
change rarely. Writes in this process clear the cache at once; other processes
of a scaled-out deployment see a change within ``TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from html import escape

from sqlalchemy import event
from sqlalchemy.orm import Session

TTL_SECONDS = 10.0

#: (value, label) pairs, both already HTML-escaped, ready for ``<option>`` elements.
Choices = list[tuple[str, str]]

_lock = threading.Lock()
_cache: dict[str, tuple[float, Choices]] = {}
_generation = 0


def cached(name: str, load: Callable[[], list[tuple[object, str]]]) -> Choices:
    """The choices called ``name``, loading them when missing or older than the TTL."""
    global _generation
    now = time.monotonic()
    entry = _cache.get(name)
    if entry is not None and now - entry[0] < TTL_SECONDS:
        return entry[1]
    choices = [(escape(str(value)), escape(label)) for value, label in load()]
    with _lock:
        if entry is not None and entry[1] == choices:
            choices = entry[1]  # unchanged: the same object, the same generation
        else:
            _generation += 1
        _cache[name] = (now, choices)
    return choices


def generation() -> int:
    """A number that changes whenever any menu's choices may have changed: markup made
    from the menus can be kept by it (see templates/blogs/index.html)."""
    return _generation


def invalidate() -> None:
    """Forget every cached menu (called by the services after a change)."""
    global _generation
    with _lock:
        _cache.clear()
        _generation += 1


@event.listens_for(Session, "after_commit")
def _forget_after_commit(_session: Session) -> None:
    """Any committed write may have changed a menu: simpler and safer than tracking which."""
    invalidate()
