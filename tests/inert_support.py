"""The hostile data of tests/test_inert_text.py: values as hostile as each field's validation
allows, entered through the services and the forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD, CSRFClient
from tests.render_support import fetch, signed_in
from webapp.extensions import db
from webapp.models import JobRun, User
from webapp.services import blogs as blog_service
from webapp.services import jobs as job_service
from webapp.services import tags as tag_service
from webapp.services import tokens as token_service
from webapp.services import users as user_service
from webapp.services.blogs import BlogData
from webapp.services.tags import TagData
from webapp.services.users import UserData

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
TEMPLATE = "{{7*7}}zq1"  # a template engine that evaluated it would write 49zq1
EVALUATED = "49zq1"
DOUBLE_QUOTE = 'dq" onmouseover="alert(1)'  # leaves a "..." attribute if not escaped
SINGLE_QUOTE = "sq' onfocus='alert(1)"  # leaves a '...' attribute if not escaped
FORMULA = "=HYPERLINK(\"http://evil.example\",\"x\")"

#: Raw forms that must never appear in an HTML response (escaped forms are fine).
RAW_IN_HTML = ("<img src=x onerror", "<script>alert(1)", '" onmouseover="alert(1)', "' onfocus='alert(1)",
               EVALUATED)

#: Tag names: the markup, the template expression and both attribute break-outs.
TAG_NAMES = (IMG, TEMPLATE, DOUBLE_QUOTE, SINGLE_QUOTE)
TAG_DESCRIPTION = f"{FORMULA} {SCRIPT} {IMG} {TEMPLATE}"
BLOG_TITLES = (SCRIPT, TEMPLATE, f"{IMG} {DOUBLE_QUOTE}")
BLOG_BODY = (f"# {TEMPLATE}\n\nRaw: {SCRIPT} and {IMG}\n\n<div onclick=\"alert(1)\">{TEMPLATE}</div>\n\n"
             f"[click](javascript:alert(1)) ![x](javascript:alert(1))\n\n`{SCRIPT}`\n")
JOB_NAME = f"{IMG} {TEMPLATE} {SINGLE_QUOTE}"
JOB_PARAMETER = f"{SCRIPT} {TEMPLATE} {DOUBLE_QUOTE}"
JOB_ID = "zq1:job.-_hostile"  # ids take letters, digits and . _ : - only
TOKEN_NAME = f"{SCRIPT} {TEMPLATE}"
RUN_ERROR = f"ValidationError: {IMG} {TEMPLATE}"  # a task's error that quotes its parameters

#: Accounts: usernames refuse markup; e-mail addresses take what RFC 5322 atext allows.
ACCOUNTS = {
    "admin": ("admin", "adm'&{{7*7}}zq1@example.com"),
    "editor": ("ed.it-or_zq", "ed&lt{{7*7}}zq1'@example.com"),  # "&lt" unescaped reads as "<"
    "viewer": ("vi-ew.er", "vi'&amp{{7*7}}zq1@example.com"),
}

@dataclass
class Seeded:
    """What the module's app holds."""

    app: Flask
    tag_ids: dict[str, int]
    blog_ids: list[int]
    user_ids: dict[str, int]
    job_ids: list[str]
    clients: dict[str, CSRFClient] = field(default_factory=dict)
    flashed: dict[str, TestResponse] = field(default_factory=dict)
    crawls: dict[str, dict[str, TestResponse]] = field(default_factory=dict)


def seed(app: Flask) -> Seeded:
    """The hostile data: mostly through the services, some through the forms (their flash
    messages quote what was typed: those pages are kept in ``flashed`` and checked too)."""
    with app.app_context():
        user_ids = {role: user_service.create_user_as_system(
            UserData(username=username, email=email, role=role, active=True, password=PASSWORD)).id
            for role, (username, email) in ACCOUNTS.items()}
    data = Seeded(app=app, tag_ids={}, blog_ids=[], user_ids=user_ids, job_ids=[JOB_ID, "zq1.paused"])
    data.clients = {role: signed_in(app, username) for role, (username, _email) in ACCOUNTS.items()}
    data.clients["anonymous"] = app.test_client()  # type: ignore[assignment]

    def actor(role: str) -> User:
        return db.session.get(User, user_ids[role])  # type: ignore[return-value]

    def new_tag(name: str) -> None:
        data.tag_ids[name] = tag_service.create_tag(TagData(name=name, description=TAG_DESCRIPTION),
                                                    actor("editor")).id

    def new_blog(role: str, title: str, status: str, tags: list[str]) -> None:
        blog = BlogData(title=title, body=BLOG_BODY, status=status, tags=tags)
        data.blog_ids.append(blog_service.create_blog(blog, actor(role)).id)

    def submit(role: str, url: str, form: dict[str, Any]) -> str:
        client = data.clients[role]
        response = client.post(url, data=form)
        assert response.status_code == 302, (url, response.status_code, response.get_data(as_text=True))
        data.flashed[url] = fetch(client, response.location)  # the page with the flash message
        return response.location

    with app.app_context():
        new_tag(IMG)
        new_tag(TEMPLATE)
    submit("editor", "/tags/new", {"name": DOUBLE_QUOTE, "colour": "#6c757d", "description": TAG_DESCRIPTION})
    with app.app_context():
        data.tag_ids[DOUBLE_QUOTE] = tag_service.find_by_names([DOUBLE_QUOTE]).popitem()[1].id
        new_tag(SINGLE_QUOTE)
        new_blog("editor", BLOG_TITLES[0], "published", list(TAG_NAMES))
        new_blog("admin", BLOG_TITLES[1], "draft", [IMG, TEMPLATE])
    location = submit("editor", "/blogs/new", {"title": BLOG_TITLES[2], "body": BLOG_BODY,
                                               "status": "published", "tags": DOUBLE_QUOTE})
    data.blog_ids.append(int(location.rstrip("/").rsplit("/", 1)[1]))
    submit("admin", "/jobs/new", {
        "id": "zq1.paused", "name": TEMPLATE, "task": "log_message", "kw-log_message-name": IMG,
        "trigger": "cron", "crontab": "30 3 * * 1-5", "timezone": "UTC", "executor": "default",
        "jobstore": "default", "max_instances": "1", "misfire_grace_time": "30", "paused": "y"})
    with app.app_context():
        job_service.create_job({"id": JOB_ID, "name": JOB_NAME, "task": "print_test",
                                "kwargs": {"name": JOB_PARAMETER}, "trigger": "interval",
                                "trigger_args": {"hours": 1}}, actor("admin"))
        # A failed run whose error quotes the job's parameters, as a task's validation error does.
        started = datetime.now(UTC) - timedelta(minutes=5)
        db.session.add(JobRun(job_id=JOB_ID, scheduled_at=started, status="failed", started_at=started,
                              finished_at=started + timedelta(seconds=1), duration_ms=1000.0,
                              error=RUN_ERROR, traceback=f"Traceback:\n  {RUN_ERROR}"))
        db.session.commit()
        for role in user_ids:
            token_service.create_token(actor(role), TOKEN_NAME)
        # The editor renames a tag: the audit log gets an update with old and new values.
        renamed = data.tag_ids.pop(SINGLE_QUOTE)
        version = tag_service.get_tag(renamed).version
        tag_service.update_tag(renamed, TagData(name=f"{SINGLE_QUOTE}!", description=TAG_DESCRIPTION,
                                                colour="#a1b2c3"), actor("editor"), version)
        data.tag_ids[f"{SINGLE_QUOTE}!"] = renamed
    return data
