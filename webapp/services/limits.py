"""The bounds of every number and date the console accepts, declared once.

The forms (WTForms validators), the list parameters of the pages
(:mod:`webapp.services.paging`, :mod:`webapp.services.filters`) and the JSON API's
schemas (marshmallow ``validate.Range``, so the OpenAPI document states them) all
read these values, so an out-of-range value is refused the same way on every path,
with a message on its field, before it reaches the database or date arithmetic.

Dates are bounded as written: a date-time sent with an offset, or typed in the
display time zone, must read between MIN_DATE and MAX_DATE on its own clock. The
same moment in UTC is then less than a day outside that range, which leaves a
margin inside what Python's ``datetime`` holds (years 1 to 9999): converting it to
any display time zone never overflows. A bound on the written date is also one a
client can check from the OpenAPI document (``DATE_PATTERN``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

#: Ids are INTEGER columns (``int4`` on PostgreSQL).
MAX_ID = 2**31 - 1
#: The most digits an id can have (leading zeros included).
ID_DIGITS = 20
#: Versions count saves from 1 (INTEGER columns); nine digits keep an ETag short and checkable
#: by a pattern in the OpenAPI document.
MAX_VERSION = 10**9 - 1
#: The highest page number a list accepts (a page past the end shows the last page).
MAX_PAGE = 1_000_000
#: The earliest and latest date-time a field accepts, as written (both included).
MIN_DATE = datetime(1900, 1, 1, tzinfo=UTC)
MAX_DATE = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
#: The first and last day a day field (list filters) accepts.
MIN_DAY: date = MIN_DATE.date()
MAX_DAY: date = MAX_DATE.date()
#: A date or date-time whose year is MIN_DATE's to MAX_DATE's (1900 to 9998), as a regular expression.
DATE_PATTERN = r"^(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"


def within_dates(moment: datetime) -> bool:
    """True when ``moment`` reads MIN_DATE..MAX_DATE on its own clock (its offset, or naive)."""
    return MIN_DATE <= moment.replace(tzinfo=UTC) <= MAX_DATE


def within_ids(value: int) -> bool:
    """True for a positive id the database can hold."""
    return 0 < value <= MAX_ID
