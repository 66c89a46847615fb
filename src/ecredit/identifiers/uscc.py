"""Unified Social Credit Code (统一社会信用代码), GB 32100-2015."""

from __future__ import annotations

import operator
import string

from ecredit.identifiers.regions import is_known_region
from ecredit.identifiers.result import CheckResult, Finding, make_result
from ecredit.identifiers.text import ASCII_DIGITS, invalid_characters, only, prepare, show

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FORBIDDEN_LETTERS = frozenset("IOZSV")
# 3^(i-1) mod 31 for i = 1..17.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# Registration authority codes (position 1) listed in GB 32100 and its amendment.
AUTHORITIES = frozenset("123456789ANY")
# GB 11714 organisation code weights for positions 9-16 of the USCC.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Region code used by central-level registration authorities (not a GB/T 2260 county).
NATIONAL_REGION = "100000"

_VALUES = {char: index for index, char in enumerate(ALPHABET)}
_ALLOWED = frozenset(ALPHABET)
_ALLOWED_OR_FORBIDDEN = _ALLOWED | FORBIDDEN_LETTERS
# GB 11714: digits keep their value, letters A..Z count as 10..35 (what int(char, 36) gives).
_ORG_VALUES = {char: int(char, 36) for char in string.digits + string.ascii_letters}


def uscc_check_character(body17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a USCC."""
    body = body17.upper()
    if len(body) != 17 or not only(body, _ALLOWED):
        raise ValueError(f"expected 17 characters from {ALPHABET}, got {body17!r}")
    total = sum(map(operator.mul, map(_VALUES.__getitem__, body), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def organization_check_character(body8: str) -> str:
    """Return the GB 11714 check character (0-9 or X) for an 8-character organisation code body."""
    if len(body8) != 8 or not body8.isascii() or not body8.isalnum():
        raise ValueError(f"expected 8 ASCII letters or digits, got {body8!r}")
    # Digits keep their value; letters A..Z count as 10..35.
    total = sum(map(operator.mul, map(_ORG_VALUES.__getitem__, body8), ORG_WEIGHTS))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def check_uscc(value: str) -> CheckResult:
    """Validate a Unified Social Credit Code (18 characters, GB 32100 check character)."""
    prepared = prepare(value)
    errors, warnings = prepared.errors, prepared.warnings
    text = prepared.text.upper()
    if text != prepared.text:
        warnings.append(Finding("uscc.lowercase", "Lower-case letters were converted to upper case."))
    if not text:
        return make_result(value, "uscc", None, errors, warnings)

    forbidden = "".join(dict.fromkeys(char for char in text if char in FORBIDDEN_LETTERS))
    if forbidden:
        errors.append(
            Finding(
                "uscc.forbidden_letter",
                f"The letters I, O, S, V and Z are never used in a credit code; found {show(forbidden)}.",
            )
        )
    other = invalid_characters(text, _ALLOWED_OR_FORBIDDEN)
    if other:
        errors.append(
            Finding("uscc.invalid_character", f"The code contains invalid characters {show(other)}.")
        )
    if len(text) != 18:
        errors.append(Finding("uscc.length", f"A credit code has 18 characters, not {len(text)}."))
    if errors:
        return make_result(value, "uscc", None, errors, warnings)

    expected = uscc_check_character(text[:17])
    if text[17] != expected:
        errors.append(
            Finding(
                "uscc.check_character",
                f"The check character is {text[17]!r} but should be {expected!r}.",
            )
        )
    region = text[2:8]
    if not only(region, ASCII_DIGITS):
        errors.append(
            Finding("uscc.region_format", f"Positions 3-8 must be a 6-digit division code, not {region!r}.")
        )
    elif region != NATIONAL_REGION and not is_known_region(region):
        warnings.append(
            Finding("uscc.unknown_region", f"Positions 3-8 ({region}) are not a known division code.")
        )
    if text[0] not in AUTHORITIES:
        warnings.append(
            Finding(
                "uscc.unknown_authority",
                f"Position 1 ({text[0]!r}) is not a registration authority code listed in GB 32100.",
            )
        )
    org_expected = organization_check_character(text[8:16])
    if text[16] != org_expected:
        warnings.append(
            Finding(
                "uscc.organization_code_check",
                f"The embedded organisation code {text[8:17]} fails its GB 11714 check "
                f"(expected {org_expected!r} at position 17).",
            )
        )
    return make_result(value, "uscc", text, errors, warnings)
