"""The lists' sortable headers, pager and download buttons, rendered in Python.

Every list page shows these, and as Jinja macros they were the costliest part of
a list's layout (a macro call, then a dozen small expressions, each escaped): on
the blog list, more than the whole page's queries. The macros ``sort_th``,
``pager`` and ``export_buttons`` in ``templates/macros/lists.html`` call these, so
templates use either. Values are
escaped with ``markupsafe.escape``, exactly as Jinja's autoescaping does, and the
texts go through the templates' ``_`` / ``ngettext``; ``tests/test_blogs_page.py``
checks the markup against the macros' former output.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from markupsafe import Markup, escape

from webapp.i18n import bound_gettext, request_translations
from webapp.services.paging import ListQuery, Page
from webapp.views.template_helpers import cached_fragment, list_url, page_urls, sort_link


def sort_header(column: str, label: str, query: ListQuery,
                links: dict[str, tuple[str, str]] | None = None) -> Markup:
    """``<th>`` with a link that sorts by ``column`` (again: the other way round)."""
    href, arrow = links[column] if links else sort_link(column, query.sort, query.desc)
    if not arrow:
        return Markup(f'<th scope="col" class="table-sort"><a href="{escape(href)}">{escape(label)}</a></th>')
    order = "descending" if query.desc else "ascending"
    return Markup(f'<th scope="col" class="table-sort" aria-sort="{order}"><a href="{escape(href)}">'
                  f'{escape(label)} <span aria-hidden="true">{escape(arrow)}</span></a></th>')


#: Pagers by everything they show (see list_pager); bounded by clearing.
_PAGERS: dict[tuple[Any, ...], Markup] = {}
_PAGERS_MAX = 512


def list_pager(page: Page[Any]) -> Markup:
    """The result count and, past one page, links to the first, last and nearby pages.

    Kept by what it is made of (the language, the URL and the page's numbers), as
    the same list is shown again and again.
    """
    translations = request_translations()
    key = (translations, request.script_root, request.path, request.query_string, page.total, page.page,
           page.per_page)
    html = _PAGERS.get(key)
    if html is None:
        html = _pager(page, translations)
        if len(_PAGERS) >= _PAGERS_MAX:
            _PAGERS.clear()
        _PAGERS[key] = html
    return html


def _pager(page: Page[Any], translations: Any) -> Markup:
    _, ngettext = bound_gettext(translations)
    total = ngettext("%(num)d result", "%(num)d results", page.total)
    pages = page.pages
    if pages <= 1:
        return Markup(f'<nav aria-label="{_("Pages")}" class="d-flex flex-wrap align-items-center '
                      f'justify-content-between gap-2"><div class="text-body-secondary small" '
                      f'data-testid="list-total">{total}</div></nav>')
    where = _("page %(page)d of %(pages)d", page=page.page, pages=pages)
    window = page.window()
    urls = page_urls(page, window)
    items = [_edge(page.has_prev, urls.get(page.page - 1), "prev", _("Previous"))]
    for number in window:
        if number is None:
            items.append('<li class="page-item disabled"><span class="page-link">…</span></li>')
        elif number == page.page:
            items.append(f'<li class="page-item active"><a class="page-link" href="{escape(urls[number])}" '
                         f'aria-current="page">{number}</a></li>')
        else:
            items.append(f'<li class="page-item"><a class="page-link" href="{escape(urls[number])}">'
                         f'{number}</a></li>')
    items.append(_edge(page.has_next, urls.get(page.page + 1), "next", _("Next")))
    return Markup(f'<nav aria-label="{_("Pages")}" class="d-flex flex-wrap align-items-center '
                  f'justify-content-between gap-2"><div class="text-body-secondary small" '
                  f'data-testid="list-total">{total} · {where}</div>'
                  f'<ul class="pagination pagination-sm mb-0">{"".join(items)}</ul></nav>')


def _edge(enabled: bool, url: str | None, rel: str, label: Markup) -> str:
    if enabled and url is not None:
        return f'<li class="page-item"><a class="page-link" href="{escape(url)}" rel="{rel}">{label}</a></li>'
    return f'<li class="page-item disabled"><a class="page-link" href="#" rel="{rel}">{label}</a></li>'


def list_downloads(endpoint: str) -> Markup:
    """CSV and JSON downloads of the list as filtered and sorted (all pages)."""
    _, _n = bound_gettext(request_translations())
    csv, json = list_url(_endpoint=endpoint, fmt="csv"), list_url(_endpoint=endpoint, fmt="json")
    return Markup(f'<div class="btn-group" role="group" aria-label="{_("Download this list")}">'
                  f'<a class="btn btn-outline-secondary" href="{escape(csv)}" data-testid="export-csv">'
                  f'{_("CSV")}</a> <a class="btn btn-outline-secondary" href="{escape(json)}" '
                  f'data-testid="export-json">{_("JSON")}</a></div>')


def keep_sort_field(query: ListQuery) -> Markup:
    """The list's sort as a hidden field, so a filter form keeps it."""
    if not query.sort:
        return Markup("")
    sort = f'{"-" if query.desc else ""}{query.sort}'
    return Markup(f'<input type="hidden" name="sort" value="{escape(sort)}">')


def per_page_menu(query: ListQuery) -> Markup:
    """The page size menu (the same for every page of the same size and language)."""
    return cached_fragment("per-page-select", query.per_page, caller=lambda: _per_page_menu(query.per_page))


def _per_page_menu(per_page: int) -> str:
    _, _n = bound_gettext(request_translations())
    options = "".join(
        f'<option value="{size}"{" selected" if size == per_page else ""}>'
        f'{_("%(num)d per page", num=size)}</option>' for size in current_app.config["PAGE_SIZES"])
    return (f'<label class="visually-hidden" for="per_page">{_("Rows per page")}</label>'
            f'<select class="form-select form-select-sm w-auto" id="per_page" name="per_page" '
            f'data-autosubmit>{options}</select>')
