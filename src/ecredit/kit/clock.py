"""Time: every stored instant is UTC."""

from __future__ import annotations

import datetime as dt


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
