"""Administrative division codes (GB/T 2260) from the historical table in data/regions.csv."""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources

from ecredit.identifiers.result import CheckResult, Finding, make_result
from ecredit.identifiers.text import ASCII_DIGITS, invalid_characters, prepare, show

_CODE = re.compile(r"[0-9]{6}")
# Prefecture-level rows that only group counties and add nothing to a full name.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政单位", "省直辖行政单位", "自治区直辖县级行政单位"})


@dataclass(frozen=True)
class RegionRecord:
    """One name of a division code and the years it was in use (None = open-ended)."""

    code: str
    name: str
    start_year: int | None
    end_year: int | None

    @property
    def current(self) -> bool:
        """Whether the code is still in use under this name."""
        return self.end_year is None

    def in_use(self, year: int) -> bool:
        """Whether this name was in use in ``year``."""
        return (self.start_year is None or self.start_year <= year) and (
            self.end_year is None or year <= self.end_year
        )


def _year(text: str) -> int | None:
    return int(text) if text else None


@functools.cache
def region_table() -> dict[str, tuple[RegionRecord, ...]]:
    """Return every known code (current or historical) mapped to its names, oldest first."""
    text = resources.files("ecredit.identifiers").joinpath("data/regions.csv").read_text(encoding="utf-8")
    table: dict[str, list[RegionRecord]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        record = RegionRecord(row["code"], row["name"], _year(row["start_year"]), _year(row["end_year"]))
        table.setdefault(record.code, []).append(record)
    return {code: tuple(records) for code, records in table.items()}


def _latest(records: tuple[RegionRecord, ...]) -> RegionRecord:
    """The most recent name: a current one if any, else the one that ended last."""
    return max(records, key=lambda r: (r.end_year is None, r.end_year or 0, r.start_year or 0))


def _name_at(code: str, year: int | None) -> str | None:
    """The name of ``code`` in use in ``year`` (or its latest name), None if unknown."""
    records = region_table().get(code)
    if not records:
        return None
    if year is not None:
        for record in reversed(records):
            if record.in_use(year):
                return record.name
    return _latest(records).name


def _clean_code(code: str) -> str | None:
    if not isinstance(code, str):
        return None
    text = prepare(code).text
    return text if _CODE.fullmatch(text) else None


def is_known_region(code: str) -> bool:
    """Return True if ``code`` appears in the table for any year."""
    return code in region_table()


def region_records(code: str) -> tuple[RegionRecord, ...]:
    """Return every name a code has had, oldest first (empty if unknown)."""
    return region_table().get(code, ())


def region_name(code: str) -> str | None:
    """Return the full name of a division code, e.g. "370102" -> "山东省济南市历下区", or None."""
    code = _clean_code(code)
    if code is None or code not in region_table():
        return None
    record = _latest(region_table()[code])
    # Name the parents as they were when this code was last in use.
    year = record.end_year
    parts: list[str] = []
    province, prefecture = code[:2] + "0000", code[:4] + "00"
    if code != province:
        name = _name_at(province, year)
        if name:
            parts.append(name)
    if code not in (province, prefecture):
        name = _name_at(prefecture, year)
        if name and name not in _PLACEHOLDERS:
            parts.append(name)
    parts.append(record.name)
    return "".join(parts)


def region_prefecture(code: str) -> str | None:
    """Return the prefecture-level code (first 4 digits + "00") of a known county or prefecture code."""
    code = _clean_code(code)
    if code is None or code.endswith("0000") or code not in region_table():
        return None
    prefecture = code[:4] + "00"
    return prefecture if prefecture in region_table() else None


def check_region(value: str) -> CheckResult:
    """Validate a 6-digit administrative division code against the historical table."""
    prepared = prepare(value)
    text, errors, warnings = prepared.text, prepared.errors, prepared.warnings
    if text:
        bad = invalid_characters(text, ASCII_DIGITS)
        if bad:
            errors.append(Finding("region.invalid_character", f"Only digits are allowed; found {show(bad)}."))
        if len(text) != 6:
            errors.append(
                Finding("region.length", f"A division code has 6 digits, not {len(text)} characters.")
            )
    if not errors:
        records = region_table().get(text)
        if not records:
            errors.append(Finding("region.unknown", f"{text} is not a known administrative division code."))
        else:
            latest = _latest(records)
            if not latest.current:
                warnings.append(
                    Finding(
                        "region.abolished",
                        f"{text} ({latest.name}) was abolished after {latest.end_year}; "
                        "it is still valid on older records.",
                    )
                )
    return make_result(value, "region", text, errors, warnings)
