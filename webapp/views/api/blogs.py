"""``/api/v1/blogs``: read by everyone signed in; editors and admins write them."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from webapp.models import Role
from webapp.services import blogs
from webapp.services.blogs import BlogData
from webapp.services.errors import ValidationError
from webapp.services.filters import BlogFilters, parse_blog_filters
from webapp.views.api import crud, schemas
from webapp.views.api.auth import api_user
from webapp.views.api.common import ID, list_query
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
    @crud.lists(bp, schemas.BlogListArgsSchema, schemas.BlogPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List blogs

        Search (`q`) in title and body; filter by `tag` (repeat it: all must
        match), `author`, `status` and the creation day range `since` / `until`.
        """
        crud.caller(Role.VIEWER)
        return crud.listed(blogs.list_blogs(list_query(args), _filters(args)))

    @crud.creates(bp, schemas.BlogCreateSchema, schemas.BlogSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a blog

        Tags are names; names that do not exist yet become new tags.
        """
        blog = blogs.get_blog(blogs.create_blog(BlogData(**data), api_user()).id)
        return crud.created(blog, "api_v1.blogs.BlogItem", "blog_id")


@bp.route(f"/<{ID}:blog_id>", tags=TAGS)
class BlogItem(MethodView):
    @crud.reads(bp, schemas.BlogSchema)
    def get(self, blog_id: int) -> Any:
        """Get a blog"""
        return crud.read(Role.VIEWER, blogs.get_blog, blog_id)

    @crud.updates(bp, schemas.BlogUpdateSchema, schemas.BlogSchema)
    def patch(self, data: dict[str, Any], blog_id: int) -> Any:
        """Update a blog

        Only the fields sent change; `tags` replaces the whole list. Send
        `version` (or `If-Match`) to refuse the change when someone saved the
        blog since you read it.
        """
        actor = crud.caller(Role.EDITOR)
        current = blogs.get_blog(blog_id)
        values, version = crud.edited(data, current, ("title", "body", "status", "publish_at", "author_id",
                                                      "slug"))
        changes = BlogData(**values, tags=data.get("tags", [t.name for t in current.tags]))
        blog = blogs.update_blog(blog_id, changes, actor, version)
        return crud.versioned(blogs.get_blog(blog.id))

    @crud.deletes(bp)
    def delete(self, blog_id: int) -> None:
        """Delete a blog"""
        blogs.delete_blogs([blog_id], api_user())
