"""full-text search over blog titles and bodies

SQLite: blogs_fts, an FTS5 table with the trigram tokenizer (any substring of three
characters or more, Chinese included, regardless of case) over the view blogs_fts_text
(blogs.title and blogs.body, each followed by two U+FFFF, so that shorter text is found
by the trigrams it begins: blogs_fts_terms lists them), kept in step by triggers, and
built here for the existing rows.
PostgreSQL: the pg_trgm extension and GIN trigram indexes on blogs.title and blogs.body,
which serve ILIKE '%...%'.

The same objects come with create_all (webapp/models/blog_search.py); the statements
are written out here so that this revision stays what it is when that module changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00

"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_NEW = "new.id, new.title || char(65535, 65535), new.body || char(65535, 65535)"
_OLD = "old.id, old.title || char(65535, 65535), old.body || char(65535, 65535)"
SQLITE_UPGRADE = (
    "CREATE VIEW blogs_fts_text (id, title, body) AS SELECT "
    "blogs.id, blogs.title || char(65535, 65535), blogs.body || char(65535, 65535) FROM blogs",
    "CREATE VIRTUAL TABLE blogs_fts USING fts5("
    "title, body, content='blogs_fts_text', content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE blogs_fts_terms USING fts5vocab(blogs_fts, instance)",
    f"CREATE TRIGGER blogs_fts_insert AFTER INSERT ON blogs BEGIN "
    f"INSERT INTO blogs_fts (rowid, title, body) VALUES ({_NEW}); END",
    f"CREATE TRIGGER blogs_fts_delete AFTER DELETE ON blogs BEGIN "
    f"INSERT INTO blogs_fts (blogs_fts, rowid, title, body) VALUES ('delete', {_OLD}); END",
    f"CREATE TRIGGER blogs_fts_update AFTER UPDATE OF title, body ON blogs BEGIN "
    f"INSERT INTO blogs_fts (blogs_fts, rowid, title, body) VALUES ('delete', {_OLD}); "
    f"INSERT INTO blogs_fts (rowid, title, body) VALUES ({_NEW}); END",
    # Index the blogs written before this revision.
    "INSERT INTO blogs_fts (blogs_fts) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS blogs_fts_update",
    "DROP TRIGGER IF EXISTS blogs_fts_delete",
    "DROP TRIGGER IF EXISTS blogs_fts_insert",
    "DROP TABLE IF EXISTS blogs_fts_terms",
    "DROP TABLE IF EXISTS blogs_fts",
    "DROP VIEW IF EXISTS blogs_fts_text",
)
POSTGRESQL_UPGRADE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_blogs_title_trgm ON blogs USING gin (title gin_trgm_ops)",
    "CREATE INDEX ix_blogs_body_trgm ON blogs USING gin (body gin_trgm_ops)",
)
# The extension stays: other objects of the database may have come to use it.
POSTGRESQL_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_blogs_body_trgm",
    "DROP INDEX IF EXISTS ix_blogs_title_trgm",
)


def upgrade():
    _run({"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE})


def downgrade():
    _run({"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE})


def _run(statements_by_dialect):
    """This database's statements; other databases keep searching with a plain scan."""
    for statement in statements_by_dialect.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
