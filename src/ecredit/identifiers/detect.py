"""Guessing the kind of an identifier, and the generic check() entry point."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from ecredit.identifiers.gtin import LENGTHS as GTIN_LENGTHS
from ecredit.identifiers.gtin import check_gtin
from ecredit.identifiers.regions import check_region
from ecredit.identifiers.result import CheckResult, Finding, make_result
from ecredit.identifiers.ric import check_ric, ric_check_character
from ecredit.identifiers.text import is_foreign_digit, prepare
from ecredit.identifiers.uscc import ALPHABET, check_uscc, uscc_check_character

KINDS = ("uscc", "ric", "gtin", "region")

_DIGITS = re.compile(r"[0-9]+")
_ALNUM = re.compile(r"[0-9A-Z]+")
_RIC18 = re.compile(r"[0-9]{17}[0-9X]")
_USCC18 = re.compile(f"[{ALPHABET}]{{18}}")


def _ascii_digits(text: str) -> str:
    """Map other scripts' decimal digits to ASCII (for guessing only; validation still rejects them)."""
    return "".join(str(unicodedata.digit(c)) if is_foreign_digit(c) else c for c in text)


def _date_shaped(number: str) -> bool:
    """Whether positions 7-14 look like a YYYYMMDD date (impossible days still count, for guessing)."""
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    return 1800 <= year <= 2199 and 1 <= month <= 12 and 1 <= day <= 31


def _guess_18(text: str) -> str:
    ric_shape = bool(_RIC18.fullmatch(text)) and _date_shaped(text)
    uscc_shape = bool(_USCC18.fullmatch(text))
    ric_ok = ric_shape and ric_check_character(text[:17]) == text[17]
    uscc_ok = uscc_shape and uscc_check_character(text[:17]) == text[17]
    if ric_ok != uscc_ok:
        return "ric" if ric_ok else "uscc"
    # Both or neither checksum match: digits with a date in positions 7-14 make an ID number.
    if ric_shape:
        return "ric"
    if uscc_shape or any(c.isascii() and c.isalpha() for c in text):
        return "uscc"
    return "unknown"


def detect_kind(value: str) -> str:
    """Guess which identifier ``value`` is: "uscc", "ric", "gtin", "region" or "unknown"."""
    text = _ascii_digits(prepare(value).text).upper()
    if len(text) == 18:
        return _guess_18(text)
    if not _DIGITS.fullmatch(text):
        # A mistyped credit code (wrong length) still deserves credit-code error messages.
        has_letter = any(c.isalpha() for c in text)
        return "uscc" if has_letter and _ALNUM.fullmatch(text) and 16 <= len(text) <= 20 else "unknown"
    if len(text) == 15:
        return "ric"
    if len(text) in GTIN_LENGTHS:
        return "gtin"
    if len(text) == 6:
        return "region"
    return "unknown"


def check(value: str, kind: str = "auto", *, today: dt.date | None = None) -> CheckResult:
    """Validate ``value`` as ``kind`` ("auto" guesses with detect_kind)."""
    if kind == "auto":
        kind = detect_kind(value)
    if kind == "uscc":
        return check_uscc(value)
    if kind == "ric":
        return check_ric(value, today=today)
    if kind == "gtin":
        return check_gtin(value)
    if kind == "region":
        return check_region(value)
    if kind != "unknown":
        raise ValueError(f"unknown identifier kind {kind!r}; expected 'auto' or one of {KINDS}")
    prepared = prepare(value)
    errors = [
        *prepared.errors,
        Finding(
            "format.unknown_kind",
            "The value does not look like a credit code, ID number, GTIN or division code.",
        ),
    ]
    return make_result(value, "unknown", None, errors, prepared.warnings)
