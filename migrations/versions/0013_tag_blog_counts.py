"""tags.blog_count, kept by triggers on blog_tags, filled for the links already there

The tag list and a tag's filter on the blog list read the count rather than count the
links (a page of tags took 250 ms at a million blogs). SQLite: three row triggers.
PostgreSQL: statement triggers over transition tables, one UPDATE per statement and
tag. The same objects come with create_all (webapp/models/tag_counts.py); the statements
are written out here so that this revision stays what it is when that module changes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-12 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER blog_tags_count_insert AFTER INSERT ON blog_tags BEGIN "
    "UPDATE tags SET blog_count = blog_count + 1 WHERE id = new.tag_id; END",
    "CREATE TRIGGER blog_tags_count_delete AFTER DELETE ON blog_tags BEGIN "
    "UPDATE tags SET blog_count = blog_count - 1 WHERE id = old.tag_id; END",
    "CREATE TRIGGER blog_tags_count_update AFTER UPDATE OF tag_id ON blog_tags BEGIN "
    "UPDATE tags SET blog_count = blog_count - 1 WHERE id = old.tag_id; "
    "UPDATE tags SET blog_count = blog_count + 1 WHERE id = new.tag_id; END",
)
_CHANGE = ("UPDATE tags SET blog_count = blog_count {sign} changed.links FROM "
           "(SELECT tag_id, count(*) AS links FROM {rows} GROUP BY tag_id) AS changed "
           "WHERE tags.id = changed.tag_id;")
POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION blog_tags_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP IN ('DELETE', 'UPDATE') THEN " + _CHANGE.format(sign="-", rows="old_links") + " END IF; "
    "IF TG_OP IN ('INSERT', 'UPDATE') THEN " + _CHANGE.format(sign="+", rows="new_links") + " END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER blog_tags_count_insert AFTER INSERT ON blog_tags REFERENCING NEW TABLE AS new_links "
    "FOR EACH STATEMENT EXECUTE FUNCTION blog_tags_count()",
    "CREATE TRIGGER blog_tags_count_delete AFTER DELETE ON blog_tags REFERENCING OLD TABLE AS old_links "
    "FOR EACH STATEMENT EXECUTE FUNCTION blog_tags_count()",
    "CREATE TRIGGER blog_tags_count_update AFTER UPDATE ON blog_tags "
    "REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links "
    "FOR EACH STATEMENT EXECUTE FUNCTION blog_tags_count()",
)


def upgrade():
    # A NOT NULL column with a default: SQLite adds it in place, no table copy.
    op.add_column('tags', sa.Column('blog_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.execute("UPDATE tags SET blog_count = (SELECT count(*) FROM blog_tags WHERE blog_tags.tag_id = tags.id)")
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(dialect, ()):
        op.execute(statement)


def downgrade():
    for name in ("blog_tags_count_update", "blog_tags_count_delete", "blog_tags_count_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}"
                   + (" ON blog_tags" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS blog_tags_count()")
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_column('blog_count')
