"""The OpenAPI document and Swagger UI of API v1, for signed-in users of any role.

A plain Flask blueprint beside ``api_v1`` (same URL prefix) so these two routes
stay out of the document they serve. flask-smorest's own Swagger UI page is not
used: it runs an inline script, which the Content-Security-Policy forbids; this
page loads the vendored bundle and ``static/js/swagger_init.js`` instead.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, json, render_template, url_for
from flask_login import current_user

from webapp.extensions import login_manager
from webapp.views.api.auth import authenticate_request
from webapp.views.api.errors import register_error_handlers

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")
register_error_handlers(bp)


def api_spec() -> dict[str, Any]:
    """The generated OpenAPI document of this app."""
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return api.spec.to_dict()  # type: ignore[no-any-return]


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3 document (session or bearer token)."""
    authenticate_request()
    return current_app.response_class(json.dumps(api_spec(), indent=2), mimetype="application/json")


@bp.get("/docs")
def swagger_ui() -> str | Response:
    """Swagger UI over the document; signs in first like every page."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return render_template("api/docs.html", spec_url=url_for("api_docs.openapi_json"))
