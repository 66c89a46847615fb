"""Pure validators for Chinese identifiers: credit codes, citizen ID numbers, GTINs and division codes."""

from ecredit.identifiers.detect import check, detect_kind
from ecredit.identifiers.gtin import check_gtin
from ecredit.identifiers.regions import check_region, region_name, region_prefecture
from ecredit.identifiers.result import CheckResult, Finding
from ecredit.identifiers.ric import check_ric, ric_15_to_18, ric_check_character
from ecredit.identifiers.uscc import check_uscc, uscc_check_character

__all__ = [
    "CheckResult",
    "Finding",
    "check",
    "check_gtin",
    "check_region",
    "check_ric",
    "check_uscc",
    "detect_kind",
    "region_name",
    "region_prefecture",
    "ric_15_to_18",
    "ric_check_character",
    "uscc_check_character",
]
