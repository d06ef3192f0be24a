"""The fragment cache (webapp/fragments.py): kept markup follows every input it is made from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError
from markupsafe import Markup

from tests.conftest import app_config
from webapp import create_app, fragments
from webapp.services.blog_list import BlogRow, TagRef

WHEN = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)


def row(**changes: object) -> BlogRow:
    values: dict[str, object] = {
        "id": 7, "title": "First post", "slug": "first-post", "status": "published", "publish_at": WHEN,
        "created_at": WHEN, "updated_at": WHEN, "author_id": 1, "version": 1, "author_name": "ann",
        "tags": [TagRef(1, "alpha", "#123456", "alpha")]}
    values.update(changes)
    return BlogRow(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(TEMPLATES_AUTO_RELOAD=False))
    assert not app.jinja_env.auto_reload  # production rendering: the cache is on
    return app


def rows_html(app, rows, can_edit=True, url_base="/blogs/", path="/blogs/", **headers) -> str:
    with app.test_request_context(path, headers=headers):
        return str(fragments.render_fragment("blogs/_rows.html", rows=rows, can_edit=can_edit,
                                             url_base=url_base))


@pytest.mark.parametrize("changed", [
    {"title": "Second post"}, {"status": "draft"}, {"author_name": "bob"},
    {"tags": [TagRef(1, "alpha", "#654321", "alpha")]}, {"tags": [TagRef(1, "beta", "#123456", "beta")]},
    {"updated_at": datetime(2025, 3, 4, 5, 7, tzinfo=UTC)}, {"id": 8},
])
def test_a_changed_row_is_rendered_anew(app, changed):
    first = rows_html(app, [row()])
    again = rows_html(app, [row(**changed)])
    assert first != again
    assert rows_html(app, [row()]) == first  # and the first is still kept as it was


def test_every_other_input_is_part_of_the_key(app):
    editor = rows_html(app, [row()], can_edit=True)
    viewer = rows_html(app, [row()], can_edit=False)
    assert 'name="ids"' in editor and 'name="ids"' not in viewer
    assert rows_html(app, [row()], url_base="/admin/blogs/") != editor


def test_the_language_and_the_time_zone_are_part_of_the_key(tmp_path, monkeypatch):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalog = Catalog(locale="de")
    catalog.add("published", "veröffentlicht")
    folder = tmp_path / "translations" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(LANGUAGES=("en", "de"), TEMPLATES_AUTO_RELOAD=False,
                                BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations")))
    for _ in range(2):
        assert "veröffentlicht" in rows_html(app, [row()], **{"Accept-Language": "de"})
        english = rows_html(app, [row()], **{"Accept-Language": "en"})
        assert ">published<" in english and "veröffentlicht" not in english
    assert "Mar 4, 2025, 5:06\u202fAM" in english
    assert "04.03.2025, 05:06" in rows_html(app, [row()], **{"Accept-Language": "de"})
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Paris"
    assert "Mar 4, 2025, 6:06\u202fAM" in rows_html(app, [row()], **{"Accept-Language": "en"})


def test_the_key_digests_every_input_and_the_context(app):
    parts = fragments.Fragments(app, app.extensions[fragments.EXTENSION].cache)
    base = {"rows": [row()], "can_edit": True, "url_base": "/blogs/"}
    with app.test_request_context("/blogs/"):
        key = parts.key("blogs/_rows.html", base)
        assert parts.key("blogs/_rows.html", dict(base)) == key  # values, not identities
        for name in base:
            assert parts.key("blogs/_rows.html", {k: v for k, v in base.items() if k != name}) != key
        assert parts.key("blogs/_filter_fields.html", base) != key
        parts.templates_digest = "another release"
        assert parts.key("blogs/_rows.html", base) != key


def test_a_fragment_sees_only_its_inputs(app):
    env = app.extensions[fragments.EXTENSION].env
    with app.test_request_context("/blogs/"):
        for name in ("request", "session", "g", "current_user", "csrf_token", "url_for", "config",
                     "list_url", "missing_input"):
            with pytest.raises(UndefinedError):
                env.from_string("{{ " + name + " }}").render()
        with pytest.raises(UndefinedError):
            env.from_string("{{ row.title }}").render()
        with pytest.raises(UndefinedError):  # a forgotten input of a real fragment fails loudly
            fragments.render_fragment("blogs/_rows.html", rows=[row()], can_edit=True)
        assert "reltime" not in env.filters  # reads the clock: never kept


def test_kept_values_are_plain_text_that_nobody_can_change(app):
    cache = app.extensions[fragments.EXTENSION].cache
    html = rows_html(app, [row()])
    with app.test_request_context("/blogs/"):
        key = app.extensions[fragments.EXTENSION].key(
            "blogs/_rows.html", {"rows": [row()], "can_edit": True, "url_base": "/blogs/"})
    kept = cache.get(key)
    assert type(kept) is str and kept == html  # stored pickled: a copy, and immutable text
    assert isinstance(Markup(kept), Markup)


def test_each_app_has_its_own_cache(tmp_path, monkeypatch):
    apps = []
    for name in ("one", "two"):
        monkeypatch.setenv("WEBAPP_INSTANCE_PATH", str(tmp_path / name))
        apps.append(create_app(app_config(TEMPLATES_AUTO_RELOAD=False)))
    rows_html(apps[0], [row()])
    first, second = (a.extensions[fragments.EXTENSION] for a in apps)
    assert first.cache is not second.cache
    with apps[0].test_request_context("/blogs/"):
        key = first.key("blogs/_rows.html", {"rows": [row()], "can_edit": True, "url_base": "/blogs/"})
    assert first.cache.get(key) is not None and second.cache.get(key) is None


def test_templates_render_afresh_while_they_reload(app):
    parts = app.extensions[fragments.EXTENSION]
    app.jinja_env.auto_reload = True
    assert "First post" in rows_html(app, [row()])
    with app.test_request_context("/blogs/"):
        key = parts.key("blogs/_rows.html", {"rows": [row()], "can_edit": True, "url_base": "/blogs/"})
    assert parts.cache.get(key) is None  # an edited template shows at once



def test_a_fragment_compiles_its_template_itself_even_with_a_bytecode_cache(app, tmp_path):
    """The tests give every app Jinja's bytecode cache (tests/conftest.py). The fragment
    environment has no clock filters, so a template reading the clock compiles to other code
    there (a compile error at once) and must not load what the pages' environment compiled
    (which would only fail at its first use of the filter)."""
    from jinja2 import ChoiceLoader, FileSystemLoader, TemplateAssertionError

    assert app.jinja_env.bytecode_cache is not None
    (tmp_path / "probe.html").write_text("{{ when|reltime }}", encoding="utf-8")
    app.jinja_loader = ChoiceLoader([FileSystemLoader(tmp_path), app.jinja_loader])
    with app.test_request_context("/"):
        app.jinja_env.get_template("probe.html")  # compiled by the pages' environment, and kept
        with pytest.raises(TemplateAssertionError, match="reltime"):
            app.extensions[fragments.EXTENSION].env.get_template("probe.html")
