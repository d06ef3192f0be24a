"""Configuration precedence and the generated SECRET_KEY."""

from __future__ import annotations

import stat

import pytest

from webapp import create_app


@pytest.fixture
def instance(tmp_path, monkeypatch):
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(folder))
    for name in ("WEBAPP_DATABASE_URL", "WEBAPP_SECRET_KEY", "WEBAPP_PAGE_SIZES"):
        monkeypatch.delenv(name, raising=False)
    return folder


def test_defaults_use_sqlite_in_the_instance_folder(instance):
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'webapp.sqlite'}"
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_connections_are_tested_before_use_only_on_database_servers(instance):
    assert create_app({"TESTING": True}).config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": False}
    server = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "postgresql://localhost/none"})
    assert server.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
    options = {"pool_pre_ping": True, "echo": False}
    chosen = create_app({"TESTING": True, "SQLALCHEMY_ENGINE_OPTIONS": options})
    assert chosen.config["SQLALCHEMY_ENGINE_OPTIONS"] == options


def test_secret_key_is_generated_once_and_kept(instance):
    first = create_app({"TESTING": True}).config["SECRET_KEY"]
    second = create_app({"TESTING": True}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_precedence_defaults_then_instance_file_then_environment_then_argument(instance, monkeypatch):
    (instance / "config.py").write_text(
        "SECRET_KEY = 'from-file'\nPAGE_SIZES = (10, 30)\nLOG_LEVEL = 'WARNING'\n")
    app = create_app({"TESTING": True})
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["PAGE_SIZES"] == (10, 30)

    monkeypatch.setenv("WEBAPP_SECRET_KEY", "from-env")
    monkeypatch.setenv("WEBAPP_PAGE_SIZES", "[5, 15]")  # values are parsed as JSON
    monkeypatch.setenv("WEBAPP_DATABASE_URL", "sqlite:////tmp/from-env.sqlite")
    app = create_app({"TESTING": True})
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["PAGE_SIZES"] == [5, 15]
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-env.sqlite"
    assert app.config["LOG_LEVEL"] == "WARNING"  # the file still applies where env says nothing

    app = create_app({"TESTING": True, "SECRET_KEY": "from-argument"})
    assert app.config["SECRET_KEY"] == "from-argument"
    assert not (instance / "secret_key").exists()


def test_production_mode_logs_to_a_rotating_file(instance):
    app = create_app({})
    app.logger.warning("hello from the test")
    assert "hello from the test" in (instance / "logs" / "webapp.log").read_text()
