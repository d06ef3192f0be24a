"""``/api/v1/users``: accounts, for administrators (the same rules as the user pages)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from webapp.models import Role
from webapp.services import users
from webapp.services.users import UserData
from webapp.views.api import crud, schemas
from webapp.views.api.auth import api_user
from webapp.views.api.common import ID, list_query

bp = Blueprint("users", __name__, url_prefix="/users", description=_l("User accounts (administrators only)."))
TAGS = ["users"]


@bp.route("", tags=TAGS)
class UserCollection(MethodView):
    @crud.lists(bp, schemas.UserListArgsSchema, schemas.UserPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List users

        Search (`q`) in username and email; filter by `role` and `active`.
        """
        crud.caller(Role.ADMIN)
        return crud.listed(users.list_users(list_query(args, users.USER_FILTERS)))

    @crud.creates(bp, schemas.UserCreateSchema, schemas.UserSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a user"""
        user = users.create_user(UserData(**data), api_user())
        return crud.created(user, "api_v1.users.UserItem", "user_id")


@bp.route(f"/<{ID}:user_id>", tags=TAGS)
class UserItem(MethodView):
    @crud.reads(bp, schemas.UserSchema)
    def get(self, user_id: int) -> Any:
        """Get a user"""
        return crud.read(Role.ADMIN, users.get_user, user_id)

    @crud.updates(bp, schemas.UserUpdateSchema, schemas.UserSchema)
    def patch(self, data: dict[str, Any], user_id: int) -> Any:
        """Update a user

        Only the fields sent change. Send `version` (or `If-Match`) to refuse
        the change when someone saved the user since you read it.
        """
        actor = crud.caller(Role.ADMIN)
        current = users.get_user(user_id)
        values, version = crud.edited(data, current, ("username", "email", "role", "active"))
        changes = UserData(**values, password=data.get("password"))
        user = users.update_user(user_id, changes, actor, version if version is not None else current.version)
        return crud.versioned(user)

    @crud.deletes(bp, schemas.UserDeleteArgsSchema)
    def delete(self, args: dict[str, Any], user_id: int) -> None:
        """Delete a user

        A user who wrote blogs needs `blogs=delete`, or `blogs=reassign` with
        `reassign_to` (an active editor or administrator).
        """
        users.delete_user(user_id, api_user(), blogs=args.get("blogs"),
                          reassign_to=args.get("reassign_to"))
