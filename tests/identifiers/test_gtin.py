from __future__ import annotations

import pytest

from ecredit.identifiers import check_gtin

from .support import ARABIC_INDIC, codes, fullwidth


@pytest.mark.parametrize(
    "code", ["6291041500213", "6901234567892", "96385074", "036000291452", "16901234567899"]
)
def test_valid(code):
    result = check_gtin(code)
    assert result.valid, result.errors
    assert result.normalized == code
    assert result.kind == "gtin"


@pytest.mark.parametrize("code", ["6291041500214", "6901234567890"])
def test_bad_check_digit(code):
    result = check_gtin(code)
    assert codes(result.errors) == ["gtin.check_digit"]


@pytest.mark.parametrize("code", ["1234567", "123456789", "12345678901", "123456789012345"])
def test_wrong_length(code):
    assert codes(check_gtin(code).errors) == ["gtin.length"]


@pytest.mark.parametrize("code", ["6291-041500213", "629104150021X", "6291041500 213"])
def test_separators_and_letters_are_rejected(code):
    assert "gtin.invalid_character" in codes(check_gtin(code).errors)


def test_fullwidth_is_accepted_with_warning():
    result = check_gtin(fullwidth("6901234567892"))
    assert result.valid
    assert codes(result.warnings) == ["format.fullwidth"]


def test_arabic_indic_is_rejected():
    result = check_gtin("6901234567892".translate(ARABIC_INDIC))
    assert codes(result.errors) == ["format.non_ascii_digit"]
