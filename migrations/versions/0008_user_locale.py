"""users choose their language: users.locale (null: the browser's)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column: SQLite adds it in place (no table copy), so the expression
    # indexes on lower(username) and lower(email) stay.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
    _restore_sqlite_expression_indexes()


def _restore_sqlite_expression_indexes():
    """SQLite's batch mode may copy the table to drop a column, and it cannot reflect
    expression indexes: put them back unless they stayed."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE UNIQUE INDEX IF NOT EXISTS uq_users_username_lower ON users (lower(username))")
        op.execute("CREATE UNIQUE INDEX IF NOT EXISTS uq_users_email_lower ON users (lower(email))")
