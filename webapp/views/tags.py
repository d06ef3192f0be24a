"""Tag screens: list with usage counts, create, edit, delete, merge, downloads."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.forms import ConfirmForm, MergeTagForm, TagForm
from webapp.models import Role, Tag
from webapp.services import exports
from webapp.services import tags as tag_service
from webapp.services.filters import ascii_int
from webapp.services.paging import ListQuery
from webapp.services.tags import TagData
from webapp.views.helpers import Saved, download_response, role_required, saved

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


@bp.route("/new", methods=["GET", "POST"], endpoint="create")
@bp.route("/<int:tag_id>/edit", methods=["GET", "POST"], endpoint="edit")
@role_required(Role.EDITOR)
def form_page(tag_id: int | None = None) -> str | Response:
    """Create a tag, or edit one: a save over a newer version is refused."""
    tag = tag_service.get_tag(tag_id) if tag_id is not None else None
    form = TagForm(obj=tag) if request.method == "GET" else TagForm()
    save = partial(_save, form, tag)
    if form.validate_on_submit() and (done := saved(form, save, "tags.index", "tags.create")):
        return done
    return render_template("tags/form.html", form=form, tag=tag)


def _save(form: TagForm, tag: Tag | None) -> Saved:
    """Create or update the tag; the message saying so."""
    if tag is None:
        created = tag_service.create_tag(_tag_data(form), current_user)
        return Saved(_("Tag “%(name)s” created.", name=created.name), url_for("tags.edit", tag_id=created.id))
    tag_service.update_tag(tag.id, _tag_data(form), current_user, _version(form.version.data))
    return Saved(_("Tag “%(name)s” saved.", name=form.name.data), url_for("tags.edit", tag_id=tag.id))


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
    merge = partial(_merge, tag, form.target.data)
    if form.validate_on_submit() and (done := saved(form, merge, "tags.index")):
        return done
    return render_template("tags/merge.html", form=form, tag=tag, usage=tag_service.usage_count(tag_id))


def _merge(tag: Tag, target_id: int) -> Saved:
    """Merge ``tag`` into the target; the message saying how many blogs moved."""
    name = tag.name
    moved = tag_service.merge_tags(tag.id, target_id, current_user)
    return Saved(ngettext("Merged “%(name)s” into “%(target)s”: %(num)d blog moved.",
                    "Merged “%(name)s” into “%(target)s”: %(num)d blogs moved.",
                    moved, name=name, target=tag_service.get_tag(target_id).name))


def _tag_data(form: TagForm) -> TagData:
    return TagData(name=form.name.data or "", description=form.description.data or "",
                   colour=form.colour.data or "", slug=form.slug.data or "")


def _version(value: object) -> int:
    """The form's version; a missing or broken one is a conflict (-1), never "whatever is stored"."""
    try:
        return ascii_int(value)
    except ValueError:
        return -1
