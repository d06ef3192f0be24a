"""``/api/v1/tags``: read by everyone signed in; editors and admins change them."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from webapp.models import Role, Tag
from webapp.services import tags
from webapp.services.access import require_role
from webapp.services.tags import TagData, TagRow
from webapp.views.api import schemas
from webapp.views.api.auth import api_user
from webapp.views.api.common import (
    ETAG_HEADER,
    ID,
    IF_MATCH,
    LIST_HEADERS,
    document_errors,
    etag,
    expected_version,
    list_headers,
    list_query,
    page_body,
)

bp = Blueprint("tags", __name__, url_prefix="/tags", description=_l("Tags for blogs, with usage counts."))
TAGS = ["tags"]


def _row(tag: Tag) -> TagRow:
    return TagRow(tag, tags.usage_count(tag.id))


@bp.route("", tags=TAGS)
class TagCollection(MethodView):
    @bp.arguments(schemas.TagListArgsSchema, location="query", error_status_code=400)
    @bp.response(200, schemas.TagPageSchema, headers=LIST_HEADERS)
    @document_errors(bp, 400, 403)
    def get(self, args: dict[str, Any]) -> Any:
        """List tags

        Search (`q`) in names; sort by `usage` to see the most used.
        """
        require_role(api_user(), Role.VIEWER)
        page = tags.list_tags(list_query(args))
        return page_body(page), list_headers(page)

    @bp.arguments(schemas.TagCreateSchema)
    @bp.response(201, schemas.TagSchema, headers=ETAG_HEADER)
    @document_errors(bp, 400, 403, 415, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a tag"""
        tag = tags.create_tag(TagData(**data), api_user())
        location = url_for("api_v1.tags.TagItem", tag_id=tag.id, _external=True)
        return TagRow(tag, 0), {**etag(tag.version), "Location": location}


@bp.route(f"/<{ID}:tag_id>", tags=TAGS)
class TagItem(MethodView):
    @bp.response(200, schemas.TagSchema, headers=ETAG_HEADER)
    @document_errors(bp, 403, 404)
    def get(self, tag_id: int) -> Any:
        """Get a tag"""
        require_role(api_user(), Role.VIEWER)
        tag = tags.get_tag(tag_id)
        return _row(tag), etag(tag.version)

    @bp.arguments(schemas.TagUpdateSchema, required=False)  # no body: nothing changes
    @bp.response(200, schemas.TagSchema, headers=ETAG_HEADER)
    @bp.doc(parameters=[IF_MATCH])
    @document_errors(bp, 400, 403, 404, 409, 415, 422)
    def patch(self, data: dict[str, Any], tag_id: int) -> Any:
        """Update a tag

        Only the fields sent change. Send `version` (or `If-Match`) to refuse
        the change when someone saved the tag since you read it.
        """
        actor = api_user()
        require_role(actor, Role.EDITOR)
        current = tags.get_tag(tag_id)
        version = expected_version(data.pop("version", None))
        changes = TagData(
            name=data.get("name", current.name),
            description=data.get("description", current.description),
            colour=data.get("colour", current.colour),
            slug=data.get("slug", current.slug),
        )
        tag = tags.update_tag(tag_id, changes, actor, version)
        return _row(tag), etag(tag.version)

    @bp.response(204)
    @document_errors(bp, 403, 404)
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
        target = tags.get_tag(data["target"])
        return {"moved": moved, "target": _row(target)}
