"""Citizen ID number (公民身份号码), GB 11643-1999, including first-generation 15-digit numbers."""

from __future__ import annotations

import datetime as dt
import operator
import re

from ecredit.identifiers.regions import is_known_region
from ecredit.identifiers.result import CheckResult, Finding, make_result
from ecredit.identifiers.text import invalid_characters, prepare, show

# 2^(18-i) mod 11 for i = 1..17.
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARACTERS = "10X98765432"
# Nobody born before 1870 was alive when GB 11643 numbers were first issued (1984): an error.
EARLIEST_BIRTH_YEAR = 1870
# Before 1890 is implausible for a living person, but GB 11643 Annex A itself uses 1880: a warning.
PLAUSIBLE_BIRTH_YEAR = 1890
# Address codes of residence permits for Hong Kong, Macao and Taiwan residents (港澳台居民居住证).
RESIDENCE_PERMITS = {"810000": "Hong Kong", "820000": "Macao", "830000": "Taiwan"}

_BODY17 = re.compile(r"[0-9]{17}")
_RIC_CHARACTERS = frozenset("0123456789X")
_ZERO_OFFSET = ord("0") * sum(WEIGHTS)
_RIC18 = re.compile(r"[0-9]{17}[0-9X]")
_RIC15 = re.compile(r"[0-9]{15}")


def ric_check_character(body17: str) -> str:
    """Return the GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits."""
    if not _BODY17.fullmatch(body17):
        raise ValueError(f"expected 17 ASCII digits, got {body17!r}")
    # The digits' code points are their values plus 48 (ASCII "0").
    total = sum(map(operator.mul, body17.encode("ascii"), WEIGHTS)) - _ZERO_OFFSET
    return CHECK_CHARACTERS[total % 11]


def ric_15_to_18(value: str) -> str:
    """Convert a 15-digit first-generation ID number to 18 characters (insert "19", add the check)."""
    text = prepare(value).text
    if not _RIC15.fullmatch(text):
        raise ValueError(f"expected 15 ASCII digits, got {value!r}")
    body = text[:6] + "19" + text[6:]
    return body + ric_check_character(body)


def birth_date(number18: str) -> dt.date | None:
    """Return the birth date encoded in an 18-character number, or None if it is not a real date."""
    try:
        return dt.date(int(number18[6:10]), int(number18[10:12]), int(number18[12:14]))
    except ValueError:
        return None


def _check_birth_date(number: str, today: dt.date, errors: list[Finding], warnings: list[Finding]) -> None:
    born = birth_date(number)
    if born is None:
        errors.append(
            Finding("ric.birth_date_invalid", f"The birth date {number[6:14]} is not a real calendar date.")
        )
    elif born > today:
        errors.append(
            Finding("ric.birth_date_future", f"The birth date {born.isoformat()} is in the future.")
        )
    elif born.year < EARLIEST_BIRTH_YEAR:
        errors.append(
            Finding(
                "ric.birth_date_too_early",
                f"The birth date {born.isoformat()} is before {EARLIEST_BIRTH_YEAR}.",
            )
        )
    elif born.year < PLAUSIBLE_BIRTH_YEAR:
        warnings.append(
            Finding(
                "ric.birth_date_early",
                f"The birth date {born.isoformat()} is before {PLAUSIBLE_BIRTH_YEAR}; please check it.",
            )
        )


def check_ric(value: str, *, today: dt.date | None = None) -> CheckResult:
    """Validate a citizen ID number (18 characters, or 15 digits converted to 18)."""
    prepared = prepare(value)
    errors, warnings = prepared.errors, prepared.warnings
    text = prepared.text.upper()
    if not text:
        return make_result(value, "ric", None, errors, warnings)

    bad = invalid_characters(text, _RIC_CHARACTERS)
    misplaced_x = "X" in text[:-1] or (len(text) == 15 and text.endswith("X"))
    if bad or misplaced_x:
        detail = f" found {show(bad)}" if bad else " found 'X' before the last position"
        errors.append(
            Finding(
                "ric.invalid_character",
                f"Only digits (and a final X in an 18-character number) are allowed;{detail}.",
            )
        )
    if len(text) not in (15, 18):
        errors.append(Finding("ric.length", f"An ID number has 18 (or 15) characters, not {len(text)}."))
    if errors:
        return make_result(value, "ric", None, errors, warnings)

    if len(text) == 15:
        number = ric_15_to_18(text)
        warnings.append(
            Finding(
                "ric.converted_from_15",
                f"The 15-digit first-generation number was converted to 18 characters ({number}).",
            )
        )
    else:
        number = text
        assert _RIC18.fullmatch(number)
        expected = ric_check_character(number[:17])
        if number[17] != expected:
            errors.append(
                Finding(
                    "ric.check_character",
                    f"The check character is {number[17]!r} but should be {expected!r}.",
                )
            )

    if today is None:
        today = dt.datetime.now(dt.UTC).date()  # pure module: no import of kit
    elif isinstance(today, dt.datetime):
        today = today.date()
    _check_birth_date(number, today, errors, warnings)

    region = number[:6]
    if region.startswith("9"):
        errors.append(
            Finding(
                "ric.foreign_permanent_resident",
                "Address codes starting with 9 are not used for citizens; this may be a foreign "
                "permanent-resident ID number, which is not validated as a citizen ID.",
            )
        )
    elif region in RESIDENCE_PERMITS:
        warnings.append(
            Finding(
                "ric.residence_permit",
                f"This is the number of a residence permit for {RESIDENCE_PERMITS[region]} residents "
                "(港澳台居民居住证), not a mainland citizen ID number.",
            )
        )
    elif not is_known_region(region):
        warnings.append(
            Finding("ric.unknown_region", f"The address code {region} is not a known division code.")
        )
    return make_result(value, "ric", number, errors, warnings)
