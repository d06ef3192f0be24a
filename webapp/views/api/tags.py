"""``/api/v1/tags``: read by everyone signed in; editors and admins change them."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from webapp.models import Role
from webapp.services import tags
from webapp.services.tags import TagData, TagRow
from webapp.views.api import crud, schemas
from webapp.views.api.auth import api_user
from webapp.views.api.common import ID, document_errors, list_query

bp = Blueprint("tags", __name__, url_prefix="/tags", description=_l("Tags for blogs, with usage counts."))
TAGS = ["tags"]


@bp.route("", tags=TAGS)
class TagCollection(MethodView):
    @crud.lists(bp, schemas.TagListArgsSchema, schemas.TagPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List tags

        Search (`q`) in names; sort by `usage` to see the most used.
        """
        crud.caller(Role.VIEWER)
        return crud.listed(tags.list_tags(list_query(args)))

    @crud.creates(bp, schemas.TagCreateSchema, schemas.TagSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a tag"""
        tag = tags.create_tag(TagData(**data), api_user())
        return crud.created(TagRow(tag, 0), "api_v1.tags.TagItem", "tag_id")


@bp.route(f"/<{ID}:tag_id>", tags=TAGS)
class TagItem(MethodView):
    @crud.reads(bp, schemas.TagSchema)
    def get(self, tag_id: int) -> Any:
        """Get a tag"""
        return crud.read(Role.VIEWER, tags.tag_row, tag_id)

    @crud.updates(bp, schemas.TagUpdateSchema, schemas.TagSchema)
    def patch(self, data: dict[str, Any], tag_id: int) -> Any:
        """Update a tag

        Only the fields sent change. Send `version` (or `If-Match`) to refuse
        the change when someone saved the tag since you read it.
        """
        actor = crud.caller(Role.EDITOR)
        values, version = crud.edited(data, tags.get_tag(tag_id), ("name", "description", "colour", "slug"))
        tag = tags.update_tag(tag_id, TagData(**values), actor, version)
        return crud.versioned(tags.tag_row(tag.id))

    @crud.deletes(bp)
    def delete(self, tag_id: int) -> None:
        """Delete a tag

        The blogs carrying it lose the tag.
        """
        tags.delete_tags([tag_id], api_user())


@bp.route(f"/<{ID}:tag_id>/merge", tags=TAGS)
class TagMerge(MethodView):
    @bp.arguments(schemas.TagMergeSchema)
    @bp.response(200, schemas.TagMergeResultSchema)
    @document_errors(bp, 400, 403, 404, 415, 422)
    def post(self, data: dict[str, Any], tag_id: int) -> Any:
        """Merge a tag into another

        Every blog of this tag gets the `target` tag; then this tag is deleted.
        """
        moved = tags.merge_tags(tag_id, data["target"], api_user())
        return {"moved": moved, "target": tags.tag_row(data["target"])}
