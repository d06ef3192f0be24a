"""JSON errors for the API: ``{"error": {"status", "message", "fields"?, "current_version"?}}``.

Every failure under ``/api/`` answers in this shape, never with an HTML page:
the API blueprints register the handlers below, and the app's HTML error
handlers hand requests for unrouted ``/api/`` URLs (404, 405) to
:func:`http_error_response`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.services.errors import Conflict, DomainError, Throttled, ValidationError

API_PATH_PREFIX = "/api/"


class ApiError(Exception):
    """An error raised by the API layer itself (authentication, parameters, preconditions)."""

    def __init__(self, status: int, message: str, fields: Mapping[str, list[str]] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


def is_api_request() -> bool:
    """True when the current request is addressed to the JSON API."""
    return request.path.startswith(API_PATH_PREFIX)


def error_response(status: int, message: str, fields: Mapping[str, list[str]] | None = None,
                   headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    """The JSON error body with ``status``; ``extra`` adds keys such as ``current_version``."""
    error: dict[str, Any] = {"status": status, "message": str(message)}
    if fields:
        error["fields"] = {str(k): [str(m) for m in v] for k, v in fields.items()}
    error.update(extra)
    response = jsonify({"error": error})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(blueprint: Blueprint) -> None:
    """Answer every error raised inside ``blueprint`` (and its children) with JSON."""
    blueprint.register_error_handler(ApiError, api_error)
    blueprint.register_error_handler(DomainError, domain_error)
    # Code-specific classes: the app's HTML handlers for these would otherwise win.
    blueprint.register_error_handler(CSRFError, csrf_error)
    blueprint.register_error_handler(InternalServerError, server_error)
    blueprint.register_error_handler(RecursionError, nested_too_deeply)
    blueprint.register_error_handler(HTTPException, http_error_response)


def api_error(error: ApiError) -> Response:
    """An error raised by the API layer itself."""
    return error_response(error.status, error.message, error.fields, error.headers)


def domain_error(error: DomainError) -> Response:
    """NotFound 404, Forbidden 403, Conflict 409 (with the current version), ValidationError 422."""
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(error, Conflict) and error.current is not None:
        version = _current_version(error.current)
        if version is not None:
            extra["current_version"] = version
            headers["ETag"] = f'"{version}"'
    if isinstance(error, Throttled):
        headers["Retry-After"] = str(error.retry_after)
    fields = error.fields if isinstance(error, ValidationError) else None
    return error_response(error.status, error.message or _status_message(error.status), fields,
                          headers, **extra)


def csrf_error(error: CSRFError) -> Response:
    """A session caller's state change without a valid X-CSRFToken header."""
    return error_response(400, _("A signed-in browser session must send the X-CSRFToken header "
                                 "(the token is in the page's csrf-token meta tag)."))


def nested_too_deeply(error: RecursionError) -> Response:
    """A JSON body nested deeper than the parser goes (``[[[[...``) is bad input, not a crash."""
    return error_response(400, _("The JSON body is nested too deeply."))


def server_error(error: InternalServerError) -> Response:
    """Log the cause; the client only learns that it failed."""
    original = getattr(error, "original_exception", None)
    if original is not None:
        current_app.logger.error("API error on %s %s", request.method, request.path,
                                 exc_info=original)
    return error_response(500, _status_message(500))


def http_error_response(error: HTTPException) -> Response | HTTPException:
    """Any HTTP error (routing, webargs validation, aborts) as the JSON error body."""
    status = error.code or 500
    if status < 400:
        return error
    if status >= 500:
        return error_response(status, _status_message(500))
    headers = {k: v for k, v in error.get_headers() if k.lower() in {"allow", "www-authenticate"}}
    data = getattr(error, "data", None) or {}
    if isinstance(getattr(error, "exc", None), json.JSONDecodeError | UnicodeDecodeError):
        return error_response(400, _("The request body is not valid JSON."), headers=headers)
    fields = flatten_messages(data["messages"]) if "messages" in data else None
    if fields:
        message = (_("Some fields are not valid.") if status == 422
                   else _("Some parameters are not valid."))
        return error_response(status, message, fields, headers)
    return error_response(status, _status_message(status), headers=headers)


def flatten_messages(messages: Any) -> dict[str, list[str]]:
    """webargs' ``{location: {field: [msg] | {index: [msg]}}}`` as ``{"field.index": [msg]}``.

    A repeated query parameter is named without the index (``tag``, not ``tag.1``).
    """
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping) and set(messages) <= {"json", "query", "querystring",
                                                           "headers", "view_args"}:
        for location, per_location in messages.items():
            _flatten(per_location, "", out, indexed=location == "json")
    else:
        _flatten(messages, "", out)
    return out


def _flatten(messages: Any, prefix: str, out: dict[str, list[str]], indexed: bool = True) -> None:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if not indexed and isinstance(key, int):
                _flatten(value, prefix, out, indexed)
            else:
                _flatten(value, f"{prefix}.{key}" if prefix else str(key), out, indexed)
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, Mapping | list | tuple):
                _flatten(item, prefix, out, indexed)
            else:
                _add(out, prefix, item)
    else:
        _add(out, prefix, messages)


def _add(out: dict[str, list[str]], name: str, message: Any) -> None:
    messages = out.setdefault(name or "_schema", [])
    if str(message) not in messages:
        messages.append(str(message))


def _current_version(obj: Any) -> int | None:
    try:
        return int(obj.version)
    except Exception:  # deleted meanwhile, or detached: the message still explains
        return None


def _status_message(status: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Sign in or send an API token."),
        403: _("Your role does not allow this."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept that method."),
        409: _("The object changed since you read it."),
        413: _("The request is too large."),
        415: _("Send a JSON body with Content-Type: application/json."),
        422: _("Some fields are not valid."),
        429: _("Too many requests; try again later."),
        500: _("The error has been logged. Try again, and tell an administrator if it happens again."),
    }
    return messages.get(status, _("The request failed."))
