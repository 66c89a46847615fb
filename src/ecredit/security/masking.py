"""One masking pattern for personal data everywhere (RELIABILITY.md, "Personal data").

- citizen ID number: first 6 and last 4 of an 18-character number (``370102********1238``), first 6 and
  last 3 of a 15-digit number; anything else becomes one ``*`` per character;
- phone: mobile ``138****5678``; landline keeps the area code and the last 2 digits
  (``0531-******66``); anything else becomes one ``*`` per character;
- address: kept up to the county-level unit (``山东省济南市历下区****``), else up to the prefecture or
  province; an address with no recognisable province or prefecture keeps nothing (``****``);
- bank account: ``****`` and the last 4 digits.

Two channels masking different digits could be combined to recover a value, so never mask in any
other way. Organisation names and USCCs are public and are not masked. Every function maps None to None.
``find_pii`` spots clear ID numbers and mobile numbers in free text (tests, log filters).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "MASK_KINDS",
    "PII_PATTERNS",
    "find_pii",
    "mask",
    "mask_address",
    "mask_bank_account",
    "mask_free_text",
    "mask_id_number",
    "mask_nested",
    "mask_phone",
]

_ID18 = re.compile(r"[0-9]{17}[0-9Xx]")
_ID15 = re.compile(r"[0-9]{15}")
_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9][0-9]{9})")
# 3-character area codes are 010 and 02x; the others have 4 characters. Local numbers have 7-8 digits.
_LANDLINE_SPLIT = re.compile(r"(0[0-9]{2,3})[- ]([0-9]{7,8})")
_LANDLINE_JOINED = re.compile(r"(010|02[0-9]|0[3-9][0-9]{2})([0-9]{7,8})")
_SEPARATORS = re.compile(r"[\s-]+")

# Address parsing: an optional province-level unit, an optional prefecture-level unit and an optional
# county-level unit, each made of "name" characters. Digits and street words (road, street, lane, number,
# building, room...) end a name, so a house address is never mistaken for a county. When in doubt the
# function keeps less, not more.
_NAME = r"[^\W\d_路街巷弄号栋幢楼室道]"
_PREFECTURE_NAME = r"[^\W\d_路街巷弄号栋幢楼室道区县旗]"  # no prefecture-level name holds 区, 县 or 旗
_PROVINCE = (
    r"(?:(?:河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川"
    r"|贵州|云南|陕西|甘肃|青海|台湾)省?"
    r"|内蒙古(?:自治区)?|广西(?:壮族自治区)?|西藏(?:自治区)?|宁夏(?:回族自治区)?|新疆(?:维吾尔自治区)?"
    r"|(?:香港|澳门)(?:特别行政区)?)"
)
# Markers preceded by these characters name places, not units (小区 compound, 超市 supermarket...).
_CITY = r"(?<![超菜集门夜])市"
_DISTRICT = r"(?<![小社园校厂景])区"
# Municipalities (北京市...) and county-level cities directly under a province (湖北省仙桃市) match as
# prefectures; lazy quantifiers stop at the first marker, so "济南市市中区" splits as 济南市 + 市中区.
# A county is only recognised after a province or prefecture, as in "…市历下区".
_PREFECTURE = rf"(?:{_PREFECTURE_NAME}{{2,15}}?(?:{_CITY}|自治州|盟|地区))"
_COUNTY = rf"(?:{_NAME}{{1,15}}?(?:{_DISTRICT}|[县旗]|{_CITY}))"
_ADDRESS = re.compile(rf"(?:{_PROVINCE}{_PREFECTURE}?|{_PREFECTURE})(?:{_COUNTY})?")

_HIDDEN = "****"

PII_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        "id_number": re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])"),
        "phone": re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"),
    }
)


def _clean(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected str or None, got {type(value).__name__}")
    if value.isascii():  # NFKC leaves ASCII text as it is
        return value.strip()
    return unicodedata.normalize("NFKC", value).strip()


def mask_id_number(v: str | None) -> str | None:
    """Mask a citizen ID number: keep first 6 and last 4 (18 chars) or last 3 (15 digits)."""
    if v is None:
        return None
    value = _clean(v)
    if _ID18.fullmatch(value):
        return value[:6] + "*" * 8 + value[-4:]
    if _ID15.fullmatch(value):
        return value[:6] + "*" * 6 + value[-3:]
    return "*" * len(value)


def mask_phone(v: str | None) -> str | None:
    """Mask a phone number: mobiles as ``138****5678``, landlines keep area code and last 2 digits."""
    if v is None:
        return None
    value = _clean(v)
    mobile = _MOBILE.fullmatch(_SEPARATORS.sub("", value))
    if mobile:
        digits = mobile.group(1)
        return digits[:3] + "****" + digits[-4:]
    landline = _LANDLINE_SPLIT.fullmatch(value) or _LANDLINE_JOINED.fullmatch(value)
    if landline:
        area, local = landline.groups()
        return f"{area}-{'*' * (len(local) - 2)}{local[-2:]}"
    return "*" * len(value)


def mask_address(v: str | None) -> str | None:
    """Keep an address up to its county-level unit (else prefecture, else province) and hide the rest."""
    if v is None:
        return None
    value = _clean(v)
    if not value:
        return value
    match = _ADDRESS.match(value)
    kept = value[: match.end()] if match else ""
    # Nothing recognised: keep nothing rather than guess (the start may be a street and house number).
    return kept if kept == value else kept + _HIDDEN


def mask_bank_account(v: str | None) -> str | None:
    """Mask a bank account as ``****`` plus its last 4 characters."""
    if v is None:
        return None
    value = _SEPARATORS.sub("", _clean(v))
    # A short value would be shown almost whole: hide it entirely.
    return _HIDDEN + value[-4:] if len(value) >= 8 else _HIDDEN


_MASKERS: Mapping[str, Callable[[str | None], str | None]] = MappingProxyType(
    {
        "id_number": mask_id_number,
        "phone": mask_phone,
        "address": mask_address,
        "bank_account": mask_bank_account,
    }
)
MASK_KINDS = frozenset(_MASKERS)


def mask(kind: str, value: str | None) -> str | None:
    """Mask ``value`` with the pattern for ``kind`` (id_number, phone, address, bank_account)."""
    masker = _MASKERS.get(kind)
    if masker is None:
        raise ValueError(f"unknown mask kind {kind!r}; expected one of {sorted(MASK_KINDS)}")
    return masker(value)


def find_pii(text: str) -> list[str]:
    """Return clear ID numbers and mobile numbers found in ``text`` (after NFKC), in text order."""
    normalised = unicodedata.normalize("NFKC", text)
    hits = [m for pattern in PII_PATTERNS.values() for m in pattern.finditer(normalised)]
    return [m.group() for m in sorted(hits, key=lambda m: m.start())]


_FREE_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_FREE_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{11,}(?![0-9])")


def mask_free_text(text: str) -> str:
    """Mask ID numbers and phone-like digit runs inside free text a person typed (a reason, a note)."""
    text = unicodedata.normalize("NFKC", text)
    text = _FREE_ID_NUMBER.sub(lambda m: mask_id_number(m.group()) or "", text)
    return _FREE_DIGIT_RUN.sub(lambda m: mask_phone(m.group()) or "", text)


def mask_nested(value: Any) -> Any:
    """``mask_free_text`` over every string of a JSON-like value (evidence, details, a reason): phone and ID
    numbers masked, the structure and everything else kept."""
    if isinstance(value, str):
        return mask_free_text(value)
    if isinstance(value, dict):
        return {k: mask_nested(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_nested(v) for v in value]
    return value
