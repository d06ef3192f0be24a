"""Validators that keep form input inside :mod:`webapp.services.limits`.

WTForms' ``NumberRange`` turns the value into a float to check for NaN, which
raises ``OverflowError`` on a whole number past 1e308 (a 400-digit id): these
compare whole numbers as they are.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError

from webapp.services.limits import MAX_DAY, MAX_ID, MIN_DAY, within_dates


class WholeNumberRange:
    """``low <= field.data <= high`` for an int of any size; empty data is left to Optional/InputRequired."""

    def __init__(self, low: int, high: int, message: Any = None) -> None:
        self.low, self.high = low, high
        self.message = message or _l("Use a number from %(min)d to %(max)d.")
        self.field_flags = {"min": low, "max": high}  # rendered as the input's min and max

    def __call__(self, form: FlaskForm, field: Field) -> None:
        value = field.data
        if value is None:
            return
        if not isinstance(value, int) or not self.low <= value <= self.high:
            raise ValidationError(str(self.message) % {"min": self.low, "max": self.high})


def id_range() -> WholeNumberRange:
    """An id the database can hold: 1 to MAX_ID."""
    return WholeNumberRange(1, MAX_ID, _l("Not a valid id."))


class WithinDates:
    """A date-time that reads MIN_DATE..MAX_DATE as typed (in the display time zone).

    In UTC that is within a day of the range, so no time zone conversion overflows.
    """

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data is not None and not within_dates(field.data):
            raise ValidationError(str(_l("Use a date from %(min)s to %(max)s.")) % {
                "min": MIN_DAY.isoformat(), "max": MAX_DAY.isoformat()})
