"""Job actions (admins): pause, resume, run now, delete; each audited."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.jobs.scheduler import readable_scheduler
from webapp.models import Role, User
from webapp.models.types import utcnow
from webapp.services import audit
from webapp.services.access import require_role
from webapp.services.errors import NotFound

ACTIONS = ("pause", "resume", "run", "delete")


def get_job(job_id: str) -> Any:
    """The job with this id in any store, or NotFound."""
    job = readable_scheduler(current_app._get_current_object()).get_job(job_id)  # type: ignore[attr-defined]
    if job is None:
        raise NotFound(_("No job with id %(id)s.", id=job_id[:100]))
    return job


def apply(job_id: str, action: str, actor: User) -> Any:
    """Pause, resume, run now (through the scheduler, so the run is recorded) or delete."""
    require_role(actor, Role.ADMIN)
    job = get_job(job_id)
    before = job.next_run_time.isoformat() if job.next_run_time else None
    if action == "pause":
        job = job.pause()
    elif action == "resume":
        job = job.resume()
    elif action == "run":
        job = job.modify(next_run_time=utcnow())
    elif action == "delete":
        job.remove()
    else:
        raise NotFound(_("No such action."))
    after = None if action == "delete" else (job.next_run_time.isoformat() if job.next_run_time else None)
    audit.record_change(actor, "delete" if action == "delete" else "update", "jobs", job_id, job_id,
                        {"action": action, "next_run_time": [before, after]})
    db.session.commit()
    return job
