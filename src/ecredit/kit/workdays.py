"""Chinese working days (工作日): statutory holidays and the weekend days made working days by the State
Council's yearly holiday notice, from the pinned ``chinese-calendar`` package.

The notice is published each December for the next year only, so the package knows a limited range of
years. A deadline that falls in a year it does not know is never guessed: ``add_workdays`` raises
``CalendarUnknown`` and callers flag the deadline as unknown (for example "withdraw within 3 working days").
"""

from __future__ import annotations

import datetime as dt
import functools

import chinese_calendar

from ecredit.errors import EcreditError


class CalendarUnknown(EcreditError):
    """The working-day calendar has no data for a year a deadline reaches into."""

    code = "workdays.calendar_unknown"
    status = 422
    title = "Working-day calendar unknown"


@functools.cache
def known_years() -> range:
    """The years the pinned calendar covers (both holidays and adjusted working days)."""
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return range(years[0], years[-1] + 1)


@functools.lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    """True when ``day`` is a working day in mainland China; ``CalendarUnknown`` outside the known years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarUnknown(
            f"the working-day calendar has no data for {day.year} "
            f"(known: {known_years().start}-{known_years().stop - 1}); update chinese-calendar"
        ) from None


def add_workdays(start: dt.date, count: int) -> dt.date:
    """The day ``count`` working days after ``start`` (the start day itself is not counted)."""
    if count < 0:
        raise ValueError("count must not be negative")
    day = start
    remaining = count
    while remaining:
        day += dt.timedelta(days=1)
        if is_workday(day):
            remaining -= 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``)."""
    day, count = start, 0
    while day < end:
        day += dt.timedelta(days=1)
        count += is_workday(day)
    return count
