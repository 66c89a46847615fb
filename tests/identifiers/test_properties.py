"""Property tests: computed check characters validate, single substitutions are caught."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ecredit.identifiers import check_gtin, check_ric, check_uscc, ric_check_character, uscc_check_character
from ecredit.identifiers.regions import region_table
from ecredit.identifiers.uscc import ALPHABET

from .support import TODAY

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None)
DIGITS = "0123456789"

alphabet_char = st.sampled_from(ALPHABET)
digit = st.sampled_from(DIGITS)

uscc_bodies = st.builds(
    lambda head, region, tail: "".join(head) + "".join(region) + "".join(tail),
    st.lists(alphabet_char, min_size=2, max_size=2),
    st.lists(digit, min_size=6, max_size=6),
    st.lists(alphabet_char, min_size=9, max_size=9),
)

# Known county-level codes, not residence permits and not starting with 9.
_counties = sorted(code for code in region_table() if not code.endswith("0000"))
ric_bodies = st.builds(
    lambda region, born, seq: region + born.strftime("%Y%m%d") + f"{seq:03d}",
    st.sampled_from(_counties),
    st.dates(min_value=dt.date(1890, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)


def _valid_uscc(body: str) -> str:
    return body + uscc_check_character(body)


def _valid_ric(body: str) -> str:
    return body + ric_check_character(body)


@SETTINGS
@given(uscc_bodies)
def test_uscc_with_computed_check_validates(body):
    result = check_uscc(_valid_uscc(body))
    assert result.valid, result.errors
    assert result.normalized == _valid_uscc(body)


@SETTINGS
@given(uscc_bodies, st.integers(min_value=0, max_value=17), st.data())
def test_uscc_single_substitution_is_rejected(body, position, data):
    code = _valid_uscc(body)
    allowed = DIGITS if 2 <= position <= 7 else ALPHABET
    replacement = data.draw(st.sampled_from([c for c in allowed if c != code[position]]))
    mutated = code[:position] + replacement + code[position + 1 :]
    result = check_uscc(mutated)
    assert not result.valid
    assert [f.code for f in result.errors] == ["uscc.check_character"]


@SETTINGS
@given(ric_bodies)
def test_ric_with_computed_check_validates(body):
    result = check_ric(_valid_ric(body), today=TODAY)
    assert result.valid, result.errors
    assert result.normalized == _valid_ric(body)


@SETTINGS
@given(ric_bodies, st.integers(min_value=0, max_value=17), st.data())
def test_ric_single_substitution_is_rejected(body, position, data):
    number = _valid_ric(body)
    allowed = DIGITS + "X" if position == 17 else DIGITS
    replacement = data.draw(st.sampled_from([c for c in allowed if c != number[position]]))
    mutated = number[:position] + replacement + number[position + 1 :]
    result = check_ric(mutated, today=TODAY)
    assert not result.valid
    assert "ric.check_character" in [f.code for f in result.errors]


@SETTINGS
@given(ric_bodies)
def test_ric_15_digit_form_converts_to_the_same_number(body):
    number = _valid_ric(body)
    if number[6:8] != "19":
        return
    result = check_ric(number[:6] + number[8:17], today=TODAY)
    assert result.valid
    assert result.normalized == number


@SETTINGS
@given(st.sampled_from([8, 12, 13, 14]), st.data())
def test_gtin_single_substitution_is_rejected(length, data):
    body = data.draw(st.text(alphabet=DIGITS, min_size=length - 1, max_size=length - 1))
    weights = [3 if i % 2 == 0 else 1 for i in range(len(body))]
    check = (10 - sum(int(c) * w for c, w in zip(reversed(body), weights, strict=True)) % 10) % 10
    code = body + str(check)
    assert check_gtin(code).valid
    position = data.draw(st.integers(min_value=0, max_value=length - 1))
    replacement = data.draw(st.sampled_from([c for c in DIGITS if c != code[position]]))
    assert not check_gtin(code[:position] + replacement + code[position + 1 :]).valid
