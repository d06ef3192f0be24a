"""Blog list throughput on PostgreSQL: one web process against two, side by side.

    make bench-cluster-blogs   (or: .venv/bin/python bench/cluster_blogs.py [--seconds 15] [--rounds 5]
                                [--db webapp_bench_blogs] [--redis-url redis://127.0.0.1:6379/12])

Builds the database of bench/blog_list.py (200 users, 50 tags, 10,000 blogs with 3
tags each) on a fresh PostgreSQL database, then starts two web processes as in
production (gunicorn, one gevent worker each, WEBAPP_ROLE=web, Redis as the
Socket.IO message queue, each in a session of its own as scripts/cluster starts
them) and signs in. wrk (one thread, 8 connections per instance)
measures /livez (the bare hello route) and the blog list /blogs/ in interleaved
rounds: one process (one wrk on port A), then two processes (two wrk at once, on
ports A and B, their rates summed). It prints requests per second, the 2-vs-1 ratio
(median of the rounds' ratios, with their range) and, for each configuration, the
CPU of every party over the window as % of one core (the web processes, the
PostgreSQL server processes of the bench database, wrk, and the rest of the
machine) and the time the web processes and PostgreSQL spent runnable but waiting
for a core, which show what bounds the ratio on a machine with few cores. The
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.blog_list import PASSWORD, build_database
from bench.common import (
    PSQL,
    CpuMeter,
    create_database,
    drop_database,
    gunicorn_process,
    instance_env,
    login_cookie,
    postgres_backends,
    postgres_url,
    process_tree,
    temporary_instance,
    wrk,
    wrk_command,
    wrk_result,
)

ROUTES = {"hello (/livez)": "/livez", "blog list (/blogs/)": "/blogs/"}
PARTIES = ("web A", "web B", "PostgreSQL", "wrk")
WAITS = ("web A wait", "web B wait", "PostgreSQL wait")


def drive(urls: list[str], cookie: str, seconds: int, connections: int,
          meter: CpuMeter) -> tuple[float, dict[str, float]]:
    """One wrk per URL, all at once; their summed rate and the CPU of every party meanwhile."""
    processes = [subprocess.Popen(wrk_command(url, cookie, seconds, connections), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for url in urls]
    meter.start()
    outputs = [process.communicate() for process in processes]
    cpu = meter.stop()
    cpu.update({f"{party} wait": percent for party, percent in meter.waits.items()})
    rate = 0.0
    for url, process, (out, err) in zip(urls, processes, outputs, strict=True):
        if process.returncode:
            raise RuntimeError(f"wrk failed on {url}: {err}")
        rate += wrk_result(url, out)[0]
    return rate, cpu


def measure(urls: list[str], cookie: str, seconds: int, rounds: int, connections: int,
            meter: CpuMeter) -> dict[str, dict[int, list[tuple[float, dict[str, float]]]]]:
    """Per route, per number of processes: one (rate, CPU) pair per round, interleaved."""
    per_round = max(seconds // rounds, 1)
    results: dict[str, dict[int, list[tuple[float, dict[str, float]]]]] = {
        name: {1: [], 2: []} for name in ROUTES}
    for index in range(rounds):
        for name, path in ROUTES.items():
            for count in (1, 2):
                results[name][count].append(
                    drive([url + path for url in urls[:count]], cookie, per_round, connections, meter))
        print(f"  round {index + 1}/{rounds} done", flush=True)
    return results


def report(results: dict[str, dict[int, list[tuple[float, dict[str, float]]]]]) -> dict[str, Any]:
    """Print the table; return its figures for the JSON line."""
    columns = (*PARTIES, "others", "machine", *WAITS)
    print(f"\n{'':<66}{' CPU, % of one core ':-^66}{' waiting for a core ':-^33}")
    print(f"{'route':<22}{'procs':>6}{'req/s':>8}{'2 vs 1':>18}{'web ms/req':>12}"
          + "".join(f"{p.removesuffix(' wait'):>11}" if p in WAITS else f"{p:>11}" for p in columns))
    figures: dict[str, Any] = {}
    for name, by_count in results.items():
        ratios = sorted(two / one for (one, _), (two, _) in zip(by_count[1], by_count[2], strict=True))
        figures[name] = {"ratio_median": round(statistics.median(ratios), 3),
                         "ratios": [round(r, 3) for r in ratios]}
        for count, runs in by_count.items():
            rate = statistics.median(r for r, _ in runs)
            cpu = {p: statistics.median(c[p] for _, c in runs) for p in (*PARTIES, "machine", *WAITS)}
            cpu["others"] = max(cpu["machine"] - sum(cpu[p] for p in PARTIES), 0.0)
            web_ms = statistics.median((c["web A"] + c["web B"]) * 10 / r for r, c in runs)
            middle = statistics.median(ratios)
            ratio = f"{middle:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})" if count == 2 else ""
            print(f"{name if count == 1 else '':<22}{count:>6}{rate:>8.0f}{ratio:>18}{web_ms:>12.2f}"
                  + "".join(f"{cpu[p]:>11.0f}" for p in columns))
            figures[name][count] = {"rate": round(rate, 1), "web_cpu_ms_per_request": round(web_ms, 3),
                                    "cpu_percent": {k: round(v, 1) for k, v in cpu.items()}}
    print("\n2 vs 1: the median of the rounds' ratios (their range). CPU and waits: % of one core over "
          f"the window, medians of the rounds; the machine has {os.cpu_count()} cores "
          f"({os.cpu_count() * 100}%).\n'others' is work outside this bench; 'waiting for a core' is time "
          "runnable but not running (/proc/<pid>/task/*/schedstat).")
    return figures


def serve_and_measure(instance: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Two web processes on the built database; the interleaved rounds."""
    env = {**instance_env(instance), "WEBAPP_ROLE": "web", "WEBAPP_SOCKETIO_MESSAGE_QUEUE": args.redis_url}
    with ExitStack() as stack:
        servers = [stack.enter_context(gunicorn_process("webapp.serve:app()", env, 1, "gevent", True))
                   for _ in range(2)]
        urls = [url for url, _worker in servers]
        print(f"Web processes A {urls[0]} and B {urls[1]} (gunicorn, gevent) ...", flush=True)
        cookie = login_cookie(urls[0], "user000", PASSWORD)  # the same secret key on both
        for url in urls:
            for path in ROUTES.values():  # warm up: templates compiled, caches filled
                wrk(url + path, cookie, 1, args.connections)
        meter = CpuMeter({"web A": lambda: process_tree(servers[0][1].ppid()),
                          "web B": lambda: process_tree(servers[1][1].ppid()),
                          "PostgreSQL": lambda: postgres_backends(args.db)}, reaped="wrk")
        return measure(urls, cookie, args.seconds, max(args.rounds, 1), args.connections, meter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="wrk time per route and configuration")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds the time is split into")
    parser.add_argument("--connections", type=int, default=8, help="per wrk instance")
    parser.add_argument("--db", default="webapp_bench_blogs", help="PostgreSQL, dropped at the end")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="Socket.IO message queue")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    create_database(args.db)
    try:
        with temporary_instance() as instance:
            os.environ["WEBAPP_DATABASE_URL"] = postgres_url(args.db)  # build_database's app and CLI
            print(f"Building 200 users, 50 tags, 10,000 blogs x 3 tags in {args.db} ...", flush=True)
            build_database(instance)
            # Statistics for the planner, as autovacuum would gather them after a bulk load.
            subprocess.run([*PSQL, "-d", args.db, "-c", "VACUUM ANALYZE"], check=True,
                           stdout=subprocess.DEVNULL)
            results = serve_and_measure(instance, args)
    finally:
        drop_database(args.db)
    figures = report(results)
    ratio = figures["blog list (/blogs/)"]["ratio_median"]
    print(f"\nBlog list, two web processes against one: {ratio:.2f}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
