"""Columnar builders: identifiers, check digits, timestamps and Arrow arrays from numpy, without a Python
loop per row.

Fixed-width strings are built as an ``n x width`` byte matrix and handed to Arrow as one buffer.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecredit.identifiers.ric import CHECK_CHARACTERS as RIC_CHECK
from ecredit.identifiers.ric import WEIGHTS as RIC_WEIGHTS

TIMESTAMP = pa.timestamp("ms", tz="+08:00")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_RIC_CHECK = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)


def from_matrix(m: np.ndarray) -> pa.StringArray:
    """An Arrow string array whose row i is the ASCII bytes of ``m[i]`` (a C-contiguous uint8 matrix)."""
    m = np.ascontiguousarray(m, dtype=np.uint8)
    n, w = m.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(m)).cast(pa.string())


@functools.cache
def _lut4(base: int) -> np.ndarray:
    """The 4-digit strings of 0..base**4-1 as little uint32 words (4 ASCII bytes each)."""
    n = base**4
    v = np.arange(n, dtype=np.int64)
    m = np.empty((n, 4), dtype=np.uint8)
    for j in range(3, -1, -1):
        v, r = np.divmod(v, base)
        m[:, j] = _HEX[r]
    return m.view(np.uint32).ravel()


def digit_matrix(values: np.ndarray, width: int, base: int = 10) -> np.ndarray:
    """The zero-padded digits of non-negative integers as ASCII bytes, ``len(values) x width``.

    Four digits at a time through a lookup table (one integer division per four digits).
    """
    n = len(values)
    groups = -(-width // 4)
    out = np.empty((n, groups * 4), dtype=np.uint8)
    words = out.view(np.uint32)
    lut = _lut4(base)
    x = np.asarray(values, dtype=np.int64).copy()
    step = base**4
    for g in range(groups - 1, -1, -1):
        x, r = np.divmod(x, step)
        words[:, g] = lut[r]
    return out[:, groups * 4 - width :]


def const(text: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode("ascii"), dtype=np.uint8), (n, len(text)))


def ids(prefix: str, numbers: np.ndarray, width: int, base: int = 10) -> pa.StringArray:
    """``prefix`` + zero-padded ``numbers``, e.g. ``ids("LS-O-", [7], 10)`` -> "LS-O-0000000007"."""
    n = len(numbers)
    return from_matrix(np.hstack([const(prefix, n), digit_matrix(numbers, width, base)]))


def mix(values: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A keyed bijection of ``[0, modulus)``: distinct inputs give distinct, random-looking outputs.

    Multiply-xorshift rounds on the smallest power of two above ``modulus`` (each round is invertible),
    with cycle-walking back into range.
    """
    bits = max(8, int(modulus - 1).bit_length())
    mask = np.uint64((1 << bits) - 1)
    key = np.random.default_rng([salt, modulus]).integers(1, 1 << 62, size=6, dtype=np.uint64) | np.uint64(1)
    shift = np.uint64(bits // 2 + 1)

    def rounds(x: np.ndarray) -> np.ndarray:
        for r in range(3):
            x = (x * key[r]) & mask
            x ^= x >> shift
            x = (x + key[r + 3]) & mask
        return x

    y = rounds(np.asarray(values, dtype=np.uint64))
    bad = y >= modulus
    while bad.any():
        y[bad] = rounds(y[bad])
        bad = y >= modulus
    return y.astype(np.int64)


def timestamps(epoch_s: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as an Arrow timestamp column in UTC+8 (nulls where ``valid`` is False)."""
    arr = pa.array(np.asarray(epoch_s, dtype=np.int64) * 1000, type=pa.int64(), mask=_mask(valid))
    return arr.cast(TIMESTAMP)


def _mask(valid: np.ndarray | None) -> np.ndarray | None:
    return None if valid is None else ~np.asarray(valid, dtype=bool)


def ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=_mask(valid))


def with_nulls(arr: pa.Array, valid: np.ndarray | None) -> pa.Array:
    if valid is None or bool(np.all(valid)):
        return arr
    return pc.if_else(pa.array(np.asarray(valid, dtype=bool)), arr, pa.scalar(None, arr.type))


def take(dictionary: pa.Array, indices: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``dictionary[indices]`` as a plain array (nulls where ``valid`` is False)."""
    idx = pa.array(np.asarray(indices, dtype=np.int64), mask=_mask(valid))
    return pc.take(dictionary, idx)


def iso_local(epoch_s: np.ndarray) -> np.ndarray:
    """ISO 8601 local times with offset, ``YYYY-MM-DDTHH:MM:SS+08:00``, as an ``n x 25`` byte matrix."""
    local = np.asarray(epoch_s, dtype=np.int64) + 8 * 3600
    days, secs = np.divmod(local, 86400)
    y, mo, d = civil_from_days(days)
    hh, rem = np.divmod(secs, 3600)
    mm, ss = np.divmod(rem, 60)
    n = len(local)
    return np.hstack(
        [
            digit_matrix(y, 4),
            const("-", n),
            digit_matrix(mo, 2),
            const("-", n),
            digit_matrix(d, 2),
            const("T", n),
            digit_matrix(hh, 2),
            const(":", n),
            digit_matrix(mm, 2),
            const(":", n),
            digit_matrix(ss, 2),
            const("+08:00", n),
        ]
    )


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01 (H. Hinnant's algorithm), vectorised."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    return y + (m <= 2), m, d


def iso_dates(epoch_s: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` local dates as an ``n x 10`` byte matrix."""
    days = (np.asarray(epoch_s, dtype=np.int64) + 8 * 3600) // 86400
    y, mo, d = civil_from_days(days)
    n = len(days)
    return np.hstack(
        [digit_matrix(y, 4), const("-", n), digit_matrix(mo, 2), const("-", n), digit_matrix(d, 2)]
    )


def timestamp_strings(arr: pa.Array) -> pa.Array:
    """A timestamp column rendered as ISO 8601 strings with +08:00 (nulls stay null)."""
    values = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) // 1000
    out = from_matrix(iso_local(values))
    if arr.null_count:
        out = pc.if_else(pc.is_valid(arr), out, pa.scalar(None, pa.string()))
    return out


def gtin13(body12: np.ndarray) -> pa.StringArray:
    """GTIN-13 strings from 12-digit bodies (given as integers), with the GS1 mod-10 check digit."""
    m = digit_matrix(body12, 12)
    d = m.astype(np.int64) - 48
    weights = np.tile([1, 3], 6)
    check = (10 - (d @ weights) % 10) % 10
    return from_matrix(np.hstack([m, (check + 48).astype(np.uint8)[:, None]]))


def id_numbers(region_codes: np.ndarray, birth_days: np.ndarray, seq: np.ndarray) -> pa.StringArray:
    """GB 11643 citizen ID numbers: 6-digit region code, birth date (days since 1970), 3-digit sequence,
    MOD 11-2 check character."""
    y, mo, d = civil_from_days(birth_days)
    body = np.hstack(
        [
            digit_matrix(region_codes, 6),
            digit_matrix(y, 4),
            digit_matrix(mo, 2),
            digit_matrix(d, 2),
            digit_matrix(seq, 3),
        ]
    )
    total = (body.astype(np.int64) - 48) @ np.array(RIC_WEIGHTS, dtype=np.int64)
    check = _RIC_CHECK[total % 11]
    return from_matrix(np.hstack([body, check[:, None]]))


_LUHN_DOUBLE = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int16)


def luhn_cards(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """Bank card numbers: ``prefix`` + ``width`` digits + Luhn check digit."""
    n = len(numbers)
    m = np.hstack([const(prefix, n), digit_matrix(numbers, width)])
    d = m.astype(np.int16) - 48
    # Double every second digit from the right, starting with the one left of the check digit.
    k = m.shape[1]
    doubled = np.arange(k)[::-1] % 2 == 0
    d[:, doubled] = _LUHN_DOUBLE[d[:, doubled]]
    check = ((10 - d.sum(axis=1, dtype=np.int64) % 10) % 10 + 48).astype(np.uint8)
    return from_matrix(np.hstack([m, check[:, None]]))


def dictionary(values: pa.Array, indices: np.ndarray, valid: np.ndarray | None = None) -> pa.DictionaryArray:
    """A dictionary-encoded column ``values[indices]`` (nulls where ``valid`` is False)."""
    idx = pa.array(np.asarray(indices, dtype=np.int32), type=pa.int32(), mask=_mask(valid))
    return pa.DictionaryArray.from_arrays(idx, values)


class Sampler:
    """Draws from a discrete distribution by inverse CDF with a guide table (Chen & Asau): the same
    results as ``searchsorted(cdf, u, side="right")``, without a binary search per draw."""

    def __init__(self, weights: np.ndarray) -> None:
        c = np.cumsum(np.asarray(weights, dtype=np.float64))
        self.cdf = c / c[-1]
        self.cdf[-1] = 1.0
        k = len(self.cdf)
        self.guide = np.searchsorted(self.cdf, np.arange(k) / k, side="right")

    def __len__(self) -> int:
        return len(self.cdf)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.lookup(rng.random(n))

    def lookup(self, u: np.ndarray) -> np.ndarray:
        cdf, k = self.cdf, len(self.cdf)
        i = self.guide[np.minimum((u * k).astype(np.int64), k - 1)]
        todo = np.flatnonzero(cdf[i] <= u)
        while len(todo):
            i[todo] += 1
            np.minimum(i, k - 1, out=i)
            todo = todo[(cdf[i[todo]] <= u[todo]) & (i[todo] < k - 1)]
        return i


def categorical(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws from the distribution with cumulative weights ``cdf`` (last entry 1)."""
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def cdf_of(weights: np.ndarray) -> np.ndarray:
    c = np.cumsum(np.asarray(weights, dtype=np.float64))
    return c / c[-1]
