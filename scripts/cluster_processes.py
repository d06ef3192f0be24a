"""scripts/cluster: pid files, process groups, starting, signalling, stopping and probing processes."""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

from cluster_settings import HOST, ROLES, ROOT, Member, Settings, say, write_atomically

LOG_TAIL_LINES = 40
#: A pid file is only trusted for a process that started before the file was written
#: (plus this margin for clock granularity): a reused pid belongs to a later process.
START_MARGIN_SECONDS = 5.0
HAVE_PROC = os.path.exists("/proc/self/stat")


@contextlib.contextmanager
def locked(settings: Settings):
    """One `up` or `down` at a time per instance folder."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.run_dir / "cluster.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("Waiting for another scripts/cluster command on this instance folder ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def pid_files(settings: Settings) -> list[Path]:
    """The pid files of web-<n> and worker-<n>, in that order."""
    def order(path: Path) -> tuple[int, int]:
        role, _, number = path.stem.partition("-")
        return ROLES.index(role), int(number) if number.isdigit() else 0

    return sorted((path for role in ROLES for path in settings.run_dir.glob(f"{role}-*.pid")), key=order)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks since boot) of a live (not zombie) process."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    state = fields[0].decode()
    return None if state in "ZXx" else (state, int(fields[2]), int(fields[19]))


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def _leader_alive(pid: int, written: float) -> bool:
    """Whether `pid` is running and is the process the pid file was written for."""
    if not HAVE_PROC:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):  # PermissionError: another user's, a reused pid
            return False
        return True
    stat = _stat(pid)
    if stat is None:
        return False
    started = _boot_time() + stat[2] / os.sysconf("SC_CLK_TCK")
    return started <= written + START_MARGIN_SECONDS


def group_pids(pgid: int) -> list[int]:
    """Live (not zombie) processes of the process group `pgid`."""
    if not HAVE_PROC:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and stat[1] == pgid:
                found.append(int(entry.name))
    return found


class State:
    """What a pid file says: the pid, whether that process runs, what is left of its group."""

    def __init__(self, pid_file: Path) -> None:
        self.pid_file = pid_file
        self.name = pid_file.stem
        self.pid: int | None = None
        self.alive = False
        try:
            self.pid = int(pid_file.read_text().split()[0])
            written = pid_file.stat().st_mtime
        except (OSError, ValueError, IndexError):
            return
        self.alive = _leader_alive(self.pid, written)

    @property
    def group(self) -> list[int]:
        """The group's live processes; also after its leader died (gunicorn's orphaned worker).

        A process group keeps its id reserved while any member lives, so a group with
        this id is ours unless the id now names another, younger process.
        """
        if self.pid is None or (not self.alive and _stat(self.pid) is not None):
            return []
        return group_pids(self.pid)

    def forget(self) -> None:
        """Remove the pid file (and gunicorn's control socket, which a SIGKILL leaves)."""
        self.pid_file.unlink(missing_ok=True)
        self.pid_file.with_suffix(".ctl").unlink(missing_ok=True)


def start(settings: Settings, member: Member) -> tuple[subprocess.Popen, int]:
    """Start `member` detached (setsid); return it and where its log begins."""
    command = settings.command(member)
    member.log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(member.log_file, "ab") as log:
        offset = log.tell()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"=== {stamp} scripts/cluster up: {shlex.join(command)}\n".encode())
        log.flush()
        child = subprocess.Popen(command, cwd=ROOT, env=settings.env(member.role), stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    write_atomically(member.pid_file, f"{child.pid}\n")
    return child, offset


@contextlib.contextmanager
def deferred_interrupts():
    """Hold back SIGINT and SIGTERM until the block is done, then raise KeyboardInterrupt."""
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _frame: received.append(signum))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise KeyboardInterrupt


def signal_group(state: State, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(state.pid, signum)
    if state.alive:  # in case the process left its group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(state.pid, signum)


def stop(states: list[State], timeout: float,
         children: dict[str, subprocess.Popen] | None = None) -> list[State]:
    """SIGTERM the groups, wait up to `timeout`, SIGKILL the rest; return those still alive."""
    children = children or {}

    def remaining() -> list[State]:
        for child in children.values():
            child.poll()  # reap the processes this command started
        return [state for state in states if state.group]

    def wait(seconds: float, interval: float) -> list[State]:
        left, deadline = remaining(), time.monotonic() + seconds
        while left and time.monotonic() < deadline:
            time.sleep(interval)
            left = remaining()
        return left

    for state in remaining():
        signal_group(state, signal.SIGTERM)
    left = wait(timeout, 0.2)
    if left:
        say(f"Still running after {timeout:g} s: {', '.join(s.name for s in left)}; sending SIGKILL")
        for state in left:
            signal_group(state, signal.SIGKILL)
        left = wait(5, 0.1)
    return left


def healthz(port: int, timeout: float = 2.0) -> tuple[bool, str]:
    """(answered 200, what it answered) for GET /healthz; no proxy, no redirect."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        body = response.read(500).decode("utf-8", "replace").strip()
        with contextlib.suppress(ValueError):
            report = json.loads(body)  # the console's: {"role": "web", "database": "ok", ...}
            if isinstance(report, dict):
                body = " ".join(f"{key}={value}" for key, value in report.items())
        return response.status == 200, f"{response.status} {' '.join(body.split())[:100]}".strip()
    except ConnectionRefusedError:
        return False, "connection refused"
    except (OSError, http.client.HTTPException) as err:
        return False, str(err) or type(err).__name__
    finally:
        connection.close()


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


def log_tail(path: Path, offset: int, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError as err:
        return f"(cannot read {path}: {err})"
    return "\n".join(text.splitlines()[-lines:])
