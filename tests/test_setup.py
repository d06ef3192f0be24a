"""First run: until an account exists every page leads to the setup page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

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
    assert home.status_code == 200 and "Signed in as root (administrator)." in home.text
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


def test_two_simultaneous_setups_create_only_one_admin(tmp_path, monkeypatch):
    import threading

    from tests.conftest import CSRFClient, app_config
    from webapp import create_app

    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'race.sqlite'}"))
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def set_up(name: str) -> None:
        client = app.test_client()
        token = client.csrf_token()
        barrier.wait()
        response = client.post("/auth/setup", csrf=False, data={
            **SETUP, "username": name, "email": f"{name}@example.com", "csrf_token": token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=set_up, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
        db.engine.dispose()
    assert sorted(statuses) == [302, 404]
