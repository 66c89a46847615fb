"""Time: every stored instant is UTC."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo


def utc_now() -> dt.datetime:
    """The current instant, timezone-aware UTC, to the microsecond."""
    return dt.datetime.now(dt.UTC)


def today_utc() -> dt.date:
    """Today's date in UTC."""
    return utc_now().date()


def add_months(day: dt.date | dt.datetime, months: int):
    """``day`` plus whole calendar months, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return day.replace(year=year, month=month, day=min(day.day, last_day))


# Legal periods (publicity windows, working-day deadlines) count in calendar days of China Standard Time:
# at 20:00 UTC it is already the next day in Jinan.
LEGAL_TZ = ZoneInfo("Asia/Shanghai")
# A process-wide setting, not a context variable: the HTTP test client serves requests on another thread.
_frozen: list[dt.date] = []


def today() -> dt.date:
    """Today's date in China (the day legal periods count in), or the day set by ``frozen_today``."""
    return _frozen[-1] if _frozen else dt.datetime.now(LEGAL_TZ).date()


@contextlib.contextmanager
def frozen_today(day: dt.date) -> Iterator[dt.date]:
    """Make ``today()`` answer ``day`` inside the block (tests, and re-running a past day's job)."""
    _frozen.append(day)
    try:
        yield day
    finally:
        _frozen.pop()
