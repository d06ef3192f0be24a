"""Command-line tasks: ``flask --app webapp init-db | create-admin | seed-demo``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Blog, Role, User
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services import users as user_service
from webapp.services.blogs import BlogData
from webapp.services.errors import ValidationError
from webapp.services.tags import TagData
from webapp.services.users import UserData

DEMO_USERS = (
    ("ada", "ada@example.com", Role.ADMIN),
    ("grace", "grace@example.com", Role.EDITOR),
    ("linus", "linus@example.com", Role.EDITOR),
    ("margaret", "margaret@example.com", Role.VIEWER),
    ("ken", "ken@example.com", Role.VIEWER),
)
DEMO_PASSWORD = "demo-password"


def register_commands(app: Flask) -> None:
    """Attach the commands to ``app.cli``."""
    app.cli.add_command(init_db)
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (runs the migrations)."""
    upgrade()
    click.echo("Database is up to date.")


@click.command("create-admin")
@with_appcontext
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="WEBAPP_ADMIN_PASSWORD", help="Or set WEBAPP_ADMIN_PASSWORD.")
def create_admin(username: str, email: str, password: str) -> None:
    """Create an administrator account."""
    data = UserData(username=username, email=email, role=Role.ADMIN.value, password=password)
    try:
        user = user_service.create_user_as_system(data)
    except ValidationError as err:
        for field, messages in err.fields.items():
            click.echo(f"{field}: {' '.join(messages)}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Administrator {user.username} created.")


@click.command("seed-demo")
@click.option("--blogs", "blog_count", default=40, show_default=True, help="How many demo blogs.")
@with_appcontext
def seed_demo(blog_count: int) -> None:
    """Add demo accounts, tags and blogs to try the console on (password: demo-password)."""
    created = 0
    for username, email, role in DEMO_USERS:
        if user_service.find_by_login(username):
            continue
        user_service.create_user_as_system(UserData(username, email, role.value, True, DEMO_PASSWORD))
        created += 1
    click.echo(f"{created} demo users created (password: {DEMO_PASSWORD}).")
    if db.session.scalar(select(Blog.id).limit(1)) is None:
        click.echo(f"{_seed_content(blog_count)} demo blogs created.")


DEMO_TAGS = (("python", "#3572a5"), ("flask", "#000000"), ("databases", "#e38c00"),
             ("security", "#b02a37"), ("ops", "#198754"), ("frontend", "#6f42c1"),
             ("testing", "#0dcaf0"), ("release notes", "#6c757d"))


def _seed_content(count: int) -> int:
    """Tags and blogs written by the demo editors (as the first admin, for the audit log)."""
    actor = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
    authors = blog_service.possible_authors()
    for name, colour in DEMO_TAGS:
        if not tag_service.find_by_names([name]):
            tag_service.create_tag(TagData(name=name, colour=colour), actor)
    names = [name for name, _ in DEMO_TAGS]
    for number in range(1, count + 1):
        tags = [names[number % len(names)], names[(number * 3) % len(names)]]
        body = (f"## Part {number}\n\nSome *Markdown* with a [link](https://example.org) and code:\n\n"
                f"```python\nprint({number})\n```\n")
        blog_service.create_blog(BlogData(
            title=f"Demo post {number}: notes on {tags[0]}", body=body,
            status="published" if number % 3 else "draft",
            author_id=authors[number % len(authors)].id, tags=tags), actor)
    return count
