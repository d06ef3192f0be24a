"""The blog list's background work: bulk actions over many blogs, and large downloads.

Both go in batches of ids (see webapp/services/background.py). A download first
reads the ids of every matching blog, in the list's order (8 bytes each: see
``blog_list.matching_ids``), then each batch's rows
with one short query, and hands them to the download writers (``exports``). It
does not keep one cursor open over the whole list, as the streamed download
does: on SQLite an open read holds a lock that makes every write wait, the
cancel button's included, for as long as the download runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from webapp.extensions import db
from webapp.models import BackgroundTask, Blog, Role, User
from webapp.services import background, exports
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services.access import require_role
from webapp.services.background import Checkpoint, Work
from webapp.services.blog_list import LIST_COLUMNS, tag_names
from webapp.services.common import among
from webapp.services.errors import NotFound, ValidationError
from webapp.services.filters import BlogFilters, parse_blog_filters
from webapp.services.paging import ListQuery

BULK = "blogs.bulk"
EXPORT = "blogs.export"
TAG_ACTIONS = ("add_tag", "remove_tag")


def apply_bulk(action: str, ids: Sequence[int], tag_id: int | None, actor: User) -> int:
    """Publish, unpublish, delete, tag or untag blogs through their services; how many changed."""
    if action == "delete":
        return blog_service.delete_blogs(ids, actor)
    if action in ("publish", "unpublish"):
        status = "published" if action == "publish" else "draft"
        return blog_service.set_status(ids, status, actor)
    if not tag_id:
        raise ValidationError({"tag_id": [_("Choose a tag.")]})
    return blog_service.change_tag(ids, tag_id, action == "add_tag", actor)


def start_bulk(action: str, ids: Sequence[int], tag_id: int | None, actor: User,
               back: str = "") -> BackgroundTask:
    """Record a bulk action over ``ids`` as background work and start it (``back``: the list it came from)."""
    require_role(actor, Role.EDITOR)
    if action in TAG_ACTIONS:
        if not tag_id:
            raise ValidationError({"tag_id": [_("Choose a tag.")]})
        tag_service.get_tag(tag_id)  # NotFound now, not after the first batch
    params = {"action": action, "ids": list(ids), "tag_id": tag_id, "back": back}
    task = background.create(BULK, actor, params, total=len(ids))
    background.start(task.id)
    return task


def small_download(query: ListQuery, filters: BlogFilters) -> Iterator[dict[str, Any]] | None:
    """The download's records when there are at most ``BACKGROUND_THRESHOLD_ROWS``, else None.

    It reads the download's own statement up to one row past the threshold, so a small
    download costs no extra query (at most the threshold's rows wait in memory before
    they are sent, a batch at a time); a big one is prepared in the background instead.
    """
    records = exports.blog_records(query, filters)
    first = list(islice(records, int(current_app.config["BACKGROUND_THRESHOLD_ROWS"]) + 1))
    if background.over_threshold(len(first)):
        records.close()  # ends the statement
        return None
    return iter(first)


def count_blogs(query: ListQuery, filters: BlogFilters) -> int:
    """How many blogs the list shows with these filters, exactly (whether a download is a big
    one): one count, not the list's, which stops at its cap."""
    return blog_service.count_matching(query, filters)


def start_export(fmt: str, args: Iterable[tuple[str, str]], actor: User, back: str = "") -> BackgroundTask:
    """Record a download of the list at ``args`` (its query arguments) as background work and start it."""
    require_role(actor, Role.VIEWER)
    if fmt not in exports.FORMATS:
        raise NotFound(_("There is nothing at this address."))
    pairs = [[name, value] for name, value in args]
    task = background.create(EXPORT, actor, {"format": fmt, "args": pairs, "back": back},
                             total=count_blogs(*list_request(pairs)))
    background.start(task.id)
    return task


def list_request(args: Iterable[Sequence[str]]) -> tuple[ListQuery, BlogFilters]:
    """The list query and filters of these arguments; bad filters are left out, as on the page."""
    multi = MultiDict([(name, value) for name, value in args])
    query = ListQuery.from_args(multi)
    try:
        return query, parse_blog_filters(multi)
    except ValidationError:
        return query, BlogFilters()


# -- the work -----------------------------------------------------------------------


def bulk_work(task: BackgroundTask, actor: User, batch: int, checkpoint: Checkpoint) -> dict[str, Any]:
    """Apply the bulk action batch by batch; blogs deleted meanwhile are skipped."""
    params = task.params
    ids: list[int] = params["ids"]
    changed = 0
    for start in range(0, len(ids), batch):
        present = _existing(ids[start:start + batch])
        if present:
            changed += apply_bulk(params["action"], present, params.get("tag_id"), actor)
        checkpoint(min(start + batch, len(ids)), len(ids), {"count": changed})
    return {"count": changed}


def export_work(task: BackgroundTask, actor: User, batch: int, checkpoint: Checkpoint) -> dict[str, Any]:
    """Write the download into ``instance/exports/<id>.<fmt>`` (a ``.part`` file until it is complete)."""
    fmt = task.params["format"]
    ids = blog_service.matching_ids(*list_request(task.params["args"]))
    target = background.export_path(task.id, fmt)
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = {"rows": 0}

    def records() -> Iterator[dict[str, Any]]:
        for start in range(0, len(ids), batch):
            require_role(actor, Role.VIEWER)  # still allowed to read the blogs
            records = _records(ids[start:start + batch])
            written["rows"] += len(records)
            yield from records
            checkpoint(min(start + batch, len(ids)), len(ids), {"rows": written["rows"]})

    _mimetype, writer = exports.FORMATS[fmt]
    try:
        with part.open("w", encoding="utf-8", newline="") as out:
            for text in writer(records(), exports.BLOG_COLUMNS):
                out.write(text)
        os.replace(part, target)
    except BaseException:  # cancelled or failed: no partial file stays behind
        part.unlink(missing_ok=True)
        raise
    return {"file": target.name, "rows": written["rows"]}


KINDS: dict[str, Work] = {BULK: bulk_work, EXPORT: export_work}
#: The setting that gives each kind of work its rows per batch.
BATCH_SETTINGS = {BULK: "BACKGROUND_BATCH_ROWS", EXPORT: "BACKGROUND_DOWNLOAD_BATCH_ROWS"}


def _existing(ids: Sequence[int]) -> list[int]:
    found = set(db.session.scalars(select(Blog.id).where(Blog.id.in_(ids))))
    return [i for i in ids if i in found]


def _records(ids: Sequence[int]) -> list[dict[str, Any]]:
    """The download's records of these blogs (``exports.BLOG_COLUMNS``), in the order of ``ids``
    (the list's): two short queries, the blogs' columns and their tag names (``tag_names``)."""
    statement = select(*LIST_COLUMNS).join(User, User.id == Blog.author_id).where(among(Blog.id, ids))
    rows = {row.id: row for row in db.session.connection().execute(statement).all()}
    names = tag_names(ids)
    return [{"id": row.id, "title": row.title, "slug": row.slug, "status": row.status,
             "publish_at": row.publish_at, "author": row.author_name, "tags": names.get(row.id, []),
             "created_at": row.created_at, "updated_at": row.updated_at}
            for row in (rows.get(i) for i in ids) if row is not None]
