"""The registered tasks. Each runs inside an application context (see registry.run_task)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete

from webapp.extensions import db
from webapp.jobs.registry import Param, task
from webapp.models import JobRun, MemorySample
from webapp.models.types import utcnow
from webapp.monitor import readings
from webapp.services import blogs as blog_service
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)


@task("log_message", _l("Log a message"),
      _l("Writes “Hello, <name>” to the application log: the classic first job, handy for "
         "checking that the scheduler runs."),
      params=(Param("name", "str", "world", _l("Name")),))
def log_message(name: str) -> str:
    """Log a greeting and return it."""
    message = f"Hello, {name}"
    logger.info(message)
    return message


@task("print_test", _l("Print a name"),
      _l("Prints the name to the server's standard output (and the log): the example task of "
         "Flask-APScheduler's tutorial, so its REST payloads work as written there."),
      params=(Param("name", "str", "world", _l("Name")),))
def print_test(name: str) -> str:
    """Print ``name`` (the tutorial's ``print_test``) and return it."""
    print(name, flush=True)
    logger.info("print_test: %s", name)
    return name


@task("record_memory_sample", _l("Record a memory sample"),
      _l("Stores one reading of RAM and swap, for the monitor's longer history."))
def record_memory_sample() -> int:
    """Store one RAM / swap reading; returns its id."""
    reading = readings.memory_sample()
    sample = MemorySample(ram_total=reading["ram"]["total"], ram_used=reading["ram"]["used"],
                          ram_percent=reading["ram"]["percent"], swap_total=reading["swap"]["total"],
                          swap_used=reading["swap"]["used"])
    db.session.add(sample)
    db.session.commit()
    return sample.id


@task("publish_due_blogs", _l("Publish due blogs"),
      _l("Publishes every draft whose publish-at time has come."))
def publish_due_blogs() -> int:
    """Publish the drafts that are due; returns how many."""
    return blog_service.publish_due(utcnow())


@task("purge_run_history", _l("Purge run history"),
      _l("Deletes job run records older than the given number of days."),
      params=(Param("days", "int", 30, _l("Keep days"), minimum=1, maximum=3650),))
def purge_run_history(days: int) -> int:
    """Delete run records older than ``days``; returns how many."""
    result = db.session.execute(delete(JobRun).where(JobRun.created_at < utcnow() - timedelta(days=days)))
    db.session.commit()
    return result.rowcount or 0


@task("backup_database", _l("Back up the database"),
      _l("Copies the SQLite database into instance/backups/ (a consistent online backup) and "
         "keeps the newest N copies."),
      params=(Param("keep", "int", 7, _l("Copies to keep"), minimum=1, maximum=365),))
def backup_database(keep: int) -> str:
    """Back up the SQLite database; returns the new file's path."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ValidationError({"database": [_("Backups cover a SQLite database file; back up "
                                              "PostgreSQL with pg_dump.")]})
    folder = Path(current_app.instance_path) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"webapp-{utcnow().strftime('%Y%m%d-%H%M%S-%f')}.sqlite"
    with sqlite3.connect(url.database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    for old in sorted(folder.glob("webapp-*.sqlite"))[:-keep]:
        old.unlink(missing_ok=True)
    return str(target)
