from __future__ import annotations

import pytest

from ecredit.identifiers import check_uscc, uscc_check_character
from ecredit.identifiers.uscc import WEIGHTS, organization_check_character

from .support import ARABIC_INDIC, codes, fullwidth

VALID = [
    # Public codes (DOMAIN.md 1.1).
    "91110000600037341L",
    "91371082775260043P",
    "9144030071526726XG",
    "121200004013590816",
    "92340602MA2PBQAH7E",
    # Synthetic, including the A/N/Y authorities that stdnum.cn.uscc wrongly rejects.
    "91370102MA3C00011F",
    "N2370102MA3C0002XN",
    "Y1370102MA3C0002XH",
    "A1370102MA3C0002X6",
]


def test_weights_match_the_standard():
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    result = check_uscc(code)
    assert result.valid, result.errors
    assert result.kind == "uscc"
    assert result.normalized == code
    assert result.errors == ()
    assert result.warnings == ()
    assert uscc_check_character(code[:17]) == code[17]
    assert organization_check_character(code[8:16]) == code[16]


def test_check_value_31_maps_to_zero():
    # S mod 31 == 0 gives (31 - 0) mod 31 == 0, i.e. the character "0", never an out-of-range index.
    assert uscc_check_character("91370102MA3C00026") == "0"
    assert check_uscc("91370102MA3C000260").valid


@pytest.mark.parametrize("code", VALID)
def test_lowercase_is_upper_cased_with_warning(code):
    if code.isdigit():
        return
    result = check_uscc(code.lower())
    assert result.valid
    assert result.normalized == code
    assert codes(result.warnings) == ["uscc.lowercase"]


def test_surrounding_whitespace_is_stripped():
    result = check_uscc("  91370102MA3C00011F\t\n")
    assert result.valid
    assert result.warnings == ()
    assert result.value == "  91370102MA3C00011F\t\n"


@pytest.mark.parametrize("code", ["91370102MA3C00011G", "N2370102MA3C0002X0", "91110000600037341M"])
def test_bad_check_character(code):
    result = check_uscc(code)
    assert not result.valid
    assert result.normalized is None
    assert "uscc.check_character" in codes(result.errors)


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters(letter):
    code = "91370102M" + letter + "3C00011F"
    result = check_uscc(code)
    assert not result.valid
    assert codes(result.errors) == ["uscc.forbidden_letter"]
    assert letter in result.errors[0].message
    # Lower case is upper-cased first, so it is rejected the same way.
    assert "uscc.forbidden_letter" in codes(check_uscc(code.lower()).errors)
    with pytest.raises(ValueError):
        uscc_check_character(code[:17])


@pytest.mark.parametrize("code", ["", "   ", "91370102MA3C0001", "91370102MA3C00011FF", "9"])
def test_wrong_length(code):
    result = check_uscc(code)
    assert not result.valid
    expected = "format.empty" if not code.strip() else "uscc.length"
    assert expected in codes(result.errors)


@pytest.mark.parametrize("code", ["91370102-MA3C00011F", "91370102MA3C0001.F", "9137 0102MA3C00011F"])
def test_invalid_characters(code):
    result = check_uscc(code)
    assert not result.valid
    assert "uscc.invalid_character" in codes(result.errors)


def test_region_positions_must_be_digits():
    body = "9137A102MA3C00011"
    result = check_uscc(body + uscc_check_character(body))
    assert not result.valid
    assert codes(result.errors) == ["uscc.region_format"]


def test_unknown_region_is_only_a_warning():
    body = "91379999MA3C00011"
    code = body + uscc_check_character(body)
    result = check_uscc(code)
    assert result.valid
    assert codes(result.warnings) == ["uscc.unknown_region"]


def test_national_level_region_is_not_flagged():
    body = "11100000MA3C00011"
    result = check_uscc(body + uscc_check_character(body))
    assert result.valid
    assert result.warnings == ()


def test_organization_code_failure_is_only_a_warning():
    # Position 17 changed from 1 to 2, check character recomputed: GB 32100 passes, GB 11714 fails.
    body = "91370102MA3C00012"
    result = check_uscc(body + uscc_check_character(body))
    assert result.valid
    assert codes(result.warnings) == ["uscc.organization_code_check"]


def test_organization_check_x_and_zero():
    # GB 11714: a result of 10 is written X, 11 is written 0.
    assert organization_check_character("MA3C0002") == "X"
    assert organization_check_character("60003734") == "1"
    assert organization_check_character("71526726") == "X"
    assert organization_check_character("40135908") == "1"


def test_unknown_authority_is_a_warning():
    body = "B1370102MA3C00011"
    result = check_uscc(body + uscc_check_character(body))
    assert result.valid
    assert codes(result.warnings) == ["uscc.unknown_authority"]


def test_fullwidth_valid_code_is_accepted_with_warning():
    result = check_uscc(fullwidth("91370102MA3C00011F"))
    assert result.valid
    assert result.normalized == "91370102MA3C00011F"
    assert codes(result.warnings) == ["format.fullwidth"]


def test_fullwidth_lowercase_code_gets_both_warnings():
    result = check_uscc(fullwidth("n2370102ma3c0002xn"))
    assert result.valid
    assert result.normalized == "N2370102MA3C0002XN"
    assert codes(result.warnings) == ["format.fullwidth", "uscc.lowercase"]


def test_fullwidth_code_with_bad_check_is_rejected():
    result = check_uscc(fullwidth("91370102MA3C00011G"))
    assert not result.valid
    assert codes(result.errors) == ["uscc.check_character"]
    assert codes(result.warnings) == ["format.fullwidth"]


def test_arabic_indic_digits_are_an_error():
    result = check_uscc("91370102MA3C00011F".translate(ARABIC_INDIC))
    assert not result.valid
    assert codes(result.errors) == ["format.non_ascii_digit"]


def test_check_character_rejects_bad_bodies():
    for body in ["9137010", "91370102MA3C0001!", "91370102MA3C0001٣"]:
        with pytest.raises(ValueError):
            uscc_check_character(body)
