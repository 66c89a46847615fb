"""Regenerate regions.csv from python-stdnum's historical division table (stdnum/cn/loc.dat).

Usage (from the repository root)::

    .venv/bin/python src/ecredit/identifiers/data/build_regions.py           # rewrite regions.csv
    .venv/bin/python src/ecredit/identifiers/data/build_regions.py --check   # exit 1 if it is stale

loc.dat layout: a province line ``37 province="山东省"`` followed by indented lines
``  0102 county="[1983-]历下区"``. A county value is one name, or a comma-separated list of
``[start-end]name`` entries, where either year may be missing (open range). Every entry becomes
one CSV row ``code,name,start_year,end_year``; an empty start_year means "since before the table
begins" and an empty end_year means "still in use".
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from importlib import resources
from pathlib import Path

HEADER = ("code", "name", "start_year", "end_year")
OUTPUT = Path(__file__).with_name("regions.csv")

_PROVINCE = re.compile(r'^([0-9]{2}) province="([^"]*)"$')
_COUNTY = re.compile(r'^\s+([0-9]{4}) county="([^"]*)"$')
_ENTRY = re.compile(r"^\[([0-9]{4})?-([0-9]{4})?\](.+)$")

Row = tuple[str, str, str, str]


def read_loc_dat() -> str:
    """Return the text of the loc.dat file shipped with the installed python-stdnum."""
    return resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")


def parse_entries(code: str, value: str) -> list[Row]:
    """Split one loc.dat county value into CSV rows for ``code``."""
    rows: list[Row] = []
    for part in value.split(","):
        match = _ENTRY.match(part)
        if match:
            start, end, name = match.groups()
            rows.append((code, name, start or "", end or ""))
        elif "[" in part or "]" in part:
            raise ValueError(f"unparsable loc.dat entry for {code}: {part!r}")
        else:
            rows.append((code, part, "", ""))
    return rows


def build_rows(text: str) -> list[Row]:
    """Parse loc.dat text into CSV rows, adding a province row (xx0000) if one is missing."""
    rows: list[Row] = []
    province_names: dict[str, str] = {}
    province = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if match := _PROVINCE.match(line):
            province = match.group(1)
            province_names[province] = match.group(2)
        elif (match := _COUNTY.match(line)) and province is not None:
            rows.extend(parse_entries(province + match.group(1), match.group(2)))
        else:
            raise ValueError(f"loc.dat line {number} not understood: {line!r}")
    # loc.dat lists every province as xx0000 too; derive the row from the province line otherwise.
    present = {row[0] for row in rows}
    for prefix, name in province_names.items():
        if prefix + "0000" not in present:
            rows.append((prefix + "0000", name, "", ""))
    # Stable order: by code, then in loc.dat order (which is chronological) within a code.
    return sorted(rows, key=lambda row: row[0])


def render_csv(rows: list[Row]) -> str:
    """Render rows as CSV text with a header and LF line endings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, verify) regions.csv; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if regions.csv is not up to date")
    args = parser.parse_args(argv)
    expected = render_csv(build_rows(read_loc_dat()))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != expected:
            sys.stderr.write(f"{OUTPUT} is stale; rerun {Path(__file__).name}\n")
            return 1
        return 0
    OUTPUT.write_text(expected, encoding="utf-8", newline="")
    sys.stdout.write(f"wrote {expected.count(chr(10)) - 1} rows to {OUTPUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
