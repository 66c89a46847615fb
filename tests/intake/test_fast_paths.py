"""The fast paths of columnar validation give exactly what the careful paths give.

Each fast path skips kernels when the bytes of a column show they cannot change or refuse anything (or
trusts Arrow's cast after a cheap shape check). These properties compare them with plain Python references
of the rules in ``docs/data-formats.md``, on values built to sit on both sides of every shortcut.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ecredit.intake.decode import byte_facts, decode_each, decode_records, parse_ints
from ecredit.intake.formats import INT, KINDS
from ecredit.intake.validate import _TS_RE, _clean, fast_timestamps

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# ---------------------------------------------------------------- timestamps

digits = st.text("0123456789", min_size=1, max_size=3)
two = st.sampled_from(
    ["00", "01", "09", "10", "12", "23", "24", "29", "30", "31", "59", "60", "99", "1", "123"]
)
years = st.sampled_from(["2024", "1999", "1970", "20240", "+2024", "999"])
dates = st.builds(
    lambda y, m, d, s: f"{y}{s}{m}{s}{d}", years, two, two, st.sampled_from(["-", "-", "", "/"])
)
fractions = st.one_of(st.just(""), st.builds(lambda d: "." + d, st.text("0123456789", max_size=10)))
times = st.one_of(
    st.builds(lambda h: h, two),
    st.builds(lambda h, m: f"{h}:{m}", two, two),
    st.builds(lambda h, m, s, f: f"{h}:{m}:{s}{f}", two, two, two, fractions),
    st.builds(lambda h, m, s: f"{h}{m}{s}", two, two, two),
)
zones = st.one_of(
    st.sampled_from(["", "Z", "z", "+08:00", "-05:30", "+0800", "+08", "-08", "+24:00", "+08:60", " +08:00"]),
    st.builds(
        lambda sign, h, m, colon: f"{sign}{h}{colon}{m}",
        st.sampled_from("+-"),
        two,
        two,
        st.sampled_from(["", ":"]),
    ),
)
timestamps = st.one_of(
    st.builds(
        lambda d, sep, t, z, pad: f"{pad}{d}{sep}{t}{z}{pad[::-1]}",
        dates,
        st.sampled_from(["T", " ", "t", "", "TT"]),
        times,
        zones,
        st.sampled_from(["", "", "", " "]),
    ),
    st.text("0123456789-:+TZ. ", max_size=30),
)


def careful_instant(value: str) -> dt.datetime | None:
    """The rule as written: ISO 8601 with seconds and an offset (after NFKC, trimming and upper-casing)."""
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if not re.fullmatch(_TS_RE.removeprefix("^").removesuffix("$"), text):
        return None
    try:
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    except ValueError:
        return None


class TestFastTimestamps:
    @settings(max_examples=600, deadline=None)
    @given(st.lists(timestamps, min_size=1, max_size=6))
    def test_taken_only_when_every_value_is_valid_and_then_the_same_instants(self, values):
        fast = fast_timestamps(pa.array(values, type=pa.string()))
        expected = [careful_instant(v) for v in values]
        if fast is not None:
            assert None not in expected, values
            assert fast.to_pylist() == expected

    def test_the_usual_forms_take_the_fast_path(self):
        values = ["2024-01-01T10:21:00+08:00", "2024-01-01 10:21:00.5Z", "2024-02-29T23:59:59-0530", None]
        fast = fast_timestamps(pa.array(values, type=pa.string()))
        assert fast is not None
        assert fast.to_pylist() == [careful_instant(v) if v else None for v in values]

    def test_forms_arrow_accepts_but_formats_v1_does_not_are_left_to_the_careful_path(self):
        for value in ("2024-01-01T10:21+08:00", "2024-01-01T10+08:00", "2024-01-01T10:21:00+08"):
            assert pa.array([value]).cast(pa.timestamp("us", tz="UTC")) is not None  # Arrow takes it
            assert fast_timestamps(pa.array([value])) is None
            assert careful_instant(value) is None


# ---------------------------------------------------------------- integers


def careful_int(value: str | None) -> tuple[int | None, bool]:
    if value is None:
        return None, False
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None, False
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text) or not INT64_MIN <= int(text) <= INT64_MAX:
        return None, True
    return int(text), False


integers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.text("0123456789-+. x", max_size=21),
    st.sampled_from(
        ["0x10", "１２", " 7 ", "", "-", "--1", "1e3", "٣", "-9223372036854775808", "0" * 20 + "1"]
    ),
)


class TestParseInts:
    @settings(max_examples=600, deadline=None)
    @given(st.lists(st.one_of(st.none(), integers), min_size=1, max_size=6))
    def test_equals_the_rule(self, values):
        ints, wrong = parse_ints(pa.array(values, type=pa.string()))
        expected = [careful_int(v) for v in values]
        assert ints.to_pylist() == [v for v, _ in expected]
        assert wrong.tolist() == [w for _, w in expected]


# ---------------------------------------------------------------- cleaning, byte facts


texts = st.text(
    st.sampled_from(["a", "Z", "0", "-", " ", "\t", "\n", "Ａ", "\u3000", "é", "\x00", "~", "!"]), max_size=6
)


class TestClean:
    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.one_of(st.none(), texts), min_size=1, max_size=6), st.booleans())
    def test_equals_nfkc_trimmed_with_empty_as_null(self, values, nfkc):
        cleaned, facts = _clean(pa.array(values, type=pa.string()), nfkc=nfkc)
        expected = []
        for v in values:
            text = v if v is None or not nfkc else unicodedata.normalize("NFKC", v)
            expected.append(text.strip() or None if text is not None else None)
        assert cleaned.to_pylist() == expected
        data = "".join(v for v in expected if v).encode()
        assert facts is not None
        assert facts.ascii == all(b < 0x80 for b in data)
        assert facts.visible == all(0x21 <= b <= 0x7E for b in data)


class TestByteFacts:
    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.one_of(st.none(), texts), min_size=1, max_size=8), st.data())
    def test_facts_of_a_slice_are_the_facts_of_its_values(self, values, data):
        start = data.draw(st.integers(0, len(values) - 1))
        stop = data.draw(st.integers(start, len(values)))
        arr = pa.array(values, type=pa.string()).slice(start, stop - start)
        facts = byte_facts(arr)
        assert facts is not None
        raw = [v.encode() for v in values[start:stop] if v is not None]
        joined = b"".join(raw)
        assert facts.empty == (b"" in raw)
        assert facts.longest == max((len(v) for v in raw), default=0)
        assert (facts.low, facts.high) == ((min(joined), max(joined)) if joined else (256, -1))

    def test_binary_and_other_types(self):
        assert byte_facts(pa.array([b"\xff", b"a"], type=pa.binary())).high == 0xFF
        assert byte_facts(pa.array([1, 2])) is None


# ---------------------------------------------------------------- JSON records

ORDERS = KINDS["orders"]
odd_values = st.sampled_from([True, False, 3.0, 2.5, "7", 2**63, -(2**63) - 1, -(2**63), [1], {"a": 1}, ""])


def field_values(f):
    right = st.integers(-(2**40), 2**40) if f.type == INT else st.text(max_size=4)
    return st.one_of(st.none(), right, right, odd_values)


order_records = st.one_of(
    st.fixed_dictionaries({}, optional={f.name: field_values(f) for f in ORDERS.fields}),
    st.fixed_dictionaries(
        {f.name: field_values(f) for f in ORDERS.fields}, optional={"colour": st.just("red")}
    ),
    st.sampled_from([1, "x", None, []]),
)


class TestDecodeRecords:
    @settings(max_examples=400, deadline=None)
    @given(st.lists(order_records, max_size=5))
    def test_the_plain_path_gives_what_the_record_by_record_path_gives(self, records):
        positions = list(range(len(records)))
        fast, careful = decode_records(ORDERS, records, positions), decode_each(ORDERS, records, positions)
        assert fast.table.equals(careful.table)
        assert fast.positions.tolist() == careful.positions.tolist()
        assert fast.issues == careful.issues
