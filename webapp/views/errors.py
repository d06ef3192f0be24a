"""Error pages in the layout (400, 403, 404, 405, 429, 500) and domain errors left unhandled."""

from __future__ import annotations

from flask import Flask, Response, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.extensions import db
from webapp.services.errors import DomainError
from webapp.views.api.errors import http_error_response, is_api_request


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error in the layout."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(InternalServerError, server_error)


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        403: _("Forbidden"),
        404: _("Page not found"),
        405: _("Method not allowed"),
        413: _("Too large"),
        409: _("Conflict"),
        422: _("Invalid input"),
        429: _("Too many requests"),
        500: _("Something went wrong"),
    }


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        403: _("Your role does not allow you to open this page."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept that kind of request."),
        413: _("The request is larger than the console accepts."),
        500: _("The error has been logged. Try again, and tell an administrator if it happens again."),
    }


def render_error(status: int, message: str | None = None) -> tuple[str, int]:
    """The error page for ``status`` with an optional specific message."""
    title = _titles().get(status, _("Error"))
    text = message or _messages().get(status, "")
    return render_template("errors/error.html", status=status, title=title, message=text), status


def csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_error(400, _("The form was missing its security token or it expired. "
                               "Go back, reload the page and try again."))


def http_error(error: HTTPException) -> tuple[str, int] | HTTPException | Response:
    if error.code is None or error.code < 400:
        return error
    if is_api_request():  # an /api/ URL that matched no API route (404, 405): JSON, not a page
        return http_error_response(error)
    return render_error(error.code)


def domain_error(error: DomainError) -> tuple[str, int]:
    return render_error(error.status, error.message)


def server_error(error: InternalServerError) -> tuple[str, int]:
    db.session.rollback()  # the failed transaction must not break the error page's own queries
    return render_error(500)
