"""Identifiers for rows: ULIDs (time-ordered, 26 Crockford base32 characters), made in Python.

Rows get their id before they are inserted, so encrypted columns can bind the row id as associated data.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26


def new_id() -> str:
    """A new ULID string: 48-bit millisecond time + 80 random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(ID_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(value: str) -> bool:
    """True when ``value`` has the shape of an id made by ``new_id``."""
    return len(value) == ID_LENGTH and all(c in _ALPHABET for c in value)
