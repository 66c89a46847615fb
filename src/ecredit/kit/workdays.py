"""Chinese working days (工作日): statutory holidays and the weekend days made working days by the State
Council's yearly holiday notice.

Two sources, in this order:

1. **The operator's table** (``calendar_day``): holiday and make-up working-day rows loaded from a CSV
   (``ecredit calendar load FILE``) when the State Council publishes the next year's notice, each row
   naming the notice it comes from. A year with rows in the table is taken from the table alone (a
   correction of the package wins). The process reads the table at start (``refresh``) and after a load.
2. **The pinned ``chinese-calendar`` package**, which knows 2004–2026.

A deadline that falls in a year neither source knows is never guessed: ``add_workdays`` raises
``CalendarUnknown`` and callers flag the deadline as unknown (``due_unknown``).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import functools
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import chinese_calendar
from sqlalchemy import Date, String, Text, delete, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ecredit.db import Base
from ecredit.errors import EcreditError, FieldError, ValidationFailed
from ecredit.kit.types import UTCDateTime

log = logging.getLogger("ecredit.workdays")


class CalendarUnknown(EcreditError):
    """The working-day calendar has no data for a year a deadline reaches into."""

    code = "workdays.calendar_unknown"
    status = 422
    title = "Working-day calendar unknown"


class InvalidCalendar(ValidationFailed):
    code = "workdays.invalid_calendar"


class DayKind(enum.StrEnum):
    holiday = "holiday"  # 放假 (a statutory holiday, or a weekday made a rest day by the notice)
    workday = "workday"  # 调休上班 (a weekend day made a working day by the notice)


class CalendarDay(Base):
    """One day the State Council's holiday notice sets apart from the plain week (operator-loaded)."""

    __tablename__ = "calendar_day"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # DayKind
    name: Mapped[str] = mapped_column(String(64))  # e.g. 春节
    source: Mapped[str] = mapped_column(Text)  # the notice, e.g. 国办发明电〔2026〕N号
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# The operator table in memory: year -> {day: is working day}; a year present here is fully known.
_table: dict[int, dict[dt.date, bool]] = {}


@functools.cache
def package_years() -> range:
    """The years the pinned package covers (both holidays and adjusted working days)."""
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return range(years[0], years[-1] + 1)


def known_years() -> list[int]:
    """Every year a deadline may reach into: the package's and the operator table's."""
    return sorted(set(package_years()) | set(_table))


def install(rows: Iterable[tuple[dt.date, str]]) -> None:
    """Use these (day, kind) rows as the operator table (replacing the one in memory)."""
    table: dict[int, dict[dt.date, bool]] = {}
    for day, kind in rows:
        table.setdefault(day.year, {})[day] = DayKind(kind) is DayKind.workday
    _table.clear()
    _table.update(table)
    is_workday.cache_clear()


def refresh(session: Session) -> list[int]:
    """Read the operator table from the store into this process; the years it covers."""
    install((row.day, row.kind) for row in session.execute(select(CalendarDay.day, CalendarDay.kind)))
    return sorted(_table)


def refresh_from_store() -> None:
    """``refresh`` at process start; a store not migrated yet has no table (and no years to add)."""
    from ecredit.db import session_scope

    try:
        with session_scope(read_only=True) as session:
            refresh(session)
    except (OperationalError, ProgrammingError) as exc:
        log.warning("working-day table not read (store not migrated?): %s", type(exc).__name__)


@functools.lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    """True when ``day`` is a working day in mainland China; ``CalendarUnknown`` outside the known years."""
    year = _table.get(day.year)
    if year is not None:
        return year.get(day, day.weekday() < 5)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarUnknown(
            f"the working-day calendar has no data for {day.year} (known: "
            f"{_spans(known_years())}); load the State Council's holiday notice with "
            "`ecredit calendar load FILE`"
        ) from None


def _spans(years: list[int]) -> str:
    spans: list[list[int]] = []
    for y in years:
        if spans and spans[-1][1] == y - 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


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


@dataclass(frozen=True)
class Deadline:
    """A deadline in working days: the day, or why it is unknown."""

    on: dt.date | None
    unknown: str | None = None


def deadline(start: dt.date, count: int) -> Deadline:
    """``add_workdays`` that flags instead of raising when the calendar has no data (never a guess)."""
    try:
        return Deadline(add_workdays(start, count))
    except CalendarUnknown as exc:
        return Deadline(None, exc.detail)


# ------------------------------------------------------------------------------------------- loading

CSV_COLUMNS = ("date", "kind", "name", "source")


def parse_csv(text: str) -> list[dict[str, str]]:
    """The rows of a holiday-table CSV (``date,kind,name,source``); ``InvalidCalendar`` naming every bad
    row. A loaded year must be complete: each year in the file needs at least one holiday row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or tuple(f.strip() for f in reader.fieldnames) != CSV_COLUMNS:
        raise InvalidCalendar("bad header", errors=[FieldError("header", f"must be {','.join(CSV_COLUMNS)}")])
    rows: list[dict[str, str]] = []
    errors: list[FieldError] = []
    seen: set[dt.date] = set()
    for n, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            day = dt.date.fromisoformat(row["date"])
        except ValueError:
            errors.append(FieldError(f"row {n}.date", f"not a date YYYY-MM-DD: {row['date']!r}"))
            continue
        if row["kind"] not in {k.value for k in DayKind}:
            errors.append(FieldError(f"row {n}.kind", "must be holiday or workday"))
        elif row["kind"] == DayKind.workday and day.weekday() < 5:
            errors.append(
                FieldError(f"row {n}.kind", f"{day} is a weekday: only a weekend day is made a workday")
            )
        if not row["source"]:
            errors.append(FieldError(f"row {n}.source", "name the State Council notice"))
        if not row["name"] or len(row["name"]) > 64:
            errors.append(FieldError(f"row {n}.name", "required, at most 64 characters"))
        if day in seen:
            errors.append(FieldError(f"row {n}.date", f"{day} appears twice"))
        seen.add(day)
        rows.append({**row, "date": day.isoformat()})
    years = {r["date"][:4] for r in rows}
    for year in sorted(years):
        if not any(r["date"].startswith(year) and r["kind"] == DayKind.holiday for r in rows):
            errors.append(FieldError(year, "a year's table needs its holidays (no holiday row)"))
    if errors:
        raise InvalidCalendar(f"{len(errors)} problem(s) in the holiday table", errors=errors)
    if not rows:
        raise InvalidCalendar("empty holiday table", errors=[FieldError("rows", "no rows")])
    return rows


def load_rows(
    session: Session, rows: list[Mapping[str, str]], *, loaded_by: str, now: dt.datetime
) -> list[int]:
    """Replace the table's rows for every year in ``rows`` (a reload is idempotent), flush and refresh
    this process; the years loaded."""
    years = sorted({int(r["date"][:4]) for r in rows})
    for year in years:
        session.execute(
            delete(CalendarDay).where(
                CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31)
            )
        )
    for r in rows:
        session.add(
            CalendarDay(
                day=dt.date.fromisoformat(r["date"]),
                kind=r["kind"],
                name=r["name"],
                source=r["source"],
                loaded_by=loaded_by,
                loaded_at=now,
            )
        )
    session.flush()
    refresh(session)
    return years
