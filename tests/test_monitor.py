"""The live memory monitor: the /ws namespace, the one sampler per process, the snapshot API."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import psutil
import pytest
import socketio as sio_client
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, CSRFClient, app_config
from webapp import create_app
from webapp.extensions import db, socketio
from webapp.monitor import readings
from webapp.services import users as user_service
from webapp.services.users import UserData

TICK = 0.05
NS = "/ws"


@pytest.fixture
def app(tmp_path, monkeypatch) -> Iterator:
    """An app whose monitor ticks every 50 ms (intervals stay 1, 2, 5, 10 ticks)."""
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(MONITOR_TICK_SECONDS=TICK, MONITOR_PROCESSES_SECONDS=0.2))
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
        user_service.create_user_as_system(UserData("admin", "admin@example.com", "admin", True, PASSWORD))
        user_service.create_user_as_system(UserData("viv", "viv@example.com", "viewer", True, PASSWORD))
    yield app
    sampler = app.extensions["monitor.sampler"]
    sampler.subscribers.clear()
    wait_until(lambda: not sampler.running and not sampler.processes_running)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def signed_in(app, username: str = "admin") -> CSRFClient:
    client = app.test_client()
    assert client.post("/auth/login", data={"login": username, "password": PASSWORD}).status_code == 302
    return client


def socket(app, client=None):
    return socketio.test_client(app, namespace=NS, flask_test_client=client or signed_in(app))


def events(sock, name: str) -> list[dict]:
    return [event["args"][0] for event in sock.get_received(NS) if event["name"] == name]


def test_anonymous_connections_are_refused(app):
    anonymous = socketio.test_client(app, namespace=NS)
    assert not anonymous.is_connected(NS)


def test_a_signed_in_client_gets_the_history_then_samples_with_every_field(app):
    first = socket(app)
    first.emit("subscribe", {"interval": 1}, namespace=NS)
    wait_until(lambda: app.extensions["monitor.sampler"].reads >= 5)
    viewer = socket(app, signed_in(app, "viv"))  # every role may watch
    ack = viewer.emit("subscribe", {"interval": 1}, namespace=NS, callback=True)
    assert ack == {"ok": True, "interval": 1}
    received = viewer.get_received(NS)
    assert received[0]["name"] == "history"
    assert len(received[0]["args"][0]["samples"]) >= 5
    time.sleep(4 * TICK)
    sample = events(viewer, "memory")[-1]
    assert set(sample["virtual"]) == set(psutil.virtual_memory()._fields)
    assert set(sample["swap"]) == set(psutil.swap_memory()._fields)
    ram = sample["ram"]
    assert ram["used"] == ram["total"] - ram["available"]
    assert abs(ram["percent"] - ram["used"] / ram["total"] * 100) < 0.1
    assert sample["seq"] > 0 and abs(sample["ts"] - time.time()) < 5


def test_processes_come_with_the_samples(app):
    sock = socket(app)
    sock.emit("subscribe", {"interval": 1}, namespace=NS)
    wait_until(lambda: app.extensions["monitor.sampler"].latest_processes is not None)
    time.sleep(0.1)
    processes = events(sock, "processes")[-1]["items"]
    assert 0 < len(processes) <= 10
    assert [p["rss"] for p in processes] == sorted((p["rss"] for p in processes), reverse=True)
    assert {"pid", "name", "username", "rss", "percent"} <= set(processes[0])


def test_interval_rooms_receive_at_their_cadence(app):
    every_tick, every_second_tick, every_fifth = socket(app), socket(app), socket(app)
    every_tick.emit("subscribe", {"interval": 1}, namespace=NS)
    every_second_tick.emit("subscribe", {"interval": 2}, namespace=NS)
    every_fifth.emit("subscribe", {"interval": 5}, namespace=NS)
    for sock in (every_tick, every_second_tick, every_fifth):
        sock.get_received(NS)
    time.sleep(40 * TICK)
    seqs = {n: [s["seq"] for s in events(sock, "memory")]
            for n, sock in ((1, every_tick), (2, every_second_tick), (5, every_fifth))}
    assert len(seqs[1]) >= 30
    assert {b - a for a, b in zip(seqs[1], seqs[1][1:], strict=False)} == {1}
    assert {b - a for a, b in zip(seqs[2], seqs[2][1:], strict=False)} == {2}
    assert {b - a for a, b in zip(seqs[5], seqs[5][1:], strict=False)} == {5}


def test_a_bad_interval_is_refused_with_a_message(app):
    sock = socket(app)
    ack = sock.emit("subscribe", {"interval": 3}, namespace=NS, callback=True)
    assert ack["ok"] is False and "1, 2, 5, 10" in ack["error"]
    assert not app.extensions["monitor.sampler"].running


def test_unsubscribe_stops_deliveries_and_the_last_one_stops_the_sampler(app):
    sampler = app.extensions["monitor.sampler"]
    one, two = socket(app), socket(app)
    one.emit("subscribe", {"interval": 1}, namespace=NS)
    two.emit("subscribe", {"interval": 1}, namespace=NS)
    assert sampler.running
    one.emit("unsubscribe", namespace=NS)
    one.get_received(NS)
    time.sleep(5 * TICK)
    assert events(one, "memory") == [] and sampler.running
    two.disconnect(namespace=NS)
    wait_until(lambda: not sampler.running)
    reads = sampler.reads
    time.sleep(5 * TICK)
    assert sampler.reads == reads  # nobody listens: nothing is read


def test_fifty_clients_share_one_psutil_read_per_tick(app, monkeypatch):
    calls = {"n": 0}
    real = psutil.virtual_memory

    def counted():
        calls["n"] += 1
        return real()

    monkeypatch.setattr(readings.psutil, "virtual_memory", counted)
    clients = [socket(app) for _ in range(50)]
    for sock in clients:
        sock.emit("subscribe", {"interval": 1}, namespace=NS)
    sampler = app.extensions["monitor.sampler"]
    start_reads, start_calls = sampler.reads, calls["n"]
    time.sleep(20 * TICK)
    ticks = sampler.reads - start_reads
    assert ticks >= 10
    assert calls["n"] - start_calls <= ticks + 1  # not 50 per tick
    assert all(len(events(sock, "memory")) >= ticks - 2 for sock in clients)


def test_ticks_keep_their_period_when_reading_is_slow(app):
    sampler = app.extensions["monitor.sampler"]
    real = sampler.read_memory

    def slow(seq: int) -> dict:
        time.sleep(TICK * 0.6)  # reading and emitting take most of the tick
        return real(seq)

    sampler.read_memory = slow
    sock = socket(app)
    sock.emit("subscribe", {"interval": 1}, namespace=NS)
    start = sampler.reads
    time.sleep(40 * TICK)
    # A sleep of one full period after each slow read would give about 25 ticks here.
    assert sampler.reads - start >= 36


def test_signing_out_ends_the_users_sockets(app):
    client = signed_in(app)
    sock = socket(app, client)
    sock.emit("subscribe", {"interval": 1}, namespace=NS)
    assert sock.is_connected(NS)
    client.post("/auth/logout")
    assert not sock.is_connected(NS)
    wait_until(lambda: not app.extensions["monitor.sampler"].running)


def test_memory_snapshot_api(app):
    client = signed_in(app, "viv")
    response = client.get("/api/v1/system/memory")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"seq", "ts", "ram", "swap_used_percent", "virtual", "swap"}
    assert set(body["virtual"]) == set(psutil.virtual_memory()._fields)
    assert app.test_client().get("/api/v1/system/memory").status_code == 401


def test_monitor_page_is_for_every_signed_in_role(app):
    assert signed_in(app, "viv").get("/monitor/").status_code == 200
    assert app.test_client().get("/monitor/").location.startswith("/auth/login")


def test_deactivating_a_user_ends_their_sockets(app):
    viewer = socket(app, signed_in(app, "viv"))
    viewer.emit("subscribe", {"interval": 1}, namespace=NS)
    admin = signed_in(app, "admin")
    with app.app_context():
        from webapp.models import User

        viv_id = db.session.scalar(db.select(User.id).where(User.username == "viv"))
    admin.post("/users/bulk", data={"action": "deactivate", "ids": [str(viv_id)], "confirmed": "1"})
    assert not viewer.is_connected(NS)


def test_a_password_change_ends_the_other_sessions_sockets(app):
    other_session = socket(app, signed_in(app, "viv"))
    other_session.emit("subscribe", {"interval": 1}, namespace=NS)
    client = signed_in(app, "viv")
    client.post("/auth/profile", data={"current_password": PASSWORD, "password": "a brand new one",
                                       "confirm": "a brand new one"})
    assert not other_session.is_connected(NS)


def test_the_sampler_survives_a_failed_reading(app):
    sampler = app.extensions["monitor.sampler"]
    real, failures = sampler.read_memory, {"n": 0}

    def flaky(seq: int) -> dict:
        if failures["n"] == 0:
            failures["n"] += 1
            raise OSError("psutil hiccup")
        return real(seq)

    sampler.read_memory = flaky
    sock = socket(app)
    sock.emit("subscribe", {"interval": 1}, namespace=NS)
    time.sleep(6 * TICK)
    assert failures["n"] == 1 and len(events(sock, "memory")) >= 3


@pytest.mark.parametrize("interval", [True, 1.0, "1", None])
def test_only_integer_intervals_are_accepted(app, interval):
    ack = socket(app).emit("subscribe", {"interval": interval}, namespace=NS, callback=True)
    assert ack["ok"] is False


# -- real WebSockets (a live server, python-socketio's client) ------------------------------------


def run_in_own_loop(make: Any) -> Any:
    """``asyncio.run(make())`` in a thread of its own: in a full run the browser tests'
    (sync) Playwright keeps an event loop running in the main thread."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(make())
        except BaseException as error:  # re-raised in the test's thread
            result["error"] = error

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_real_websocket_clients_get_every_tick(app):
    """Clients on real WebSockets (a live server, python-socketio's client) get every tick,
    through Flask-SocketIO's stock room emits."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cookie = signed_in(app).get_cookie("session").value

    async def watch() -> list[list[dict]]:
        received: list[list[dict]] = [[], [], []]
        clients = []
        for samples in received:
            client = sio_client.AsyncClient(reconnection=False)
            client.on("memory", samples.append, namespace=NS)
            client.on("history", lambda data: None, namespace=NS)
            await client.connect(f"http://127.0.0.1:{server.server_port}", namespaces=[NS],
                                 transports=["websocket"], headers={"Cookie": f"session={cookie}"})
            ack = await client.call("subscribe", {"interval": 1}, namespace=NS)
            assert ack == {"ok": True, "interval": 1}
            clients.append(client)
        await asyncio.sleep(30 * TICK)
        for client in clients:
            await client.disconnect()
        return received

    try:
        received = run_in_own_loop(watch)
    finally:
        server.shutdown()
        server.server_close()
    for samples in received:
        seqs = [sample["seq"] for sample in samples]
        assert len(seqs) >= 20 and {b - a for a, b in itertools.pairwise(seqs)} == {1}
        assert set(samples[-1]["virtual"]) == set(psutil.virtual_memory()._fields)


def test_process_scans_fall_half_way_between_memory_ticks(app):
    """The slow psutil scan must not hold the GIL while a tick is fanned out."""
    sampler = app.extensions["monitor.sampler"]
    scans: list[float] = []
    real = sampler.read_processes

    def timed() -> dict:
        scans.append(time.monotonic())
        return real()

    sampler.read_processes = timed
    socket(app).emit("subscribe", {"interval": 1}, namespace=NS)
    wait_until(lambda: len(scans) >= 3)
    phases = sorted((moment - sampler.epoch) / TICK % 1 for moment in scans)
    assert 0.4 <= phases[len(phases) // 2] < 0.9  # just after the half tick, never just after a tick
    assert sampler._between_ticks(sampler.epoch) == pytest.approx(sampler.epoch + TICK / 2)
    assert sampler._between_ticks(sampler.epoch + 0.6 * TICK) == pytest.approx(sampler.epoch + 1.5 * TICK)


def test_ticks_reach_a_client_that_negotiated_compression(app):
    """Browsers negotiate permessage-deflate; the samples still arrive, one per tick."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cookie = signed_in(app).get_cookie("session").value

    async def watch() -> tuple[int, list[str]]:
        url = f"http://127.0.0.1:{server.server_port}/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as session, session.ws_connect(
                url, compress=15, headers={"Cookie": f"session={cookie}"}) as ws:
            messages = [await ws.receive_str()]  # the Engine.IO open packet
            await ws.send_str(f"40{NS},")
            await ws.send_str(f'42{NS},1["subscribe",{{"interval":1}}]')
            deadline = time.monotonic() + 20 * TICK
            while time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    messages.append(await ws.receive_str(timeout=TICK))
            return ws.compress, messages

    try:
        compress, messages = run_in_own_loop(watch)
    finally:
        server.shutdown()
        server.server_close()
    samples = [message for message in messages if message.startswith(f'42{NS},["memory"')]
    assert compress == 15 and len(samples) >= 10
