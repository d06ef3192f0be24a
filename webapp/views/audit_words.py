"""The audit log in plain words: field labels, values as an admin reads them, links.

Entries keep their changes as stored JSON (``{field: [old, new]}``, or a snapshot
for deletions). This turns them into text for the page; the template escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import url_for
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from webapp.models import AuditEntry

#: What a stored field is called on the screens.
FIELD_LABELS = {
    "title": _l("Title"), "slug": _l("Slug"), "status": _l("Status"), "publish_at": _l("Publish at"),
    "author_id": _l("Author"), "cover_image": _l("Cover image"), "tags": _l("Tags"), "name": _l("Name"),
    "description": _l("Description"), "colour": _l("Colour"), "username": _l("Username"),
    "email": _l("Email"), "role": _l("Role"), "active": _l("Active"), "password": _l("Password"),
    "task": _l("Task"), "trigger": _l("Trigger"), "kwargs": _l("Parameters"), "args": _l("Arguments"),
    "executor": _l("Executor"), "jobstore": _l("Job store"), "paused": _l("Paused"),
    "max_instances": _l("Most runs at once"), "coalesce": _l("Coalesce"),
    "misfire_grace_time": _l("Misfire grace time"), "next_run_time": _l("Next run"),
    "running": _l("Running"), "action": _l("Action"),
}
#: What each kind of object is called, and the page that shows one.
OBJECT_KINDS = {
    "blogs": (_l("Blog"), "blogs.detail", "blog_id"), "users": (_l("User"), "users.edit", "user_id"),
    "tags": (_l("Tag"), "tags.edit", "tag_id"), "jobs": (_l("Job"), "jobs.detail", "job_id"),
    "scheduler": (_l("Scheduler"), None, None), "api_tokens": (_l("API token"), None, None),
}
EMPTY = "—"


@dataclass(frozen=True)
class Change:
    """One field of an entry: its label and its value before and after (text)."""

    label: str
    before: str | None  # None: the entry has one value (a creation or a deletion)
    after: str


@dataclass(frozen=True)
class EntryView:
    """An audit entry as the page shows it."""

    entry: AuditEntry
    kind: str
    url: str | None
    changes: list[Change]


def entry_views(entries: list[AuditEntry]) -> list[EntryView]:
    """The page's entries in plain words."""
    return [EntryView(entry, kind_label(entry.object_type), object_url(entry.object_type, entry.object_id),
                      _changes(entry)) for entry in entries]


def kind_label(object_type: str) -> str:
    """"Blog", "User"... for a stored object type."""
    kind = OBJECT_KINDS.get(object_type)
    return str(kind[0]) if kind else object_type


def object_url(object_type: str, object_id: str) -> str | None:
    """The page of the object, while the console has one for its kind."""
    kind = OBJECT_KINDS.get(object_type)
    if kind is None or kind[1] is None:
        return None
    value: Any = int(object_id) if kind[2] != "job_id" and object_id.isdigit() else object_id
    try:
        return url_for(kind[1], **{kind[2]: value})
    except BuildError:  # an id the page cannot take
        return None


def _changes(entry: AuditEntry) -> list[Change]:
    out = []
    for name, value in (entry.changes or {}).items():
        label = str(FIELD_LABELS.get(name, name.replace("_", " ")))
        pair = isinstance(value, list) and len(value) == 2 and entry.action in ("create", "update")
        if pair and entry.action == "update":
            out.append(Change(label, words(value[0]), words(value[1])))
        else:
            out.append(Change(label, None, words(value[1] if pair else value)))
    return out


def words(value: Any) -> str:
    """A stored value as text: yes/no, one mark for nothing, lists joined, times local."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(words(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {words(item)}" for key, item in value.items())
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC), "short")
    return str(value)

