"""User accounts: listing, validation, guards, changes and their audit entries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp.extensions import db
from webapp.models import AppSetting, Role, User
from webapp.models.types import utcnow
from webapp.services import audit, sessions
from webapp.services.access import require_role
from webapp.services.errors import Conflict, Forbidden, NotFound, ValidationError
from webapp.services.locks import lock_active_admins
from webapp.services.paging import ListQuery, Page, contains, order_by, paginate
from webapp.services.signals import access_revoked

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
AUDITED_FIELDS = ("username", "email", "role", "active")
USER_FILTERS = ("role", "active")
SORTABLE = {name: getattr(User, name) for name in
            ("id", "username", "email", "role", "active", "created_at", "last_login_at")}


@dataclass
class UserData:
    """Fields a form or API request supplies; ``password`` None means unchanged."""

    username: str
    email: str
    role: str = Role.VIEWER.value
    active: bool = True
    password: str | None = None


@dataclass(frozen=True)
class UserRow:
    """A user as every list shows it: the page, the API and the downloads (no password hash)."""

    id: int
    username: str
    email: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    version: int


#: What a list row reads; how a list is sorted: the columns, the default one, the tiebreak.
LIST_COLUMNS = tuple(getattr(User, field.name) for field in fields(UserRow))
_SORT = (SORTABLE, "username", User.id)


def list_users(query: ListQuery) -> Page[UserRow]:
    """One page of the users matching the search and the role / active filters."""
    page = paginate(_listed(query), query, *_SORT, rows=True)
    page.items = [UserRow(*row) for row in page.items]
    return page


def iter_users(query: ListQuery, batch: int = 1000) -> Iterator[UserRow]:
    """All the rows :func:`list_users` pages through, in its order, ``batch`` at a time."""
    statement = _listed(query).order_by(*order_by(query, *_SORT)).execution_options(yield_per=batch)
    for partition in db.session.execute(statement).partitions():
        yield from (UserRow(*row) for row in partition)


def matching_ids(query: ListQuery) -> list[int]:
    """The ids of every user the list shows with this query, in its order ("all N matching")."""
    return list(db.session.scalars(_filtered(query).with_only_columns(User.id)
                                   .order_by(*order_by(query, *_SORT))))


def _listed(query: ListQuery) -> Select[Any]:
    return _filtered(query).with_only_columns(*LIST_COLUMNS)


def _filtered(query: ListQuery) -> Select[tuple[User]]:
    """SELECT of the users matching the query's search and filters (unsorted)."""
    stmt = select(User)
    if query.search:
        stmt = stmt.where(or_(contains(User.username, query.search), contains(User.email, query.search)))
    if (role := query.filters.get("role")) in set(Role):
        stmt = stmt.where(User.role == role)
    active = str(query.filters.get("active", "")).lower()
    if active in {"1", "true", "yes"}:
        stmt = stmt.where(User.active.is_(True))
    elif active in {"0", "false", "no"}:
        stmt = stmt.where(User.active.is_(False))
    return stmt


def get_user(user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No user with id %(id)s.", id=user_id))
    return user


def find_by_login(login: str) -> User | None:
    """The user whose username or email matches ``login``, ignoring case."""
    key = login.strip().lower()
    return db.session.scalar(
        select(User).where(or_(func.lower(User.username) == key, func.lower(User.email) == key)))


def any_user_exists() -> bool:
    """True once the first account has been created."""
    return db.session.scalar(select(User.id).limit(1)) is not None


def create_user(data: UserData, actor: User | None) -> User:
    """Create an account (admins only)."""
    require_role(actor, Role.ADMIN)
    return _insert(data, actor)


def create_user_as_system(data: UserData) -> User:
    """Create an account for a trusted caller such as the CLI; audited as "system"."""
    return _insert(data, None)


def create_first_admin(data: UserData) -> User:
    """Create the first administrator; only possible while no user exists."""
    if any_user_exists():
        raise NotFound(_("The console is already set up."))
    data.role, data.active = Role.ADMIN.value, True
    # The settings row's primary key lets only one of two simultaneous setups commit.
    db.session.add(AppSetting(key="setup_done", value=utcnow().isoformat()))
    try:
        return _insert(data, None, self_created=True)
    except IntegrityError:
        db.session.rollback()
        if any_user_exists():
            raise NotFound(_("The console is already set up.")) from None
        raise


def _insert(data: UserData, actor: User | None, self_created: bool = False) -> User:
    clean = _validate(data, exclude_id=None, password_required=True)
    user = User(username=clean.username, email=clean.email, role=clean.role, active=clean.active)
    user.set_password(clean.password or "", current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    _flush_or_field_errors(clean, None)
    changes = {field: [None, value] for field, value in audit.snapshot(user, AUDITED_FIELDS).items()}
    audit.record(user if self_created else actor, "create", user, changes)
    db.session.commit()
    return user


def update_user(user_id: int, data: UserData, actor: User, expected_version: int) -> User:
    """Save an edit made on version ``expected_version``; Conflict if it has moved on."""
    lock_active_admins()
    require_role(actor, Role.ADMIN)
    user = get_user(user_id)
    if user.version != expected_version:
        raise _conflict(user)
    clean = _validate(data, exclude_id=user.id, password_required=False)
    if user.id == actor.id and not clean.active:
        raise ValidationError({"active": [_("You cannot deactivate your own account.")]})
    losing_admin = user.active and user.role == Role.ADMIN and (clean.role != Role.ADMIN or not clean.active)
    if losing_admin and _other_active_admins([user.id]) == 0:
        field = "role" if clean.role != Role.ADMIN else "active"
        raise ValidationError({field: [_("At least one active administrator must remain.")]})
    before = audit.snapshot(user, AUDITED_FIELDS)
    user.username, user.email, user.role, user.active = (
        clean.username, clean.email, clean.role, clean.active)
    changes = audit.diff(before, audit.snapshot(user, AUDITED_FIELDS))
    if clean.password:
        user.set_password(clean.password, current_app.config["PASSWORD_HASH_METHOD"])
        changes["password"] = [None, audit.SECRET_CHANGED]
    if not changes:
        return user
    audit.record(actor, "update", user, changes)
    try:
        _flush_or_field_errors(clean, user.id)
    except StaleDataError:  # another request saved between our read and our write
        db.session.rollback()
        raise _conflict(get_user(user_id)) from None
    revoked = "password" in changes or changes.get("active") == [True, False]
    if revoked:  # an admin changing their own password stays signed in here
        sessions.end_all([user.id], keep=actor.login_key if user.id == actor.id else None)
    db.session.commit()
    if revoked:
        access_revoked.send(current_app._get_current_object(), user_ids=[user.id])
    return user


def delete_user(user_id: int, actor: User, blogs: str | None = None,
                reassign_to: int | None = None) -> None:
    """Delete one account, refusing the actor's own and the last active admin."""
    delete_users([user_id], actor, blogs, reassign_to)


def delete_users(user_ids: Iterable[int], actor: User, blogs: str | None = None,
                 reassign_to: int | None = None) -> int:
    """Delete several accounts at once; all or nothing. Returns how many.

    Users who wrote blogs need ``blogs``: "reassign" (to ``reassign_to``) or "delete".
    """
    lock_active_admins()
    require_role(actor, Role.ADMIN)
    users = _load_all(user_ids)
    if any(u.id == actor.id for u in users):
        raise Forbidden(_("You cannot delete your own account."))
    _guard_last_admin(users)
    _handle_blogs(users, actor, blogs, reassign_to)
    for user in users:
        audit.record(actor, "delete", user, audit.snapshot(user, AUDITED_FIELDS))
        db.session.delete(user)
    db.session.commit()
    access_revoked.send(current_app._get_current_object(), user_ids=[u.id for u in users])
    return len(users)


def _handle_blogs(users: list[User], actor: User, action: str | None, reassign_to: int | None) -> None:
    """Reassign or delete the blogs of users about to be deleted (no commit)."""
    from webapp.services import blogs as blog_service

    counts = blog_service.count_by_author(u.id for u in users)
    if not counts:
        return
    if action not in {"reassign", "delete"}:
        total = sum(counts.values())
        raise ValidationError({"blogs": [ngettext(
            "The selected users wrote %(num)d blog: choose whether to reassign or delete it.",
            "The selected users wrote %(num)d blogs: choose whether to reassign or delete them.",
            total)]})
    blog_ids = blog_service.ids_by_authors(list(counts))
    if action == "delete":
        blog_service.delete_blogs(blog_ids, actor, commit=False)
        return
    target = db.session.get(User, reassign_to) if reassign_to else None
    if target is None or target in users or not target.active or not target.has_role(Role.EDITOR):
        raise ValidationError({"reassign_to": [
            _("Choose an active editor or administrator who is not being deleted.")]})
    blog_service.reassign(blog_ids, target, actor)


def set_active(user_ids: Iterable[int], active: bool, actor: User) -> int:
    """Activate or deactivate several accounts; all or nothing. Returns how many changed."""
    lock_active_admins()
    require_role(actor, Role.ADMIN)
    users = _load_all(user_ids)
    if not active and any(u.id == actor.id for u in users):
        raise Forbidden(_("You cannot deactivate your own account."))
    if not active:
        _guard_last_admin(users)
    changed = [u for u in users if u.active != active]
    for user in changed:
        user.active = active
        audit.record(actor, "update", user, {"active": [not active, active]})
    if not active and changed:
        sessions.end_all([u.id for u in changed])
    db.session.commit()
    if not active and changed:
        access_revoked.send(current_app._get_current_object(), user_ids=[u.id for u in changed])
    return len(changed)


@dataclass
class Skipped:
    """A selected row a bulk action left alone, and why."""

    user: User
    reason: str


def without_actor(user_ids: Iterable[int], actor: User, action: str) -> tuple[list[int], list[Skipped]]:
    """Split a bulk selection for ``action`` ("delete" or "deactivate") into the ids to act on
    and the actor's own row, which such an action skips instead of failing as a whole."""
    ids = sorted(set(user_ids))
    if actor.id not in ids:
        return ids, []
    reason = (_("You cannot delete your own account.") if action == "delete"
              else _("You cannot deactivate your own account."))
    return [i for i in ids if i != actor.id], [Skipped(actor, reason)]


def change_own_password(user: User, current: str, new: str) -> None:
    """Change a user's own password after checking the current one.

    Every other sign-in session of the user ends; the one making the change stays.
    """
    if not user.check_password(current):
        raise ValidationError({"current_password": [_("The current password is not correct.")]})
    _check_password(new)
    user.set_password(new, current_app.config["PASSWORD_HASH_METHOD"])
    audit.record(user, "update", user, {"password": [None, audit.SECRET_CHANGED]})
    sessions.end_all([user.id], keep=user.login_key)
    db.session.commit()
    access_revoked.send(current_app._get_current_object(), user_ids=[user.id])


def check_user_data(data: UserData, user_id: int | None = None) -> None:
    """Raise ValidationError for every invalid field, without saving anything."""
    _validate(data, exclude_id=user_id, password_required=user_id is None)


# -- helpers -----------------------------------------------------------------


def _validate(data: UserData, exclude_id: int | None, password_required: bool) -> UserData:
    """Check every field and return normalised data, or raise ValidationError."""
    errors: dict[str, list[str]] = {}
    username = (data.username or "").strip()
    email = (data.email or "").strip()
    if not USERNAME_RE.match(username):
        errors["username"] = [_("Use 2 to 64 letters, digits, dots, dashes or underscores, "
                                "starting with a letter or digit.")]
    elif _taken(func.lower(User.username), username, exclude_id):
        errors["username"] = [_("This username is already taken.")]
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = [_("Enter a valid email address.")]
    else:
        if _taken(func.lower(User.email), email, exclude_id):
            errors["email"] = [_("This email address is already in use.")]
    if data.role not in set(Role):
        errors["role"] = [_("Choose a role.")]
    if data.password or password_required:
        try:
            _check_password(data.password or "")
        except ValidationError as err:
            errors.update(err.fields)
    if errors:
        raise ValidationError(errors)
    return UserData(username, email, data.role, bool(data.active), data.password or None)


def _check_password(password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ValidationError({"password": [_("Use at least %(n)d characters.", n=minimum)]})
    if len(password) > 1024:
        raise ValidationError({"password": [_("Use at most 1024 characters.")]})


def _taken(column: object, value: str, exclude_id: int | None) -> bool:
    """True when another user's ``column`` equals lower(``value``), compared in the database
    like the unique index (SQLite's lower() leaves non-ASCII letters alone)."""
    stmt = select(User.id).where(column == func.lower(value))  # type: ignore[operator]
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None


def _flush_or_field_errors(clean: UserData, exclude_id: int | None) -> None:
    """Flush; a unique-index race that slipped past the checks becomes a field error."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        _validate(clean, exclude_id, password_required=False)  # raises with the field
        raise


def _conflict(user: User) -> Conflict:
    entry = audit.last_change("users", user.id)
    who = entry.actor_name if entry else _("someone else")
    return Conflict(
        _("%(name)s was changed by %(who)s after you opened the form; nothing was saved. "
          "Reload to see the current values.", name=user.username, who=who),
        current=user,
    )


def _load_all(user_ids: Iterable[int]) -> list[User]:
    ids = sorted(set(user_ids))
    users = list(db.session.scalars(select(User).where(User.id.in_(ids))))
    missing = set(ids) - {u.id for u in users}
    if missing:
        raise NotFound(_("No user with id %(id)s.", id=min(missing)))
    return users


def _other_active_admins(excluded_ids: list[int]) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.ADMIN, User.active.is_(True), User.id.not_in(excluded_ids)
        )
    ) or 0


def _guard_last_admin(users: list[User]) -> None:
    removes_an_admin = any(u.role == Role.ADMIN and u.active for u in users)
    if removes_an_admin and _other_active_admins([u.id for u in users]) == 0:
        raise Forbidden(_("At least one active administrator must remain."))
