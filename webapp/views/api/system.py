"""``/api/v1/system``: readings of the machine, for scripts (same fields as the monitor's socket)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import fields

from webapp.models import Role
from webapp.monitor import readings
from webapp.services.access import require_role
from webapp.views.api.auth import api_user
from webapp.views.api.common import document_errors
from webapp.views.api.schemas import ApiSchema

bp = Blueprint("system", __name__, url_prefix="/system", description=_l("Readings of the server machine."))
TAGS = ["system"]


class RamSchema(ApiSchema):
    total = fields.Integer(required=True, metadata={"description": "Bytes."})
    available = fields.Integer(required=True)
    used = fields.Integer(required=True, metadata={"description": "total - available, in bytes."})
    percent = fields.Float(required=True)


class MemorySchema(ApiSchema):
    """One reading: the same object the monitor's ``memory`` socket event carries."""

    seq = fields.Integer(required=True, metadata={"description": "Readings taken by the sampler so far."})
    ts = fields.Float(required=True, metadata={"description": "Unix time of the reading."})
    ram = fields.Nested(RamSchema, required=True)
    swap_used_percent = fields.Float(required=True)
    virtual = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                          metadata={"description": "Every field of psutil.virtual_memory()."})
    swap = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                       metadata={"description": "Every field of psutil.swap_memory()."})


@bp.route("/memory", tags=TAGS)
class Memory(MethodView):
    @bp.response(200, MemorySchema)
    @document_errors(bp, 403)
    def get(self) -> Any:
        """Memory now

        A fresh reading of RAM and swap, in the format of the live monitor's
        `memory` messages (see the README).
        """
        require_role(api_user(), Role.VIEWER)
        sampler = current_app.extensions["monitor.sampler"]
        return readings.memory_sample(sampler.reads)
