"""Columnar validation of decoded records, and their conversion to lake rows.

Every rule runs over whole columns with pyarrow compute. Identifiers with few distinct values (regions,
GTINs, USCCs) are checked once per distinct value with ``ecredit.identifiers`` (cached across batches);
citizen ID numbers take a vectorised fast path (shape, check character, birth date) and only the numbers
that fail it go through ``identifiers.check`` for the reason. Shops are looked up in batches, once per
distinct shop id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecredit import identifiers
from ecredit.analytics import lake
from ecredit.identifiers.ric import CHECK_CHARACTERS as RIC_CHECK
from ecredit.identifiers.ric import WEIGHTS as RIC_WEIGHTS
from ecredit.intake.decode import ByteFacts, Decoded, Issue, byte_facts, value_bounds
from ecredit.intake.formats import (
    ENUM,
    GTIN,
    ID,
    ID_NUMBER,
    INT,
    PHONE,
    REFERENCE,
    REGION,
    TEXT,
    TIMESTAMP,
    USCC,
    Field,
    Kind,
    lake_schema,
)

EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
FUTURE_SLACK = dt.timedelta(days=1)
TS_TYPE = pa.timestamp("us", tz="UTC")
_TS_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})$"
)
_ID_RE = r"^[!-~]+$"
_PHONE_RE = r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"
_RIC_RE = r"^[0-9]{17}[0-9X]$"
_NULL = pa.scalar(None, pa.string())
_CACHE_LIMIT = 200_000
_CHECK_KIND = {REGION: "region", GTIN: "gtin", USCC: "uscc"}

ShopLookup = Callable[[list[str]], set[str]]


@dataclass
class Validated:
    table: pa.Table  # the valid rows, normalised; personal fields still in clear (``to_lake`` encrypts)
    positions: np.ndarray
    issues: list[Issue] = field(default_factory=list)

    @property
    def refused(self) -> set[int]:
        return {i.position for i in self.issues}


def _int(value: int, type_: pa.DataType = pa.int64()) -> pa.Scalar:
    # A typed scalar: from a bare int, pyarrow infers the type, and tries to import dateutil (absent here,
    # so the failed import scans sys.path) at every call: a millisecond for each rule of each REST batch.
    return pa.scalar(value, type_)


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _clean(col: pa.Array, *, nfkc: bool = True) -> tuple[pa.Array, ByteFacts | None]:
    """NFKC (unless ``nfkc`` is false), trimmed, "" as null; with the byte facts of the result."""
    facts = byte_facts(col)
    if facts is not None and facts.visible:
        # Visible ASCII only (the common case): NFKC and trimming would change nothing.
        return (pc.if_else(pc.equal(col, ""), _NULL, col) if facts.empty else col), facts
    # NFKC leaves ASCII alone: skip it (a slow kernel) when every value is ASCII.
    if nfkc and (facts is None or not facts.ascii) and pc.all(pc.string_is_ascii(col)).as_py() is False:
        col = pc.utf8_normalize(col, "NFKC")
    col = pc.utf8_trim_whitespace(col)
    col = pc.if_else(pc.equal(col, ""), _NULL, col)
    return col, byte_facts(col)


class Validator:
    """Validates batches of one kind for one platform; per-value caches live as long as the validator."""

    def __init__(
        self,
        kind: Kind,
        platform: str,
        shops: ShopLookup | None,
        *,
        now: dt.datetime | None = None,
    ) -> None:
        self.kind = kind
        self.platform = platform
        self.shops = shops
        self.now = now or dt.datetime.now(dt.UTC)
        self._checked: dict[str, dict[str, tuple[str | None, str | None]]] = {}
        self._known_shops: set[str] = set()

    # ------------------------------------------------------------ entry point

    def validate(self, decoded: Decoded) -> Validated:
        table, positions = decoded.table, decoded.positions
        n = table.num_rows
        problems: list[tuple[np.ndarray, str, list[str] | str]] = []

        def flag(mask: np.ndarray, name: str, reason: list[str] | str) -> None:
            idx = np.flatnonzero(mask)
            if len(idx):
                problems.append((idx, name, reason if isinstance(reason, str) else [reason[i] for i in idx]))

        columns: dict[str, pa.Array] = {}
        for f in self.kind.fields:
            col = table.column(f.name).combine_chunks()
            columns[f.name] = self._field(f, col, flag)
        if n:
            self._cross_field(columns, flag)
            if self.kind.shop_column and self.shops is not None:
                self._shops(columns[self.kind.shop_column], flag)
        issues = list(decoded.issues)
        if problems:
            bad = np.zeros(n, dtype=bool)
            order = {f.name: i for i, f in enumerate(self.kind.fields)}
            found = []
            for idx, name, reason in problems:
                bad[idx] = True
                reasons = [reason] * len(idx) if isinstance(reason, str) else reason
                found.extend(
                    (int(positions[i]), order.get(name, 99), Issue(int(positions[i]), name, r))
                    for i, r in zip(idx, reasons, strict=True)
                )
            found.sort(key=lambda t: (t[0], t[1]))
            issues.extend(issue for _, _, issue in found)
            issues.sort(key=lambda i: i.position)
            keep = pa.array(~bad)
            out = pa.table(columns).filter(keep)
            return Validated(out, positions[~bad], issues)
        return Validated(pa.table(columns), positions, issues)

    # ------------------------------------------------------------ fields

    def _field(self, f: Field, col: pa.Array, flag: Callable[..., None]) -> pa.Array:
        facts: ByteFacts | None = None
        if f.type == INT:
            values = col.cast(pa.int64())
        elif f.type == TIMESTAMP:
            return self._timestamp(f, col, flag)
        else:
            values, facts = _clean(col, nfkc=f.type not in (TEXT, REFERENCE))
        missing = _np(values.is_null())
        if f.required:
            flag(missing, f.name, "required")
        present = ~missing
        if f.type == INT:
            if f.minimum is not None:
                flag(_np(pc.less(values, _int(f.minimum))), f.name, f"must be at least {f.minimum}")
            if f.maximum is not None:
                flag(_np(pc.greater(values, _int(f.maximum))), f.name, f"must be at most {f.maximum}")
            return values
        if not present.any():
            return values
        if f.type in (ID, TEXT, REFERENCE):
            # ASCII: a character is a byte, and no value is longer than the longest.
            if facts is None or not facts.ascii or facts.longest > f.max_length:
                too_long = _np(pc.greater(pc.utf8_length(values), _int(f.max_length, pa.int32())))
                flag(too_long, f.name, f"longer than {f.max_length} characters")
            else:
                too_long = np.zeros(len(values), dtype=bool)
            if f.type == ID:
                if facts is None or not facts.visible:  # visible ASCII only: every value matches
                    flag(
                        ~too_long & present & ~_np(pc.match_substring_regex(values, _ID_RE)),
                        f.name,
                        "only visible ASCII characters, no spaces",
                    )
            elif facts is None or facts.low == 0:
                flag(_np(pc.match_substring(values, "\x00")), f.name, "must not contain U+0000")
            return values
        if f.type == ENUM:
            flag(
                present & ~_np(pc.is_in(values, pa.array(f.choices, type=pa.string()))),
                f.name,
                f"must be one of {', '.join(f.choices)}",
            )
            return values
        if f.type == PHONE:
            values = pc.replace_substring(values, " ", "")
            flag(
                present & ~_np(pc.match_substring_regex(values, _PHONE_RE)),
                f.name,
                "not a mainland mobile (11 digits starting 1[3-9]) or a landline with area code",
            )
            return values
        if f.type == ID_NUMBER:
            return self._id_numbers(f, pc.utf8_upper(values), present, flag)
        return self._by_value(f, values, present, flag)

    def _by_value(
        self, f: Field, values: pa.Array, present: np.ndarray, flag: Callable[..., None]
    ) -> pa.Array:
        """Identifier columns with few distinct values: ``identifiers.check`` once per distinct value."""
        what = _CHECK_KIND[f.type]
        cache = self._checked.setdefault(f.name, {})
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        distinct = pc.unique(values.drop_null()).to_pylist()
        for v in distinct:
            if v not in cache:
                result = identifiers.check(v, what)
                if result.valid:
                    cache[v] = (result.normalized, None)
                else:
                    cache[v] = (None, "; ".join(e.message for e in result.errors) or "invalid")
        if not distinct:
            return values
        if all(cache[v] == (v, None) for v in distinct):  # every value valid and already normalised
            return values
        normalized = pa.array([cache[v][0] for v in distinct], type=pa.string())
        reasons = [cache[v][1] for v in distinct]
        index = pc.index_in(values, pa.array(distinct, type=pa.string()))
        out = pc.take(normalized, index)
        if any(r is not None for r in reasons):
            idx = pc.fill_null(index, 0).to_numpy(zero_copy_only=False)
            bad_value = np.asarray([r is not None for r in reasons], dtype=bool)
            bad = present & bad_value[idx]
            texts = np.asarray([r or "" for r in reasons], dtype=object)
            flag(bad, f.name, list(texts[idx]))
        return out

    def _id_numbers(
        self, f: Field, values: pa.Array, present: np.ndarray, flag: Callable[..., None]
    ) -> pa.Array:
        n = len(values)
        shaped = present & _np(pc.match_substring_regex(values, _RIC_RE))
        ok = shaped.copy()
        if shaped.any():
            filler = pa.scalar("0" * 18, pa.string())
            fixed = pc.if_else(pa.array(shaped), values, filler)
            m = _char_matrix(fixed, 18)
            digits = m[:, :17].astype(np.int64) - 48
            check = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)[(digits @ np.asarray(RIC_WEIGHTS)) % 11]
            ok &= check == m[:, 17]
            births = pc.strptime(
                pc.utf8_slice_codeunits(fixed, 6, 14), format="%Y%m%d", unit="s", error_is_null=True
            )
            today = self.now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
            born = pc.fill_null(pc.less_equal(births.cast(pa.date32()), pa.scalar(today, pa.date32())), False)
            ok &= _np(born)
        slow = np.flatnonzero(present & ~ok)
        if not len(slow):
            return values
        replaced = values.to_pylist()
        reasons: list[str] = [""] * n
        bad = np.zeros(n, dtype=bool)
        for i in slow:
            result = identifiers.check(replaced[i], "ric")
            if result.valid:
                replaced[i] = result.normalized
            else:
                bad[i] = True
                reasons[i] = "; ".join(e.message for e in result.errors) or "invalid"
                replaced[i] = None
        flag(bad, f.name, reasons)
        return pa.array(replaced, type=pa.string())

    def _timestamp(self, f: Field, col: pa.Array, flag: Callable[..., None]) -> pa.Array:
        if pa.types.is_timestamp(col.type):
            ts = col.cast(TS_TYPE)
            wrong = np.zeros(len(col), dtype=bool)
        elif (fast := fast_timestamps(col)) is not None:
            ts = fast
            wrong = np.zeros(len(col), dtype=bool)
        else:
            text = pc.utf8_upper(_clean(col)[0])
            shaped = pc.match_substring_regex(text, _TS_RE)
            candidates = pc.if_else(shaped, text, _NULL)
            try:
                ts = candidates.cast(TS_TYPE)
                wrong = _np(pc.and_(pc.is_valid(text), pc.invert(shaped)))
            except pa.ArrowInvalid:
                ts, wrong = _parse_slowly(text)
            col = text
        missing = _np(col.is_null())
        if f.required:
            flag(missing, f.name, "required")
        flag(wrong, f.name, "not an ISO 8601 timestamp with offset, e.g. 2024-01-01T10:21:00+08:00")
        flag(_np(pc.less(ts, pa.scalar(EARLIEST, TS_TYPE))), f.name, "before 1990-01-01")
        flag(_np(pc.greater(ts, pa.scalar(self.now + FUTURE_SLACK, TS_TYPE))), f.name, "in the future")
        return ts

    # ------------------------------------------------------------ rules across fields and records

    def _cross_field(self, c: dict[str, pa.Array], flag: Callable[..., None]) -> None:
        name = self.kind.name
        if name == "orders":
            flag(_np(pc.less(c["paid_at"], c["ordered_at"])), "paid_at", "before ordered_at")
        elif name == "listings":
            flag(_np(pc.less(c["delisted_at"], c["listed_at"])), "delisted_at", "before listed_at")
        elif name == "payments":
            flag(
                _np(pc.greater(c["refund_cents"], c["amount_cents"])),
                "refund_cents",
                "more than amount_cents",
            )
            has_refund = _np(c["refund_cents"].is_valid())
            has_time = _np(c["refunded_at"].is_valid())
            flag(has_refund & ~has_time, "refunded_at", "required with refund_cents")
            flag(has_time & ~has_refund, "refund_cents", "required with refunded_at")
            flag(_np(pc.less(c["refunded_at"], c["paid_at"])), "refunded_at", "before paid_at")

    def _shops(self, shop_ids: pa.Array, flag: Callable[..., None]) -> None:
        distinct = [s for s in pc.unique(shop_ids.drop_null()).to_pylist() if s not in self._known_shops]
        if distinct:
            assert self.shops is not None
            self._known_shops |= self.shops(distinct)
            if len(self._known_shops) > _CACHE_LIMIT * 5:
                self._known_shops = set()
        unknown = _np(
            pc.and_(
                shop_ids.is_valid(),
                pc.invert(
                    pc.is_in(
                        shop_ids,
                        pa.array(sorted(self._known_shops) if self._known_shops else [], type=pa.string()),
                    )
                ),
            )
        )
        if unknown.any():
            ids = shop_ids.to_pylist()
            reasons = [
                f"shop {ids[i]} is not registered for platform {self.platform}" if unknown[i] else ""
                for i in range(len(ids))
            ]
            flag(unknown, self.kind.shop_column or "shop_id", reasons)


_COLON, _PLUS, _MINUS, _Z, _ZERO, _NINE = (ord(c) for c in ":+-Z09")


def fast_timestamps(col: pa.Array) -> pa.Array | None:
    """The instants of a text column when every value is plainly valid, else None (the careful path).

    Arrow's cast parses ``YYYY-MM-DD[T ]hh[:mm[:ss[.f{1,6}]]](Z|[+-]hh[[:]mm])`` strictly (real dates and
    times, an offset required). Formats v1 also wants the seconds and the minutes of the offset: a cast
    value is accepted here when its bytes 13 and 16 are colons, its third last byte is no sign and its last
    is a digit or Z. What passes is exactly what the regex and the cast of the careful path accept, with
    the same instant (a property test holds the two paths to that).
    """
    facts = byte_facts(col)
    if facts is None or facts.empty or facts.low < 0x20 or facts.high > 0x7E:
        return None  # "" or a byte outside printable ASCII: NFKC, trimming or a refusal may be due
    try:
        ts = col.cast(TS_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    bounds = value_bounds(col)
    assert bounds is not None
    offsets, data = bounds
    rows = np.flatnonzero(col.is_valid().to_numpy(zero_copy_only=False)) if col.null_count else None
    starts = offsets[:-1] if rows is None else offsets[rows]
    ends = offsets[1:] if rows is None else offsets[rows + 1]
    if not len(starts):
        return ts
    if int((ends - starts).min()) < 20:
        return None
    last = data[ends - 1]
    ok = (data[starts + 13] == _COLON) & (data[starts + 16] == _COLON)
    ok &= (data[ends - 3] != _PLUS) & (data[ends - 3] != _MINUS)
    ok &= (last == _Z) | ((last >= _ZERO) & (last <= _NINE))
    return ts if bool(ok.all()) else None


def _char_matrix(arr: pa.Array, width: int) -> np.ndarray:
    """The bytes of a string array whose values all have ``width`` ASCII characters, as ``n x width``."""
    arr = arr.cast(pa.string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(n, width)


def _parse_slowly(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Timestamps one by one (a batch where some value has the right shape but is no real instant)."""
    import re

    shape = re.compile(_TS_RE)
    values = []
    wrong = np.zeros(len(text), dtype=bool)
    for i, v in enumerate(text.to_pylist()):
        if v is None:
            values.append(None)
            continue
        try:
            if not shape.match(v):
                raise ValueError(v)
            values.append(dt.datetime.fromisoformat(v).astimezone(dt.UTC))
        except ValueError:
            values.append(None)
            wrong[i] = True
    return pa.array(values, type=TS_TYPE), wrong


# ---------------------------------------------------------------- lake rows


_DAY_US = 86_400 * 1_000_000
_UTC8_US = 8 * 3600 * 1_000_000


def local_days(ts: pa.Array) -> np.ndarray:
    """The local date (Asia/Shanghai) of each instant, as days since 1970-01-01.

    China has kept UTC+8 without daylight saving since 1991, so integer arithmetic is exact for every
    instant intake accepts but those of the summers of 1990 and 1991 (an hour apart at most).
    """
    micros = ts.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return (micros + _UTC8_US) // _DAY_US


def to_lake(
    kind: Kind,
    valid: Validated,
    *,
    platform: str,
    batch_id: str,
    ingested_at: dt.datetime,
    encrypt: Callable[[str, str, str], bytes],
    blind_index: Callable[[str, str], str],
) -> list[tuple[dt.date, pa.Table]]:
    """Valid rows as lake rows, one table per partition date; personal fields become ciphertext and blind
    index (bound to ``<platform>:<record id>``), never stored in clear."""
    table = valid.table
    n = table.num_rows
    if n == 0:
        return []
    record_ids: list[str] | None = None
    columns: dict[str, pa.Array] = {}
    for f in kind.fields:
        col = table.column(f.name)
        if not f.personal:
            columns[f.name] = col
            continue
        if record_ids is None:
            record_ids = [f"{platform}:{k}" for k in table.column(kind.key[0]).to_pylist()]
        values = col.to_pylist()
        columns[f"{f.name}_enc"] = pa.array(
            [
                None if v is None else encrypt(v, f.name, rid)
                for v, rid in zip(values, record_ids, strict=True)
            ],
            type=pa.binary(),
        )
        label = _blind_index_label(f)
        columns[f"{f.name}_bidx"] = pa.array(
            [None if v is None else blind_index(v, label) for v in values], type=pa.string()
        )
    columns[lake.BATCH_COLUMN] = pa.repeat(pa.scalar(batch_id, pa.string()), n)
    columns[lake.ROW_COLUMN] = pa.array(valid.positions, type=pa.int64())
    columns[lake.INGESTED_COLUMN] = pa.repeat(pa.scalar(ingested_at, TS_TYPE), n)
    out = pa.table(columns).cast(lake_schema(kind))
    days = local_days(out.column(kind.timestamp).combine_chunks())
    if len(days) > 1 and bool(np.any(days[1:] < days[:-1])):
        order = np.argsort(days, kind="stable")
        out = out.take(pa.array(order))
        days = days[order]
    values, starts = np.unique(days, return_index=True)
    ends = [*starts[1:], len(days)]
    epoch = dt.date(1970, 1, 1)
    return [
        (epoch + dt.timedelta(days=int(day)), out.slice(int(a), int(b) - int(a)))
        for day, a, b in zip(values, starts, ends, strict=True)
    ]


def _blind_index_label(f: Field) -> str:
    """The blind-index column label: phones and ID numbers share the registry's labels, so a buyer's phone
    can be matched with a shop operator's."""
    return {PHONE: "phone", ID_NUMBER: "id_number", REFERENCE: "payer_ref"}.get(f.type, f.name)


def sorted_issues(issues: Iterable[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: i.position)
