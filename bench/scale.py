"""Data at scale: a million blogs and ten thousand jobs, server time per page.

    make bench-scale    (or: .venv/bin/python bench/scale.py [--blogs 1000000] [--jobs 10000]
                         [--runs 20] [--database sqlite|postgresql|both])

For each database (SQLite in a temporary folder; PostgreSQL when one answers on
127.0.0.1:5432), it builds the schema with the migrations, then N blogs (200 authors,
100 tags, two tags a blog, English and Chinese titles and bodies), 10,000 jobs and
200,000 audit entries, and reports how long the build took. It then measures the
server time of each request in-process (the Flask test client, signed in as an
administrator; no network, no browser), p50 and p95 over ``--runs`` requests, for:
list page 1, page 25,000, a filter by tag, a search for an English word, for a
two-character Chinese word and for a rare three-character Chinese word, job list page
50, the audit log filtered by user, and the tag list with each tag's count. Finally
one full CSV download of every blog: rows per second and how far the process's
resident memory grew meanwhile. The same figures at 10,000 blogs come first, for
comparison.

Targets (issue "Data at scale"): at 1,000,000 blogs every page at p95 under 50 ms,
none more than 3x its time at 10,000 blogs; the download at 20,000 rows/s or more
with less than 50 MB of memory growth; the build in under 3 minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, ROOT

PASSWORD = "bench-password"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
WORDS = """flask python release notes security testing deploy cache memory socket scheduler admin
console report backup upgrade migration index query search storage network server client
session token audit history monitor throughput latency"""
ENGLISH = tuple(WORDS.split())
CHINESE_WORDS = """数据 系统 服务 管理 用户 网络 安全 测试 发布 更新 内存 任务 日志 调度
监控 缓存 数据库 性能 接口 文档 版本 配置 备份 迁移 索引 查询 搜索 存储"""
CHINESE = tuple(CHINESE_WORDS.split())
RARE = "麒麟阁"  # in one body of 10,000
START = datetime(2020, 1, 1, tzinfo=UTC)
AUDIT_ENTRIES = 200_000


def blog_rows(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """(id, title, slug, body, status, publish_at, author_id, created_at) for ``count`` blogs."""
    rng = random.Random(seed)
    for i in range(1, count + 1):
        words = [rng.choice(ENGLISH) for _ in range(4)] + [rng.choice(CHINESE) for _ in range(2)]
        rng.shuffle(words)
        body = " ".join(rng.choice(ENGLISH) for _ in range(8)) + "，" + "".join(
            rng.choice(CHINESE) for _ in range(8))
        if i % 10_000 == 5_000:
            body += RARE
        created = START + timedelta(seconds=97 * i)
        yield (i, " ".join(words).capitalize(), f"post-{i}", body, "published" if i % 3 else "draft",
               created, 1 + i % 200, created)


def build(url: str, instance: Path, blogs: int, jobs: int) -> dict[str, float]:
    """Schema by the migrations, then bulk rows; seconds per step."""
    env = {**os.environ, "WEBAPP_INSTANCE_PATH": str(instance), "WEBAPP_DATABASE_URL": url,
           "WEBAPP_SECRET_KEY": "bench-secret", "WEBAPP_LOG_LEVEL": "WARNING"}
    timings: dict[str, float] = {}
    started = time.perf_counter()
    subprocess.run([str(BIN / "flask"), "--app", "webapp", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timings["schema"] = time.perf_counter() - started
    os.environ.update(env)
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Tag, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        hashed = generate_password_hash(PASSWORD)
        db.session.execute(insert(User), [
            {"username": f"user{i:03d}", "email": f"user{i:03d}@example.com", "password_hash": hashed,
             "role": "admin" if i == 0 else "editor", "active": True, "version": 1, "created_at": START}
            for i in range(200)])
        db.session.execute(insert(Tag), [
            {"name": f"tag {i:03d}", "slug": f"tag-{i:03d}", "description": "", "version": 1,
             "colour": "#336699", "created_at": START} for i in range(100)])
        db.session.commit()
        started = time.perf_counter()
        _bulk_blogs(db.engine, blogs)
        timings["blogs"] = time.perf_counter() - started
        started = time.perf_counter()
        _bulk_audit(db.engine, AUDIT_ENTRIES, blogs)
        timings["audit"] = time.perf_counter() - started
        started = time.perf_counter()
        _jobs(app, jobs)
        timings["jobs"] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    return timings


def _bulk_blogs(engine: Any, count: int, chunk: int = 50_000) -> None:
    """Blogs and their tags through the driver: executemany on SQLite, COPY on PostgreSQL."""
    columns = "id, title, slug, body, status, publish_at, author_id, created_at, updated_at, version"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows = blog_rows(count)
        postgres = engine.dialect.name == "postgresql"
        while True:
            batch = [(*row, row[-1], 1) for row in _take(rows, chunk)]
            if not batch:
                break
            tags = [(row[0], 1 + (row[0] * 7 + second) % 100)
                    for row in batch for second in (0, 1 + row[0] % 99)]
            if postgres:
                with cursor.copy(f"COPY blogs ({columns}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
                with cursor.copy("COPY blog_tags (blog_id, tag_id) FROM STDIN") as copy:
                    for row in tags:
                        copy.write_row(row)
            else:
                stamp = [(*row[:5], _text(row[5]), row[6], _text(row[7]), _text(row[8]), row[9])
                         for row in batch]
                cursor.executemany(f"INSERT INTO blogs ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?)", stamp)
                cursor.executemany("INSERT INTO blog_tags (blog_id, tag_id) VALUES (?, ?)", tags)
            raw.commit()
        if postgres:
            cursor.execute("SELECT setval('blogs_id_seq', (SELECT max(id) FROM blogs))")
            raw.commit()
            # What autovacuum does after a bulk load (its insert threshold): the statistics, and
            # the visibility map that lets an index-only scan (a deep page) skip the table.
            raw.driver_connection.autocommit = True
            for table in ("blogs", "blog_tags"):
                cursor.execute(f"VACUUM ANALYZE {table}")
            raw.driver_connection.autocommit = False
        else:
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _bulk_audit(engine: Any, count: int, blogs: int) -> None:
    """Audit entries by 200 users, through the driver as the blogs."""
    columns = "created_at, actor_id, actor_name, action, object_type, object_id, object_repr, changes"
    rows = [(START + timedelta(seconds=i), 1 + i % 200, f"user{i % 200:03d}", "update", "blogs",
             str(1 + i % max(blogs, 1)), f"post {i}", '{"title": ["a", "b"]}') for i in range(count)]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY audit_log ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO audit_log ({columns}) VALUES (?,?,?,?,?,?,?,?)",
                               [(_text(row[0]), *row[1:]) for row in rows])
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _text(moment: datetime) -> str:
    """A timestamp as the SQLite columns store it."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _take(rows: Iterator[Any], count: int) -> list[Any]:
    return [row for _, row in zip(range(count), rows, strict=False)]


def _jobs(app: Any, count: int) -> None:
    from webapp.jobs.scheduler import readable_scheduler

    scheduler = readable_scheduler(app)
    for i in range(count):
        scheduler.add_job(f"job-{i:05d}", "log_message", trigger="interval", minutes=5 + i % 600,
                          kwargs={"name": f"job {i}"})
    scheduler.shutdown(wait=False)


PAGES = {
    "list page 1": "/blogs/",
    # As the pager reaches it: its "next" link from page 24,999 carries a cursor (see
    # ``deep_page``). Typed in by number, the page is an OFFSET: reported beside it.
    "page 25,000": "/blogs/?{cursor}",
    "page 25,000 by number": "/blogs/?page=25000",
    "filter by tag": "/blogs/?tag=8",
    "search English": "/blogs/?q=throughput",
    "search 2 Chinese": "/blogs/?q=数据",
    "search rare 3 Chinese": f"/blogs/?q={RARE}",
    "job list page 50": "/jobs/?page=50",
    "audit by user": "/audit/?actor=7",
    "tag list": "/tags/",
}


def measure(url: str, instance: Path, runs: int, pages: dict[str, str],
            blogs: int) -> dict[str, tuple[float, float]]:
    """p50 and p95 of the server time of each page, in milliseconds (in-process)."""
    from webapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    answer = client.post("/auth/login", data={"login": "user000", "password": PASSWORD})
    assert answer.status_code == 302, "sign-in failed"
    results = {}
    cursor = deep_page(client, min(25_000, max(blogs // 20, 2)))
    for name, path in pages.items():
        path = path.format(cursor=cursor)
        assert client.get(path).status_code == 200, path  # warm: caches, compiled statements
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        results[name] = (statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)])
    return results


def deep_page(client: Any, page: int) -> str:
    """The query of page ``page - 1``'s link to page ``page`` (what "next" follows): past
    the counted pages it carries a cursor (at 10,000 blogs the last page, 500, is by number)."""
    listed = client.get(f"/blogs/?page={page - 1}").text
    links = re.findall(rf'href="[^"]*\?(page={page}(?:&amp;after=[^"&]+)?)"', listed)
    assert links, f"no link to page {page}"
    return links[0].replace("&amp;", "&")


def download(url: str, instance: Path) -> tuple[int, float, float]:
    """One full CSV download: rows, rows per second, peak resident memory growth (MB).

    Over BACKGROUND_THRESHOLD_ROWS the download is prepared in the background (as in
    the browser: confirm, then wait on the task), in this process's thread; small ones
    stream in the request.
    """
    from webapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/auth/login", data={"login": "user000", "password": PASSWORD})
    process = psutil.Process()
    baseline = peak = process.memory_info().rss
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, process.memory_info().rss)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    response = client.get("/blogs/export.csv", buffered=False)
    if response.mimetype == "text/csv":
        lines = sum(chunk.count(b"\n") for chunk in response.response)
    else:  # the confirmation page of a background download
        task_url = client.post("/blogs/export.csv").headers["Location"]
        while (state := client.get(f"{task_url}/state").get_json())["status"] in ("queued", "running"):
            time.sleep(0.05)
        assert state["status"] == "succeeded", state
        body = client.get(f"{task_url}/download", buffered=False).response
        lines = sum(chunk.count(b"\n") for chunk in body)
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    rows = lines - 1  # the header
    return rows, rows / seconds, (peak - baseline) / 2**20


def run(database: str, blogs: int, jobs: int, runs: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="webapp-scale-"))
    name = f"webapp_scale_{os.getpid()}"
    url = f"sqlite:///{folder / 'scale.sqlite'}" if database == "sqlite" else PG_SERVER + name
    try:
        if database == "postgresql":
            _psql(f"DROP DATABASE IF EXISTS {name}")
            _psql(f"CREATE DATABASE {name}")
        timings = build(url, folder / "instance", blogs, jobs)
        print(f"\n{database}, {blogs:,} blogs, {jobs:,} jobs: built in {timings['total']:.0f} s "
              f"({', '.join(f'{k} {v:.0f} s' for k, v in timings.items() if k != 'total')})")
        results = measure(url, folder / "instance", runs, PAGES, blogs)
        print(f"{'page':<24}{'p50 ms':>10}{'p95 ms':>10}")
        for page, (p50, p95) in results.items():
            print(f"{page:<24}{p50:>10.1f}{p95:>10.1f}")
        rows, rate, grown = download(url, folder / "instance")
        print(f"CSV download: {rows:,} rows, {rate:,.0f} rows/s, peak RSS growth {grown:.1f} MB")
    finally:
        if database == "postgresql":  # FORCE: the measured apps' pools still hold connections
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(folder, ignore_errors=True)


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True,
                   stdout=subprocess.DEVNULL)


def postgres_available() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blogs", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if "postgresql" in databases and not postgres_available():
        print("PostgreSQL does not answer on 127.0.0.1:5432: measuring SQLite only.")
        databases.remove("postgresql")
    for database in databases:
        for blogs in sorted({min(10_000, args.blogs), args.blogs}):
            run(database, blogs, args.jobs, args.runs)


if __name__ == "__main__":
    main()
