"""First run: until an account exists every page leads to the setup page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, User

SETUP = {"username": "root", "email": "root@example.com", "password": "a long password",
         "confirm": "a long password"}


@pytest.mark.parametrize("path", ["/", "/users/", "/auth/login", "/audit/", "/auth/profile"])
def test_every_page_leads_to_setup_while_no_user_exists(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location == "/auth/setup"


def test_static_files_are_served_during_setup(client):
    assert client.get("/static/css/app.css").status_code == 200


def test_setup_creates_the_first_admin_and_signs_in(app, client):
    page = client.get("/auth/setup")
    assert "Create administrator" in page.text
    response = client.post("/auth/setup", data=SETUP)
    assert response.location == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Signed in as root (admin)." in home.text
    with app.app_context():
        root = db.session.scalar(select(User))
        assert (root.username, root.role, root.active) == ("root", "admin", True)
        entry = db.session.scalar(select(AuditEntry))
        assert (entry.actor_name, entry.action, entry.object_repr) == ("root", "create", "root")


def test_setup_page_is_gone_once_an_account_exists(client, admin):
    assert client.get("/auth/setup").status_code == 404
    assert client.post("/auth/setup", data=SETUP).status_code == 404


def test_setup_validates_its_fields(app, client):
    response = client.post("/auth/setup", data={**SETUP, "email": "nope", "confirm": "other"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.text
    assert "The passwords do not match." in response.text
    with app.app_context():
        assert db.session.scalar(select(User)) is None
