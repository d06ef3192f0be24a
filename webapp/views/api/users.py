"""``/api/v1/users``: accounts, for administrators (the same rules as the user pages)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from webapp.models import Role, User
from webapp.services import users
from webapp.services.access import require_role
from webapp.services.users import UserData
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

bp = Blueprint("users", __name__, url_prefix="/users", description=_l("User accounts (administrators only)."))
TAGS = ["users"]


@bp.route("", tags=TAGS)
class UserCollection(MethodView):
    @bp.arguments(schemas.UserListArgsSchema, location="query", error_status_code=400)
    @bp.response(200, schemas.UserPageSchema, headers=LIST_HEADERS)
    @document_errors(bp, 400, 403)
    def get(self, args: dict[str, Any]) -> Any:
        """List users

        Search (`q`) in username and email; filter by `role` and `active`.
        """
        require_role(api_user(), Role.ADMIN)
        page = users.list_users(list_query(args, users.USER_FILTERS))
        return page_body(page), list_headers(page)

    @bp.arguments(schemas.UserCreateSchema)
    @bp.response(201, schemas.UserSchema, headers=ETAG_HEADER)
    @document_errors(bp, 400, 403, 415, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a user"""
        user = users.create_user(UserData(**data), api_user())
        return user, {**etag(user.version), "Location": _location(user)}


@bp.route(f"/<{ID}:user_id>", tags=TAGS)
class UserItem(MethodView):
    @bp.response(200, schemas.UserSchema, headers=ETAG_HEADER)
    @document_errors(bp, 403, 404)
    def get(self, user_id: int) -> Any:
        """Get a user"""
        require_role(api_user(), Role.ADMIN)
        user = users.get_user(user_id)
        return user, etag(user.version)

    @bp.arguments(schemas.UserUpdateSchema, required=False)  # no body: nothing changes
    @bp.response(200, schemas.UserSchema, headers=ETAG_HEADER)
    @bp.doc(parameters=[IF_MATCH])
    @document_errors(bp, 400, 403, 404, 409, 415, 422)
    def patch(self, data: dict[str, Any], user_id: int) -> Any:
        """Update a user

        Only the fields sent change. Send `version` (or `If-Match`) to refuse
        the change when someone saved the user since you read it.
        """
        actor = api_user()
        require_role(actor, Role.ADMIN)
        current = users.get_user(user_id)
        version = expected_version(data.pop("version", None))
        changes = UserData(
            username=data.get("username", current.username),
            email=data.get("email", current.email),
            role=data.get("role", current.role),
            active=data.get("active", current.active),
            password=data.get("password"),
        )
        user = users.update_user(user_id, changes, actor,
                                 version if version is not None else current.version)
        return user, etag(user.version)

    @bp.arguments(schemas.UserDeleteArgsSchema, location="query", error_status_code=400)
    @bp.response(204)
    @document_errors(bp, 400, 403, 404, 422)
    def delete(self, args: dict[str, Any], user_id: int) -> None:
        """Delete a user

        A user who wrote blogs needs `blogs=delete`, or `blogs=reassign` with
        `reassign_to` (an active editor or administrator).
        """
        users.delete_user(user_id, api_user(), blogs=args.get("blogs"),
                          reassign_to=args.get("reassign_to"))


def _location(user: User) -> str:
    return url_for("api_v1.users.UserItem", user_id=user.id, _external=True)
