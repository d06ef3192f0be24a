"""Blogs: validation, create / edit / delete, bulk actions. The list lives in blog_list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from webapp.extensions import db
from webapp.models import Blog, BlogStatus, Role, User, blog_tags
from webapp.models.types import utcnow
from webapp.services import audit, uploads
from webapp.services import tags as tag_service
from webapp.services.access import require_role
from webapp.services.blog_list import (
    LIST_COLUMNS,
    SORTABLE,
    BlogRow,
    TagRef,
    author_choices,
    count_matching,
    iter_blogs,
    list_blogs,
    matching_ids,
)
from webapp.services.common import check_version, get_or_raise, unique_slug
from webapp.services.errors import Forbidden, ValidationError

# The list functions are part of this service's interface (pages, API, exports).
__all__ = [
    "LIST_COLUMNS", "SORTABLE", "BlogData", "BlogRow", "TagRef", "author_choices",
    "change_tag", "count_by_author", "count_matching", "create_blog", "delete_blogs", "get_blog",
    "ids_by_authors", "iter_blogs", "list_blogs", "matching_ids", "possible_authors", "publish_due",
    "reassign", "set_status", "update_blog",
]

AUDITED_FIELDS = ("title", "slug", "status", "publish_at", "author_id", "cover_image")
MAX_BODY = 200_000


@dataclass
class BlogData:
    """Blog fields from a form or an API request. ``tags`` are names (new ones are created)."""

    title: str
    body: str = ""
    status: str = BlogStatus.DRAFT.value
    publish_at: datetime | None = None
    author_id: int | None = None
    tags: list[str] = field(default_factory=list)
    slug: str = ""


def get_blog(blog_id: int) -> Blog:
    """A blog with its author and tags loaded, or NotFound."""
    blog = db.session.scalar(
        select(Blog).options(joinedload(Blog.author), selectinload(Blog.tags)).where(Blog.id == blog_id)
    )
    if blog is None:
        get_or_raise(Blog, blog_id, _("blog"))  # raises NotFound with the standard message
    return blog  # type: ignore[return-value]


def create_blog(data: BlogData, actor: User, cover: IO[bytes] | None = None) -> Blog:
    """Create a blog; editors are its author, admins may choose one."""
    require_role(actor, Role.EDITOR)
    clean = _validate(data, actor, blog=None)
    blog = Blog(title=clean.title, body=clean.body, status=clean.status, publish_at=clean.publish_at,
                author_id=clean.author_id,
                slug=clean.slug or unique_slug(Blog, slugify(clean.title, max_length=200), fallback="blog"))
    blog.tags = tag_service.create_missing(clean.tags, actor)
    if cover is not None:
        blog.cover_image = uploads.store_cover(cover)
    db.session.add(blog)
    changes = {k: [None, v] for k, v in _snapshot(blog).items()}
    audit.record(actor, "create", blog, changes)
    db.session.commit()
    return blog


def update_blog(blog_id: int, data: BlogData, actor: User, expected_version: int | None,
                cover: IO[bytes] | None = None, remove_cover: bool = False) -> Blog:
    """Save an edit made on ``expected_version``; Conflict if someone saved since."""
    require_role(actor, Role.EDITOR)
    blog = get_blog(blog_id)
    check_version(blog, expected_version, blog.title)
    clean = _validate(data, actor, blog=blog)
    new_tags = tag_service.create_missing(clean.tags, actor)  # queries first: one UPDATE below
    before = _snapshot(blog)
    old_cover = blog.cover_image
    blog.title, blog.status, blog.publish_at, blog.author_id = (
        clean.title, clean.status, clean.publish_at, clean.author_id)
    blog.slug = clean.slug or blog.slug
    body_changed = blog.body != clean.body
    blog.body = clean.body
    blog.tags = new_tags
    if cover is not None:
        blog.cover_image = uploads.store_cover(cover)
    elif remove_cover:
        blog.cover_image = None
    changes = audit.diff(before, _snapshot(blog))
    if body_changed:
        changes["body"] = [None, audit.SECRET_CHANGED]
    if not changes:
        db.session.rollback()
        return get_blog(blog_id)
    blog.updated_at = utcnow()  # forces the row UPDATE (and version bump) for tag-only edits
    audit.record(actor, "update", blog, changes)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        check_version(get_blog(blog_id), expected_version or -1, data.title)
        raise
    if blog.cover_image != old_cover:
        uploads.delete_upload(old_cover)
    return blog


def delete_blogs(blog_ids: Iterable[int], actor: User, commit: bool = True) -> int:
    """Delete blogs (their tag links cascade, their covers are removed).

    ``commit=False`` leaves the transaction to the caller (deleting a user and their blogs).
    """
    require_role(actor, Role.EDITOR)
    blogs = _load_all(blog_ids)
    covers = [b.cover_image for b in blogs]
    for blog in blogs:
        audit.record(actor, "delete", blog, _snapshot(blog))
        db.session.delete(blog)  # the ORM removes the loaded tag links
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    for cover in covers:
        uploads.delete_upload(cover)
    return len(blogs)


def ids_by_authors(author_ids: list[int]) -> list[int]:
    """Ids of the blogs written by these users."""
    return list(db.session.scalars(select(Blog.id).where(Blog.author_id.in_(author_ids))))


def reassign(blog_ids: Iterable[int], author: User, actor: User) -> None:
    """Give blogs a new author (no commit: part of deleting their old author)."""
    for blog in _load_all(blog_ids):
        audit.record(actor, "update", blog, {"author_id": [blog.author_id, author.id]})
        blog.author_id = author.id
    db.session.flush()


def set_status(blog_ids: Iterable[int], status: str, actor: User) -> int:
    """Publish or unpublish several blogs; returns how many changed."""
    require_role(actor, Role.EDITOR)
    if status not in set(BlogStatus):
        raise ValidationError({"status": [_("Choose draft or published.")]})
    changed = 0
    for blog in _load_all(blog_ids):
        if blog.status == status:
            continue
        before = _snapshot(blog)
        blog.status = status
        if status == BlogStatus.PUBLISHED and blog.publish_at is None:
            blog.publish_at = utcnow()
        audit.record(actor, "update", blog, audit.diff(before, _snapshot(blog)))
        changed += 1
    db.session.commit()
    return changed


def change_tag(blog_ids: Iterable[int], tag_id: int, add: bool, actor: User) -> int:
    """Add a tag to, or remove it from, several blogs; returns how many changed."""
    require_role(actor, Role.EDITOR)
    tag = tag_service.get_tag(tag_id)
    changed = 0
    for blog in _load_all(blog_ids):
        names = [t.name for t in blog.tags]
        has = any(t.id == tag.id for t in blog.tags)
        if has == add:
            continue
        if add:
            db.session.execute(insert(blog_tags).values(blog_id=blog.id, tag_id=tag.id))
        else:
            db.session.execute(delete(blog_tags).where(blog_tags.c.blog_id == blog.id,
                                                       blog_tags.c.tag_id == tag.id))
        blog.updated_at = utcnow()  # a real UPDATE: bumps the version for open edit forms
        new_names = sorted([*names, tag.name]) if add else [n for n in names if n != tag.name]
        audit.record(actor, "update", blog, {"tags": [names, new_names]})
        changed += 1
    db.session.commit()
    return changed


def publish_due(now: datetime) -> int:
    """Publish the drafts whose publish-at time has come (the scheduler's task); audited as system."""
    due = list(db.session.scalars(
        select(Blog).where(Blog.status == BlogStatus.DRAFT, Blog.publish_at.is_not(None),
                           Blog.publish_at <= now)))
    for blog in due:
        blog.status = BlogStatus.PUBLISHED.value
        audit.record(None, "update", blog, {"status": [BlogStatus.DRAFT.value, BlogStatus.PUBLISHED.value]})
    db.session.commit()
    return len(due)


def count_by_author(user_ids: Iterable[int]) -> dict[int, int]:
    """How many blogs each of these users wrote (only users with any)."""
    rows = db.session.execute(
        select(Blog.author_id, func.count(Blog.id)).where(Blog.author_id.in_(list(user_ids)))
        .group_by(Blog.author_id)
    )
    return {author: count for author, count in rows}


def possible_authors() -> list[User]:
    """Active editors and admins, for the author choice."""
    return list(db.session.scalars(
        select(User).where(User.active.is_(True), User.role.in_([Role.EDITOR, Role.ADMIN]))
        .order_by(User.username)
    ))


# -- helpers -----------------------------------------------------------------


def _snapshot(blog: Blog) -> dict[str, Any]:
    return {**audit.snapshot(blog, AUDITED_FIELDS), "tags": sorted(t.name for t in blog.tags)}


def _load_all(blog_ids: Iterable[int]) -> list[Blog]:
    ids = sorted(set(blog_ids))
    blogs = list(db.session.scalars(select(Blog).options(selectinload(Blog.tags)).where(Blog.id.in_(ids))))
    missing = set(ids) - {b.id for b in blogs}
    if missing:
        get_or_raise(Blog, min(missing), _("blog"))
    return blogs


def _validate(data: BlogData, actor: User, blog: Blog | None) -> BlogData:
    errors: dict[str, list[str]] = {}
    title = " ".join((data.title or "").split())
    if not title or len(title) > 200:
        errors["title"] = [_("A title has 1 to 200 characters.")]
    elif "\x00" in title:
        errors["title"] = [_("The text cannot contain NUL characters.")]
    body = data.body or ""
    if len(body) > MAX_BODY:
        errors["body"] = [_("The text is longer than %(n)d characters.", n=MAX_BODY)]
    elif "\x00" in body:
        errors["body"] = [_("The text cannot contain NUL characters.")]
    if data.status not in set(BlogStatus):
        errors["status"] = [_("Choose draft or published.")]
    slug = (data.slug or "").strip()
    if slug and (slug != slugify(slug) or len(slug) > 220):
        errors["slug"] = [_("Use lower-case letters, digits and dashes.")]
    elif slug and db.session.scalar(select(Blog.id).where(Blog.slug == slug,
                                                          Blog.id != (blog.id if blog else 0))):
        errors["slug"] = [_("Another blog already uses this slug.")]
    author_id = _author(data.author_id, actor, blog, errors)
    tags = [t for t in (data.tags or []) if t.strip()]
    if len(tags) > 20:
        errors["tags"] = [_("Use at most 20 tags.")]
    elif any(len(" ".join(t.split())) > 50 for t in tags):
        errors["tags"] = [_("A tag name has 1 to 50 characters.")]
    if errors:
        raise ValidationError(errors)
    publish_at = data.publish_at
    if data.status == BlogStatus.PUBLISHED and publish_at is None:
        publish_at = utcnow()
    return BlogData(title=title, body=body, status=data.status, publish_at=publish_at,
                    author_id=author_id, tags=tags, slug=slug)


def _author(requested: int | None, actor: User, blog: Blog | None, errors: dict[str, list[str]]) -> int:
    """Admins choose any active editor or admin; editors write as themselves."""
    current = blog.author_id if blog else actor.id
    if requested is None or requested == current:
        return current
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(_("Only administrators can choose the author."))
    author = db.session.get(User, requested)
    if author is None or not author.active or not author.has_role(Role.EDITOR):
        errors["author_id"] = [_("Choose an active editor or administrator.")]
        return current
    return author.id
