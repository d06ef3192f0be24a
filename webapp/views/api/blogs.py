"""``/api/v1/blogs``: read by everyone signed in; editors and admins write them."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from webapp.models import Role
from webapp.services import blogs
from webapp.services.access import require_role
from webapp.services.blogs import BlogData
from webapp.services.errors import ValidationError
from webapp.services.filters import BlogFilters, parse_blog_filters
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
from webapp.views.api.errors import ApiError

bp = Blueprint("blogs", __name__, url_prefix="/blogs", description=_l("Blogs: Markdown posts with tags."))
TAGS = ["blogs"]


def _filters(args: dict[str, Any]) -> BlogFilters:
    """The list filters, through the same parser as the blog list page."""
    raw = {
        "tag": [str(t) for t in args.get("tag") or []],
        "author": str(args["author"]) if args.get("author") is not None else "",
        "status": args.get("status") or "",
        "since": args["since"].isoformat() if args.get("since") else "",
        "until": args["until"].isoformat() if args.get("until") else "",
    }
    try:
        return parse_blog_filters(raw)
    except ValidationError as err:  # a bad query parameter is a 400, as everywhere in the API
        raise ApiError(400, _("Some parameters are not valid."), err.fields) from None


@bp.route("", tags=TAGS)
class BlogCollection(MethodView):
    @bp.arguments(schemas.BlogListArgsSchema, location="query", error_status_code=400)
    @bp.response(200, schemas.BlogPageSchema, headers=LIST_HEADERS)
    @document_errors(bp, 400, 403)
    def get(self, args: dict[str, Any]) -> Any:
        """List blogs

        Search (`q`) in title and body; filter by `tag` (repeat it: all must
        match), `author`, `status` and the creation day range `since` / `until`.
        """
        require_role(api_user(), Role.VIEWER)
        page = blogs.list_blogs(list_query(args), _filters(args))
        return page_body(page), list_headers(page)

    @bp.arguments(schemas.BlogCreateSchema)
    @bp.response(201, schemas.BlogSchema, headers=ETAG_HEADER)
    @document_errors(bp, 400, 403, 415, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a blog

        Tags are names; names that do not exist yet become new tags.
        """
        blog = blogs.get_blog(blogs.create_blog(BlogData(**data), api_user()).id)
        location = url_for("api_v1.blogs.BlogItem", blog_id=blog.id, _external=True)
        return blog, {**etag(blog.version), "Location": location}


@bp.route(f"/<{ID}:blog_id>", tags=TAGS)
class BlogItem(MethodView):
    @bp.response(200, schemas.BlogSchema, headers=ETAG_HEADER)
    @document_errors(bp, 403, 404)
    def get(self, blog_id: int) -> Any:
        """Get a blog"""
        require_role(api_user(), Role.VIEWER)
        blog = blogs.get_blog(blog_id)
        return blog, etag(blog.version)

    @bp.arguments(schemas.BlogUpdateSchema, required=False)  # no body: nothing changes
    @bp.response(200, schemas.BlogSchema, headers=ETAG_HEADER)
    @bp.doc(parameters=[IF_MATCH])
    @document_errors(bp, 400, 403, 404, 409, 415, 422)
    def patch(self, data: dict[str, Any], blog_id: int) -> Any:
        """Update a blog

        Only the fields sent change; `tags` replaces the whole list. Send
        `version` (or `If-Match`) to refuse the change when someone saved the
        blog since you read it.
        """
        actor = api_user()
        require_role(actor, Role.EDITOR)
        current = blogs.get_blog(blog_id)
        version = expected_version(data.pop("version", None))
        changes = BlogData(
            title=data.get("title", current.title),
            body=data.get("body", current.body),
            status=data.get("status", current.status),
            publish_at=data.get("publish_at", current.publish_at),
            author_id=data.get("author_id", current.author_id),
            tags=data.get("tags", [t.name for t in current.tags]),
            slug=data.get("slug", current.slug),
        )
        blog = blogs.update_blog(blog_id, changes, actor, version)
        blog = blogs.get_blog(blog.id)
        return blog, etag(blog.version)

    @bp.response(204)
    @document_errors(bp, 403, 404)
    def delete(self, blog_id: int) -> None:
        """Delete a blog"""
        blogs.delete_blogs([blog_id], api_user())
