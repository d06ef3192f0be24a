"""Blog screens: list with filters and bulk actions, form with preview, detail, downloads."""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from webapp import localtime
from webapp.forms import BlogForm, BulkBlogForm, ConfirmForm
from webapp.models import Blog, BlogStatus, Role
from webapp.services import background, blog_tasks, exports, uploads
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services.blogs import BlogData
from webapp.services.errors import Conflict, DomainError, ValidationError
from webapp.services.filters import BlogFilters, ascii_int, parse_blog_filters, parse_ids
from webapp.services.markdown import render_blog_body, render_markdown
from webapp.services.paging import ListQuery
from webapp.views import tasks
from webapp.views.helpers import add_form_errors, download_response, list_args, role_required, safe_back_url

bp = Blueprint("blogs", __name__, url_prefix="/blogs")

COVER_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)$")
#: Bulk actions that show a confirmation page first (with how many blogs they change).
CONFIRM_FIRST = frozenset({"publish", "delete"})


def _list_request() -> tuple[ListQuery, BlogFilters, list[str]]:
    """The list query and filters of this request; bad filters are reported, not applied."""
    query = ListQuery.from_args(request.args)
    try:
        return query, parse_blog_filters(request.args), []
    except ValidationError as err:
        return query, BlogFilters(), [m for msgs in err.fields.values() for m in msgs]


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    """The blog list: search, filters by tag / author / status / dates, sorting, pages."""
    query, filters, filter_errors = _list_request()
    return render_template(
        "blogs/index.html", page=blog_service.list_blogs(query, filters), query=query, filters=filters,
        filter_errors=filter_errors, tag_choices=tag_service.tag_choices(),
        author_choices=blog_service.author_choices(),
        status_choices=[(BlogStatus.DRAFT.value, _("Draft")), (BlogStatus.PUBLISHED.value, _("Published"))],
        can_edit=current_user.has_role(Role.EDITOR),
    )


@bp.route("/export.<fmt>", methods=["GET", "POST"])
@role_required(Role.VIEWER)
def export(fmt: str) -> str | BaseResponse:
    """The current filtered list as CSV or JSON, streamed; a big one is prepared in the background."""
    if fmt not in exports.FORMATS:
        abort(404)
    query, filters, _errors = _list_request()
    records = None if request.method == "POST" else blog_tasks.small_download(query, filters)
    if records is None:
        return tasks.start_export(fmt)
    mimetype, writer = exports.FORMATS[fmt]
    body = writer(records, exports.BLOG_COLUMNS)
    return download_response(body, mimetype, f"blogs.{fmt}")


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def create() -> str | BaseResponse:
    """Write a new blog."""
    form = BlogForm()
    _author_choices(form)
    if request.method == "GET" and form.author_id is not None:
        form.author_id.data = current_user.id
    if form.validate_on_submit():
        try:
            blog = blog_service.create_blog(_blog_data(form), current_user, cover=_cover(form))
        except ValidationError as err:
            add_form_errors(form, err)
        else:
            flash(_("Blog “%(title)s” created.", title=blog.title), "success")
            return redirect(_after_save(blog.id))
    return _form_page(form, blog=None, current=None)


@bp.route("/<int:blog_id>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit(blog_id: int) -> str | BaseResponse:
    """Edit a blog; saving over a newer version keeps the typed text and shows the other one."""
    blog = blog_service.get_blog(blog_id)
    form = BlogForm()
    _author_choices(form)
    current = None
    if request.method == "GET":
        _fill(form, blog)
    elif form.validate_on_submit():
        try:
            blog_service.update_blog(blog_id, _blog_data(form), current_user, _version(form),
                                     cover=_cover(form), remove_cover=form.remove_cover.data)
        except ValidationError as err:
            add_form_errors(form, err)
        except Conflict as err:
            flash(err.message, "warning")
            current = blog_service.get_blog(blog_id)
        else:
            flash(_("Blog “%(title)s” saved.", title=form.title.data), "success")
            return redirect(_after_save(blog_id))
    return _form_page(form, blog=blog, current=current)


def _after_save(blog_id: int) -> str:
    """Where the button pressed leads: the blog, a blank form, or the blog's form again."""
    then = request.form.get("then")
    if then == "add":
        return url_for("blogs.create")
    if then == "continue":
        return url_for("blogs.edit", blog_id=blog_id)
    return url_for("blogs.detail", blog_id=blog_id)


def _form_page(form: BlogForm, blog: Blog | None, current: Blog | None) -> str:
    tag_names = [t.name for t in tag_service.all_tags()]
    return render_template("blogs/form.html", form=form, blog=blog, current=current, tag_names=tag_names)


@bp.get("/<int:blog_id>")
@role_required(Role.VIEWER)
def detail(blog_id: int) -> str:
    """A blog with its rendered, sanitised text."""
    blog = blog_service.get_blog(blog_id)
    body_html = render_blog_body(blog.id, blog.version, blog.body)
    return render_template("blogs/detail.html", blog=blog, body_html=body_html,
                           can_edit=current_user.has_role(Role.EDITOR))


@bp.post("/preview")
@role_required(Role.EDITOR)
def preview() -> Response:
    """Markdown rendered and sanitised on the server, for the form's live preview."""
    text = request.form.get("body", "")[: blog_service.MAX_BODY]
    return Response(str(render_markdown(text)), mimetype="text/html")


@bp.get("/covers/<name>")
@login_required
def cover(name: str) -> BaseResponse:
    """A stored cover image, for signed-in users only."""
    if not COVER_NAME.match(name):
        abort(404)
    response = send_from_directory(uploads.upload_dir(), name, max_age=3600)
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@bp.route("/<int:blog_id>/delete", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def delete(blog_id: int) -> str | BaseResponse:
    """Confirm (GET), then delete (POST)."""
    blog = blog_service.get_blog(blog_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        blog_service.delete_blogs([blog_id], current_user)
        flash(_("Blog “%(title)s” deleted.", title=blog.title), "success")
        return redirect(url_for("blogs.index"))
    return render_template("blogs/confirm_delete.html", form=form, blogs=[blog], bulk=False,
                           back=url_for("blogs.detail", blog_id=blog_id))


@bp.post("/bulk")
@role_required(Role.EDITOR)
def bulk() -> str | BaseResponse:
    """Publish, unpublish, tag, untag or delete the selected blogs (publishing and deleting ask first)."""
    form = BulkBlogForm()
    back = safe_back_url(request.form.get("back"), "/blogs") or url_for("blogs.index")
    every = request.form.get("all_matching") == "1"  # "select all N matching", on every page
    ids = _matching(back) if every else parse_ids(request.form.getlist("ids"))
    if not request.form.get("action"):  # the menu's placeholder
        flash(_("Choose an action from the menu first. Nothing was changed."), "warning")
        return redirect(back)
    if not form.validate_on_submit() or not ids:
        flash(_("Select at least one blog and an action."), "warning")
        return redirect(back)
    action = form.action.data
    try:
        if action in CONFIRM_FIRST and not form.confirmed.data:
            return _confirm(form, action, ids, back)
        if background.over_threshold(len(ids)):
            return tasks.start_bulk(action, ids, form.tag_id.data, back)
        count = _apply(action, ids, form.tag_id.data)
    except DomainError as err:
        flash(err.message, "danger")
    else:
        flash(tasks.bulk_done_message(action, count), "success")
    return redirect(back)


def _matching(back: str) -> Sequence[int]:
    """"All N matching": the ids of every blog the list at ``back`` shows, on every page."""
    args = list_args(back)
    try:
        filters = parse_blog_filters(args)
    except ValidationError:
        return []
    return blog_service.matching_ids(ListQuery.from_args(args), filters)


def _confirm(form: BulkBlogForm, action: str, ids: Sequence[int], back: str) -> str:
    """The confirmation page of a bulk publish or delete, saying how many blogs change."""
    form.confirmed.data = "1"
    blogs = [blog_service.get_blog(i) for i in ids]
    if action == "delete":
        return render_template("blogs/confirm_delete.html", form=form, blogs=blogs, bulk=True, back=back)
    drafts = [b for b in blogs if b.status != BlogStatus.PUBLISHED]
    return render_template("blogs/confirm_bulk.html", form=form, action=action, blogs=blogs,
                           changing=drafts, back=back)


def _apply(action: str, ids: Sequence[int], tag_id: int | None) -> int:
    return blog_tasks.apply_bulk(action, ids, tag_id, current_user)


# -- form helpers --------------------------------------------------------------


def _author_choices(form: BlogForm) -> None:
    if current_user.has_role(Role.ADMIN):
        form.author_id.choices = [(u.id, u.username) for u in blog_service.possible_authors()]
    else:
        del form.author_id  # editors write as themselves


def _fill(form: BlogForm, blog: Blog) -> None:
    form.title.data, form.slug.data, form.body.data = blog.title, blog.slug, blog.body
    form.status.data, form.version.data = blog.status, blog.version
    form.tags.data = ", ".join(t.name for t in blog.tags)
    if blog.publish_at:
        form.publish_at.data = localtime.to_local(blog.publish_at).replace(tzinfo=None)
    if form.author_id is not None:
        form.author_id.data = blog.author_id


def _blog_data(form: BlogForm) -> BlogData:
    author = form.author_id
    return BlogData(
        title=form.title.data or "", body=form.body.data or "", status=form.status.data,
        publish_at=localtime.from_local(form.publish_at.data) if form.publish_at.data else None,
        author_id=author.data if author is not None else None,
        tags=[t for t in (form.tags.data or "").split(",") if t.strip()],
        slug=form.slug.data or "",
    )


def _cover(form: BlogForm) -> FileStorage | None:
    upload = form.cover.data
    return upload if upload and getattr(upload, "filename", "") else None


def _version(form: BlogForm) -> int:
    # A missing or broken version is a conflict, never "save over whatever is there".
    try:
        return ascii_int(form.version.data)
    except ValueError:
        return -1
