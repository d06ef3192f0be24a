"""Search in blog titles and bodies: which blogs match, which come first, what to mark.

A blog matches when its title or its body contains the search text, regardless of case
(a substring: Chinese has no spaces between words, so there are no words to match).
Where the database has an index for it (``webapp/models/blog_search.py``):

- SQLite: the FTS5 trigram table ``blogs_fts``. The search text, quoted as one FTS5
  phrase, matches the rows whose text holds its trigrams one after another, which is
  the substring itself. Shorter text (a two-character Chinese word such as "数据") is
  no trigram, but every place it occurs begins one, the indexed text being padded at
  its end: the blogs holding a trigram that starts with it, from the index's list of
  trigrams (``blogs_fts_terms``, a range of terms, no scan of the table).
- PostgreSQL: ``ILIKE``, which the GIN trigram indexes serve from three characters on
  (shorter text: a scan, chosen by the planner). Text without cased letters (Chinese,
  digits) gives the same rows with ``LIKE``, which is several times cheaper: ``ILIKE``
  lower-cases every text it compares.

Ranking: blogs whose title holds the text come before those where only the body does;
within each group the list's own order holds (newest first). It is one expression on the
row, so the page's id query, its rows and the downloads all order by it alike.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, case, column, func, literal_column, or_, select, table

from webapp.extensions import db
from webapp.models import Blog
from webapp.models.blog_search import FTS_TABLE, FTS_TERMS, PAD
from webapp.services.paging import contains, contains_pattern

#: The FTS5 trigram tokenizer indexes runs of three characters: shorter text is not in it.
TRIGRAM = 3

_fts = table(FTS_TABLE, column("rowid"))
_terms = table(FTS_TERMS, column("term"), column("doc"), column("col"))
#: Sorts after every character: the end of a range of terms that start alike.
_LAST = "\U0010ffff"

#: (text, marked) pieces of a title, marked where the search text is.
TitleParts = tuple[tuple[str, bool], ...]


def matches(search: str) -> ColumnElement[bool]:
    """Blogs whose title or body contains ``search`` (regardless of case)."""
    if indexed(search):
        return Blog.id.in_(indexed_ids(search))
    return or_(_contains(Blog.title, search), _contains(Blog.body, search))


def title_first(search: str) -> ColumnElement[int]:
    """0 for blogs whose title contains ``search``, 1 for the others: ORDER BY it first."""
    if indexed(search):
        in_title = Blog.id.in_(indexed_ids(search, title_only=True))
    else:
        in_title = _contains(Blog.title, search)
    return case((in_title, 0), else_=1)


def indexed(search: str) -> bool:
    """Whether the FTS5 index answers: on SQLite, unless the text holds the padding (then
    it is a plain ``LIKE``, which cannot mistake the padding for text)."""
    return db.engine.dialect.name == "sqlite" and PAD not in search


def indexed_ids(search: str, title_only: bool = False, body_only: bool = False) -> Any:
    """The ids of the blogs whose text contains ``search``, from the FTS5 index: evaluated
    once per statement, whatever the number of blogs it is compared with. ``title_only``:
    in the title; ``body_only``: in the body and not in the title (for three characters or
    more; shorter text: in the body)."""
    if len(search) >= TRIGRAM:
        phrase = '"' + search.replace('"', '""') + '"'  # one FTS5 string: taken literally
        query = phrase
        if title_only:
            query = f"title : {phrase}"
        elif body_only:
            query = f"body : {phrase} NOT title : {phrase}"
        return select(_fts.c.rowid).where(literal_column(FTS_TABLE).match(query))
    # The trigrams that start with the (folded) text: from it to it + the last characters.
    start = search.lower()
    ids = select(_terms.c.doc).distinct().where(
        _terms.c.term >= start, _terms.c.term <= start + _LAST * (TRIGRAM - len(start)))
    if title_only or body_only:
        return ids.where(_terms.c.col == ("title" if title_only else "body"))
    return ids


def in_text(text_column: Any, search: str) -> ColumnElement[bool]:
    """Whether ``text_column`` contains ``search`` regardless of case, tested on the row
    itself (no index): for a list that walks its own order and tests each blog. Lower-cased
    by Python's rules on SQLite where ``LIKE``'s own ASCII rules would not do."""
    if db.engine.dialect.name != "sqlite" or search.isascii() or all(_caseless(c) for c in search):
        return _contains(text_column, search)
    return func.lower(text_column).like(contains_pattern(search.lower()), escape="\\")


def _contains(text_column: Any, search: str) -> ColumnElement[bool]:
    """``paging.contains``; plain ``LIKE`` where case changes nothing in ``search``."""
    if not all(_caseless(char) for char in search):
        return contains(text_column, search)
    return text_column.like(contains_pattern(search), escape="\\")


def _caseless(char: str) -> bool:
    """Whether ``char`` is neither a cased letter nor a mark: lower-casing a text never
    makes nor unmakes it (Chinese, digits, punctuation, symbols, spaces)."""
    category = unicodedata.category(char)
    return category == "Lo" or category[0] in "NPSZ"


def title_parts(title: str, search: str) -> TitleParts:
    """``title`` cut into (text, marked) pieces, marked wherever ``search`` occurs in it
    regardless of case; the template wraps the marked ones in ``<mark>``."""
    if not search:
        return ((title, False),)
    spans = _merged(_occurrences(title, search))
    parts: list[tuple[str, bool]] = []
    position = 0
    for start, end in spans:
        if start > position:
            parts.append((title[position:start], False))
        parts.append((title[start:end], True))
        position = end
    if position < len(title) or not parts:
        parts.append((title[position:], False))
    return tuple(parts)


def _occurrences(text: str, search: str) -> list[tuple[int, int]]:
    """Where ``search`` occurs in ``text`` (overlaps included), compared lower-cased, as
    (start, end) in ``text``: lower-casing may turn one character into two ("İ")."""
    folded: list[str] = []
    origin: list[int] = []  # the index in ``text`` of each character of ``folded``
    for index, char in enumerate(text):
        lowered = char.lower()
        folded.append(lowered)
        origin.extend([index] * len(lowered))
    haystack, needle = "".join(folded), search.lower()
    spans = []
    start = haystack.find(needle)
    while start != -1 and needle:
        spans.append((origin[start], origin[start + len(needle) - 1] + 1))
        start = haystack.find(needle, start + 1)
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one (sorted by their start already)."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
