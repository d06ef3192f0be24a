"""the blog list's order in one index: (created_at, id) replaces (created_at)

The list reads newest first, then by id. With created_at alone PostgreSQL fetches
each row from the table to order ties by id, so a deep page by number (page 25,000,
500,000 rows skipped) reads half a million rows; with the id in the index it skips
them in the index alone. On SQLite an index already ends with the rowid, the id:
the new index is the old one under its new name.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12 09:00:00

"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_blogs_created_at_id', 'blogs', ['created_at', 'id'], unique=False)
    op.drop_index('ix_blogs_created_at', table_name='blogs')


def downgrade():
    op.create_index('ix_blogs_created_at', 'blogs', ['created_at'], unique=False)
    op.drop_index('ix_blogs_created_at_id', table_name='blogs')
