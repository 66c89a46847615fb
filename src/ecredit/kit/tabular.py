"""Streaming reads of CSV, JSON Lines and Excel (.xlsx) files, row by row with their line numbers.

A row that cannot be decoded is yielded as a ``RowError`` rather than stopping the file, so bulk loaders
can write it to the rejects file with its number and go on.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ecredit.errors import BadRequest


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row number (header excluded for CSV; line number for JSONL)
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    number: int
    reason: str
    raw: str


def detect_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``xlsx`` from the file name."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".xlsx":
        return "xlsx"
    if ".csv" in suffixes:
        return "csv"
    if ".jsonl" in suffixes or ".ndjson" in suffixes or ".json" in suffixes:
        return "jsonl"
    raise BadRequest(f"{path.name}: unknown file type (expected .csv or .jsonl)")


def _lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str | None, bytes]]:
    """(line number, decoded text or None when not in ``encoding``, raw bytes) for each line of the file.

    Line by line is safe for UTF-8 and GB18030 alike: neither uses a newline byte inside a character.
    """
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                yield number, None, raw
                continue
            if number == 1:
                text = text.removeprefix(codecs.BOM_UTF8.decode("utf-8"))
            yield number, text, raw


def detect_encoding(path: Path) -> str:
    """``utf-8`` or ``gb18030`` (the encoding of many government exports), judged by the header line: a
    later row that is not in the file's encoding is rejected on its own, not guessed."""
    with path.open("rb") as fh:
        header = fh.readline()
    for encoding in ("utf-8", "gb18030"):
        try:
            header.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise BadRequest(f"{path.name}: the header row is neither UTF-8 nor GB18030 (name it with --encoding)")


def read_rows(
    path: Path, *, columns: frozenset[str] | None = None, encoding: str = "utf-8"
) -> Iterator[Row | RowError]:
    """Stream the rows of a CSV (with header), JSON Lines or Excel file (``encoding``: CSV only)."""
    fmt = detect_format(path)
    if fmt == "csv":
        yield from _read_csv(path, columns, encoding)
    elif fmt == "xlsx":
        yield from _read_xlsx(path, columns)
    else:
        yield from _read_jsonl(path, columns)


def _read_xlsx(path: Path, columns: frozenset[str] | None) -> Iterator[Row | RowError]:
    """The first sheet of a workbook: the first row is the header; cells keep their types (dates, numbers)."""
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BadRequest(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            return
        header = ["" if h is None else str(h).strip() for h in first]
        if columns is not None:
            unknown = [h for h in header if h and h not in columns]
            if unknown:
                raise BadRequest(f"{path.name}: unknown column(s) {', '.join(unknown)}")
        for number, cells in enumerate(rows, start=1):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            values = {h: (None if c == "" else c) for h, c in zip(header, cells, strict=False) if h}
            yield Row(number, values)
    finally:
        workbook.close()


def _read_csv(
    path: Path, columns: frozenset[str] | None, encoding: str = "utf-8"
) -> Iterator[Row | RowError]:
    header: list[str] | None = None
    data_number = 0
    for _line_no, text, raw in _lines(path, encoding):
        if header is None:
            if text is None:
                raise BadRequest(f"{path.name}: the header row is not {encoding.upper()}")
            header = [h.strip() for h in next(csv.reader([text]))]
            if columns is not None:
                unknown = [h for h in header if h not in columns]
                if unknown:
                    raise BadRequest(f"{path.name}: unknown column(s) {', '.join(unknown)}")
            continue
        data_number += 1
        if text is None:
            yield RowError(
                data_number,
                f"row is not valid {encoding.upper()}",
                raw.decode(encoding, "replace").rstrip("\r\n"),
            )
            continue
        if not text.strip():
            continue
        try:
            cells = next(csv.reader(io.StringIO(text)))
        except (csv.Error, StopIteration) as exc:
            yield RowError(data_number, f"unparseable CSV row: {exc}", text.rstrip("\r\n"))
            continue
        if len(cells) != len(header):
            yield RowError(
                data_number, f"expected {len(header)} cells, found {len(cells)}", text.rstrip("\r\n")
            )
            continue
        yield Row(data_number, {k: (v if v != "" else None) for k, v in zip(header, cells, strict=True)})


def _read_jsonl(path: Path, columns: frozenset[str] | None) -> Iterator[Row | RowError]:
    for line_no, text, raw in _lines(path):
        if text is None:
            yield RowError(line_no, "line is not valid UTF-8", raw.decode("utf-8", "replace").rstrip("\r\n"))
            continue
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield RowError(line_no, f"invalid JSON: {exc}", text.rstrip("\r\n"))
            continue
        if not isinstance(value, dict):
            yield RowError(line_no, "each line must be a JSON object", text.rstrip("\r\n"))
            continue
        if columns is not None:
            unknown = sorted(set(value) - columns)
            if unknown:
                yield RowError(line_no, f"unknown field(s) {', '.join(unknown)}", text.rstrip("\r\n"))
                continue
        yield Row(line_no, value)


class RejectsWriter:
    """Writes rejected rows to ``FILE.rejects.csv`` (row number, reason, the raw row); created lazily."""

    def __init__(self, source: Path):
        self.path = source.with_name(source.name + ".rejects.csv")
        self.count = 0
        self._fh: io.TextIOWrapper | None = None
        self._writer: Any = None
        if self.path.exists():
            self.path.unlink()

    def write(self, number: int, reason: str, raw: str) -> None:
        if self._fh is None:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(["row", "reason", "raw"])
        self._writer.writerow([number, reason, raw])
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
