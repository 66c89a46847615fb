"""From bytes to typed Arrow columns: JSON bodies and lines, CSV and Parquet files.

The output of every source is a ``Decoded`` batch: one column per field of the kind (integers as int64,
timestamps as strings or, from Parquet, as timestamps, everything else as strings), the position of each row
in its source (a data row number for files, an index for REST bodies), and the rows that could not be
decoded at all (bad encoding, wrong cell count, wrong JSON type, unknown field) with their reasons.

CSV and Parquet files are read in columnar batches by pyarrow; only rows that fail go through Python.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ecredit.errors import BadRequest
from ecredit.intake.formats import INT, TIMESTAMP, Kind

_INT_RE = r"^[+-]?[0-9]{1,19}$"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
CSV_BLOCK_BYTES = 8 << 20
T = TypeVar("T")


@dataclass(frozen=True)
class Issue:
    """One reason a record is refused: its position in the source, the field (None: the whole record)."""

    position: int
    field: str | None
    reason: str

    def text(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


@dataclass
class Decoded:
    table: pa.Table
    positions: np.ndarray  # int64, one per row of ``table``, increasing
    issues: list[Issue] = field(default_factory=list)
    raw: dict[int, str] = field(default_factory=dict)  # the source text of refused rows (files)

    @property
    def rows(self) -> int:
        return self.table.num_rows


def arrow_type(f: Any) -> pa.DataType:
    return pa.int64() if f.type == INT else pa.string()


def empty_table(kind: Kind) -> pa.Table:
    return pa.table({f.name: pa.array([], type=arrow_type(f)) for f in kind.fields})


# ---------------------------------------------------------------- byte facts (fast paths)


@dataclass(frozen=True)
class ByteFacts:
    """What the bytes of a text column have in common, read off its buffers in one numpy pass.

    The validators use them to skip kernels that cannot change or refuse anything (NFKC and trimming of
    visible ASCII, the identifier regex, the length check of ASCII text). Null slots are scanned too, which
    can only make the facts more pessimistic (a fast path not taken), never wrong.
    """

    low: int  # the smallest byte (256 when there is no byte)
    high: int  # the largest byte (-1 when there is no byte)
    longest: int  # bytes of the longest value
    empty: bool  # some non-null value is ""

    @property
    def ascii(self) -> bool:
        return self.high < 0x80

    @property
    def visible(self) -> bool:
        """Every byte is visible ASCII: no space, no control character."""
        return self.low >= 0x21 and self.high <= 0x7E


_OFFSET_TYPES = {pa.string(): np.int32, pa.binary(): np.int32, pa.large_string(): np.int64}
_OFFSET_TYPES[pa.large_binary()] = np.int64


def value_bounds(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """The byte offsets of a string or binary array (``n + 1``, relative to its data) and the data."""
    width = _OFFSET_TYPES.get(arr.type)
    if width is None:
        return None
    n = len(arr)
    buffers = arr.buffers()
    if buffers[1] is None:
        return np.zeros(n + 1, dtype=width), np.zeros(0, dtype=np.uint8)
    size = np.dtype(width).itemsize
    offsets = np.frombuffer(buffers[1], dtype=width, count=n + 1, offset=arr.offset * size)
    first, last = int(offsets[0]), int(offsets[-1])
    if buffers[2] is None or last == first:
        data = np.zeros(0, dtype=np.uint8)
    else:
        data = np.frombuffer(buffers[2], dtype=np.uint8, count=last - first, offset=first)
    return offsets - first, data


def byte_facts(arr: pa.Array) -> ByteFacts | None:
    """The byte facts of a string or binary array (None for other types)."""
    bounds = value_bounds(arr)
    if bounds is None:
        return None
    offsets, data = bounds
    if not len(arr):
        return ByteFacts(256, -1, 0, False)
    lengths = np.diff(offsets)
    low, high = (int(data.min()), int(data.max())) if len(data) else (256, -1)
    empty = lengths == 0
    if arr.null_count:
        empty &= arr.is_valid().to_numpy(zero_copy_only=False)
    return ByteFacts(low, high, int(lengths.max()), bool(empty.any()))


# ---------------------------------------------------------------- reading ahead


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced on a worker thread up to ``depth`` ahead of the consumer.

    pyarrow releases the GIL while it reads and parses, so the next chunk is read while this one is
    validated and written. An exception of the producer is raised in the consumer. Closing the generator
    (or dropping it) stops the worker.
    """
    slots: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def put(item: Any, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                slots.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(end, exc)
        else:
            put(end)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=run, name="intake-read", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join()


# ---------------------------------------------------------------- JSON


def parse_json_body(body: bytes, *, ndjson: bool) -> list[Any]:
    """The records of a REST body: a JSON array, or JSON Lines (one object per line)."""
    if ndjson:
        records = []
        for number, line in enumerate(body.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise BadRequest(f"line {number} of the body is not valid JSON") from None
        return records
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(value, list):
        raise BadRequest("the request body must be a JSON array of records")
    return value


def decode_records(kind: Kind, records: Sequence[Any], positions: Sequence[int]) -> Decoded:
    """Typed columns from JSON objects; a record with an unknown field or a wrong JSON type is refused."""
    plain = _decode_plain(kind, records, positions)
    return plain if plain is not None else decode_each(kind, records, positions)


def _decode_plain(kind: Kind, records: Sequence[Any], positions: Sequence[int]) -> Decoded | None:
    """The columns straight from Arrow's conversion when every record is plain: an object of known fields,
    each value null or of its field's JSON type (as JSON parsers give them: ``str``, ``int``, ``float``...).
    None sends the batch to ``decode_each``, which finds and explains what is not (and gives the same
    columns when everything is plain)."""
    if not all(isinstance(r, dict) for r in records) or not set().union(*records) <= set(kind.names):
        return None
    columns: dict[str, pa.Array] = {}
    for f in kind.fields:
        values = [r.get(f.name) for r in records]
        if f.type == INT and any(type(v) is float for v in values):
            return None  # Arrow would truncate 2.5 to 2
        try:
            # The type is given: inferring it costs pyarrow a failed import of dateutil at every call.
            columns[f.name] = pa.array(values, type=arrow_type(f))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return None  # a value of another JSON type (a boolean for an integer, ...), or out of range
    return Decoded(pa.table(columns), np.asarray(positions, dtype=np.int64))


def decode_each(kind: Kind, records: Sequence[Any], positions: Sequence[int]) -> Decoded:
    """``decode_records`` record by record, with the reason of every refusal."""
    fields = kind.fields
    known = set(kind.names)
    columns: list[list[Any]] = [[] for _ in fields]
    kept: list[int] = []
    issues: list[Issue] = []
    for pos, record in zip(positions, records, strict=True):
        if not isinstance(record, dict):
            issues.append(Issue(pos, None, "must be a JSON object"))
            continue
        bad = False
        for name in record.keys() - known:
            issues.append(Issue(pos, str(name), "unknown field"))
            bad = True
        values = []
        for f in fields:
            v = record.get(f.name)
            if v is not None:
                if f.type == INT:
                    if type(v) is float and v.is_integer():
                        v = int(v)
                    if type(v) is not int:
                        issues.append(Issue(pos, f.name, "must be a JSON integer"))
                        bad = True
                    elif not INT64_MIN <= v <= INT64_MAX:
                        issues.append(Issue(pos, f.name, "out of range"))
                        bad = True
                elif not isinstance(v, str):
                    issues.append(Issue(pos, f.name, "must be a string"))
                    bad = True
            values.append(v)
        if bad:
            continue
        for column, v in zip(columns, values, strict=True):
            column.append(v)
        kept.append(pos)
    table = pa.table(
        {f.name: pa.array(col, type=arrow_type(f)) for f, col in zip(fields, columns, strict=True)}
    )
    issues.sort(key=lambda i: i.position)
    return Decoded(table, np.asarray(kept, dtype=np.int64), issues)


def iter_jsonl(
    kind: Kind, path: Path, batch_rows: int, *, on_bytes: Callable[[int], None] | None = None
) -> Iterator[Decoded]:
    """JSON Lines, ``batch_rows`` lines at a time (positions are line numbers)."""
    seen = 0
    with path.open("rb") as fh:
        chunk: list[Any] = []
        numbers: list[int] = []
        issues: list[Issue] = []
        raw: dict[int, str] = {}
        for number, line in enumerate(fh, start=1):
            seen += len(line)
            text = line.rstrip(b"\r\n")
            if number == 1:
                text = text.removeprefix(codecs.BOM_UTF8)
            if text.strip():
                try:
                    chunk.append(orjson.loads(text))
                    numbers.append(number)
                except orjson.JSONDecodeError:
                    try:
                        text.decode("utf-8")
                        reason = "invalid JSON"
                    except UnicodeDecodeError:
                        reason = "line is not valid UTF-8"
                    issues.append(Issue(number, None, reason))
                    raw[number] = text.decode("utf-8", "replace")
            if number % batch_rows == 0:
                if on_bytes is not None:
                    on_bytes(seen)
                yield _json_chunk(kind, chunk, numbers, issues, raw)
                chunk, numbers, issues, raw = [], [], [], {}
        if chunk or issues:
            yield _json_chunk(kind, chunk, numbers, issues, raw)


def _json_chunk(
    kind: Kind, chunk: list[Any], numbers: list[int], issues: list[Issue], raw: dict[int, str]
) -> Decoded:
    decoded = decode_records(kind, chunk, numbers)
    refused = {i.position for i in decoded.issues}
    for number, record in zip(numbers, chunk, strict=True):
        if number in refused:
            raw[number] = orjson.dumps(record).decode()
    decoded.issues = sorted(issues + decoded.issues, key=lambda i: i.position)
    decoded.raw = raw
    return decoded


# ---------------------------------------------------------------- CSV


def _header(path: Path) -> list[str]:
    with path.open("rb") as fh:
        first = fh.readline()
    first = first.removeprefix(codecs.BOM_UTF8).rstrip(b"\r\n")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{path.name}: the header row is not UTF-8") from None
    if not text.strip():
        raise BadRequest(f"{path.name}: the file has no header row")
    return [h.strip() for h in next(csv.reader([text]))]


def check_columns(kind: Kind, columns: Sequence[str], source: str) -> None:
    """A file whose columns the kind does not know, or that lacks a required one, is refused whole."""
    unknown = [c for c in columns if c not in kind.names]
    if unknown:
        raise BadRequest(f"{source}: unknown column(s) {', '.join(unknown)} for kind {kind.name}")
    duplicated = sorted({c for c in columns if list(columns).count(c) > 1})
    if duplicated:
        raise BadRequest(f"{source}: duplicated column(s) {', '.join(duplicated)}")
    missing = [c for c in kind.required if c not in columns]
    if missing:
        raise BadRequest(f"{source}: missing required column(s) {', '.join(missing)}")


class _Numbering:
    """Line numbers of the rows a CSV reader yields, given the lines it skipped as invalid."""

    def __init__(self) -> None:
        self.cursor = 2  # the first data line (line 1 is the header)
        self.skipped: list[int] = []

    def take(self, n: int) -> np.ndarray:
        pending = np.asarray(sorted(s for s in self.skipped if s >= self.cursor), dtype=np.int64)
        candidates = np.arange(self.cursor, self.cursor + n + len(pending), dtype=np.int64)
        lines = np.setdiff1d(candidates, pending, assume_unique=True)[:n]
        if n:
            self.cursor = int(lines[-1]) + 1
        self.skipped = [s for s in self.skipped if s >= self.cursor]
        return lines


def iter_csv(kind: Kind, path: Path, *, on_bytes: Callable[[int], None] | None = None) -> Iterator[Decoded]:
    """A CSV file with a header, in pyarrow's streaming batches (positions are data row numbers).

    Every column is read as bytes; a cell that is not UTF-8, a row with the wrong number of cells and a
    cell of an integer column that is not an integer refuse their row only. Empty lines are skipped.
    """
    header = _header(path)
    check_columns(kind, header, path.name)
    numbering = _Numbering()
    bad_lines: list[tuple[int, str, str]] = []

    def on_invalid(row: Any) -> str:
        if row.number is None:  # only with threads, which are off
            return "error"
        numbering.skipped.append(row.number)
        if row.text.strip(",\r\n\t "):
            reason = f"expected {row.expected_columns} cells, found {row.actual_columns}"
            bad_lines.append((row.number, reason, row.text))
        return "skip"

    # A native file: no Python code runs (and takes the GIL) while pyarrow reads. Its position is the
    # progress, asked between batches on this thread.
    source = pa.OSFile(str(path))
    try:
        reader = pa_csv.open_csv(
            source,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
            # Quoted cells may hold line breaks: the reader must not cut its blocks inside one.
            parse_options=pa_csv.ParseOptions(
                invalid_row_handler=on_invalid, ignore_empty_lines=False, newlines_in_values=True
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.binary()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                check_utf8=False,
            ),
        )
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise BadRequest(f"{path.name}: unreadable CSV near line {numbering.cursor}: {exc}") from None
            if on_bytes is not None:
                on_bytes(source.tell())
            lines = numbering.take(batch.num_rows)
            issues = [Issue(n - 1, None, reason) for n, reason, _ in bad_lines]
            raw = {n - 1: text for n, _, text in bad_lines}
            bad_lines.clear()
            yield _typed_from_binary(kind, pa.Table.from_batches([batch]), lines - 1, issues, raw)
    finally:
        source.close()
    if bad_lines:
        issues = [Issue(n - 1, None, reason) for n, reason, _ in bad_lines]
        raw = {n - 1: text for n, _, text in bad_lines}
        yield Decoded(empty_table(kind), np.zeros(0, dtype=np.int64), issues, raw)


def raw_row(table: pa.Table, index: int) -> str:
    cells = []
    for name in table.column_names:
        v = table.column(name)[index].as_py()
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        cells.append("" if v is None else str(v))
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _typed_from_binary(
    kind: Kind, table: pa.Table, positions: np.ndarray, issues: list[Issue], raw: dict[int, str]
) -> Decoded:
    """Binary CSV cells to the kind's types; rows that fail are refused with a reason."""
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    # Empty lines come back as rows of nulls: skip them (none when a column has no null).
    if n and table.num_columns and all(col.null_count for col in table.columns):
        blank = np.ones(n, dtype=bool)
        for col in table.columns:
            blank &= col.is_null().to_numpy(zero_copy_only=False)
        if blank.any():
            keep = ~blank
            table = table.filter(pa.array(keep))
            positions = positions[keep]
            n = table.num_rows
            bad = np.zeros(n, dtype=bool)
    found: list[Issue] = []
    columns: dict[str, pa.Array] = {}
    for f in kind.fields:
        if f.name not in table.column_names:
            columns[f.name] = pa.nulls(n, type=arrow_type(f))
            continue
        col = table.column(f.name).combine_chunks()
        try:
            text = col.cast(pa.string())
        except pa.ArrowInvalid:
            values = col.to_pylist()
            decoded = []
            for i, v in enumerate(values):
                try:
                    decoded.append(None if v is None else v.decode("utf-8"))
                except UnicodeDecodeError:
                    decoded.append(None)
                    bad[i] = True
                    found.append(Issue(int(positions[i]), f.name, "not valid UTF-8"))
            text = pa.array(decoded, type=pa.string())
        if f.type == INT:
            ints, wrong = parse_ints(text)
            for i in np.flatnonzero(wrong):
                found.append(Issue(int(positions[i]), f.name, "must be an integer"))
            bad |= wrong
            columns[f.name] = ints
        else:
            columns[f.name] = text
    typed = pa.table(columns)
    if found:
        for i in np.flatnonzero(bad):
            raw[int(positions[i])] = raw_row(table, int(i))
        keep = ~bad
        typed = typed.filter(pa.array(keep))
        positions = positions[keep]
    all_issues = sorted(issues + found, key=lambda i: i.position)
    return Decoded(typed, positions, all_issues, raw)


def parse_ints(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Decimal strings (NFKC, surrounding spaces allowed) to int64; the mask marks the cells that are not."""
    facts = byte_facts(text)
    plain = facts is not None and not facts.empty and facts.longest <= 19
    if plain and facts is not None and facts.low >= ord("-") and facts.high <= ord("9"):
        # Only "-./0123456789": what Arrow's cast accepts of these is ``-?[0-9]+``, as the rule below.
        try:
            return text.cast(pa.int64()), np.zeros(len(text), dtype=bool)
        except pa.ArrowInvalid:
            pass
    clean = pc.utf8_trim_whitespace(pc.utf8_normalize(text, "NFKC"))
    clean = pc.if_else(pc.equal(clean, ""), pa.scalar(None, pa.string()), clean)
    shaped = pc.match_substring_regex(clean, _INT_RE)
    wrong = pc.fill_null(pc.and_(pc.is_valid(clean), pc.invert(shaped)), False)
    candidates = pc.if_else(shaped, clean, pa.scalar(None, pa.string()))
    try:
        ints = candidates.cast(pa.int64())
    except (pa.ArrowInvalid, OverflowError):
        values = []
        extra = np.zeros(len(text), dtype=bool)
        for i, v in enumerate(candidates.to_pylist()):
            if v is not None and INT64_MIN <= int(v) <= INT64_MAX:
                values.append(int(v))
            else:
                values.append(None)
                extra[i] = v is not None
        ints = pa.array(values, type=pa.int64())
        return ints, wrong.to_numpy(zero_copy_only=False) | extra
    return ints, wrong.to_numpy(zero_copy_only=False)


# ---------------------------------------------------------------- Parquet


def iter_parquet(kind: Kind, path: Path, batch_rows: int) -> Iterator[Decoded]:
    """A Parquet file in batches of ``batch_rows`` rows (positions are 1-based row numbers)."""
    try:
        pf = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadRequest(f"{path.name}: not a readable Parquet file ({exc})") from None
    schema = pf.schema_arrow
    check_columns(kind, schema.names, path.name)
    for f in kind.fields:
        if f.name in schema.names:
            _check_parquet_type(f, schema.field(f.name).type, path.name)
    start = 1
    for batch in pf.iter_batches(batch_size=batch_rows, columns=list(schema.names)):
        n = batch.num_rows
        positions = np.arange(start, start + n, dtype=np.int64)
        start += n
        table = pa.Table.from_batches([batch])
        columns: dict[str, pa.Array] = {}
        bad = np.zeros(n, dtype=bool)
        issues: list[Issue] = []
        for f in kind.fields:
            if f.name not in table.column_names:
                columns[f.name] = pa.nulls(n, type=arrow_type(f))
                continue
            col = table.column(f.name).combine_chunks()
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            if f.type == INT and not pa.types.is_null(col.type):
                if pa.types.is_integer(col.type):
                    col = col.cast(pa.int64())
                else:
                    col, wrong = parse_ints(col.cast(pa.string()))
                    for i in np.flatnonzero(wrong):
                        issues.append(Issue(int(positions[i]), f.name, "must be an integer"))
                    bad |= wrong
            elif f.type == TIMESTAMP and pa.types.is_timestamp(col.type):
                col = col.cast(pa.timestamp("us", tz="UTC"))
            elif pa.types.is_null(col.type):
                col = pa.nulls(n, type=arrow_type(f))
            else:
                col = col.cast(pa.string())
            columns[f.name] = col
        typed = pa.table(columns)
        raw: dict[int, str] = {}
        if issues:
            for i in np.flatnonzero(bad):
                raw[int(positions[i])] = raw_row(table, int(i))
            typed = typed.filter(pa.array(~bad))
            positions = positions[~bad]
        yield Decoded(typed, positions, issues, raw)


def _check_parquet_type(f: Any, t: pa.DataType, source: str) -> None:
    if pa.types.is_dictionary(t):
        t = t.value_type
    textual = pa.types.is_string(t) or pa.types.is_large_string(t)
    if f.type == TIMESTAMP and pa.types.is_timestamp(t):
        if t.tz is None:
            raise BadRequest(f"{source}: column {f.name} is a timestamp without time zone")
        return
    if textual or pa.types.is_integer(t) or pa.types.is_null(t):
        return
    raise BadRequest(f"{source}: column {f.name} has type {t}, expected text or integers")


# ---------------------------------------------------------------- batches aligned on row numbers


def aligned(chunks: Iterator[Decoded], size: int) -> Iterator[tuple[int, Decoded]]:
    """Re-cut a stream of decoded chunks into batches of positions ``[i*size+1, (i+1)*size]``.

    Batch boundaries depend only on row numbers, never on how a reader happened to cut its blocks, so a
    file batch is the same on every run (its idempotency key is derived from the file and its index).
    """
    tables: list[pa.Table] = []
    positions: list[np.ndarray] = []
    issues: list[Issue] = []
    raw: dict[int, str] = {}
    current = 0

    def cut(limit: int | None) -> Decoded:
        nonlocal tables, positions, issues, raw
        table = pa.concat_tables(tables) if tables else None
        pos = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        split = len(pos) if limit is None else int(np.searchsorted(pos, limit, side="right"))
        head_issues = [i for i in issues if limit is None or i.position <= limit]
        head_raw = {k: v for k, v in raw.items() if limit is None or k <= limit}
        if table is None:
            head_table = None
        else:
            head_table = table.slice(0, split)
            rest = table.slice(split)
            tables = [rest] if rest.num_rows else []
        positions = [pos[split:]] if split < len(pos) else []
        issues = [i for i in issues if limit is not None and i.position > limit]
        raw = {k: v for k, v in raw.items() if limit is not None and k > limit}
        return Decoded(head_table, pos[:split], head_issues, head_raw)  # type: ignore[arg-type]

    template: pa.Table | None = None
    for chunk in chunks:
        if template is None:
            template = chunk.table.schema.empty_table()
        if chunk.rows:
            tables.append(chunk.table)
            positions.append(chunk.positions)
        issues.extend(chunk.issues)
        raw.update(chunk.raw)
        if not chunk.rows:
            continue
        last = int(chunk.positions[-1])
        while (current + 1) * size < last:
            out = cut((current + 1) * size)
            if out.table is None:
                out.table = chunk.table.schema.empty_table()
            if out.rows or out.issues:
                yield current, out
            current += 1
    while tables or issues:
        limit = (current + 1) * size
        out = cut(limit)
        if out.table is None:
            out.table = template if template is not None else pa.table({})
        if out.rows or out.issues:
            yield current, out
        current += 1
