"""User administration screens (admins only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.forms import BulkUserForm, ConfirmForm, UserForm
from webapp.models import Role
from webapp.services import users as user_service
from webapp.services.errors import Conflict, DomainError, ValidationError
from webapp.services.paging import ListQuery
from webapp.services.users import UserData
from webapp.views.helpers import add_form_errors, role_required, validate_form

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> str:
    """The user list: search, filters, sorting, pagination and bulk actions."""
    query = ListQuery.from_args(request.args, user_service.USER_FILTERS)
    page = user_service.list_users(query)
    return render_template("users/index.html", page=page, query=query,
                           bulk_form=BulkUserForm(), roles=list(Role))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create() -> str | Response:
    """Create an account."""
    form = UserForm()
    if validate_form(form, lambda: user_service.check_user_data(_user_data(form))):
        if not form.password.data:
            form.password.errors.append(_("Enter a password for the new account."))
        else:
            try:
                user = user_service.create_user(_user_data(form), current_user)
            except ValidationError as err:
                add_form_errors(form, err)
            else:
                flash(_("User %(name)s created.", name=user.username), "success")
                return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, user=None)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(user_id: int) -> str | Response:
    """Edit an account; a save over someone else's newer change is refused."""
    user = user_service.get_user(user_id)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.version.data = user.version
    if validate_form(form, lambda: user_service.check_user_data(_user_data(form), user_id)):
        try:
            user_service.update_user(user_id, _user_data(form), current_user,
                                     _int(form.version.data))
        except ValidationError as err:
            add_form_errors(form, err)
        except Conflict as err:
            flash(err.message, "warning")
        else:
            flash(_("User %(name)s saved.", name=user.username), "success")
            return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, user=user)


@bp.route("/<int:user_id>/delete", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def delete(user_id: int) -> str | Response:
    """Ask for confirmation (GET), then delete (POST)."""
    user = user_service.get_user(user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            user_service.delete_user(user_id, current_user)
        except DomainError as err:
            flash(err.message, "danger")
            return redirect(url_for("users.index"))
        flash(_("User %(name)s deleted.", name=user.username), "success")
        return redirect(url_for("users.index"))
    return render_template("users/confirm_delete.html", form=form, users=[user])


@bp.post("/bulk")
@role_required(Role.ADMIN)
def bulk() -> str | Response:
    """Activate, deactivate or delete the selected users; deletion asks first."""
    form = BulkUserForm()
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    back = request.form.get("back") or url_for("users.index")
    back = back if back.startswith("/users") else url_for("users.index")
    if not form.validate_on_submit():
        flash(_("Choose an action for the selected users."), "warning")
        return redirect(back)
    if not ids:
        flash(_("Select at least one user."), "warning")
        return redirect(back)
    action = form.action.data
    try:
        if action == "delete" and not form.confirmed.data:
            users = [user_service.get_user(i) for i in ids]
            form.confirmed.data = "1"
            return render_template("users/confirm_delete.html", form=form, users=users,
                                   bulk=True, back=back)
        if action == "delete":
            count = user_service.delete_users(ids, current_user)
            message = ngettext("%(num)d user deleted.", "%(num)d users deleted.", count)
        else:
            count = user_service.set_active(ids, action == "activate", current_user)
            message = ngettext("%(num)d user updated.", "%(num)d users updated.", count)
    except DomainError as err:
        flash(err.message, "danger")
    else:
        flash(message, "success")
    return redirect(back)


def _user_data(form: UserForm) -> UserData:
    return UserData(username=form.username.data, email=form.email.data, role=form.role.data,
                    active=form.active.data, password=form.password.data or None)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
