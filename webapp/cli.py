"""Command-line tasks: ``flask --app webapp init-db | create-admin | seed-demo``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import upgrade

from webapp.models import Role
from webapp.services import users as user_service
from webapp.services.errors import ValidationError
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
@with_appcontext
def seed_demo() -> None:
    """Add demo accounts to try the console on (password: demo-password)."""
    created = 0
    for username, email, role in DEMO_USERS:
        if user_service.find_by_login(username):
            continue
        user_service.create_user_as_system(UserData(username, email, role.value, True, DEMO_PASSWORD))
        created += 1
    click.echo(f"{created} demo users created (password: {DEMO_PASSWORD}).")
