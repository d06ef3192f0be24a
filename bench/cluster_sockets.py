"""Socket.IO fan-out of the memory monitor across the multi-process topology.

    make bench-cluster-sockets   (or: .venv/bin/python bench/cluster_sockets.py [--clients 1000]
                                  [--seconds 25] [--db webapp_bench_cluster]
                                  [--redis-url redis://127.0.0.1:6379/12]
                                  [--web-ports 5981,5982] [--worker-ports 5991,5992])

Starts the topology with scripts/cluster (two gunicorn gevent web processes, two
workers; the owning worker samples memory once a second and emits each tick through
the Redis message queue, and each web process relays it to its own sockets) on a
fresh PostgreSQL database and a temporary instance folder, creates an administrator
through the app's services, then connects N Socket.IO clients, half to each web
process, from two client processes (one per web port, asyncio clients as in
bench/monitor_sockets.py, each in a session of its own), all subscribed at a 1 s
interval. For the measured window it reports the ticks delivered per client against
the ticks expected, the delivery delay (receipt minus the sample's `ts`, the owner's
wall clock: median and 99th percentile, and per tick the first and the last client
to get it), and the CPU of each server process (with its children) as % of one
core, read at the window's edges, with the time each spent waiting for a core; the
client processes, redis-server and the whole machine are shown for reference. The
cluster is stopped and the database dropped at the end, also after an error.
Targets: every tick delivered, p99 delay < 100 ms, web processes + owning worker
< 10% of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil
import redis
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BIN,
    ROOT,
    CpuMeter,
    cluster,
    cluster_env,
    drop_database,
    login_cookie,
    process_tree,
    scheduler_owner,
)
from bench.monitor_sockets import summarise

PASSWORD = "bench-password"
GRACE_SECONDS = 1.0  # a tick sampled just before the window closes still counts when it arrives


def client_process(url: str, cookie: str, count: int, pipe: Connection) -> None:
    """One client process: ``count`` Socket.IO clients on ``url``, driven through ``pipe``.

    It runs in a session of its own, like each server process (scripts/cluster starts
    them so): with Linux's autogroup scheduling a busy machine shares its cores
    between sessions first, and the two client processes stand for two machines."""
    os.setsid()
    asyncio.run(_clients(url, cookie, count, pipe))


async def _clients(url: str, cookie: str, count: int, pipe: Connection) -> None:
    """Connect and subscribe every client, report ready, wait for the window (absolute wall-clock
    times from the parent), record every tick until it closes, send what was received.

    As in bench/monitor_sockets.py, the clients decode with the standard ``json``
    module and the connected clients are frozen out of the garbage collector before
    the window. The delay is stamped in the handler, so the client process's own work
    is part of it: a tick's 500 messages still cost it about 40 ms of CPU."""
    received: list[list[tuple[float, int, float]]] = [[] for _ in range(count)]
    recording = {"on": False}

    def make_handler(index: int) -> Any:
        async def on_memory(sample: dict[str, Any]) -> None:
            if recording["on"]:
                received[index].append((time.time(), sample["seq"], sample["ts"]))
        return on_memory

    clients = []
    for index in range(count):
        client = socketio.AsyncClient(reconnection=False, json=json)
        client.on("memory", make_handler(index), namespace="/ws")
        clients.append(client)

    async def connect(client: socketio.AsyncClient) -> None:
        await client.connect(url, headers={"Cookie": cookie}, transports=["websocket"], namespaces=["/ws"],
                             wait_timeout=60)
        answer = await client.call("subscribe", {"interval": 1}, namespace="/ws", timeout=60)
        if not answer.get("ok"):
            raise RuntimeError(f"subscribe refused: {answer}")

    try:
        for start in range(0, count, 50):  # in waves, so the handshakes don't time out
            await asyncio.gather(*(connect(c) for c in clients[start:start + 50]))
        await asyncio.sleep(2)  # settle: the history each subscriber got is decoded
        gc.collect()
        gc.freeze()
        pipe.send(("ready", count))
        opened, closed = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        recording["on"] = True  # before the window: ticks are kept by their `ts` below
        await asyncio.sleep(max(opened - time.time(), 0))
        cpu = time.process_time()
        await asyncio.sleep(max(closed - time.time(), 0))
        busy = time.process_time() - cpu
        await asyncio.sleep(GRACE_SECONDS)
        recording["on"] = False
        kept = [[r for r in per_client if opened <= r[2] < closed] for per_client in received]
        pipe.send(("done", {"received": kept, "client_cpu_percent": round(busy / (closed - opened) * 100, 1),
                            "connected": sum(c.connected for c in clients)}))
    except Exception as err:
        pipe.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


def create_admin(env: dict[str, str]) -> None:
    """The bench's administrator, through the app's services (``flask create-admin``)."""
    subprocess.run([str(BIN / "flask"), "--app", "webapp", "create-admin", "--username", "bench",
                    "--email", "bench@example.com", "--password", PASSWORD], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)


def receive(pipe: Connection, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a client process did not answer within {timeout:.0f} s")
    kind, value = pipe.recv()
    if kind == "error":
        raise RuntimeError(f"a client process failed: {value}")
    return value


def measure(args: argparse.Namespace, env: dict[str, str], pids: dict[str, int]) -> dict[str, Any]:
    """Clients on both web ports, the measured window, and the CPU of every party."""
    web_urls = [f"http://127.0.0.1:{port}" for port in args.web_ports]
    owner = scheduler_owner(args.worker_ports)
    create_admin(env)
    cookie = login_cookie(web_urls[0], "bench", PASSWORD)  # the same secret key on every web process
    context = multiprocessing.get_context("spawn")
    share, extra = divmod(args.clients, len(web_urls))
    per_port = [share + (i < extra) for i in range(len(web_urls))]
    pipes, children = [], []
    try:
        for url, count in zip(web_urls, per_port, strict=True):
            parent, child = context.Pipe()
            process = context.Process(target=client_process, args=(url, cookie, count, child), daemon=True)
            process.start()
            pipes.append(parent)
            children.append(process)
        began = time.monotonic()
        for pipe in pipes:
            receive(pipe, 300)
        print(f"  {args.clients} clients connected and subscribed in {time.monotonic() - began:.0f} s",
              flush=True)
        parties = {name: (lambda pid=pid: process_tree(pid)) for name, pid in pids.items()}
        parties["client processes"] = lambda: [psutil.Process(c.pid) for c in children]
        parties["redis-server"] = lambda: [p for p in psutil.process_iter(["name"])
                                           if p.info["name"] == "redis-server"]
        meter = CpuMeter(parties)
        opened = time.time() + 1.0
        closed = opened + args.seconds
        for pipe in pipes:
            pipe.send((opened, closed))
        time.sleep(max(opened - time.time(), 0))
        meter.start()
        time.sleep(max(closed - time.time(), 0))
        cpu = meter.stop()
        waits = meter.waits
        results = [receive(pipe, 60 + GRACE_SECONDS) for pipe in pipes]
        for process in children:
            process.join(30)
    finally:
        for process in children:
            if process.is_alive():
                process.terminate()
    received = [per_client for result in results for per_client in result["received"]]
    summary = summarise({"received": received, "opened": opened, "closed": closed}, 1.0)
    samples = {seq for per_client in received for _recv, seq, _ts in per_client}
    summary["distinct_samples_in_window"] = len(samples)
    summary["clients_missing_a_sample"] = sum(len({s for _r, s, _t in c}) < len(samples) for c in received)
    summary["clients_still_connected"] = sum(r["connected"] for r in results)
    # Where a tick's delay comes from: the first client to get it (owner -> Redis -> web
    # process -> socket -> client) against the last one (plus the fan-out: each web process
    # writes to its 500 sockets in turn, and each client process decodes 500 messages in turn).
    per_tick: dict[int, list[float]] = {}
    for per_client in received:
        for recv, seq, ts in per_client:
            per_tick.setdefault(seq, []).append((recv - ts) * 1000)
    summary["first_client_ms_median"] = round(statistics.median(min(d) for d in per_tick.values()), 1)
    summary["last_client_ms_median"] = round(statistics.median(max(d) for d in per_tick.values()), 1)
    summary["last_client_ms_max"] = round(max(max(d) for d in per_tick.values()), 1)
    summary["load_average_1min"] = round(os.getloadavg()[0], 2)
    summary["client_cpu_percent"] = [r["client_cpu_percent"] for r in results]
    owner_name = f"worker-{owner + 1}"
    server = [name for name in pids if name.startswith("web-")] + [owner_name]
    summary["cpu_percent"] = cpu
    summary["waiting_for_a_core_percent"] = waits
    summary["owner"] = owner_name
    summary["server_cpu_percent_of_one_core"] = round(sum(cpu[name] for name in server), 1)
    return summary


def report(summary: dict[str, Any]) -> None:
    rows = [("clients", "clients"), ("ticks expected per client", "expected_per_client"),
            ("distinct samples in the window", "distinct_samples_in_window"),
            ("delivered per client (min)", "delivered_per_client_min"),
            ("delivered per client (median)", "delivered_per_client_median"),
            ("delivered per client (max)", "delivered_per_client_max"),
            ("clients missing a sample", "clients_missing_a_sample"),
            ("clients connected at the end", "clients_still_connected"),
            ("delay median (ms)", "delay_ms_median"), ("delay p99 (ms)", "delay_ms_p99"),
            ("per tick, first client (median ms)", "first_client_ms_median"),
            ("per tick, last client (median ms)", "last_client_ms_median"),
            ("per tick, last client (max ms)", "last_client_ms_max"),
            ("max deviation from schedule (ms)", "schedule_deviation_ms_max"),
            ("load average (1 min) at the end", "load_average_1min")]
    print()
    for label, key in rows:
        print(f"{label:36}{summary[key]!s:>12}")
    print(f"\n{'over the window, % of one core':36}{'CPU':>14}{'waiting for a core':>20}")
    waits = summary["waiting_for_a_core_percent"]
    for name, percent in summary["cpu_percent"].items():
        note = {summary["owner"]: "  (owner)", "machine": "  (all processes, of 200)"}.get(name, "")
        if name.startswith("worker-") and name != summary["owner"]:
            note = "  (standby, not in the total)"
        print(f"{name:36}{percent:>14}{waits.get(name, ''):>20}{note}")
    print(f"{'server total (web + owner)':36}{summary['server_cpu_percent_of_one_core']:>14}")
    every = summary["clients_missing_a_sample"] == 0 and summary["delivered_per_client_min"] >= (
        summary["expected_per_client"] - 1)
    p99 = summary["delay_ms_p99"]
    cpu = summary["server_cpu_percent_of_one_core"]
    print(f"\nTargets: every tick delivered: {'met' if every else 'NOT met'}; "
          f"p99 < 100 ms: {'met' if p99 is not None and p99 < 100 else 'NOT met'} ({p99} ms); "
          f"server CPU < 10% of one core: {'met' if cpu < 10 else 'NOT met'} ({cpu}%)")
    if summary["distinct_samples_in_window"] > summary["expected_per_client"] + 1:
        print("Note: more samples than ticks arrived. Redis Pub/Sub ignores the database number, so another "
              "cluster's owner on the same Redis publishes on the same Socket.IO channel.")


def port_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="split evenly over the web ports")
    parser.add_argument("--seconds", type=float, default=25, help="the measured window")
    parser.add_argument("--db", default="webapp_bench_cluster", help="PostgreSQL, dropped at the end")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--web-ports", type=port_list, default=[5981, 5982])
    parser.add_argument("--worker-ports", type=port_list, default=[5991, 5992])
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cluster on the way out
    queue = redis.Redis.from_url(args.redis_url)
    listeners = queue.pubsub_numsub("flask-socketio")[0][1]
    if listeners:
        print(f"Note: {listeners} other process(es) listen on the Socket.IO channel of this Redis "
              "(Pub/Sub is shared by every database number).")
    instance = Path(tempfile.mkdtemp(prefix="webapp-bench-cluster-"))
    env = cluster_env(instance, args.db, args.redis_url, args.web_ports, args.worker_ports)
    drop_database(args.db)  # a fresh one: scripts/cluster creates and migrates it
    print(f"Cluster on {args.web_ports} (web) and {args.worker_ports} (workers), database {args.db}; "
          f"{args.clients} clients, {args.seconds:.0f} s window ...", flush=True)
    try:
        with cluster(env) as pids:
            summary = measure(args, env, pids)
    finally:
        drop_database(args.db)
        keys = list(queue.scan_iter("webapp:monitor:*"))
        if keys:
            queue.delete(*keys)
        shutil.rmtree(instance, ignore_errors=True)
    report(summary)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
