"""Socket.IO fan-out of the memory monitor: many clients, one server process.

    make bench-monitor      (or: .venv/bin/python bench/monitor_sockets.py [--clients 500] [--seconds 30])

Serves the console with the production setup (gunicorn, one process, enough
threads for every socket), connects N clients from one asyncio process
(python-socketio's AsyncClient over WebSocket) at a 1 s interval, and reports for
the measured window: ticks delivered per client against ticks expected, the
delivery delay from sample to client (median and 99th percentile), how far the
server's ticks strayed from their schedule, server CPU, and psutil reads per
second. Then it runs the naive design (bench/naive_monitor.py: one loop per
client, emitting to everyone) at 50 clients for comparison.
Targets (issue 5): every tick delivered on schedule, p99 delay < 100 ms,
server CPU < 15% of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, ROOT, gunicorn_process, instance_env, login_cookie, temporary_instance

PASSWORD = "bench-password"


async def run_clients(url: str, count: int, seconds: float, cookie: str | None, subscribe: bool,
                      worker: psutil.Process) -> dict:
    """Connect ``count`` clients, measure ``seconds`` of traffic, disconnect them.

    CPU is read at the edges of the measured window only (connecting 500 clients
    costs far more than serving them).

    The delay is stamped in the event handler, so the clients' own work counts
    in it: all 500 share one Python process. Two settings keep that work small
    without changing what is measured. The clients decode with the standard
    ``json`` module (Engine.IO's default wraps it to refuse huge integers and
    builds a new decoder per message, a quarter of the clients' time). The
    connected clients' objects are frozen out of the garbage collector before
    the window: each full collection over them stopped the event loop for
    about 70 ms, which made the 99th percentile the collector's.
    """
    received: list[list[tuple[float, int, float]]] = [[] for _ in range(count)]
    window = {"open": False}
    clients = []

    def make_handler(index: int):
        async def on_memory(sample: dict[str, Any]) -> None:
            if window["open"]:
                received[index].append((time.time(), sample["seq"], sample["ts"]))
        return on_memory

    headers = {"Cookie": cookie} if cookie else {}
    for index in range(count):
        client = socketio.AsyncClient(reconnection=False, json=json)  # see the docstring
        client.on("memory", make_handler(index), namespace="/ws")
        clients.append(client)

    async def connect(client: socketio.AsyncClient) -> None:
        await client.connect(url, headers=dict(headers), transports=["websocket"], namespaces=["/ws"],
                             wait_timeout=30)
        if subscribe:
            await client.call("subscribe", {"interval": 1}, namespace="/ws", timeout=30)

    for start in range(0, count, 50):  # in waves, so the handshakes don't time out
        await asyncio.gather(*(connect(c) for c in clients[start:start + 50]))
    await asyncio.sleep(2)  # settle
    gc.collect()
    gc.freeze()  # see the docstring
    server_cpu, client_cpu = sum(worker.cpu_times()[:2]), time.process_time()
    window["open"] = True
    opened = time.time()
    await asyncio.sleep(seconds)
    window["open"] = False
    closed = time.time()
    server_busy = sum(worker.cpu_times()[:2]) - server_cpu
    client_busy = time.process_time() - client_cpu
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    gc.unfreeze()
    return {"received": received, "opened": opened, "closed": closed,
            "server_cpu_percent": round(server_busy / (closed - opened) * 100, 1),
            "client_cpu_percent": round(client_busy / (closed - opened) * 100, 1)}


def summarise(result: dict, tick: float) -> dict:
    received = result["received"]
    duration = result["closed"] - result["opened"]
    delays = sorted((recv - ts) * 1000 for per_client in received for recv, _seq, ts in per_client)
    per_client = [len(r) for r in received]
    stamps = sorted({(seq, ts) for r in received for _recv, seq, ts in r})
    seqs = [seq for seq, _ts in stamps]
    reads_per_second = (seqs[-1] - seqs[0]) / (stamps[-1][1] - stamps[0][1]) if len(stamps) > 1 else 0.0
    # Ticks of the one-sampler design sit on a fixed schedule: how far did they stray?
    drift_ms = [((ts - stamps[0][1]) - round((ts - stamps[0][1]) / tick) * tick) * 1000 for _s, ts in stamps]
    return {
        "clients": len(received),
        "expected_per_client": round(duration / tick, 1),
        "delivered_per_client_min": min(per_client),
        "delivered_per_client_median": statistics.median(per_client),
        "delivered_per_client_max": max(per_client),
        "delay_ms_median": round(statistics.median(delays), 1) if delays else None,
        "delay_ms_p99": round(delays[int(len(delays) * 0.99) - 1], 1) if delays else None,
        "schedule_deviation_ms_max": round(max(abs(d) for d in drift_ms), 1) if drift_ms else None,
        "psutil_reads_per_second": round(reads_per_second, 2),
    }


def measure(url: str, worker: psutil.Process, clients: int, seconds: float, cookie: str | None,
            subscribe: bool, tick: float) -> dict:
    result = asyncio.run(run_clients(url, clients, seconds, cookie, subscribe, worker))
    summary = summarise(result, tick)
    summary["server_cpu_percent_of_one_core"] = result["server_cpu_percent"]
    # The clients share one process; when it is busy, part of the delay is theirs.
    summary["client_cpu_percent_of_one_core"] = result["client_cpu_percent"]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--naive-clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with temporary_instance() as instance:
        env = instance_env(instance)
        subprocess.run([str(BIN / "flask"), "--app", "webapp", "init-db"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([str(BIN / "flask"), "--app", "webapp", "create-admin", "--username", "bench",
                        "--email", "bench@example.com", "--password", PASSWORD], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        print(f"One sampler, {args.clients} clients, {args.seconds:.0f} s ...", flush=True)
        with gunicorn_process("webapp:create_app()", env, threads=args.clients + 50) as (url, worker):
            cookie = login_cookie(url, "bench", PASSWORD)
            ours = measure(url, worker, args.clients, args.seconds, cookie, True, 1.0)
        print(f"Naive design, {args.naive_clients} clients, {args.seconds:.0f} s ...", flush=True)
        naive_server = gunicorn_process("bench.naive_monitor:app", env, threads=args.naive_clients + 50)
        with naive_server as (url, worker):
            naive = measure(url, worker, args.naive_clients, args.seconds, None, False, 1.0)
    rows = [("clients", "clients"), ("ticks expected per client", "expected_per_client"),
            ("delivered per client (min)", "delivered_per_client_min"),
            ("delivered per client (median)", "delivered_per_client_median"),
            ("delivered per client (max)", "delivered_per_client_max"),
            ("delay median (ms)", "delay_ms_median"), ("delay p99 (ms)", "delay_ms_p99"),
            ("max deviation from schedule (ms)", "schedule_deviation_ms_max"),
            ("server CPU (% of one core)", "server_cpu_percent_of_one_core"),
            ("client process CPU (% of one core)", "client_cpu_percent_of_one_core"),
            ("psutil reads per second", "psutil_reads_per_second")]
    print(f"\n{'':34}{'one sampler':>14}{'naive':>14}")
    for label, key in rows:
        print(f"{label:34}{ours[key]!s:>14}{naive[key]!s:>14}")
    met = (ours["delivered_per_client_min"] >= ours["expected_per_client"] - 1
           and ours["delay_ms_p99"] is not None and ours["delay_ms_p99"] < 100
           and ours["server_cpu_percent_of_one_core"] < 15)
    print(f"\nTargets (every tick, p99 < 100 ms, CPU < 15%): {'met' if met else 'NOT met'}")
    print(json.dumps({"one_sampler": ours, "naive": naive}))


if __name__ == "__main__":
    main()
