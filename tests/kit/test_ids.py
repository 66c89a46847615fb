"""Row ids: ULID layout, uniqueness across the random pool's refills, threads and forks."""

from __future__ import annotations

import os
import threading
import time

import pytest

from ecredit.kit import ids
from ecredit.kit.ids import ID_LENGTH, is_id, new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_layout_is_a_ulid_with_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert len(made) == ID_LENGTH == 26
    assert is_id(made)
    assert made[0] in "01234567"  # 130 bits written, 128 used: the first character holds 3 bits
    assert before <= _decode(made[:10]) <= after


def test_ids_are_time_ordered_across_milliseconds():
    first = new_id()
    time.sleep(0.002)
    assert new_id()[:10] > first[:10]


def test_unique_across_several_refills_of_the_random_pool():
    made = [new_id() for _ in range(3 * 4096 + 17)]
    assert len(set(made)) == len(made)
    assert all(is_id(x) for x in made)


def test_random_characters_are_spread_over_the_whole_alphabet():
    tails = "".join(new_id()[10:] for _ in range(4000))  # 64,000 random characters
    counts = [tails.count(c) for c in CROCKFORD]
    assert min(counts) > 1700 and max(counts) < 2300  # 2,000 expected each; a biased map would show


def test_unique_across_threads():
    made: list[list[str]] = [[] for _ in range(4)]

    def work(out: list[str]) -> None:
        out.extend(new_id() for _ in range(5000))

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [x for out in made for x in out]
    assert len(set(everything)) == 20000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_next_ids():
    new_id()  # the parent's pool is filled: a child sharing it would repeat the parent's next ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.write(write, "".join(new_id()[10:] for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        child = fh.read().decode()
    os.waitpid(pid, 0)
    parent = "".join(new_id()[10:] for _ in range(50))
    assert len(child) == len(parent) == 50 * 16
    assert child != parent


def test_is_id_refuses_other_shapes():
    assert not is_id(new_id()[:-1])
    assert not is_id(new_id().lower())
    assert not is_id("I" * 26)  # I, L, O and U are not in Crockford's alphabet
    assert ids.ID_LENGTH == 26
