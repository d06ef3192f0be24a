"""The ``app`` fixture is on the database that ``--db`` names, empty for every test."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import databases, runs_on_postgresql
from webapp.extensions import db
from webapp.jobs.scheduler import readable_scheduler
from webapp.models import User


def test_the_app_and_its_job_store_are_on_the_database_the_option_names(app, database, request):
    assert database in databases(request.config) and runs_on_postgresql(request.path)
    with app.app_context():
        assert db.engine.dialect.name == database
    assert app.extensions["scheduler"].stores["default"].engine.dialect.name == database


@pytest.mark.parametrize("round_", [1, 2])
def test_every_test_starts_on_empty_tables_with_ids_from_one(app, make_user, round_):
    """Twice: the second round sees nothing of the first (rows, ids, the job store's table)."""
    assert make_user(f"user{round_}").id == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
    scheduler = readable_scheduler(app)
    assert scheduler.get_jobs("default") == []
    scheduler.add_job(f"job{round_}", "log_message", trigger="interval", hours=1, jobstore="default")
    assert [job.id for job in scheduler.get_jobs("default")] == [f"job{round_}"]
