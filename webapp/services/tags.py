"""Tags: listing with usage counts, validation, create / edit / delete / merge."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import ColumnElement, Select, delete, insert, select
from sqlalchemy.orm.exc import StaleDataError

from webapp.extensions import db
from webapp.models import Blog, Role, Tag, User, blog_tags
from webapp.models.content import tag_name_key
from webapp.models.types import utcnow
from webapp.services import audit
from webapp.services.access import require_role
from webapp.services.common import check_version, get_or_raise, unique_slug
from webapp.services.errors import ValidationError
from webapp.services.packed import all_rows
from webapp.services.paging import ListQuery, Page, contains, order_by, paginate

COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
AUDITED_FIELDS = ("name", "slug", "description", "colour")
#: How many blogs carry a tag: a column the database keeps (webapp/models/tag_counts.py).
USAGE = Tag.blog_count.label("usage")
SORTABLE = {"name": Tag.name_key, "slug": Tag.slug, "created_at": Tag.created_at, "id": Tag.id,
            "usage": USAGE}


@dataclass
class TagData:
    """Tag fields from a form or an API request."""

    name: str
    description: str = ""
    colour: str = "#6c757d"
    slug: str = ""


@dataclass
class TagRow:
    """A tag in a list, with how many blogs use it."""

    tag: Tag
    usage: int

    @property
    def id(self) -> int:
        return self.tag.id

    @property
    def version(self) -> int:
        return self.tag.version


#: How a list is sorted: the columns, the default one, the tiebreak.
_SORT = (SORTABLE, "name", Tag.id)


def list_tags(query: ListQuery) -> Page[TagRow]:
    """One page of the tags with their usage counts, searchable by name."""
    count = select(Tag.id).where(*_conditions(query))
    page = paginate(_listed(query), query, *_SORT, count_stmt=count, rows=True)
    page.items = [TagRow(tag, usage) for tag, usage in page.items]
    return page


def iter_tags(query: ListQuery, batch: int = 1000) -> Iterator[TagRow]:
    """All the rows :func:`list_tags` pages through, in its order, ``batch`` at a time."""
    statement = _listed(query).order_by(*order_by(query, *_SORT)).execution_options(yield_per=batch)
    for partition in db.session.execute(statement).partitions():
        yield from (TagRow(tag, usage) for tag, usage in partition)


def tag_row(tag_id: int) -> TagRow:
    """One tag as the lists show it, with its usage count."""
    tag = get_tag(tag_id)
    return TagRow(tag, usage_count(tag.id))


def _listed(query: ListQuery) -> Select[tuple[Tag, int]]:
    return select(Tag, USAGE).where(*_conditions(query))


def _conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    return [contains(Tag.name, query.search)] if query.search else []


def all_tags() -> list[Tag]:
    """Every tag by name (for pickers and filters)."""
    return list(db.session.scalars(select(Tag).order_by(Tag.name_key)))


def tag_choices() -> list[tuple[int, str]]:
    """(id, name) of every tag by name, for select menus."""
    order = (Tag.name_key, Tag.id)
    rows = all_rows(db.session.connection(), select(Tag.id, Tag.name).order_by(*order), order)
    return [(tag_id, name) for tag_id, name in rows]


def get_tag(tag_id: int) -> Tag:
    return get_or_raise(Tag, tag_id, _("tag"))


def usage_count(tag_id: int) -> int:
    """How many blogs carry the tag (read from the database, not from a loaded Tag)."""
    return db.session.scalar(select(Tag.blog_count).where(Tag.id == tag_id)) or 0


def normalise_name(name: str) -> str:
    """A tag name as it is stored: NFKC-normalised, with runs of white space as one space."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split())


def find_by_names(names: Iterable[str]) -> dict[str, Tag]:
    """Existing tags by ``tag_name_key`` (the unique index's key) of the given names."""
    wanted = {tag_name_key(normalise_name(n)) for n in names if normalise_name(n)}
    if not wanted:
        return {}
    tags = db.session.scalars(select(Tag).where(Tag.name_key.in_(wanted)))
    return {t.name_key: t for t in tags}


def create_tag(data: TagData, actor: User) -> Tag:
    """Create a tag (editors and admins)."""
    require_role(actor, Role.EDITOR)
    clean = _validate(data, exclude_id=None)
    tag = Tag(name=clean.name, description=clean.description, colour=clean.colour,
              slug=clean.slug or _new_slug(clean.name))
    db.session.add(tag)
    audit.record(actor, "create", tag, {k: [None, v] for k, v in audit.snapshot(tag, AUDITED_FIELDS).items()})
    db.session.commit()
    return tag


def create_missing(names: Iterable[str], actor: User) -> list[Tag]:
    """Tags for ``names``, creating (and auditing) the ones that do not exist. No commit."""
    wanted: dict[str, str] = {}  # the first spelling of each key, as typed
    for name in names:
        name = normalise_name(name)
        if name and tag_name_key(name) not in wanted:
            wanted[tag_name_key(name)] = name
    existing = find_by_names(wanted.values())
    tags = []
    for key, name in wanted.items():
        tag = existing.get(key)
        if tag is None:
            clean = _validate(TagData(name=name), exclude_id=None, field="tags")
            tag = Tag(name=clean.name, slug=_new_slug(clean.name))
            db.session.add(tag)
            audit.record(actor, "create", tag, {"name": [None, tag.name]})
        tags.append(tag)
    return tags


def update_tag(tag_id: int, data: TagData, actor: User, expected_version: int | None) -> Tag:
    """Edit a tag's name, slug, description or colour."""
    require_role(actor, Role.EDITOR)
    tag = get_tag(tag_id)
    check_version(tag, expected_version, tag.name)
    clean = _validate(data, exclude_id=tag.id)
    before = audit.snapshot(tag, AUDITED_FIELDS)
    old_name = tag.name
    tag.name, tag.description, tag.colour = clean.name, clean.description, clean.colour
    tag.slug = clean.slug or tag.slug
    changes = audit.diff(before, audit.snapshot(tag, AUDITED_FIELDS))
    if not changes:
        return tag
    audit.record(actor, "update", tag, changes)
    if "name" in changes:
        _touch_blogs(tag.id, actor, old_name, tag.name)
    try:
        db.session.commit()
    except StaleDataError:  # another request saved between our read and our write
        db.session.rollback()
        check_version(get_tag(tag_id), -1, clean.name)
        raise
    return tag


def delete_tags(tag_ids: Iterable[int], actor: User) -> int:
    """Delete tags; the blogs lose the tag (the link rows cascade)."""
    require_role(actor, Role.EDITOR)
    tags = [get_tag(i) for i in sorted(set(tag_ids))]
    for tag in tags:
        audit.record(actor, "delete", tag, {**audit.snapshot(tag, AUDITED_FIELDS),
                                            "usage": usage_count(tag.id)})
        _touch_blogs(tag.id, actor, tag.name, None)
        db.session.execute(delete(blog_tags).where(blog_tags.c.tag_id == tag.id))
        db.session.delete(tag)
    db.session.commit()
    return len(tags)


def merge_tags(source_id: int, target_id: int, actor: User) -> int:
    """Move every blog of ``source`` to ``target`` and delete ``source``.

    Returns how many blogs gained the target tag (those that had both keep one).
    """
    require_role(actor, Role.EDITOR)
    if source_id == target_id:
        raise ValidationError({"target": [_("Choose a different tag to merge into.")]})
    source, target = get_tag(source_id), get_tag(target_id)
    blog_ids = set(db.session.scalars(select(blog_tags.c.blog_id).where(blog_tags.c.tag_id == source.id)))
    already = set(db.session.scalars(select(blog_tags.c.blog_id).where(blog_tags.c.tag_id == target.id)))
    moving = sorted(blog_ids - already)
    _touch_blogs(source.id, actor, source.name, target.name)
    if moving:
        db.session.execute(insert(blog_tags), [{"blog_id": b, "tag_id": target.id} for b in moving])
    db.session.execute(delete(blog_tags).where(blog_tags.c.tag_id == source.id))
    audit.record(actor, "delete", source, {"merged_into": target.name, "blogs": len(blog_ids)})
    audit.record(actor, "update", target, {"merged_from": [source.name, None]})
    db.session.delete(source)
    db.session.commit()
    return len(moving)


def _touch_blogs(tag_id: int, actor: User, old_name: str, new_name: str | None) -> None:
    """The blogs carrying a renamed, deleted or merged tag changed too: bump their
    versions (an edit form opened before must not bring the old tag back) and audit it."""
    blogs = db.session.execute(
        select(Blog.id, Blog.title).join(blog_tags, blog_tags.c.blog_id == Blog.id)
        .where(blog_tags.c.tag_id == tag_id)).all()
    if not blogs:
        return
    db.session.execute(Blog.__table__.update().where(Blog.id.in_([b.id for b in blogs]))
                       .values(version=Blog.version + 1, updated_at=utcnow()))
    for blog in blogs:
        audit.record_change(actor, "update", "blogs", blog.id, blog.title, {"tag": [old_name, new_name]})


def _new_slug(name: str) -> str:
    return unique_slug(Tag, slugify(name, max_length=50), fallback="tag")


def _validate(data: TagData, exclude_id: int | None, field: str = "name") -> TagData:
    errors: dict[str, list[str]] = {}
    name = normalise_name(data.name)  # before every check: NFKC can make a comma or lengthen a name
    if not name or len(name) > 50:
        errors[field] = [_("A tag name has 1 to 50 characters.")]
    elif "," in name:
        errors[field] = [_("A tag name cannot contain a comma (commas separate tags).")]
    elif any(unicodedata.category(ch).startswith("C") for ch in name):
        errors[field] = [_("A tag name cannot contain control or formatting characters.")]
    elif field == "name" and _name_taken(name, exclude_id):
        errors["name"] = [_("A tag with this name already exists.")]
    colour = (data.colour or "#6c757d").strip()
    if not COLOUR_RE.match(colour):
        errors["colour"] = [_("Use a colour like #1a2b3c.")]
    slug = (data.slug or "").strip()
    if slug:
        if slug != slugify(slug) or len(slug) > 60:
            errors["slug"] = [_("Use lower-case letters, digits and dashes.")]
        elif db.session.scalar(select(Tag.id).where(Tag.slug == slug, Tag.id != (exclude_id or 0))):
            errors["slug"] = [_("This slug is already used by another tag.")]
    description = (data.description or "").strip()
    if len(description) > 2000:
        errors["description"] = [_("Use at most 2000 characters.")]
    elif "\x00" in description:
        errors["description"] = [_("The text cannot contain NUL characters.")]
    if errors:
        raise ValidationError(errors)
    return TagData(name=name, description=description, colour=colour.lower(), slug=slug)


def _name_taken(name: str, exclude_id: int | None) -> bool:
    stmt = select(Tag.id).where(Tag.name_key == tag_name_key(name))  # as the unique index does
    if exclude_id is not None:
        stmt = stmt.where(Tag.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None
