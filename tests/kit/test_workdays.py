"""Chinese working days: statutory holidays, make-up working days, the operator's holiday table for
years after the pinned package, and years without data (flagged, never guessed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ecredit.kit import workdays

TABLE_2027 = Path(__file__).resolve().parents[1] / "data" / "holidays-2027-test.csv"
NOW = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _no_table_left_behind():
    workdays.install([])
    yield
    workdays.install([])


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


class TestHolidaysWithMakeUpDays:
    def test_spring_festival_2026(self):
        # 2026-02-15..23 off; Saturdays 02-14 and 02-28 worked
        assert workdays.add_workdays(dt.date(2026, 2, 13), 1) == dt.date(2026, 2, 14)  # Fri -> make-up Sat
        assert workdays.add_workdays(dt.date(2026, 2, 13), 3) == dt.date(2026, 2, 25)  # Sat, Tue 24, Wed 25
        assert workdays.add_workdays(dt.date(2026, 2, 27), 1) == dt.date(2026, 2, 28)  # make-up Saturday
        assert workdays.workdays_between(dt.date(2026, 2, 13), dt.date(2026, 2, 24)) == 2

    def test_national_day_2025(self):
        # 2025-10-01..08 off; Sunday 09-28 and Saturday 10-11 worked
        assert workdays.add_workdays(dt.date(2025, 9, 26), 1) == dt.date(2025, 9, 28)
        assert workdays.add_workdays(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 9)
        assert workdays.add_workdays(dt.date(2025, 9, 30), 3) == dt.date(2025, 10, 11)

    def test_national_day_2026(self):
        # 2026-10-01..07 off; Sunday 09-20 and Saturday 10-10 worked
        assert workdays.add_workdays(dt.date(2026, 9, 18), 1) == dt.date(2026, 9, 20)
        assert workdays.add_workdays(dt.date(2026, 9, 30), 2) == dt.date(2026, 10, 9)


class TestAYearWithoutData:
    def test_is_flagged_not_guessed(self):
        assert 2026 in workdays.known_years() and 2027 not in workdays.known_years()
        with pytest.raises(workdays.CalendarUnknown, match="2027"):
            workdays.add_workdays(dt.date(2026, 12, 30), 3)
        due = workdays.deadline(dt.date(2026, 12, 30), 3)
        assert due.on is None and "ecredit calendar load" in (due.unknown or "")

    def test_is_computed_after_the_operator_loads_its_table(self, session):
        rows = workdays.parse_csv(TABLE_2027.read_text(encoding="utf-8"))
        assert workdays.load_rows(session, rows, loaded_by="test", now=NOW) == [2027]
        assert 2027 in workdays.known_years()
        # 12-31 (Thu), 2027-01-01 holiday, Mon 01-04, Tue 01-05
        assert workdays.add_workdays(dt.date(2026, 12, 30), 3) == dt.date(2027, 1, 5)
        # the table's Spring Festival: 02-05..11 off, Saturday 02-13 worked
        assert workdays.add_workdays(dt.date(2027, 2, 4), 1) == dt.date(2027, 2, 12)
        assert workdays.add_workdays(dt.date(2027, 2, 12), 1) == dt.date(2027, 2, 13)
        assert workdays.add_workdays(dt.date(2027, 9, 30), 2) == dt.date(2027, 10, 9)
        with pytest.raises(workdays.CalendarUnknown, match="2028"):
            workdays.add_workdays(dt.date(2027, 12, 30), 3)

    def test_a_new_process_reads_the_table_and_a_reload_replaces_it(self, session):
        rows = workdays.parse_csv(TABLE_2027.read_text(encoding="utf-8"))
        workdays.load_rows(session, rows, loaded_by="test", now=NOW)
        workdays.install([])  # a fresh process
        assert 2027 not in workdays.known_years()
        assert workdays.refresh(session) == [2027]
        assert workdays.is_workday(dt.date(2027, 2, 13))
        fewer = [r for r in rows if r["date"] != "2027-02-13"]
        workdays.load_rows(session, fewer, loaded_by="test", now=NOW)
        assert not workdays.is_workday(dt.date(2027, 2, 13))  # a plain Saturday again


class TestTheTableFile:
    @pytest.mark.parametrize(
        ("text", "field"),
        [
            ("day,kind\n2027-01-01,holiday\n", "header"),
            ("date,kind,name,source\n2027-13-01,holiday,元旦,notice\n", "row 2.date"),
            ("date,kind,name,source\n2027-01-01,feast,元旦,notice\n", "row 2.kind"),
            ("date,kind,name,source\n2027-01-01,holiday,元旦,\n", "row 2.source"),
            ("date,kind,name,source\n2027-01-01,holiday,元旦,n\n2027-01-01,holiday,元旦,n\n", "row 3.date"),
            ("date,kind,name,source\n2027-01-04,workday,元旦,notice\n", "row 2.kind"),  # a Monday
            ("date,kind,name,source\n2027-02-13,workday,春节,notice\n", "2027"),  # no holiday row
        ],
    )
    def test_a_bad_file_is_refused_naming_the_row(self, text, field):
        with pytest.raises(workdays.InvalidCalendar) as exc:
            workdays.parse_csv(text)
        assert field in [e.field for e in exc.value.errors]
