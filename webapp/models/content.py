"""Editorial content: blogs and their tags."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.user import User


class BlogStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


blog_tags = Table(
    "blog_tags",
    db.metadata,
    Column("blog_id", ForeignKey("blogs.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


def tag_name_key(name: str) -> str:
    """What tag names are compared by: NFKC-normalised and case-folded.

    "flask" in fullwidth letters, "Flask" and "flask" share a key, and so do a composed and a
    decomposed "é". Casefolding can undo NFKC for a few characters, hence the second pass.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _name_key_default(context: Any) -> str:
    """``name_key`` for INSERTs that name only ``name`` (bulk inserts in scripts and tests)."""
    return tag_name_key(context.get_current_parameters()["name"])


class Tag(db.Model):
    """A label for blogs; the name is unique regardless of case and Unicode form.

    The uniqueness is a plain unique index on ``name_key``, computed here in Python,
    so any SQLite client can check the index (an index on an app-registered
    function would look corrupt to ``PRAGMA integrity_check`` in a stock client).
    """

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    # NFKC + casefold can make a name up to three times longer.
    name_key: Mapped[str] = mapped_column(String(200), default=_name_key_default)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str] = mapped_column(String(7), default="#6c757d")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    #: How many blogs carry the tag: kept by the database (webapp/models/tag_counts.py),
    #: never written by the app.
    blog_count: Mapped[int] = mapped_column(server_default=text("0"))

    __table_args__ = (Index("uq_tags_name_key", name_key, unique=True),)
    __mapper_args__ = {"version_id_col": version}

    @validates("name")
    def _keep_name_key(self, _attribute: str, name: str) -> str:
        self.name_key = tag_name_key(name)
        return name

    def __str__(self) -> str:
        return self.name


class Blog(db.Model):
    """A Markdown post with one author and many tags."""

    __tablename__ = "blogs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=BlogStatus.DRAFT.value, index=True)
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # RESTRICT: deleting an author must first reassign or delete their blogs.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    cover_image: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow,
                                                 index=True)
    version: Mapped[int] = mapped_column(default=1)

    author: Mapped[User] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(secondary=blog_tags, lazy="raise", order_by=Tag.name,
                                           passive_deletes=True)

    __table_args__ = (
        CheckConstraint(status.in_([s.value for s in BlogStatus]), name="status"),
        # The list's order (newest first, then by id) in full: a deep page by number reads
        # its offset from the index alone (PostgreSQL's index-only scan; on SQLite every
        # index ends with the rowid, the id, anyway).
        Index("ix_blogs_created_at_id", created_at, id),
    )
    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.title
