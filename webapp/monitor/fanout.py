"""Room emits that write one pre-encoded WebSocket frame to every recipient from the caller's thread.

Why: in threading mode a normal room emit puts the packet on each recipient's
Engine.IO queue, and each socket's writer thread must then wake up, win the GIL
and frame the message with wsproto. With 500 sockets those ~500 thread wake-ups
stretched one tick's delivery over 80 ms and more. Server frames are not masked,
so the frame is the same bytes for every socket: it is built once, and the
sampler's thread writes it to each socket in turn (a few microseconds each).

How it stays safe (python-engineio 4.15, simple-websocket 1.1, pinned in
requirements.txt; ``tests/test_monitor.py`` guards the hooks used here):

- The Engine.IO server's WebSocket wrapper class (``eio._async["websocket"]``,
  the driver table of threading mode) is replaced, on this server only, by
  :class:`FanoutWebSocket`. It hands simple-websocket a :class:`SharedSocket`
  instead of the raw TCP socket, so *every* write on the connection (the writer
  thread's packets, simple-websocket's pongs and close frames, and ours) goes
  through one lock and is written whole: frames never interleave.
- A frame is written directly only if the lock is free, the socket has been on
  WebSocket since its handshake (or finished upgrading) and is not closing, and
  the kernel buffer has room: the write never blocks the sampler. Otherwise
  that recipient gets the usual queued emit, so a slow client is still served
  by its own writer thread. If the kernel takes only part of a frame, the rest
  is sent before anything else on that socket.
- The frame is uncompressed. RFC 7692 lets a server send uncompressed messages
  (RSV1 clear) on a connection that negotiated permessage-deflate, and they do
  not touch the compression context, so browsers that compress keep working.
- With a message queue (several processes), or if the hooks are not there, it
  falls back to ``SocketIO.emit``.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Any

from engineio import packet as eio_packet
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from flask_socketio import SocketIO
from socketio import PubSubManager
from socketio import packet as sio_packet

_CAN_POLL = hasattr(select, "poll") and hasattr(socket, "MSG_DONTWAIT")


def text_frame(text: str) -> bytes:
    """One unmasked, unfragmented, uncompressed WebSocket text frame (RFC 6455, 5.2)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class SharedSocket:
    """The TCP socket of one WebSocket, with every write serialised by one lock.

    simple-websocket calls ``send`` (from the writer thread and its own reader
    thread); the fan-out calls :meth:`try_send`. Everything else is delegated.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._pending = b""  # the tail of a frame the kernel did not take at once
        self._poll = select.poll() if _CAN_POLL else None
        if self._poll is not None:
            self._poll.register(sock.fileno(), select.POLLOUT)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def send(self, data: bytes) -> int:
        """Write ``data`` whole (after any pending tail), blocking as a plain socket would."""
        with self._lock:
            if self._pending:
                self._sock.sendall(self._pending)
                self._pending = b""
            self._sock.sendall(data)
        return len(data)

    sendall = send

    def try_send(self, frame: bytes) -> bool:
        """Write ``frame`` now if that cannot block; False means nothing was written."""
        if self._poll is None or not self._lock.acquire(blocking=False):
            return False
        try:
            if self._pending and not self._write_some(self._pending):
                return False
            sent = self._send_nowait(frame)
            if sent < len(frame):
                if sent == 0:
                    return False
                self._pending = frame[sent:]
            return True
        except OSError:  # closed or reset: the writer thread will notice and clean up
            return False
        finally:
            self._lock.release()

    def _write_some(self, data: bytes) -> bool:
        """Send what the kernel takes of the pending tail; True once none is left."""
        self._pending = data[self._send_nowait(data):]
        return not self._pending

    def _send_nowait(self, data: bytes) -> int:
        if not self._poll.poll(0):  # type: ignore[union-attr]
            return 0
        try:
            return self._sock.send(data, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return 0


class FanoutWebSocket(SimpleWebSocketWSGI):  # type: ignore[misc]
    """Engine.IO's threading WebSocket wrapper, registering each connection's :class:`SharedSocket`."""

    fanout: Fanout  # set on the subclass that :meth:`Fanout.install` makes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        for key in ("werkzeug.socket", "gunicorn.socket"):  # simple-websocket's order
            if key in environ:
                shared = SharedSocket(environ[key])
                environ = {**environ, key: shared}
                break
        else:
            return super().__call__(environ, start_response)
        eio_socket = self.app.__self__  # the handler is engineio.Socket._websocket_handler
        self.fanout.sockets[eio_socket.sid] = (eio_socket, shared)
        try:
            return super().__call__(environ, start_response)
        finally:
            self.fanout.sockets.pop(eio_socket.sid, None)


class Fanout:
    """Room emits for one Socket.IO server: direct frames where safe, queued emits elsewhere."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio
        self.server = socketio.server
        self.sockets: dict[str, tuple[Any, SharedSocket]] = {}  # engine.io sid -> (socket, shared)
        self.direct = 0  # frames written directly, for tests and benchmarks
        self.queued = 0  # recipients that got the usual emit instead
        self.installed = self._install()

    def _install(self) -> bool:
        """Use :class:`FanoutWebSocket` for this server's WebSockets; False if the hook is missing."""
        eio = getattr(self.server, "eio", None)
        drivers = getattr(eio, "_async", None)
        if not isinstance(drivers, dict) or drivers.get("websocket") is not SimpleWebSocketWSGI:
            return False
        websocket_class = type("FanoutWebSocket", (FanoutWebSocket,), {"fanout": self})
        eio._async = {**drivers, "websocket": websocket_class}  # a copy: the module's table stays as is
        return True

    def emit(self, event: str, data: Any, room: str, namespace: str) -> None:
        """Send ``event`` with ``data`` to everyone in ``room``, like ``SocketIO.emit``."""
        server = self.socketio.server
        if (not self.installed or server is not self.server or isinstance(server.manager, PubSubManager)
                or not self.sockets):
            self.socketio.emit(event, data, to=room, namespace=namespace)
            return
        encoded = server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, data]).encode()
        if not isinstance(encoded, str):  # binary attachments: leave them to the library
            self.socketio.emit(event, data, to=room, namespace=namespace)
            return
        frame = text_frame(eio_packet.Packet(eio_packet.MESSAGE, encoded).encode())
        queued = []
        for sid, eio_sid in server.manager.get_participants(namespace, room):
            entry = self.sockets.get(eio_sid)
            if entry is not None and self._ready(entry[0]) and entry[1].try_send(frame):
                self.direct += 1
            else:
                queued.append(sid)
        self.queued += len(queued)
        for sid in queued:
            self.socketio.emit(event, data, to=sid, namespace=namespace)

    @staticmethod
    def _ready(eio_socket: Any) -> bool:
        """On WebSocket for good (not polling, not mid-upgrade) and not closing."""
        return (eio_socket.upgraded and not eio_socket.upgrading and not eio_socket.closing
                and not eio_socket.closed)
