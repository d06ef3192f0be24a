"""The naive monitor design, kept only as the benchmark's comparison (do not copy).

This is the pattern of the tutorial the console grew from: every connecting
client starts its own background loop, and each loop reads psutil and emits to
the whole namespace every second. N clients mean N loops, N psutil reads a
second, and N messages a second for every client.
"""

from __future__ import annotations

import itertools
import time

import psutil
from flask import Flask
from flask_socketio import SocketIO

app = Flask(__name__)
socketio = SocketIO(app, async_mode="threading")
reads = itertools.count(1)


def naive_loop() -> None:
    while True:
        memory = psutil.virtual_memory()
        socketio.emit("memory", {"seq": next(reads), "ts": time.time(), "percent": memory.percent},
                      namespace="/ws")
        socketio.sleep(1)


@socketio.on("connect", namespace="/ws")
def connect() -> None:
    socketio.start_background_task(naive_loop)


@app.get("/healthz")
def healthz() -> str:
    return "ok"
