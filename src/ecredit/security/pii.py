"""Writing personal fields: ciphertext, blind index and masked form together, never the clear value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecredit.security import masking
from ecredit.security.context import get_vault

# column -> masking kind; a column ``x`` is stored as x_enc, x_bidx (when searchable) and x_masked
PII_COLUMNS = {"id_number": "id_number", "phone": "phone", "address": "address"}
SEARCHABLE = frozenset({"id_number", "phone"})


def pii_values(table: str, column: str, row_id: str, value: str | None) -> dict[str, Any]:
    """The stored columns for one personal field of one row (all None when ``value`` is None)."""
    names = {f"{column}_enc": None, f"{column}_masked": None}
    if column in SEARCHABLE:
        names[f"{column}_bidx"] = None
    if value is None:
        return names
    vault = get_vault()
    names[f"{column}_enc"] = vault.encrypt(value, table=table, column=column, row_id=row_id)
    names[f"{column}_masked"] = masking.mask(PII_COLUMNS[column], value)
    if column in SEARCHABLE:
        names[f"{column}_bidx"] = vault.blind_index(value, column=column)
    return names


def pii_values_many(table: str, column: str, items: Sequence[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """``pii_values`` of many (row id, value) pairs of one table and column, in order (bulk loads: the
    nonces of all the values are drawn at once)."""
    present = [(row_id, value) for row_id, value in items if value is not None]
    vault = get_vault()
    blobs = iter(vault.encrypt_many(present, table=table, column=column))
    kind = PII_COLUMNS[column]
    searchable = column in SEARCHABLE
    enc, masked, bidx = f"{column}_enc", f"{column}_masked", f"{column}_bidx"
    out: list[dict[str, Any]] = []
    for _, value in items:
        if value is None:
            out.append({enc: None, masked: None, bidx: None} if searchable else {enc: None, masked: None})
        elif searchable:
            out.append(
                {
                    enc: next(blobs),
                    masked: masking.mask(kind, value),
                    bidx: vault.blind_index(value, column=column),
                }
            )
        else:
            out.append({enc: next(blobs), masked: masking.mask(kind, value)})
    return out


def set_pii(obj: Any, column: str, value: str | None) -> None:
    """Set a personal field on an ORM object (its id must already be assigned)."""
    for name, stored in pii_values(obj.__tablename__, column, obj.id, value).items():
        setattr(obj, name, stored)


def blind_index(column: str, value: str) -> str:
    """The blind index of ``value`` for equality look-up in ``column``."""
    return get_vault().blind_index(value, column=column)


def reveal(obj: Any, column: str) -> str | None:
    """Decrypt a personal field for internal checks (never rendered; clear reads by people go through
    the purpose-bound, audited path)."""
    blob = getattr(obj, f"{column}_enc")
    if blob is None:
        return None
    return get_vault().decrypt(blob, table=obj.__tablename__, column=column, row_id=obj.id)
