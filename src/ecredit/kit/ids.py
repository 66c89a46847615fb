"""Identifiers for rows: ULIDs (time-ordered, 26 Crockford base32 characters), made in Python.

Rows get their id before they are inserted, so encrypted columns can bind the row id as associated data.

A ULID is 10 characters of millisecond time then 16 characters (80 bits) of randomness. Bulk loads make
hundreds of thousands of ids, so the random characters of 4,096 ids are drawn from the system's source
at once (one random byte per character, its low 5 bits picking the character: uniform, as 256 is a
multiple of 32), and the time part is encoded once per millisecond. The pool is process-local: a forked
child starts with an empty pool and never repeats its parent's ids.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26
_TIME_CHARS = 10
_RANDOM_CHARS = 16  # 80 bits
_POOL_IDS = 4096
_BYTE_TO_CHAR = bytes(_ALPHABET.encode("ascii")[byte & 31] for byte in range(256))


def _time_chars(ms: int) -> str:
    chars = []
    for _ in range(_TIME_CHARS):
        chars.append(_ALPHABET[ms & 31])
        ms >>= 5
    return "".join(reversed(chars))


class _Generator:
    """The process's pool of random characters and its last encoded millisecond (thread-safe)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.lock = threading.Lock()
        self.pool = ""  # the random parts of the next ids, _RANDOM_CHARS characters each
        self.next = 0
        self.last_ms = -1
        self.last_time = ""

    def new_id(self) -> str:
        ms = time.time_ns() // 1_000_000
        with self.lock:
            if self.next >= len(self.pool):
                self._refill()
            start = self.next
            self.next = start + _RANDOM_CHARS
            random_part = self.pool[start : self.next]
            if ms != self.last_ms:
                self.last_time = _time_chars(ms)
                self.last_ms = ms
            return self.last_time + random_part

    def new_ids(self, count: int) -> list[str]:
        ms = time.time_ns() // 1_000_000
        made: list[str] = []
        with self.lock:
            if ms != self.last_ms:
                self.last_time = _time_chars(ms)
                self.last_ms = ms
            prefix = self.last_time
            while len(made) < count:
                if self.next >= len(self.pool):
                    self._refill()
                take = min(count - len(made), (len(self.pool) - self.next) // _RANDOM_CHARS)
                pool, start = self.pool, self.next
                made.extend(
                    prefix + pool[i : i + _RANDOM_CHARS]
                    for i in range(start, start + take * _RANDOM_CHARS, _RANDOM_CHARS)
                )
                self.next = start + take * _RANDOM_CHARS
        return made

    def _refill(self) -> None:
        self.pool = os.urandom(_RANDOM_CHARS * _POOL_IDS).translate(_BYTE_TO_CHAR).decode("ascii")
        self.next = 0


_generator = _Generator()
os.register_at_fork(after_in_child=_generator.reset)


def new_id() -> str:
    """A new ULID string: 48-bit millisecond time + 80 random bits."""
    return _generator.new_id()


def new_ids(count: int) -> list[str]:
    """``count`` new ULID strings at once (bulk loads), all of the current millisecond."""
    return _generator.new_ids(count)


def is_id(value: str) -> bool:
    """True when ``value`` has the shape of an id made by ``new_id``."""
    return len(value) == ID_LENGTH and all(c in _ALPHABET for c in value)
