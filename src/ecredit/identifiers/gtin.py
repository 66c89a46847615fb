"""GS1 GTIN-8/12/13/14 (商品条码), validated with stdnum.ean."""

from __future__ import annotations

from stdnum import ean

from ecredit.identifiers.result import CheckResult, Finding, make_result
from ecredit.identifiers.text import ASCII_DIGITS, invalid_characters, prepare, show

LENGTHS = (8, 12, 13, 14)


def check_gtin(value: str) -> CheckResult:
    """Validate a GTIN-8, GTIN-12, GTIN-13 or GTIN-14 (digits only, GS1 mod-10 check digit)."""
    prepared = prepare(value)
    text, errors, warnings = prepared.text, prepared.errors, prepared.warnings
    if text:
        bad = invalid_characters(text, ASCII_DIGITS)
        if bad:
            errors.append(Finding("gtin.invalid_character", f"Only digits are allowed; found {show(bad)}."))
        if len(text) not in LENGTHS:
            errors.append(
                Finding("gtin.length", f"A GTIN has 8, 12, 13 or 14 digits, not {len(text)} characters.")
            )
    if not errors:
        expected = ean.calc_check_digit(text[:-1])
        # stdnum.ean.validate is the authority; the explicit digit only improves the message.
        if not ean.is_valid(text):
            errors.append(
                Finding("gtin.check_digit", f"The check digit is {text[-1]!r} but should be {expected!r}.")
            )
    return make_result(value, "gtin", text, errors, warnings)
