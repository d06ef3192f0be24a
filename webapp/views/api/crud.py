"""What the API's create / read / update / delete resources share (users, tags, blogs).

Each resource module keeps its MethodView classes, whose docstrings are the operations'
summaries, and its service calls. The decorators here document the operations alike
(the same arguments, responses, headers and error statuses on every resource) and the
helpers answer alike (ETag, Location, Link and X-Total-Count headers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema

from webapp.models import User
from webapp.services.access import require_role
from webapp.services.paging import Page
from webapp.views.api.auth import api_user
from webapp.views.api.common import (
    ETAG_HEADER,
    IF_MATCH,
    LIST_HEADERS,
    document_errors,
    etag,
    expected_version,
    list_headers,
    page_body,
)

F = TypeVar("F", bound=Callable[..., Any])
SchemaType = type[Schema]


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """The decorators as if written above the function in this order (the last one applies first)."""

    def decorate(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


def lists(bp: Blueprint, args: SchemaType, page: SchemaType) -> Callable[[F], F]:
    """A collection's GET: query arguments (bad ones: 400), a page with its Link headers."""
    return _stack(bp.arguments(args, location="query", error_status_code=400),
                  bp.response(200, page, headers=LIST_HEADERS),
                  document_errors(bp, 400, 403))


def creates(bp: Blueprint, body: SchemaType, schema: SchemaType) -> Callable[[F], F]:
    """A collection's POST: a JSON body; 201 with the new object, its ETag and Location."""
    return _stack(bp.arguments(body),
                  bp.response(201, schema, headers=ETAG_HEADER),
                  document_errors(bp, 400, 403, 415, 422))


def reads(bp: Blueprint, schema: SchemaType) -> Callable[[F], F]:
    """An item's GET: the object with its ETag."""
    return _stack(bp.response(200, schema, headers=ETAG_HEADER),
                  document_errors(bp, 403, 404))


def updates(bp: Blueprint, body: SchemaType, schema: SchemaType) -> Callable[[F], F]:
    """An item's PATCH: the fields sent (no body: nothing changes), ``If-Match`` or ``version``."""
    return _stack(bp.arguments(body, required=False),
                  bp.response(200, schema, headers=ETAG_HEADER),
                  bp.doc(parameters=[IF_MATCH]),
                  document_errors(bp, 400, 403, 404, 409, 415, 422))


def deletes(bp: Blueprint, args: SchemaType | None = None) -> Callable[[F], F]:
    """An item's DELETE: 204; with query ``args`` (bad ones: 400, refused ones: 422)."""
    if args is None:
        return _stack(bp.response(204), document_errors(bp, 403, 404))
    return _stack(bp.arguments(args, location="query", error_status_code=400),
                  bp.response(204),
                  document_errors(bp, 400, 403, 404, 422))


def caller(minimum: str) -> User:
    """The signed-in caller, who needs at least the ``minimum`` role (403 otherwise)."""
    actor = api_user()
    require_role(actor, minimum)
    return actor


def listed(page: Page[Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A list answer: the page's rows and totals, with its Link and X-Total-Count headers."""
    return page_body(page), list_headers(page)


def read(minimum: str, get: Callable[[int], Any], item_id: int) -> tuple[Any, dict[str, str]]:
    """An item's GET: for callers with the ``minimum`` role, what ``get`` finds, with its ETag."""
    caller(minimum)
    return versioned(get(item_id))


def versioned(body: Any) -> tuple[Any, dict[str, str]]:
    """An object (anything with a ``version``) with its ETag."""
    return body, etag(body.version)


def created(body: Any, endpoint: str, id_arg: str) -> tuple[Any, dict[str, str]]:
    """A new object (with an ``id`` and a ``version``), its ETag and its Location: the URL of
    ``endpoint`` with the object's id as ``id_arg``."""
    location = url_for(endpoint, **{id_arg: body.id}, _external=True)
    return body, {**etag(body.version), "Location": location}


def edited(data: dict[str, Any], current: Any, fields: Iterable[str]) -> tuple[dict[str, Any], int | None]:
    """A PATCH body over the stored object: each of ``fields`` as sent, else as ``current`` has it;
    and the version the caller edited (``version`` in the body or ``If-Match``; None: neither)."""
    version = expected_version(data.pop("version", None))
    return {name: data[name] if name in data else getattr(current, name) for name in fields}, version
