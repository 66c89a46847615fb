"""Chinese working days: statutory holidays, adjusted weekend working days, and years without data."""

from __future__ import annotations

import datetime as dt

import pytest

from ecredit.kit import workdays


def test_the_national_day_week_is_not_working_days():
    # 2026-09-30 (Wed) + 3 working days: 10-01..10-07 are holidays, Saturday 10-10 is worked
    assert [workdays.is_workday(dt.date(2026, 10, d)) for d in (1, 7, 8)] == [False, False, True]
    assert workdays.add_workdays(dt.date(2026, 9, 30), 3) == dt.date(2026, 10, 10)


def test_an_adjusted_weekend_day_is_a_working_day():
    # 2026-01-04 (Sunday) is a make-up working day for the New Year holiday
    assert workdays.is_workday(dt.date(2026, 1, 4)) is True
    assert workdays.is_workday(dt.date(2026, 1, 3)) is False


def test_plain_weeks():
    assert workdays.add_workdays(dt.date(2026, 6, 5), 3) == dt.date(2026, 6, 10)  # Fri -> Wed
    assert workdays.add_workdays(dt.date(2026, 6, 5), 0) == dt.date(2026, 6, 5)
    assert workdays.workdays_between(dt.date(2026, 6, 5), dt.date(2026, 6, 10)) == 3


def test_a_year_without_data_is_flagged_not_guessed():
    assert 2026 in workdays.known_years() and 2027 not in workdays.known_years()
    with pytest.raises(workdays.CalendarUnknown, match="2027"):
        workdays.add_workdays(dt.date(2026, 12, 30), 3)
