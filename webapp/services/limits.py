"""The bounds of every number and date the console accepts, declared once.

The forms (WTForms validators), the list parameters of the pages
(:mod:`webapp.services.paging`, :mod:`webapp.services.filters`) and the JSON API's
schemas (marshmallow ``validate.Range``, so the OpenAPI document states them) all
read these values, so an out-of-range value is refused the same way on every path,
with a message on its field, before it reaches the database or date arithmetic.

The date range leaves a margin of a day inside what Python's ``datetime`` holds
(years 1 to 9999), so that converting a stored time to any display time zone, or a
typed local time to UTC, never overflows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

#: Ids are INTEGER columns (``int4`` on PostgreSQL).
MAX_ID = 2**31 - 1
#: The most digits an id can have (leading zeros included).
ID_DIGITS = 20
#: Versions (optimistic concurrency counters) are INTEGER columns too.
MAX_VERSION = 2**31 - 1
#: The highest page number a list accepts (a page past the end shows the last page).
MAX_PAGE = 1_000_000
#: The earliest and latest moment a date-time field accepts, in UTC (both included).
MIN_DATE = datetime(1900, 1, 1, tzinfo=UTC)
MAX_DATE = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
#: The first and last day a day field (list filters) accepts.
MIN_DAY: date = MIN_DATE.date()
MAX_DAY: date = MAX_DATE.date()


def within_dates(moment: datetime) -> bool:
    """True when the aware ``moment`` lies in MIN_DATE..MAX_DATE."""
    return MIN_DATE <= moment <= MAX_DATE


def within_ids(value: int) -> bool:
    """True for a positive id the database can hold."""
    return 0 < value <= MAX_ID
