"""The request's translations, for code that formats many texts at once."""

from __future__ import annotations

from typing import Any

from flask_babel import get_translations


def request_translations() -> Any:
    """This request's catalogue (Flask-Babel keeps it with the app context)."""
    return get_translations()
