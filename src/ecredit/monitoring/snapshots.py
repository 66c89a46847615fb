"""Store snapshots the detectors read beside the lake, as Arrow tables (DESIGN.md §3: lake + store
snapshots).

``shop_links``: one row per (shop, link key) — the keys that tie a shop to the people behind it, by the
store's identifiers, never by clear personal data: the operating subject (a company keeps its USCC, a person
their citizen ID number: one subject either way), the legal representatives of an operating company, and the
blind index of the shop's contact phone.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecredit.subjects.models import Platform, Relation, RelationKind, Shop

SHOP_LINKS_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("shop_id", pa.string()),
        ("opened_date", pa.date32()),
        ("status", pa.string()),
        ("link", pa.string()),  # operator | legal_representative | phone
        ("link_key", pa.string()),  # subject:<subject id> | phone:<blind index>
    ]
)


def shop_links(session: Session, batch_rows: int = 50_000) -> pa.Table:
    rows: dict[str, list[Any]] = {name: [] for name in SHOP_LINKS_SCHEMA.names}

    def add(platform: str, shop: str, opened: Any, status: str, link: str, key: str) -> None:
        for name, value in zip(
            SHOP_LINKS_SCHEMA.names, (platform, shop, opened, status, link, key), strict=True
        ):
            rows[name].append(value)

    shops = (
        select(
            Platform.code,
            Shop.platform_shop_id,
            Shop.opened_date,
            Shop.status,
            Shop.operator_id,
            Shop.phone_bidx,
        )
        .join(Platform, Platform.id == Shop.platform_id)
        .execution_options(yield_per=batch_rows)
    )
    operators: dict[str, list[tuple[str, str, Any, str]]] = {}
    for code, shop_id, opened, status, operator, phone in session.execute(shops):
        add(code, shop_id, opened, status, "operator", f"subject:{operator}")
        if phone:
            add(code, shop_id, opened, status, "phone", f"phone:{phone}")
        operators.setdefault(operator, []).append((code, shop_id, opened, status))
    reps = select(Relation.object_id, Relation.holder_id).where(
        Relation.kind == RelationKind.legal_representative, Relation.ended_date.is_(None)
    )
    for company, person in session.execute(reps.execution_options(yield_per=batch_rows)):
        for code, shop_id, opened, status in operators.get(company, ()):
            add(code, shop_id, opened, status, "legal_representative", f"subject:{person}")
    return pa.table(rows, schema=SHOP_LINKS_SCHEMA)
