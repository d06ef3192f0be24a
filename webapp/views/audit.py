"""The audit log page (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import get_timezone
from wtforms.fields.choices import SelectChoice

from webapp.forms import AuditFilterForm
from webapp.models import Role
from webapp.services import audit as audit_service
from webapp.services.paging import ListQuery
from webapp.views.helpers import role_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> str:
    """Every recorded change, filterable by user, action, object type and dates."""
    form = AuditFilterForm(request.args)
    form.object_type.choices = [
        form.object_type.choices[0], *(SelectChoice(t) for t in audit_service.object_types())
    ]
    filters: dict[str, object] = {}
    if form.validate():
        filters = {k: v for k in ("actor", "action", "object_type") if (v := getattr(form, k).data)}
        if form.since.data:
            filters["since"] = _day_start_utc(form.since.data)
        if form.until.data:  # inclusive: up to the end of that day
            filters["until"] = _day_start_utc(form.until.data) + timedelta(days=1)
    base = ListQuery.from_args(request.args)
    query = ListQuery(page=base.page, per_page=base.per_page, sort=base.sort, desc=base.desc,
                      search=base.search, filters=filters)
    page = audit_service.list_entries(query)
    return render_template("audit/index.html", page=page, query=query, form=form)


def _day_start_utc(day: object) -> datetime:
    """Midnight of ``day`` in the display time zone, as UTC."""
    local = datetime.combine(day, time.min).replace(tzinfo=ZoneInfo(str(get_timezone())))  # type: ignore[arg-type]
    return local.astimezone(UTC)
