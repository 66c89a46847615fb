from __future__ import annotations

import json

import pytest

from ecredit.identifiers import CheckResult, Finding, check, detect_kind, ric_check_character

from .support import ARABIC_INDIC, TODAY, codes, fullwidth


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("91370102MA3C00011F", "uscc"),
        ("N2370102MA3C0002XN", "uscc"),
        ("121200004013590816", "uscc"),  # all digits, but no real birth date and a USCC checksum
        ("11010519491231002X", "ric"),
        ("11010519491231002x", "ric"),
        ("440524188001010014", "ric"),
        ("370102199003071239", "ric"),  # bad check, but still clearly an ID number
        ("110105491231002", "ric"),
        ("370102199002301230", "ric"),  # impossible date, but shaped like an ID number
        ("110105209912310010", "ric"),  # future date
        ("121200004013590817", "uscc"),  # bad check, all digits, no date in positions 7-14
        ("6291041500213", "gtin"),
        ("96385074", "gtin"),
        ("370102", "region"),
        ("91370102MA3C0001", "uscc"),  # too short, but has letters
        (fullwidth("91370102MA3C00011F"), "uscc"),
        ("370102199003071238".translate(ARABIC_INDIC), "ric"),
        ("", "unknown"),
        ("hello", "unknown"),
        ("12345", "unknown"),
    ],
)
def test_detect_kind(value, kind):
    assert detect_kind(value) == kind


def test_check_auto_dispatches():
    assert check("91370102MA3C00011F").kind == "uscc"
    assert check("11010519491231002X", today=TODAY).kind == "ric"
    assert check("6901234567892").kind == "gtin"
    assert check("370102").kind == "region"


def test_check_explicit_kind():
    result = check("370102", "region")
    assert result.valid
    # A 6-digit value checked as a GTIN is a length error, not silently re-routed.
    assert codes(check("370102", "gtin").errors) == ["gtin.length"]


def test_check_passes_today():
    body = "37010220260602123"
    number = body + ric_check_character(body)
    assert codes(check(number, today=TODAY).errors) == ["ric.birth_date_future"]


def test_unknown_kind_result():
    result = check("hello")
    assert result.kind == "unknown"
    assert not result.valid
    assert result.normalized is None
    assert codes(result.errors) == ["format.unknown_kind"]


def test_bad_kind_raises():
    with pytest.raises(ValueError):
        check("370102", "isbn")


def test_non_string_raises():
    with pytest.raises(TypeError):
        check(370102)  # type: ignore[arg-type]


def test_to_dict_is_json_ready():
    result = check(fullwidth("91370102MA3C00011G"))
    data = result.to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data == {
        "value": fullwidth("91370102MA3C00011G"),
        "kind": "uscc",
        "valid": False,
        "normalized": None,
        "errors": [{"code": "uscc.check_character", "message": data["errors"][0]["message"]}],
        "warnings": [{"code": "format.fullwidth", "message": data["warnings"][0]["message"]}],
    }


def test_result_types_are_frozen():
    result = check("370102")
    assert isinstance(result, CheckResult)
    with pytest.raises(AttributeError):
        result.valid = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Finding("a", "b").code = "c"  # type: ignore[misc]


def test_messages_are_single_sentences():
    samples = [
        check(fullwidth("91370102MA3C00011G")),
        check("91370102MZ3C00011F"),
        check("110105209912310010"),
        check("110105491231002", today=TODAY),
        check("370102".translate(ARABIC_INDIC)),
        check("hello"),
    ]
    for result in samples:
        for finding in (*result.errors, *result.warnings):
            assert finding.message.endswith("."), finding
            assert finding.message[0].isupper(), finding
