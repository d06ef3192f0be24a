"""Helpers the resource modules share: list queries, Link headers, ETags, documented errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint

from webapp.services.limits import MAX_ID, MAX_VERSION
from webapp.services.paging import ListQuery, Page
from webapp.views.api.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])

#: A path segment carrying an id: positive and within the database's 32-bit integers.
ID = f"int(min=1, max={MAX_ID})"

LIST_HEADERS = {
    "Link": {"description": "RFC 5988 links: first, prev, next, last.", "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Rows matching, on all pages (a lower bound when the body's "
                                     "`total_capped` is true).", "schema": {"type": "integer"}},
}
ETAG_HEADER = {"ETag": {"description": 'The version, quoted: "3". Send it back in If-Match.',
                        "schema": {"type": "string"}}}
#: An ETag as this API sends them: a version from 1 to MAX_VERSION (all nines), quoted.
_VERSION_RE = f"[1-9][0-9]{{0,{len(str(MAX_VERSION)) - 1}}}"
ETAG_PATTERN = f'^(\\*|(W/)?"{_VERSION_RE}")$'
IF_MATCH = {
    "in": "header", "name": "If-Match", "required": False,
    "schema": {"type": "string", "pattern": ETAG_PATTERN},
    "description": 'The ETag from GET ("3"), or `*`; instead of `version` in the body. Stale: 409.',
}
_ETAG_RE = re.compile(f'^(?:W/)?"({_VERSION_RE})"$')


def document_errors(bp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Document that an operation can answer with these statuses (all in the error schema)."""

    def decorator(func: F) -> F:
        for status in (401, *statuses):
            func = bp.alt_response(status, response=HTTPStatus(status).name)(func)
        return bp.alt_response("default", response="DEFAULT_ERROR")(func)  # type: ignore[no-any-return]

    return decorator


def list_query(args: Mapping[str, Any], filter_names: Sequence[str] = ()) -> ListQuery:
    """A ListQuery from parsed list parameters (validated by the schema, so nothing is clamped)."""
    sort = args.get("sort") or ""
    filters = {name: args[name] for name in filter_names if args.get(name) is not None}
    return ListQuery(
        page=args.get("page", 1),
        per_page=args.get("per_page") or current_app.config["PAGE_SIZES"][0],
        sort=sort.lstrip("-"),
        desc=sort.startswith("-"),
        search=(args.get("q") or "").strip(),
        filters=filters,
    )


def page_body(page: Page[Any]) -> dict[str, Any]:
    """The list response: the rows and the totals."""
    return {"items": page.items, "total": page.total, "total_capped": page.total_capped, "page": page.page,
            "per_page": page.per_page, "pages": page.pages}


def list_headers(page: Page[Any]) -> dict[str, str]:
    """``Link`` (first / prev / next / last, RFC 5988) and ``X-Total-Count`` for a page."""
    links = [("first", 1)]
    if page.has_prev:
        links.append(("prev", page.page - 1))
    if page.has_next:
        links.append(("next", page.page + 1))
    links.append(("last", page.pages))
    return {
        "Link": ", ".join(f'<{_page_url(number)}>; rel="{rel}"' for rel, number in links),
        "X-Total-Count": str(page.total),
    }


def _page_url(number: int) -> str:
    args = {key: request.args.getlist(key) for key in request.args if key != "page"}
    return url_for(request.endpoint or "", **(request.view_args or {}), **args, page=number,
                   _external=True)


def etag(version: int) -> dict[str, str]:
    """The ETag header for an object at ``version``."""
    return {"ETag": f'"{version}"'}


def expected_version(body_version: int | None) -> int | None:
    """The version the client edited: ``version`` in the body or the ETag in ``If-Match``."""
    header = request.headers.get("If-Match")
    from_header: int | None = None
    if header is not None and header.strip() != "*":
        match = _ETAG_RE.match(header.strip())
        if match is None:
            raise ApiError(400, _("Some parameters are not valid."),
                           {"If-Match": [_('Send the ETag from GET, like "3".')]})
        from_header = int(match.group(1))
    if body_version is not None and from_header is not None and body_version != from_header:
        raise ApiError(400, _("Some parameters are not valid."),
                       {"If-Match": [_("The If-Match header and the version in the body differ.")]})
    return body_version if body_version is not None else from_header
