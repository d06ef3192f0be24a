"""Tag screens: list with usage counts, create, edit, delete, merge, downloads."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.forms import ConfirmForm, MergeTagForm, TagForm
from webapp.models import Role
from webapp.services import exports
from webapp.services import tags as tag_service
from webapp.services.errors import Conflict, ValidationError
from webapp.services.filters import ascii_int
from webapp.services.paging import ListQuery
from webapp.services.tags import TagData
from webapp.views.helpers import add_form_errors, download_response, role_required

bp = Blueprint("tags", __name__, url_prefix="/tags")


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    """Tags with how many blogs use each; sortable and searchable."""
    query = ListQuery.from_args(request.args)
    page = tag_service.list_tags(query)
    return render_template("tags/index.html", page=page, query=query,
                           can_edit=current_user.has_role(Role.EDITOR))


@bp.get("/export.<fmt>")
@role_required(Role.VIEWER)
def export(fmt: str) -> Response:
    """The current filtered tag list as CSV or JSON, streamed."""
    if fmt not in exports.FORMATS:
        abort(404)
    mimetype, writer = exports.FORMATS[fmt]
    body = writer(exports.tag_records(ListQuery.from_args(request.args)), exports.TAG_COLUMNS)
    return download_response(body, mimetype, f"tags.{fmt}")


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def create() -> str | Response:
    """Create a tag."""
    form = TagForm()
    if form.validate_on_submit():
        try:
            tag = tag_service.create_tag(_tag_data(form), current_user)
        except ValidationError as err:
            add_form_errors(form, err)
        else:
            flash(_("Tag “%(name)s” created.", name=tag.name), "success")
            return redirect(url_for("tags.index"))
    return render_template("tags/form.html", form=form, tag=None)


@bp.route("/<int:tag_id>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit(tag_id: int) -> str | Response:
    """Edit a tag; a save over a newer version is refused."""
    tag = tag_service.get_tag(tag_id)
    form = TagForm(obj=tag) if request.method == "GET" else TagForm()
    if form.validate_on_submit():
        try:
            version = _version(form.version.data)
            tag_service.update_tag(tag_id, _tag_data(form), current_user, version)
        except ValidationError as err:
            add_form_errors(form, err)
        except Conflict as err:
            flash(err.message, "warning")
        else:
            flash(_("Tag “%(name)s” saved.", name=form.name.data), "success")
            return redirect(url_for("tags.index"))
    return render_template("tags/form.html", form=form, tag=tag)


@bp.route("/<int:tag_id>/delete", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def delete(tag_id: int) -> str | Response:
    """Confirm (saying how many blogs use the tag), then delete."""
    tag = tag_service.get_tag(tag_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        tag_service.delete_tags([tag_id], current_user)
        flash(_("Tag “%(name)s” deleted.", name=tag.name), "success")
        return redirect(url_for("tags.index"))
    return render_template("tags/confirm_delete.html", form=form, tag=tag,
                           usage=tag_service.usage_count(tag_id))


@bp.route("/<int:tag_id>/merge", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def merge(tag_id: int) -> str | Response:
    """Merge this tag into another: its blogs move to the target and it is deleted."""
    tag = tag_service.get_tag(tag_id)
    form = MergeTagForm()
    form.target.choices = [(t.id, t.name) for t in tag_service.all_tags() if t.id != tag_id]
    if form.validate_on_submit():
        try:
            moved = tag_service.merge_tags(tag_id, form.target.data, current_user)
        except ValidationError as err:
            add_form_errors(form, err)
        else:
            target = tag_service.get_tag(form.target.data)
            flash(ngettext("Merged “%(name)s” into “%(target)s”: %(num)d blog moved.",
                           "Merged “%(name)s” into “%(target)s”: %(num)d blogs moved.",
                           moved, name=tag.name, target=target.name), "success")
            return redirect(url_for("tags.index"))
    return render_template("tags/merge.html", form=form, tag=tag, usage=tag_service.usage_count(tag_id))


def _tag_data(form: TagForm) -> TagData:
    return TagData(name=form.name.data or "", description=form.description.data or "",
                   colour=form.colour.data or "", slug=form.slug.data or "")


def _version(value: object) -> int:
    """The form's version; a missing or broken one is a conflict (-1), never "whatever is stored"."""
    try:
        return ascii_int(value)
    except ValueError:
        return -1
