"""Validation helpers for bulk rows: each raises ``RowRejected`` with the column and the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ecredit import identifiers


class RowRejected(Exception):
    """A bulk row is invalid; ``column`` names the offending column."""

    def __init__(self, column: str, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def text(row: dict[str, Any], column: str, *, required: bool = False, max_length: int = 200) -> str | None:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowRejected(column, "required")
        return None
    if not isinstance(value, str):
        raise RowRejected(column, "must be text")
    value = value.strip()
    if len(value) > max_length:
        raise RowRejected(column, f"longer than {max_length} characters")
    return value


def identifier(row: dict[str, Any], column: str, kind: str, *, required: bool = False) -> str | None:
    value = text(row, column, required=required, max_length=40)
    if value is None:
        return None
    result = identifiers.check(value, kind)
    if not result.valid:
        raise RowRejected(column, "; ".join(f.message for f in result.errors))
    return result.normalized


def choice(row: dict[str, Any], column: str, allowed: frozenset[str], *, required: bool = True) -> str | None:
    value = text(row, column, required=required)
    if value is not None and value not in allowed:
        raise RowRejected(column, f"must be one of {', '.join(sorted(allowed))}")
    return value


def date(row: dict[str, Any], column: str) -> dt.date | None:
    value = text(row, column, max_length=40)
    if value is None:
        return None
    try:
        return (
            dt.date.fromisoformat(value[:10])
            if len(value) > 10 and value[10] in "T "
            else dt.date.fromisoformat(value)
        )
    except ValueError:
        raise RowRejected(column, f"not an ISO 8601 date: {value!r}") from None
