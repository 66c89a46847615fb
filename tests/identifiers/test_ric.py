from __future__ import annotations

import datetime as dt

import pytest

from ecredit.identifiers import check_ric, ric_15_to_18, ric_check_character
from ecredit.identifiers.ric import WEIGHTS

from .support import ARABIC_INDIC, TODAY, codes, fullwidth

VALID = [
    "11010519491231002X",  # GB 11643 Annex A
    "370102199003071238",  # synthetic Shandong
    "110111198012010078",  # stdnum rejects it on purpose (code newer than birth)
]


def test_weights_match_the_standard():
    assert WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers(number):
    result = check_ric(number, today=TODAY)
    assert result.valid, result.errors
    assert result.kind == "ric"
    assert result.normalized == number
    assert result.warnings == ()
    assert ric_check_character(number[:17]) == number[17]


def test_annex_a_1880_example_is_accepted():
    # stdnum.cn.ric rejects it (440524 is dated after 1880 in loc.dat); the standard itself uses it.
    result = check_ric("440524188001010014", today=TODAY)
    assert result.valid
    assert result.normalized == "440524188001010014"
    assert "ric.unknown_region" not in codes(result.warnings)
    assert codes(result.warnings) == ["ric.birth_date_early"]


def test_lowercase_x_is_normalised():
    result = check_ric("11010519491231002x", today=TODAY)
    assert result.valid
    assert result.normalized == "11010519491231002X"
    assert result.warnings == ()


def test_15_digit_number_is_converted():
    assert ric_15_to_18("110105491231002") == "11010519491231002X"
    result = check_ric("110105491231002", today=TODAY)
    assert result.valid
    assert result.normalized == "11010519491231002X"
    assert codes(result.warnings) == ["ric.converted_from_15"]


def test_15_digit_number_with_invalid_date_is_rejected():
    result = check_ric("110105490230002", today=TODAY)
    assert not result.valid
    assert codes(result.errors) == ["ric.birth_date_invalid"]


@pytest.mark.parametrize("value", ["11010549123100X", "11010549123100", "1101054912310021", ""])
def test_ric_15_to_18_rejects_bad_input(value):
    with pytest.raises(ValueError):
        ric_15_to_18(value)


@pytest.mark.parametrize("number", ["110105194912310021", "370102199003071239", "440524188001010015"])
def test_bad_check_character(number):
    result = check_ric(number, today=TODAY)
    assert not result.valid
    assert result.normalized is None
    assert codes(result.errors) == ["ric.check_character"]


def test_future_birth_date_is_rejected():
    # stdnum.cn.ric accepts this one.
    result = check_ric("110105209912310010")
    assert not result.valid
    assert codes(result.errors) == ["ric.birth_date_future"]


def test_birth_date_relative_to_today():
    body = "370102" + TODAY.strftime("%Y%m%d") + "123"
    number = body + ric_check_character(body)
    assert check_ric(number, today=TODAY).valid
    result = check_ric(number, today=TODAY - dt.timedelta(days=1))
    assert codes(result.errors) == ["ric.birth_date_future"]


def test_invalid_calendar_date_is_rejected():
    body = "37010219900230123"
    number = body + ric_check_character(body)
    assert number == "370102199002301230"
    result = check_ric(number, today=TODAY)
    assert not result.valid
    assert codes(result.errors) == ["ric.birth_date_invalid"]


@pytest.mark.parametrize("date", ["19000229", "19901301", "19900001", "19900100", "20230229"])
def test_other_impossible_dates(date):
    body = "370102" + date + "123"
    result = check_ric(body + ric_check_character(body), today=TODAY)
    assert codes(result.errors) == ["ric.birth_date_invalid"]


def test_leap_day_is_accepted():
    body = "37010220000229123"
    assert check_ric(body + ric_check_character(body), today=TODAY).valid


def test_too_early_birth_date_is_rejected():
    body = "37010218600101123"
    result = check_ric(body + ric_check_character(body), today=TODAY)
    assert codes(result.errors) == ["ric.birth_date_too_early"]


def test_unknown_region_is_only_a_warning():
    body = "37019919900101123"
    result = check_ric(body + ric_check_character(body), today=TODAY)
    assert result.valid
    assert codes(result.warnings) == ["ric.unknown_region"]


def test_abolished_region_is_accepted_without_warning():
    # 371202 莱城区 (莱芜, merged into 济南 in 2019).
    body = "37120219900101123"
    result = check_ric(body + ric_check_character(body), today=TODAY)
    assert result.valid
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("number", "place"),
    [("810000199001010019", "Hong Kong"), ("820000199001010029", "Macao"), ("830000199001010039", "Taiwan")],
)
def test_residence_permits_are_accepted_with_warning(number, place):
    result = check_ric(number, today=TODAY)
    assert result.valid
    assert codes(result.warnings) == ["ric.residence_permit"]
    assert place in result.warnings[0].message


def test_address_code_starting_with_9_is_rejected():
    body = "91000019900101123"
    result = check_ric(body + ric_check_character(body), today=TODAY)
    assert codes(result.errors) == ["ric.foreign_permanent_resident"]


@pytest.mark.parametrize(
    "number", ["", "1101051949123100", "11010519491231002", "11010549123100", "1101051949123100212"]
)
def test_wrong_length(number):
    result = check_ric(number, today=TODAY)
    assert not result.valid
    assert codes(result.errors) == ["format.empty" if not number else "ric.length"]


@pytest.mark.parametrize("number", ["1101051949123100X2", "11010519491231-02X", "11010519491231002Y"])
def test_invalid_characters(number):
    assert codes(check_ric(number, today=TODAY).errors) == ["ric.invalid_character"]


def test_15_digit_number_cannot_end_in_x():
    assert codes(check_ric("11010549123100X", today=TODAY).errors) == ["ric.invalid_character"]


def test_fullwidth_number_is_accepted_with_warning():
    result = check_ric(fullwidth("11010519491231002x"), today=TODAY)
    assert result.valid
    assert result.normalized == "11010519491231002X"
    assert codes(result.warnings) == ["format.fullwidth"]


def test_fullwidth_number_with_bad_check_is_rejected():
    result = check_ric(fullwidth("370102199003071239"), today=TODAY)
    assert not result.valid
    assert codes(result.errors) == ["ric.check_character"]
    assert codes(result.warnings) == ["format.fullwidth"]


@pytest.mark.parametrize("translate", [ARABIC_INDIC, str.maketrans("3", "३"), str.maketrans("7", "৭")])
def test_non_ascii_digits_are_an_error(translate):
    result = check_ric("370102199003071238".translate(translate), today=TODAY)
    assert not result.valid
    assert codes(result.errors) == ["format.non_ascii_digit"]


def test_default_today_is_used():
    assert check_ric("370102199003071238").valid
