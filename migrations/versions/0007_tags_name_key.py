"""tag names unique by a stored key (NFKC + casefold) instead of lower(name)

The unique index on lower(name) relied, on SQLite, on the lower() the app
registers on its connections: any other client (the sqlite3 shell, a backup
tool) computes SQLite's ASCII-only lower() and PRAGMA integrity_check reports
index rows as missing. The key is now computed in Python and stored in
``name_key``, under a plain unique index that every client can verify.

Names are normalised to NFKC on the way, as the app now does on every save.
Tags whose names were the same under the new key (say "flask" in fullwidth
letters beside "flask", or "Straße" beside "strasse") are all kept: the later
ones get " (2)", " (3)" ... after their name, to be merged from the tag list.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

NAME_LENGTH = 50


def name_key(name):
    """The same key as webapp.models.content.tag_name_key (copied: migrations stay as written)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def upgrade():
    # NOT NULL with a default is the one way SQLite adds a required column without
    # rebuilding the table (a rebuild would drop "tags" and, with foreign keys on,
    # cascade to blog_tags). The default is dropped again where the database can.
    op.add_column('tags', sa.Column('name_key', sa.String(length=200), nullable=False, server_default=''))
    bind = op.get_bind()
    tags = sa.table('tags', sa.column('id', sa.Integer), sa.column('name', sa.String),
                    sa.column('name_key', sa.String))
    taken = set()
    for tag_id, name in bind.execute(sa.select(tags.c.id, tags.c.name).order_by(tags.c.id)).all():
        clean = " ".join(unicodedata.normalize("NFKC", name).split())
        candidate, number = clean, 2
        while name_key(candidate) in taken:
            suffix = f" ({number})"
            candidate = clean[:NAME_LENGTH - len(suffix)] + suffix
            number += 1
        taken.add(name_key(candidate))
        bind.execute(tags.update().where(tags.c.id == tag_id)
                     .values(name=candidate, name_key=name_key(candidate)))
    op.drop_index('uq_tags_name_lower', table_name='tags')
    op.create_index('uq_tags_name_key', 'tags', ['name_key'], unique=True)
    if bind.dialect.name != 'sqlite':
        op.alter_column('tags', 'name_key', server_default=None)


def downgrade():
    op.drop_index('uq_tags_name_key', table_name='tags')
    op.create_index('uq_tags_name_lower', 'tags', [sa.text('lower(name)')], unique=True)
    op.drop_column('tags', 'name_key')
