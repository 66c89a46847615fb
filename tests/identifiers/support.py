"""Shared helpers for the identifier tests (no fixtures)."""

from __future__ import annotations

import datetime as dt

# A fixed "today" so results do not depend on the calendar.
TODAY = dt.date(2026, 6, 1)

FULLWIDTH = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ",
)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def fullwidth(value: str) -> str:
    """Return ``value`` with ASCII letters and digits replaced by their full-width forms."""
    return value.translate(FULLWIDTH)


def codes(findings) -> list[str]:
    """Return the codes of a tuple of findings."""
    return [finding.code for finding in findings]
