"""``tags.blog_count``, kept by the database: triggers on ``blog_tags``, for schemas made by
``create_all`` (migration 0013 writes the same statements out for migrated databases).

Every link added, removed or moved changes its tag's count in the same statement's
transaction, whoever writes the link: the services, a foreign key's cascade (a blog or
a tag deleted), a script. The tag list and a tag's filter then read one column, not
every link: at a million blogs, counting the links of a page of tags took 250 ms.

- SQLite: three row triggers.
- PostgreSQL: statement triggers over the statement's transition tables, one UPDATE per
  statement and tag (a bulk load of two million links updates each tag once, not two
  million times). Concurrent writers queue on the tag's row, so no change is lost.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from webapp.models.content import blog_tags

SQLITE_CREATE = (
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
POSTGRESQL_CREATE = (
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
# The triggers go with the table; the function stays until dropped.
POSTGRESQL_DROP = ("DROP FUNCTION IF EXISTS blog_tags_count() CASCADE",)

for _statement in SQLITE_CREATE:
    event.listen(blog_tags, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRESQL_CREATE:
    event.listen(blog_tags, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in POSTGRESQL_DROP:
    event.listen(blog_tags, "after_drop", DDL(_statement).execute_if(dialect="postgresql"))
