"""Store snapshots the indicators read beside the lake, as Arrow tables (DESIGN.md §3: lake + store
snapshots).

Each is one query whose result is turned into Arrow column by column (the rows are transposed once, no Python
code per row), registered in the analytics engine under its name:

- ``store_shops``: the shops (entity_key = shop id), their operator, platform code, verification, opening.
- ``store_platforms``: the platforms' subjects (entity_key = subject id) and codes.
- ``store_logistics``: logistics companies (entity_key = subject id) and their USCC (the lake's carrier_uscc).
- ``store_records``: credit records that count in evaluations (stored status ``active``: active or expired;
  never repaired or withdrawn), with a list entry's colour and seriousness from its details.
- ``store_warning_shops``: shops named as a party (not linked evidence) in warnings not dismissed.
- ``store_flagged_accounts`` / ``store_flagged_reviews`` / ``store_flagged_parcels``: accounts, reviews and
  parcels named in warnings not dismissed (with whether one of them is confirmed).
- ``store_enforcement``: every platform enforcement order (entity_key = the platform's subject id) with its
  deadlines and report days, to carry out and to undo (lists' ``enforcement_order``, read as a table).
- ``store_complaints``, ``store_complaint_handling``: the shapes the complaints module will fill; empty until
  it exists (their indicators then take the neutral value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from ecredit.scoring import repository as repo

TS = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "store_shops": pa.schema(
        [
            ("entity_key", pa.string()),
            ("subject_id", pa.string()),
            ("platform", pa.string()),
            ("platform_shop_id", pa.string()),
            ("verification_status", pa.string()),
            ("verified_until", TS),
            ("opened_date", pa.date32()),
            ("status", pa.string()),
            ("region_code", pa.string()),
        ]
    ),
    "store_platforms": pa.schema(
        [
            ("entity_key", pa.string()),
            ("subject_id", pa.string()),
            ("platform", pa.string()),
            ("region_code", pa.string()),
        ]
    ),
    "store_logistics": pa.schema(
        [
            ("entity_key", pa.string()),
            ("subject_id", pa.string()),
            ("uscc", pa.string()),
            ("region_code", pa.string()),
        ]
    ),
    "store_records": pa.schema(
        [
            ("subject_id", pa.string()),
            ("kind", pa.string()),
            ("effect", pa.string()),
            ("severity", pa.string()),
            ("decided_on", pa.date32()),
            ("list_colour", pa.string()),
            ("list_serious", pa.bool_()),
        ]
    ),
    "store_warning_shops": pa.schema(
        [
            ("platform", pa.string()),
            ("shop_ref", pa.string()),
            ("kind", pa.string()),
            ("confidence", pa.float64()),
            ("status", pa.string()),
        ]
    ),
    "store_flagged_accounts": pa.schema(
        [
            ("platform", pa.string()),
            ("account_id", pa.string()),
            ("kind", pa.string()),
            ("confirmed", pa.bool_()),
        ]
    ),
    "store_flagged_reviews": pa.schema([("platform", pa.string()), ("review_id", pa.string())]),
    "store_flagged_parcels": pa.schema([("platform", pa.string()), ("parcel_id", pa.string())]),
    "store_complaints": pa.schema(
        [("entity_key", pa.string()), ("complaints", pa.int64()), ("orders", pa.int64())]
    ),
    "store_complaint_handling": pa.schema(
        [("entity_key", pa.string()), ("handled", pa.int64()), ("on_time", pa.int64())]
    ),
    "store_enforcement": pa.schema(
        [
            ("entity_key", pa.string()),
            ("due_on", pa.date32()),
            ("reported_on", pa.date32()),
            ("lift_due_on", pa.date32()),
            ("lift_reported_on", pa.date32()),
        ]
    ),
}


def arrow_of(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.Table:
    """Rows as an Arrow table of ``schema`` (transposed once into columns)."""
    if not rows:
        return schema.empty_table()
    columns = list(zip(*rows, strict=True))
    return pa.table(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
    )


def records_table(records: Sequence[Sequence[Any]]) -> pa.Table:
    """``store_records`` from rows of ``repository.counting_records``."""
    rows = []
    for subject_id, kind, effect, severity, decided_on, details in records:
        colour = serious = None
        if kind == "list_entry" and isinstance(details, dict):
            colour = details.get("colour")
            serious = bool(details.get("serious", False))
        rows.append((subject_id, kind, effect, severity, decided_on, colour, serious))
    return arrow_of(rows, SCHEMAS["store_records"])


def take(session: Session) -> dict[str, pa.Table]:
    """Every store snapshot the model's SQL reads, by table name."""
    out = {
        "store_shops": arrow_of(repo.shop_rows(session), SCHEMAS["store_shops"]),
        "store_platforms": arrow_of(repo.platform_rows(session), SCHEMAS["store_platforms"]),
        "store_logistics": arrow_of(repo.logistics_rows(session), SCHEMAS["store_logistics"]),
        "store_records": records_table(repo.counting_records(session)),
        "store_warning_shops": arrow_of(repo.warned_shops(session), SCHEMAS["store_warning_shops"]),
        "store_flagged_accounts": arrow_of(repo.flagged_accounts(session), SCHEMAS["store_flagged_accounts"]),
        "store_flagged_reviews": arrow_of(
            repo.flagged_objects(session, "fake_review", "reviews"), SCHEMAS["store_flagged_reviews"]
        ),
        "store_flagged_parcels": arrow_of(
            repo.flagged_objects(session, "empty_parcel", "parcels"), SCHEMAS["store_flagged_parcels"]
        ),
        "store_enforcement": arrow_of(repo.enforcement_rows(session), SCHEMAS["store_enforcement"]),
    }
    for name in ("store_complaints", "store_complaint_handling"):
        out[name] = SCHEMAS[name].empty_table()
    return out
