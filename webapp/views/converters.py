"""URL converters."""

from __future__ import annotations

from webapp.views.helpers import BoundedIntConverter


class AsciiIdConverter(BoundedIntConverter):
    """``<int:...>`` written in ASCII digits only.

    Werkzeug's ``\\d+`` follows Python's regular expressions, which also match
    other scripts' digits, and ``int()`` then reads a path with fullwidth
    or Arabic-Indic digits as an id. Such a path is a 404 like any other.
    """

    regex = r"[0-9]+"
