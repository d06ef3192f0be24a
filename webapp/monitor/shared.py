"""What the monitor's processes share: the recent samples, the latest process list, and
which sockets belong to which user and sign-in session.

One process (the embedded default) keeps it in memory (:class:`LocalState`). Several
processes (web processes beside a worker that samples) keep it in Redis
(:class:`RedisState`): the worker appends samples, any web process answers a new
subscriber with the history, and a sign-out handled by one web process finds the
user's sockets on every other (python-socketio's message queue then disconnects
them where they live).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from redis import Redis

#: A socket's entries expire after this long unless refreshed (a web process that
#: died cannot remove its own): longer than any sign-in session.
SOCKET_TTL_SECONDS = 15 * 24 * 3600


class LocalState:
    """The shared state of a single process, in memory."""

    def __init__(self, history_size: int) -> None:
        self._lock = threading.Lock()
        self._history: deque[dict[str, Any]] = deque(maxlen=history_size)
        self._processes: dict[str, Any] | None = None
        self._users: dict[str, int] = {}  # sid -> user id
        self._sessions: dict[str, str] = {}  # sid -> sign-in session hash

    def add_sample(self, sample: dict[str, Any]) -> None:
        with self._lock:
            self._history.append(sample)

    def history(self) -> list[dict[str, Any]]:
        """The recent samples, oldest first."""
        with self._lock:
            return list(self._history)

    def set_processes(self, processes: dict[str, Any]) -> None:
        self._processes = processes

    def processes(self) -> dict[str, Any] | None:
        return self._processes

    def connected(self, sid: str, user_id: int, login_session: str | None) -> None:
        with self._lock:
            self._users[sid] = user_id
            if login_session:
                self._sessions[sid] = login_session

    def disconnected(self, sid: str) -> None:
        with self._lock:
            self._users.pop(sid, None)
            self._sessions.pop(sid, None)

    def sids_of(self, user_id: int) -> list[str]:
        with self._lock:
            return [sid for sid, uid in self._users.items() if uid == user_id]

    def sids_of_session(self, login_session: str) -> list[str]:
        with self._lock:
            return [sid for sid, key in self._sessions.items() if key == login_session]


class RedisState:
    """The same, in Redis, for every process of a deployment (keys under ``prefix``)."""

    def __init__(self, url: str, history_size: int, prefix: str = "webapp:monitor:") -> None:
        self.redis = Redis.from_url(url, socket_timeout=5)  # /healthz must answer, not hang
        self.history_size = history_size
        self.prefix = prefix

    def add_sample(self, sample: dict[str, Any]) -> None:
        key = self.prefix + "history"
        with self.redis.pipeline() as pipe:
            pipe.rpush(key, json.dumps(sample)).ltrim(key, -self.history_size, -1).execute()

    def history(self) -> list[dict[str, Any]]:
        return [json.loads(item) for item in self.redis.lrange(self.prefix + "history", 0, -1)]

    def set_processes(self, processes: dict[str, Any]) -> None:
        self.redis.set(self.prefix + "processes", json.dumps(processes))

    def processes(self) -> dict[str, Any] | None:
        stored = self.redis.get(self.prefix + "processes")
        return json.loads(stored) if stored else None

    def connected(self, sid: str, user_id: int, login_session: str | None) -> None:
        owners = {"user": str(user_id), **({"session": login_session} if login_session else {})}
        with self.redis.pipeline() as pipe:
            pipe.hset(self.prefix + f"sid:{sid}", mapping=owners)
            pipe.expire(self.prefix + f"sid:{sid}", SOCKET_TTL_SECONDS)
            for kind, owner in owners.items():
                pipe.sadd(self.prefix + f"{kind}:{owner}", sid)
                pipe.expire(self.prefix + f"{kind}:{owner}", SOCKET_TTL_SECONDS)
            pipe.execute()

    def disconnected(self, sid: str) -> None:
        owners = self.redis.hgetall(self.prefix + f"sid:{sid}")
        with self.redis.pipeline() as pipe:
            for kind, owner in owners.items():
                pipe.srem(self.prefix + f"{kind.decode()}:{owner.decode()}", sid)
            pipe.delete(self.prefix + f"sid:{sid}")
            pipe.execute()

    def sids_of(self, user_id: int) -> list[str]:
        return [sid.decode() for sid in self.redis.smembers(self.prefix + f"user:{user_id}")]

    def sids_of_session(self, login_session: str) -> list[str]:
        return [sid.decode() for sid in self.redis.smembers(self.prefix + f"session:{login_session}")]

    def reachable(self) -> bool:
        """Whether Redis answers (for /healthz)."""
        return bool(self.redis.ping())
