"""The search index beside the ``blogs`` table, for schemas made by ``create_all``.

Migration 0009 builds the same objects on migrated databases (a test compares the two):

- SQLite: ``blogs_fts``, an FTS5 table with the trigram tokenizer (it finds any substring
  of three characters or more, Chinese included, regardless of case). Its content is the
  view ``blogs_fts_text`` over ``blogs`` (title, body, padded): it stores only the index,
  and three triggers keep it in step with every insert, update and delete, whoever
  writes. ``blogs_fts_terms`` (fts5vocab) lists the index's trigrams, for shorter text.
- PostgreSQL: the ``pg_trgm`` extension and a GIN trigram index on ``title`` and on
  ``body``, which serve ``ILIKE '%...%'``.

These objects are not part of the models' metadata: ``is_search_object`` names them, and
``include_object`` leaves them out of Alembic's comparisons with the models.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from webapp.models.content import Blog

FTS_TABLE = "blogs_fts"
#: The text the index is built from: each title and body followed by two ``PAD`` characters.
FTS_TEXT_VIEW = "blogs_fts_text"
#: Every indexed trigram with the blog (``doc``) and column (``col``) it occurs in.
FTS_TERMS = "blogs_fts_terms"
#: The tables SQLite makes for an FTS5 table with external content.
FTS_SHADOW_TABLES = tuple(f"{FTS_TABLE}_{suffix}" for suffix in ("config", "data", "docsize", "idx"))
TRIGRAM_INDEXES = ("ix_blogs_title_trgm", "ix_blogs_body_trgm")

#: Padding after each indexed text (U+FFFF, a noncharacter: searches drop it). Two of them
#: make every occurrence of one or two characters the start of an indexed trigram, the
#: text's last characters and a two-character title included, so ``FTS_TERMS`` finds
#: short text by the trigrams it begins (``webapp/services/search.py``).
PAD = "\uffff"
_PADDED = "{column} || char(65535, 65535)"


def _padded(row: str) -> str:
    title, body = (_PADDED.format(column=f"{row}.{name}") for name in ("title", "body"))
    return f"{row}.id, {title}, {body}"


SQLITE_CREATE = (
    f"CREATE VIEW {FTS_TEXT_VIEW} (id, title, body) AS SELECT {_padded('blogs')} FROM blogs",
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    f"title, body, content='{FTS_TEXT_VIEW}', content_rowid='id', tokenize='trigram')",
    f"CREATE VIRTUAL TABLE {FTS_TERMS} USING fts5vocab({FTS_TABLE}, instance)",
    # An external-content index must be given the old text to forget it.
    f"CREATE TRIGGER blogs_fts_insert AFTER INSERT ON blogs BEGIN "
    f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES ({_padded('new')}); END",
    f"CREATE TRIGGER blogs_fts_delete AFTER DELETE ON blogs BEGIN "
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, body) VALUES ('delete', {_padded('old')}); END",
    # Only a change of the indexed text touches the index (not publishing, tagging ...).
    f"CREATE TRIGGER blogs_fts_update AFTER UPDATE OF title, body ON blogs BEGIN "
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, body) VALUES ('delete', {_padded('old')}); "
    f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES ({_padded('new')}); END",
)
# The triggers go with the blogs table.
SQLITE_DROP = (f"DROP TABLE IF EXISTS {FTS_TERMS}", f"DROP TABLE IF EXISTS {FTS_TABLE}",
               f"DROP VIEW IF EXISTS {FTS_TEXT_VIEW}")
POSTGRESQL_EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
POSTGRESQL_CREATE = tuple(
    f"CREATE INDEX {name} ON blogs USING gin ({column} gin_trgm_ops)"
    for name, column in zip(TRIGRAM_INDEXES, ("title", "body"), strict=True)
)


def is_search_object(name: str | None, type_: str) -> bool:
    """Whether a reflected object is part of the search index (made outside the metadata)."""
    if type_ == "table":
        return name in (FTS_TABLE, FTS_TERMS, *FTS_SHADOW_TABLES)
    return type_ == "index" and name in TRIGRAM_INDEXES


def include_object(_object: object, name: str | None, type_: str, _reflected: bool,
                   _compare_to: object) -> bool:
    """Alembic's ``include_object`` hook for comparing a database with the models: every
    object but the search index's."""
    return not is_search_object(name, type_)


def _listen(when: str, statements: tuple[str, ...], dialect: str) -> None:
    for statement in statements:
        event.listen(Blog.__table__, when, DDL(statement).execute_if(dialect=dialect))


_listen("after_create", SQLITE_CREATE, "sqlite")
_listen("before_drop", SQLITE_DROP, "sqlite")
_listen("before_create", (POSTGRESQL_EXTENSION,), "postgresql")
_listen("after_create", POSTGRESQL_CREATE, "postgresql")
