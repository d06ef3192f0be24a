"""The audit log page (admins only)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from webapp.forms import AuditFilterForm
from webapp.models import Role
from webapp.services import audit as audit_service
from webapp.services.filters import day_range_utc, parse_day
from webapp.services.paging import ListQuery
from webapp.views.audit_words import entry_views, kind_label, object_url
from webapp.views.helpers import role_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> str:
    """Every recorded change, filterable by user, action, object type and dates.

    Each filter applies on its own: a bad date is reported beside its field and
    the other filters still hold.
    """
    form = AuditFilterForm(request.args)
    form.object_type.choices = [
        form.object_type.choices[0], *(SelectChoice(t) for t in audit_service.object_types())
    ]
    form.validate()
    filters: dict[str, object] = {
        name: field.data for name in ("actor", "action", "object_type")
        if not (field := getattr(form, name)).errors and field.data
    }
    date_errors: dict[str, list[str]] = {}
    since = parse_day(request.args.get("since"), "since", date_errors)
    until = parse_day(request.args.get("until"), "until", date_errors)
    for name, messages in date_errors.items():
        getattr(form, name).errors = messages
    filters["since"], filters["until"] = day_range_utc(since, until)
    # One record's history (the "History" link of its page): its type and id.
    object_id = request.args.get("object_id", "")[:64]
    if object_id and filters.get("object_type"):
        filters["object_id"] = object_id
    base = ListQuery.from_args(request.args)
    query = ListQuery(page=base.page, per_page=base.per_page, sort=base.sort, desc=base.desc,
                      search=base.search, filters={k: v for k, v in filters.items() if v})
    page = audit_service.list_entries(query, current_user)
    page.items = entry_views(page.items)
    return render_template("audit/index.html", page=page, query=query, form=form,
                           record=_record(filters))


def _record(filters: dict[str, object]) -> dict[str, str | None] | None:
    """The record whose history is shown, if the list is cut to one."""
    if not filters.get("object_id"):
        return None
    object_type, object_id = str(filters["object_type"]), str(filters["object_id"])
    return {"kind": kind_label(object_type), "id": object_id, "url": object_url(object_type, object_id)}
