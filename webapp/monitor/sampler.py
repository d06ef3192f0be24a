"""The sampler: reads psutil once per tick and emits to the interval rooms.

Clients subscribe with an interval of 1, 2, 5 or 10 ticks and join the room
``interval:<n>``; a tick goes out as Flask-SocketIO's stock room emit.

Where it runs depends on the process's role (see webapp/roles.py):
- embedded (one process): it runs only while somebody listens here. The first
  subscriber starts it (a lock-guarded ``socketio.start_background_task``), and
  it stops after the last one leaves;
- web process beside a worker: it never reads psutil. It answers a subscriber
  with the history kept in Redis, and the samples arrive from the worker through
  the Socket.IO message queue;
- worker that owns the scheduler: it runs from ``start_always`` to ``stop``,
  emitting to every interval room through the message queue.

Ticks are scheduled against a fixed start time, so the period does not drift by
the time an emit takes; a tick that is missed entirely (the machine stalled) is
skipped rather than sent late in a burst. Top processes are read by a second task
every few seconds, half a tick after a memory tick: the scan holds the GIL for
tens of milliseconds, and it must not delay a tick's emits.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from flask_socketio import SocketIO

from webapp.monitor import readings
from webapp.monitor.shared import LocalState, RedisState

logger = logging.getLogger(__name__)

NAMESPACE = "/ws"
INTERVALS = (1, 2, 5, 10)
LISTENERS_ROOM = "listeners"


def interval_room(interval: int) -> str:
    return f"interval:{interval}"


class Sampler:
    """The monitor of one server process."""

    def __init__(self, socketio: SocketIO, tick_seconds: float = 1.0, history_size: int = 300,
                 processes_every: float = 5.0,
                 read_memory: Callable[[int], dict[str, Any]] = readings.memory_sample,
                 read_processes: Callable[[], dict[str, Any]] = readings.top_processes,
                 state: LocalState | RedisState | None = None, produces: bool = True) -> None:
        """``state``: where the history and the socket owners live (default: this process);
        ``produces``: False in a web process that only relays a worker's samples."""
        self.socketio = socketio
        self.tick_seconds = tick_seconds
        self.processes_every = processes_every
        self.read_memory = read_memory
        self.read_processes = read_processes
        self.state = state or LocalState(history_size)
        self.produces = produces
        self.always = False  # a worker's sampler runs whether anybody listens or not
        self.subscribers: dict[str, int] = {}  # sid -> interval, of this process's sockets
        self.reads = 0
        self.running = False
        self.processes_running = False
        self.epoch = time.monotonic()  # when the current memory loop's tick 0 was due
        self._lock = threading.Lock()

    @property
    def latest_processes(self) -> dict[str, Any] | None:
        """The latest top-processes reading, if any."""
        return self.state.processes()

    # -- subscriptions (called from the Socket.IO handlers) ------------------------

    def subscribe(self, sid: str, interval: int) -> list[dict[str, Any]]:
        """Record a subscriber; start the loops if they are idle. Returns the history."""
        with self._lock:
            self.subscribers[sid] = interval
        if self.produces:
            self._start_loops()
        return self.state.history()

    def start_always(self) -> None:
        """Sample every tick for every interval room until :meth:`stop` (a worker's sampler)."""
        self.always = True
        self._start_loops()

    def stop(self) -> None:
        """End :meth:`start_always` (the loops stop on their next tick, unless somebody here listens)."""
        self.always = False

    def _start_loops(self) -> None:
        with self._lock:
            start_memory, start_processes = not self.running, not self.processes_running
            self.running = self.processes_running = True
            if start_memory:
                self.epoch = time.monotonic()
        if start_memory:
            self.socketio.start_background_task(self._memory_loop)
        if start_processes:
            self.socketio.start_background_task(self._process_loop)

    def unsubscribe(self, sid: str) -> None:
        """Forget a subscriber (the loops stop on their next tick if it was the last)."""
        with self._lock:
            self.subscribers.pop(sid, None)

    def connected(self, sid: str, user_id: int, login_session: str | None = None) -> None:
        """Note whose socket ``sid`` is (and, when known, which sign-in session opened it)."""
        self.state.connected(sid, user_id, login_session)

    def disconnected(self, sid: str) -> None:
        with self._lock:
            self.subscribers.pop(sid, None)
        self.state.disconnected(sid)

    def sids_of(self, user_id: int) -> list[str]:
        """Every socket of this user, in every process."""
        return self.state.sids_of(user_id)

    def sids_of_session(self, login_session: str) -> list[str]:
        """The sockets opened by one sign-in session (one browser), in every process."""
        return self.state.sids_of_session(login_session)

    def listening(self) -> bool:
        with self._lock:
            return self.always or bool(self.subscribers)

    # -- the loops -------------------------------------------------------------

    def _memory_loop(self) -> None:
        start = self.epoch
        tick = 0
        while True:
            with self._lock:  # checked and given up under one lock: a subscriber restarts us
                intervals = set(INTERVALS) if self.always else set(self.subscribers.values())
                if not intervals:
                    self.running = False
                    return
            try:
                self.reads += 1
                sample = self.read_memory(self.reads)
                self.state.add_sample(sample)
                for interval in intervals:
                    if tick % interval == 0:
                        self.socketio.emit("memory", sample, to=interval_room(interval), namespace=NAMESPACE)
            except Exception:  # one failed reading must not end the monitor for everyone
                logger.exception("memory sample failed; trying again next tick")
            tick = self._next_tick(start, tick)

    def _next_tick(self, start: float, tick: int) -> int:
        """Sleep until the next tick on the fixed schedule; skip ticks already missed."""
        tick += 1
        now = time.monotonic()
        behind = now - (start + tick * self.tick_seconds)
        if behind > self.tick_seconds:
            tick += int(behind // self.tick_seconds)
        self.socketio.sleep(max(start + tick * self.tick_seconds - time.monotonic(), 0))
        return tick

    def _between_ticks(self, moment: float) -> float:
        """The first point half-way between two memory ticks at or after ``moment``."""
        ticks = math.ceil((moment - self.epoch) / self.tick_seconds - 0.5)
        return self.epoch + (ticks + 0.5) * self.tick_seconds

    def _process_loop(self) -> None:
        deadline = self._between_ticks(time.monotonic())
        while True:
            while self.listening() and time.monotonic() < deadline:
                self.socketio.sleep(min(self.tick_seconds, max(deadline - time.monotonic(), 0)))
            with self._lock:
                if not (self.always or self.subscribers):
                    self.processes_running = False
                    return
            try:
                processes = self.read_processes()
                self.state.set_processes(processes)
                self.socketio.emit("processes", processes, to=LISTENERS_ROOM, namespace=NAMESPACE)
            except Exception:
                logger.exception("process listing failed; trying again later")
            deadline = self._between_ticks(max(deadline + self.processes_every, time.monotonic()))
