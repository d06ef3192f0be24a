"""Blog list throughput against the bare hello route, on the production server setup.

    make bench-blogs        (or: .venv/bin/python bench/blog_list.py [--seconds 10])

Builds a fresh SQLite database of 200 users, 50 tags and 10,000 blogs with 3 tags
each, serves it with gunicorn (one process, 100 threads), and measures with wrk,
side by side in one run: /livez (the bare hello route), the blog list (page 1,
a search, page 400), and /api/v1/blogs. It prints requests per second, each as a
ratio to the hello route, and the SQL queries each page runs.
Target (issue 3): the blog list page at 25% or more of the hello route.

On a shared machine other work comes and goes during a run, so the pages are
measured in interleaved rounds (hello, list, ..., hello, list, ...): each ratio
is the median of the ratios within a round, with their range. The server's CPU
time per request is printed too: it is less disturbed by other work than the rate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BIN,
    ROOT,
    gunicorn_process,
    instance_env,
    login_cookie,
    measure_interleaved,
    ratio_table,
    temporary_instance,
    wrk,
)

PASSWORD = "bench-password"
PAGES = {
    "hello (/livez)": "/livez",
    "blog list, page 1": "/blogs/",
    "blog list, search": "/blogs/?q=flask",
    "blog list, page 400": "/blogs/?page=400",
    "API /api/v1/blogs": "/api/v1/blogs",
}


def build_database(instance: Path) -> None:
    """Schema by the migrations, then rows by bulk INSERTs (fast, and no audit entries)."""
    env = instance_env(instance)
    subprocess.run([str(BIN / "flask"), "--app", "webapp", "init-db"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(env)
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Blog, Tag, User, blog_tags

    app = create_app()
    rng = random.Random(42)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    words = ["flask", "python", "sqlalchemy", "jinja", "admin", "console", "scheduler", "socket", "memory",
             "release", "notes", "security", "testing", "deploy", "cache"]
    with app.app_context():
        hashed = generate_password_hash(PASSWORD)
        roles = ["admin"] + ["editor"] * 99 + ["viewer"] * 100
        db.session.execute(insert(User), [
            {"username": f"user{i:03d}", "email": f"user{i:03d}@example.com", "password_hash": hashed,
             "role": role, "active": True, "version": 1,
             "created_at": start} for i, role in enumerate(roles)])
        db.session.execute(insert(Tag), [
            {"name": f"tag {i:02d}", "slug": f"tag-{i:02d}", "description": "", "version": 1,
             "colour": f"#{rng.randrange(0x1000000):06x}", "created_at": start} for i in range(50)])
        blogs = []
        for i in range(10_000):
            title = " ".join(rng.choice(words) for _ in range(5)).capitalize()
            created = start + timedelta(minutes=37 * i)
            blogs.append({"title": f"{title} {i}", "slug": f"post-{i}", "body": " ".join(
                rng.choice(words) for _ in range(120)), "status": rng.choice(["draft", "published"]),
                "publish_at": created, "author_id": rng.randrange(1, 101), "cover_image": None,
                "created_at": created, "updated_at": created, "version": 1})
        db.session.execute(insert(Blog), blogs)
        db.session.execute(insert(blog_tags), [
            {"blog_id": b, "tag_id": t} for b in range(1, 10_001) for t in rng.sample(range(1, 51), 3)])
        db.session.commit()


def queries_per_page(instance: Path) -> dict[str, int]:
    """SQL statements each page runs, counted in-process on the same database."""
    from sqlalchemy import event

    from webapp import create_app
    from webapp.extensions import db

    app = create_app()
    counts: dict[str, int] = {}
    client = app.test_client()
    page = client.get("/auth/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"csrf_token": token, "login": "user000", "password": PASSWORD})
    with app.app_context():
        engine = db.engine
    for name, path in PAGES.items():
        statements: list[str] = []

        def record(*args: object, _s: list[str] = statements) -> None:
            _s.append(str(args[2]))

        client.get(path)  # warm: the tag and author menus are cached after the first request
        event.listen(engine, "before_cursor_execute", record)
        status = client.get(path).status_code
        event.remove(engine, "before_cursor_execute", record)
        counts[name] = len(statements) if status == 200 else -status
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per URL, over all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds the duration is split into")
    args = parser.parse_args()
    with temporary_instance() as instance:
        print("Building 200 users, 50 tags, 10,000 blogs x 3 tags ...", flush=True)
        build_database(instance)
        queries = queries_per_page(instance)
        with gunicorn_process("webapp:create_app()", instance_env(instance), 100) as (url, worker):
            cookie = login_cookie(url, "user000", PASSWORD)
            for path in PAGES.values():  # warm up: templates compiled, caches filled
                wrk(url + path, cookie, 1)
            results = measure_interleaved(url, cookie, PAGES, args.seconds, max(args.rounds, 1), worker)
    table = ratio_table(results, "hello (/livez)", {"queries": queries})  # type: ignore[dict-item]
    ratio = table["ratio_median"]["blog list, page 1"]  # type: ignore[index]
    verdict = "met" if ratio >= 0.25 else "NOT met"
    print(f"\nTarget: blog list page 1 at >= 25% of the hello route: {ratio:.1%} ({verdict})")
    print(json.dumps({**table, "queries": queries, "blog_list_ratio": ratio}))


if __name__ == "__main__":
    main()
