"""The translation completeness check: untranslated template text, and catalogues that
miss, fuzz or leave empty an id that extraction finds.

``tests/test_i18n.py`` runs it; it can also run alone (``python -m tests.i18n_check``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "webapp" / "templates"
TRANSLATIONS = ROOT / "webapp" / "translations"
#: The extraction the Makefile's ``messages`` target runs: babel.cfg, plus ``_l`` (lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}

#: Attributes whose values people read (or hear).
VISIBLE_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "aria-description", "label"})
#: Words that are the same in every language here: units and file formats.
ALLOWED_WORDS = frozenset({"ms"})
#: Text that is code or a file name, by template: shown as it is, never translated.
ALLOWED_TEXT = {
    "auth/profile.html": {"Authorization: Bearer wa_…"},  # the header scripts send
    "api/docs.html": {"openapi.json"},  # the document's file name
}
#: Blocks that a child template fills with attributes of its parent's elements.
ATTRIBUTE_BLOCKS = frozenset({"row_attrs", "table_attrs", "filter_form_attrs", "table_class"})
_LETTERS = re.compile(r"[A-Za-z]")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                   "track", "wbr"})


@dataclass(frozen=True)
class Untranslated:
    """Text in a template that reaches the page without going through the catalogue."""

    template: str
    line: int
    where: str  # "text" or "<tag>[attribute]"
    text: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.where}: {self.text!r}"


def markup_of(source: str) -> str:
    """The template's own markup: every ``{{ }}``, ``{% %}`` and ``{# #}`` becomes one space
    (line breaks kept), and blocks that hold attributes for a parent template are left out."""
    lexer = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"])
    out: list[str] = []
    tag: list[str] = []  # the names inside the current {% ... %}
    skipping = 0  # depth inside an attribute block
    for _line, kind, value in lexer.lex(source):
        if kind == "data":
            out.append("\n" * value.count("\n") if skipping else value)
            continue
        if kind == "block_begin":
            tag = []
        elif kind == "name":
            tag.append(value)
        elif kind == "block_end" and tag:
            if tag[0] == "block" and (skipping or (len(tag) > 1 and tag[1] in ATTRIBUTE_BLOCKS)):
                skipping += 1
            elif tag[0] == "endblock" and skipping:
                skipping -= 1
        out.append("\n" * value.count("\n") or " ")
    return "".join(out)


class _TextFinder(HTMLParser):
    """Collects text nodes and visible attribute values that contain ASCII letters."""

    def __init__(self, template: str) -> None:
        super().__init__(convert_charrefs=True)
        self.template = template
        self.open: list[str] = []
        self.found: list[Untranslated] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES:
                self._check(f"<{tag}>[{name}]", value or "")
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self._check("<input>[value]", values.get("value") or "")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not {"script", "style"} & set(self.open):
            self._check("text", data)

    def _check(self, where: str, text: str) -> None:
        text = " ".join(text.split())
        if text in ALLOWED_TEXT.get(self.template, ()):
            return
        words = " ".join(w for w in re.split(r"[^A-Za-z]+", text) if w not in ALLOWED_WORDS)
        if _LETTERS.search(words):
            self.found.append(Untranslated(self.template, self.getpos()[0], where, text))


def untranslated_text(templates: Path = TEMPLATES) -> list[Untranslated]:
    """Every piece of template text with ASCII letters that is not inside ``{{ }}`` / ``{% %}``."""
    found: list[Untranslated] = []
    for path in sorted(templates.rglob("*.html")):
        finder = _TextFinder(path.relative_to(templates).as_posix())
        finder.feed(markup_of(path.read_text(encoding="utf-8")))
        finder.close()
        found.extend(finder.found)
    return found


def extracted_ids() -> set[tuple[str | None, str]]:
    """(context, id) of every message ``make messages`` extracts (a plural by its singular)."""
    method_map = [("webapp/**.py", "python"), ("webapp/templates/**.html", "jinja2")]
    ids = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=KEYWORDS):
        ids.add((context, message[0] if isinstance(message, tuple) else message))
    return ids


def catalogues() -> Iterator[tuple[str, Path]]:
    """(language, .po path) of every catalogue in webapp/translations/."""
    for path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        yield path.parts[-3], path


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def catalogue_problems(path: Path, wanted: set[tuple[str | None, str]]) -> list[str]:
    """What is wrong with one catalogue: missing ids, fuzzy entries, empty translations."""
    catalog = read_catalogue(path)
    problems = [f"missing: {msgid!r}" + (f" (context {context!r})" if context else "")
                for context, msgid in sorted(wanted, key=lambda pair: (pair[0] or "", pair[1]))
                if catalog.get(msgid, context=context) is None]
    for message in catalog:
        if not message.id:
            if message.fuzzy:
                problems.append("the catalogue's header is marked fuzzy")
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(strings) or len(strings) < (catalog.num_plurals if message.pluralizable else 1):
            problems.append(f"empty: {message.id!r}")
    return problems


def compiled(path: Path) -> bytes:
    """The .mo that ``pybabel compile`` makes of ``path``."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(path))
    return buffer.getvalue()


if __name__ == "__main__":
    for item in untranslated_text():
        print(item)
    ids = extracted_ids()
    for language, po in catalogues():
        for problem in catalogue_problems(po, ids):
            print(f"{language}: {problem}")
