"""scripts/cluster: its settings (from the environment or run/cluster.json), members and output."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
ROLES = ("web", "worker")


def say(message: str = "") -> None:
    try:
        print(message, flush=True)
    except BrokenPipeError:  # `scripts/cluster up | head`: carry on without output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def fail(message: str) -> None:
    print(f"cluster: {message}", file=sys.stderr, flush=True)


class ConfigError(Exception):
    pass


class Member:
    """One process of the cluster: web-1, web-2, worker-1, worker-2."""

    def __init__(self, name: str, role: str, port: int, run_dir: Path, log_dir: Path) -> None:
        self.name, self.role, self.port = name, role, port
        self.pid_file = run_dir / f"{name}.pid"
        self.control_socket = run_dir / f"{name}.ctl"  # gunicorn's; its default is one per user
        self.log_file = log_dir / f"{name}.log"

    @property
    def bind(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def health_url(self) -> str:
        return f"http://{self.bind}/healthz"


class Settings:
    def __init__(self) -> None:
        instance = os.environ.get("WEBAPP_INSTANCE_PATH") or str(ROOT / "instance")
        # Flask wants an absolute instance path; every process gets this one.
        self.instance = Path(os.path.abspath(os.path.expanduser(instance)))
        self.run_dir = self.instance / "run"
        self.log_dir = self.instance / "logs"
        self.state_file = self.run_dir / "cluster.json"
        self.db = os.environ.get("CLUSTER_DB") or "webapp_cluster"
        self.redis_url = os.environ.get("CLUSTER_REDIS_URL") or "redis://127.0.0.1:6379/0"
        self.ports = {
            "web": _ports("CLUSTER_WEB_PORTS", "5101,5102"),
            "worker": _ports("CLUSTER_WORKER_PORTS", "5111,5112"),
        }
        self.timeout = _seconds("CLUSTER_TIMEOUT", 60)
        self.stop_timeout = _seconds("CLUSTER_STOP_TIMEOUT", 30)
        self.commands = {role: os.environ.get(f"CLUSTER_{role.upper()}_CMD") for role in ROLES}
        self.recorded = False
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", self.db):
            raise ConfigError(f"CLUSTER_DB={self.db!r}: use letters, digits and underscores")
        every = self.ports["web"] + self.ports["worker"]
        if len(set(every)) != len(every):
            raise ConfigError(f"CLUSTER_WEB_PORTS and CLUSTER_WORKER_PORTS repeat a port: {every}")

    def adopt_recorded(self) -> None:
        """Use the settings the running cluster was started with (for a restart or status)."""
        try:
            state = json.loads(self.state_file.read_text())
            self.db, self.redis_url = state["db"], state["redis_url"]
            self.ports = {role: [int(p) for p in state["ports"][role]] for role in ROLES}
            self.commands = {role: state["commands"].get(role) for role in ROLES}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return
        self.recorded = True

    def record(self) -> None:
        state = {"db": self.db, "redis_url": self.redis_url, "ports": self.ports, "commands": self.commands}
        write_atomically(self.state_file, json.dumps(state, indent=2) + "\n")

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:5432/{self.db}"

    def members(self) -> list[Member]:
        return [Member(f"{role}-{i}", role, port, self.run_dir, self.log_dir)
                for role in ROLES for i, port in enumerate(self.ports[role], start=1)]

    def env(self, role: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            WEBAPP_DATABASE_URL=self.database_url,
            WEBAPP_SOCKETIO_MESSAGE_QUEUE=self.redis_url,
            # Pub/Sub channels ignore the Redis database: one per cluster, by its database.
            WEBAPP_SOCKETIO_CHANNEL=f"webapp-socketio-{self.db}",
            WEBAPP_INSTANCE_PATH=str(self.instance),
            PYTHONUNBUFFERED="1",  # the logs show output as it happens
        )
        if role:
            env["WEBAPP_ROLE"] = role
        return env

    def command(self, member: Member) -> list[str]:
        template = self.commands[member.role]
        if template:
            fields = {"bind": member.bind, "host": HOST, "port": str(member.port), "name": member.name}
            return [arg.format(**fields) for arg in shlex.split(template)]
        if member.role == "web":
            return [str(BIN / "gunicorn"), "--worker-class", "gevent", "--workers", "1",
                    "--bind", member.bind, "--control-socket", str(member.control_socket),
                    "webapp.serve:app()"]
        return [str(BIN / "python"), "-m", "webapp.worker", "--health-bind", member.bind]


def _ports(variable: str, default: str) -> list[int]:
    text = os.environ.get(variable) or default
    try:
        ports = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        ports = []
    if not ports or not all(0 < port < 65536 for port in ports):
        raise ConfigError(f"{variable}={text!r}: give port numbers separated by commas")
    return ports


def _seconds(variable: str, default: float) -> float:
    text = os.environ.get(variable) or str(default)
    try:
        return max(float(text), 0.0)
    except ValueError:
        raise ConfigError(f"{variable}={text!r} is not a number of seconds") from None


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)
