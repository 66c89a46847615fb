"""Input normalisation shared by the validators: NFKC, whitespace, non-ASCII digits."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from ecredit.identifiers.result import Finding

ASCII_DIGITS = frozenset("0123456789")


@dataclass
class Prepared:
    """A value after NFKC and stripping, plus the format findings raised on the way."""

    text: str
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


def is_foreign_digit(char: str) -> bool:
    """Return True for a decimal digit that is not one of the ASCII digits 0-9."""
    return char not in ASCII_DIGITS and unicodedata.category(char) == "Nd"


def prepare(value: str) -> Prepared:
    """NFKC-normalise and strip ``value``, flagging full-width input and non-ASCII digits."""
    if not isinstance(value, str):
        raise TypeError(f"identifier must be a str, not {type(value).__name__}")
    if value.isascii():
        # The common case, checked at bulk-load rates: NFKC leaves ASCII text as it is, and ASCII holds
        # no other script's digits.
        text = value.strip()
        return Prepared(text, [] if text else [Finding("format.empty", "The value is empty.")])
    text = unicodedata.normalize("NFKC", value).strip()
    prepared = Prepared(text)
    if text != value.strip():
        prepared.warnings.append(
            Finding(
                "format.fullwidth",
                "The value contained full-width or other compatibility characters and was "
                "normalised (NFKC) before validation.",
            )
        )
    if not text:
        prepared.errors.append(Finding("format.empty", "The value is empty."))
    foreign = sorted({char for char in text if is_foreign_digit(char)})
    if foreign:
        prepared.errors.append(
            Finding(
                "format.non_ascii_digit",
                f"The value contains non-ASCII digits ({' '.join(foreign)}); only 0-9 are allowed.",
            )
        )
    return prepared


def only(text: str, allowed: frozenset[str] | str) -> bool:
    """Return True when every character of ``text`` is in ``allowed``."""
    if isinstance(allowed, frozenset):
        return allowed.issuperset(text)
    return all(char in allowed for char in text)


def invalid_characters(text: str, allowed: frozenset[str] | str) -> str:
    """Return the distinct characters of ``text`` outside ``allowed`` (non-ASCII digits excluded)."""
    if isinstance(allowed, frozenset) and allowed.issuperset(text):
        return ""
    seen = dict.fromkeys(char for char in text if char not in allowed and not is_foreign_digit(char))
    return "".join(seen)


def show(chars: str) -> str:
    """Format characters for a message, e.g. "'I', 'O'"."""
    return ", ".join(repr(char) for char in chars)
