"""The rows of the job list, rendered in Python.

A Jinja loop with three small forms per row (each rendering its CSRF field) and a
``url_for`` per link cost about 2 ms per row. Here the CSRF input, the URL prefix,
the clock, the time zone and the locale are looked up once per page, and every
value is escaped with ``html.escape`` (values that repeat down the list, such as
the executor, once);
``tests/test_job_screens.py`` checks that names, ids and parameters cannot inject
markup. The surrounding page stays in ``templates/jobs/index.html``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from markupsafe import Markup

from webapp.i18n import request_translations
from webapp.jobs.describe import JobView, job_views
from webapp.jobs.listing import JobPage
from webapp.localtime import display_zone, locale_name, relative, short

STATUS_COLOURS = {"succeeded": "success", "failed": "danger", "missed": "warning", "skipped": "secondary"}


#: Rendered pages by everything they show (see page_rows); bounded by clearing.
_PAGES: dict[tuple[object, ...], Markup] = {}
_PAGES_MAX = 256


def page_rows(page: JobPage, runs: dict[str, tuple[str, float | None]], can_act: bool, url_base: str,
              csrf_input: str, back: str, held_badge: str = "") -> Markup:
    """``job_rows`` for a page of jobs, rendered once for the same jobs, runs and words.

    When the page knows its jobs' stored states (SQLite stores), they stand for the
    jobs (a job is made from its state). The key adds the last runs, the next runs
    in words (they change as time passes), the language, the zone and the form
    parts; the rows show nothing else. ``held_badge``: see ``job_rows``.
    """
    if page.states is None:
        return job_rows(job_views(page.items, runs), can_act, url_base, csrf_input, back, held_badge)
    now, locale = datetime.now(UTC), locale_name()
    words = tuple(relative(job.next_run_time, now, locale) if job.next_run_time else None
                  for job in page.items)
    key = (page.states, tuple(runs.get(job.id) for job in page.items), words, locale,
           display_zone().key, request_translations(), can_act, url_base, csrf_input, back, held_badge)
    html = _PAGES.get(key)
    if html is None:
        html = job_rows(job_views(page.items, runs), can_act, url_base, csrf_input, back, held_badge)
        if len(_PAGES) >= _PAGES_MAX:
            _PAGES.clear()
        _PAGES[key] = html
    return html


def job_rows(jobs: Iterable[JobView], can_act: bool, url_base: str, csrf_input: str, back: str,
             held_badge: str = "") -> Markup:
    """``<tr>`` elements for one page of the job list.

    ``held_badge``: while the whole scheduler is paused, the state of every scheduled job
    (rendered by the ``held_badge`` macro); their next runs then read "not before the
    scheduler is resumed" beside the planned time.
    """
    _ = request_translations().ugettext
    paused_badge = f'<span class="badge text-bg-warning">{escape(_("paused"))}</span>'
    scheduled_badge = f'<span class="badge text-bg-success">{escape(_("scheduled"))}</span>'
    labels = {"pause": escape(_("Pause")), "resume": escape(_("Resume")), "run": escape(_("Run now")),
              "edit": escape(_("Edit")), "delete": escape(_("Delete"))}
    next_field = f'<input type="hidden" name="next" value="{escape(back)}">'
    held_words = escape(_("not before the scheduler is resumed")) if held_badge else ""
    now, zone, locale = datetime.now(UTC), display_zone(), locale_name()
    repeated: dict[str, str] = {}  # escaped once: titles, triggers, executors, stores

    def once(text: str) -> str:
        escaped = repeated.get(text)
        if escaped is None:
            escaped = repeated[text] = escape(text)
        return escaped

    parts: list[str] = []
    for job in jobs:
        url = escape(url_base + quote(job.id, safe=""))
        kwargs = ", ".join(f"{name}={value}" for name, value in job.kwargs.items())
        if job.next_run is not None:
            words = held_words or once(relative(job.next_run, now, locale))
            next_run = (f'<span data-part="relative">{words}</span><br>'
                        f'<span class="small text-body-secondary" data-part="absolute">'
                        f'{short(job.next_run, zone)}</span>')
        else:
            next_run = "—"
        if job.last_status:
            status = once(job.last_status)
            last = (f'<span class="badge text-bg-{STATUS_COLOURS.get(job.last_status, "info")}" '
                    f'data-status="{status}">{status}</span>')
            if job.last_duration_ms is not None:
                last += f' <span class="small">{job.last_duration_ms:.0f} ms</span>'
        else:
            last = "—"
        actions = ""
        if can_act:
            buttons = [action for action in ("resume" if job.paused else "pause", "run")]
            actions = '<td class="text-end text-nowrap">' + "".join(
                f'<form method="post" action="{url}/{action}" class="d-inline">{csrf_input}{next_field}'
                f'<button type="submit" class="btn btn-sm btn-outline-secondary" '
                f'data-testid="job-{action}">{labels[action]}</button></form> ' for action in buttons
            ) + (f'<a class="btn btn-sm btn-outline-primary" href="{url}/edit">{labels["edit"]}</a> '
                 f'<a class="btn btn-sm btn-outline-danger" href="{url}/delete">{labels["delete"]}</a></td>')
        parts.append(
            f'<tr data-testid="job-row" data-job-id="{escape(job.id)}">'
            f'<td><a href="{url}"><strong>{escape(job.name)}</strong></a><br>'
            f'<code class="small">{escape(job.id)}</code></td>'
            f'<td>{once(job.task_title)}<br>'
            f'<code class="small">{once(job.task)}({escape(kwargs)})</code></td>'
            f'<td><code>{once(job.trigger)}</code></td>'
            f'<td data-cell="next_run">{next_run}</td>'
            f'<td data-cell="state">{paused_badge if job.paused else held_badge or scheduled_badge}</td>'
            f'<td data-cell="last_run">{last}</td>'
            f'<td class="small">{once(job.executor)} / {once(job.store)}</td>{actions}</tr>\n'
        )
    return Markup("".join(parts))  # every interpolated value above is escaped
