"""rebuild SQLite's lower() indexes with Unicode case folding

The app now registers a Unicode-aware lower() on every SQLite connection (as
PostgreSQL's lower() already is), so the "unique regardless of case" expression
indexes are rebuilt with it. Nothing to do on other databases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:15:00

"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("REINDEX")


def downgrade():
    pass
