"""Import of the business register (国家企业信用信息公示系统 registration data), in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ecredit.kit import rows as v
from ecredit.kit.ids import new_id
from ecredit.kit.tabular import Row
from ecredit.security.permissions import authorize
from ecredit.security.pii import pii_values
from ecredit.security.principals import Principal
from ecredit.security.trail import record_change
from ecredit.verification import repository as repo
from ecredit.verification.models import RegisterEntry

COLUMNS = frozenset(
    {
        "name",
        "uscc",
        "legal_rep_name",
        "entity_type",
        "status",
        "registered_date",
        "region_code",
        "address",
        "authority",
    }
)
STATUSES = frozenset({"存续", "在业", "注销", "吊销", "迁出"})


@dataclass
class BatchResult:
    inserted: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _parse(values: dict[str, Any]) -> dict[str, Any]:
    uscc = v.identifier(values, "uscc", "uscc", required=True)
    assert uscc is not None
    return {
        "uscc": uscc,
        "name": v.text(values, "name", required=True),
        "legal_rep_name": v.text(values, "legal_rep_name", max_length=100),
        "entity_type": v.text(values, "entity_type", max_length=100),
        "status": v.choice(values, "status", STATUSES),
        "registered_date": v.date(values, "registered_date"),
        "region_code": v.identifier(values, "region_code", "region") or uscc[2:8],
        "address": v.text(values, "address"),
        "authority": v.text(values, "authority"),
    }


def import_batch(session: Session, principal: Principal, batch: Sequence[Row]) -> BatchResult:
    """Validate and upsert one batch of register rows (by USCC); invalid rows are returned, not loaded."""
    authorize(principal, "register.import")
    result = BatchResult()
    parsed: dict[str, dict[str, Any]] = {}
    for row in batch:
        try:
            data = _parse(row.values)
        except v.RowRejected as exc:
            result.rejected.append((row.number, str(exc)))
            continue
        parsed[data["uscc"]] = data  # a USCC repeated in the file: the later row wins
    existing = repo.register_entries_by_uscc(session, parsed)
    new_rows = []
    for uscc, data in parsed.items():
        address = data.pop("address")
        entry = existing.get(uscc)
        if entry is None:
            row_id = new_id()
            new_rows.append(
                {"id": row_id, **data, **pii_values("register_entry", "address", row_id, address)}
            )
        else:
            for key, value in {**data, **pii_values("register_entry", "address", entry.id, address)}.items():
                setattr(entry, key, value)
            result.updated += 1
    if new_rows:
        session.execute(insert(RegisterEntry), new_rows)
        result.inserted = len(new_rows)
    session.flush()
    record_change(
        session,
        principal,
        "register.import",
        "register_entry",
        None,
        {
            "rows": len(batch),
            "inserted": result.inserted,
            "updated": result.updated,
            "rejected": len(result.rejected),
        },
    )
    return result
