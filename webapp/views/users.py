"""User administration screens (admins only)."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from webapp.forms import BulkUserForm, ConfirmForm, UserForm
from webapp.models import Role, User
from webapp.services import blogs as blog_service
from webapp.services import exports
from webapp.services import users as user_service
from webapp.services.errors import DomainError, ValidationError
from webapp.services.filters import ascii_int, is_id, parse_ids
from webapp.services.paging import ListQuery
from webapp.services.users import UserData
from webapp.views.helpers import (
    Saved,
    download_response,
    list_args,
    role_required,
    safe_back_url,
    saved,
    validate_form,
)
from webapp.views.template_helpers import label

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> str:
    """The user list: search, filters, sorting, pagination and bulk actions."""
    query = ListQuery.from_args(request.args, user_service.USER_FILTERS)
    page = user_service.list_users(query)
    roles = [(role.value, label(role.value, "role")) for role in Role]
    return render_template("users/index.html", page=page, query=query, bulk_form=BulkUserForm(), roles=roles)


@bp.get("/export.<fmt>")
@role_required(Role.ADMIN)
def export(fmt: str) -> Response:
    """The current filtered user list as CSV or JSON, streamed (no password hashes)."""
    if fmt not in exports.FORMATS:
        abort(404)
    query = ListQuery.from_args(request.args, user_service.USER_FILTERS)
    mimetype, writer = exports.FORMATS[fmt]
    return download_response(writer(exports.user_records(query), exports.USER_COLUMNS), mimetype,
                             f"users.{fmt}")


@bp.route("/new", methods=["GET", "POST"], endpoint="create")
@bp.route("/<int:user_id>/edit", methods=["GET", "POST"], endpoint="edit")
@role_required(Role.ADMIN)
def form_page(user_id: int | None = None) -> str | Response:
    """Create an account, or edit one: a save over someone else's newer change is refused."""
    user = user_service.get_user(user_id) if user_id is not None else None
    # Only a GET fills the form from the database: a POST is judged on what it sent
    # (a missing version must not be taken from the current row).
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    if validate_form(form, lambda: user_service.check_user_data(_user_data(form), user_id)):
        if user is None and not form.password.data:
            form.password.errors.append(_("Enter a password for the new account."))
        elif done := saved(form, partial(_save, form, user), "users.index", "users.create"):
            return done
    return render_template("users/form.html", form=form, user=user)


def _save(form: UserForm, user: User | None) -> Saved:
    """Create or update the account; the message saying so."""
    if user is None:
        created = user_service.create_user(_user_data(form), current_user)
        return Saved(_("User %(name)s created.", name=created.username),
                     url_for("users.edit", user_id=created.id))
    user_service.update_user(user.id, _user_data(form), current_user, _int(form.version.data))
    return Saved(_("User %(name)s saved.", name=user.username), url_for("users.edit", user_id=user.id))


@bp.route("/<int:user_id>/delete", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def delete(user_id: int) -> str | Response:
    """Ask for confirmation and what to do with their blogs (GET), then delete (POST)."""
    user = user_service.get_user(user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        done = _delete([user_id], url_for("users.index"), name=user.username)
        if done is not None:
            return done
    return _confirm_delete(form, [user], bulk=False, back=url_for("users.index"))


@bp.post("/bulk")
@role_required(Role.ADMIN)
def bulk() -> str | Response:
    """Activate, deactivate or delete the selected users; deactivating and deleting ask first."""
    form = BulkUserForm()
    back = safe_back_url(request.form.get("back"), "/users") or url_for("users.index")
    if request.form.get("all_matching") == "1":  # "select all N matching", on every page
        ids = user_service.matching_ids(ListQuery.from_args(list_args(back), user_service.USER_FILTERS))
    else:
        ids = parse_ids(request.form.getlist("ids"))
    if not request.form.get("action"):  # the menu's placeholder
        flash(_("Choose an action from the menu first. Nothing was changed."), "warning")
        return redirect(back)
    if not form.validate_on_submit():
        flash(_("Choose an action for the selected users."), "warning")
        return redirect(back)
    if not ids:
        flash(_("Select at least one user."), "warning")
        return redirect(back)
    if form.action.data in {"delete", "deactivate"}:
        # Your own row is left out, and the page says so, rather than refusing the whole selection.
        ids, skipped = user_service.without_actor(ids, current_user, form.action.data)
        for item in skipped:
            flash(_("%(name)s was skipped: %(reason)s", name=item.user.username, reason=item.reason),
                  "warning")
        if not ids:
            return redirect(back)
    if form.action.data == "delete":
        if form.confirmed.data:
            done = _delete(ids, back)
            if done is not None:
                return done
        form.confirmed.data = "1"
        return _confirm_delete(form, [user_service.get_user(i) for i in ids], bulk=True, back=back)
    if form.action.data == "deactivate" and not form.confirmed.data:
        form.confirmed.data = "1"
        return _confirm_deactivate(form, [user_service.get_user(i) for i in ids], back)
    try:
        count = user_service.set_active(ids, form.action.data == "activate", current_user)
    except DomainError as err:
        flash(err.message, "danger")
    else:
        flash(ngettext("%(num)d user updated.", "%(num)d users updated.", count), "success")
    return redirect(back)


def _delete(ids: list[int], back: str, name: str | None = None) -> Response | None:
    """Delete with the chosen blog handling; None means: show the confirmation again."""
    blogs = request.form.get("blogs") or None
    target = request.form.get("reassign_to", "")
    try:
        count = user_service.delete_users(ids, current_user, blogs,
                                          int(target) if is_id(target) else None)
    except ValidationError as err:
        for messages in err.fields.values():
            for message in messages:
                flash(message, "warning")
        return None
    except DomainError as err:
        flash(err.message, "danger")
        return redirect(back)
    if name:
        flash(_("User %(name)s deleted.", name=name), "success")
    else:
        flash(ngettext("%(num)d user deleted.", "%(num)d users deleted.", count), "success")
    return redirect(back)


def _confirm_delete(form: FlaskForm, users: list[User], bulk: bool, back: str) -> str:
    ids = [u.id for u in users]
    counts = blog_service.count_by_author(ids)
    authors = [u for u in blog_service.possible_authors() if u.id not in ids]
    return render_template("users/confirm_delete.html", form=form, users=users, bulk=bulk, back=back,
                           blog_counts=counts, authors=authors,
                           chosen=request.form.get("blogs", ""), target=request.form.get("reassign_to", ""))


def _confirm_deactivate(form: FlaskForm, users: list[User], back: str) -> str:
    """The confirmation page, counting the accounts that would change (active ones, not yours)."""
    changing = [u for u in users if u.active and u.id != current_user.id]
    return render_template("users/confirm_bulk.html", form=form, users=users, changing=changing, back=back)


def _user_data(form: UserForm) -> UserData:
    return UserData(username=form.username.data, email=form.email.data, role=form.role.data,
                    active=form.active.data, password=form.password.data or None)


def _int(value: str | None) -> int:
    try:
        return ascii_int(value or 0)
    except ValueError:
        return 0
