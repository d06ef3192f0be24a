"""JSON API v1: one flask-smorest blueprint ``api_v1`` at ``/api/v1`` with a nested
blueprint per resource (``users``, ``blogs``, ``tags``, ``jobs``, ``tasks``, ``system``),
over the same services as the pages.

Endpoints are named ``api_v1.<resource>.<View>``. Authentication, CSRF for
session callers and the JSON error handlers are set once on ``api_v1`` and apply
to every nested blueprint. The OpenAPI document is generated from the schemas
and served, with Swagger UI, by :mod:`webapp.views.api.docs`.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_babel import lazy_gettext as _l
from flask_smorest import Api, Blueprint

from webapp.extensions import csrf
from webapp.views.api import blogs, docs, jobs, system, tags, users
from webapp.views.api.auth import authenticate_request
from webapp.views.api.errors import register_error_handlers
from webapp.views.api.schemas import ErrorSchema

api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1", description=_l("Admin console API, version 1."))
RESOURCES = (users.bp, blogs.bp, tags.bp, jobs.bp, jobs.tasks_bp, system.bp)
for _resource in RESOURCES:
    api_v1.register_blueprint(_resource)
api_v1.before_request(authenticate_request)
register_error_handlers(api_v1)


@api_v1.after_request
def no_store(response: Response) -> Response:
    """API answers carry account data: no cache keeps them (the pages do the same)."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "A personal API token, created on your profile page."},
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                   "description": "The browser session; state changes also need the X-CSRFToken header."},
}


class ConsoleApi(Api):
    """flask-smorest's Api with this API's error schema and without its app-wide error handler.

    The stock handler would answer every HTTP error of the app (HTML pages too)
    with JSON; the API registers its own handlers on its blueprints instead.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Leave the app's HTML error pages alone (see webapp.views.api.errors)."""

    def _register_pagination_header(self) -> None:
        """Lists send ``Link`` and ``X-Total-Count``, not flask-smorest's X-Pagination."""

    def _register_etag_headers(self) -> None:
        """ETags here are plain quoted versions, documented per operation."""


def register_api(app: Flask) -> ConsoleApi:
    """Bind API v1 and its documentation to ``app``."""
    api = ConsoleApi(app, spec_kwargs={
        "title": "Admin console API",
        "version": "v1",
        "openapi_version": "3.0.3",
        "info": {"description": "Users, blogs, tags and scheduled jobs. The same rules, roles and "
                               "audit log as the "
                               "console's pages. Lists take `page`, `per_page`, `sort` (`-` for "
                               "descending) and `q`, and send `Link` and `X-Total-Count` headers."},
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    })
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    api.register_blueprint(api_v1)
    for resource in RESOURCES:
        api.spec.tag({"name": resource.name, "description": str(resource.description)})
        csrf.exempt(resource)
    csrf.exempt(api_v1)  # session callers are checked in authenticate_request
    app.register_blueprint(docs.bp)
    return api
