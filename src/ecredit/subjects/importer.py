"""Bulk registration of a platform's shops and their operators from files, in batches.

Each batch is validated row by row (bad rows come back with their number and reason), then written with a
handful of set-based statements: subjects found by USCC or by the blind index of their ID number, new
ones inserted in bulk, shops upserted on (platform, platform shop id). Re-running a file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ecredit import identifiers
from ecredit.errors import Forbidden
from ecredit.kit import rows as v
from ecredit.kit.clock import utc_now
from ecredit.kit.events import announce
from ecredit.kit.ids import new_id
from ecredit.kit.tabular import Row
from ecredit.security.permissions import authorize
from ecredit.security.pii import blind_index, pii_values
from ecredit.security.principals import Principal
from ecredit.security.trail import record_change
from ecredit.subjects import repository as repo
from ecredit.subjects.events import ShopRegistered
from ecredit.subjects.models import Platform, Relation, Shop, Subject
from ecredit.subjects.schemas import normalize_phone

SHOP_COLUMNS = frozenset(
    {
        "platform_shop_id",
        "shop_name",
        "category",
        "operator_type",
        "operator_name",
        "operator_uscc",
        "operator_id_number",
        "legal_rep_name",
        "legal_rep_id_number",
        "phone",
        "region_code",
        "address",
        "opened_at",
    }
)
OPERATOR_TYPES = frozenset({"organisation", "individual_business", "person"})


@dataclass
class ShopRow:
    number: int
    platform_shop_id: str
    shop_name: str
    category: str | None
    operator_type: str
    operator_name: str
    operator_uscc: str | None
    operator_id_number: str | None
    legal_rep_name: str | None
    legal_rep_id_number: str | None
    phone: str | None
    region_code: str | None
    address: str | None
    opened_date: dt.date | None


@dataclass
class BatchResult:
    shops_inserted: int = 0
    shops_updated: int = 0
    subjects_inserted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _identifier(values: dict[str, Any], column: str, kind: str) -> str | None:
    """``rows.identifier`` with the checks remembered: in a platform's file the same credit codes, ID
    numbers (operators with several shops, legal representatives of several companies) and division
    codes come back again and again, and checking one is the costliest part of validating a row."""
    value = v.text(values, column, max_length=40)
    if value is None:
        return None
    # An ID number's check depends on the date (no birth date in the future): it is part of the key.
    today = dt.datetime.now(dt.UTC).date() if kind == "ric" else None
    normalized, error = _checked(value, kind, today)
    if error is not None:
        raise v.RowRejected(column, error)
    return normalized


@functools.lru_cache(maxsize=1 << 17)
def _checked(value: str, kind: str, today: dt.date | None) -> tuple[str | None, str | None]:
    """(normalized value, None) when valid, else (None, the reasons)."""
    result = identifiers.check(value, kind, today=today)
    if not result.valid:
        return None, "; ".join(f.message for f in result.errors)
    return result.normalized, None


def parse_shop_row(number: int, values: dict[str, Any]) -> ShopRow:
    """Validate one row of the shops file; raises ``RowRejected``."""
    shop_id = v.text(values, "platform_shop_id", required=True, max_length=64)
    assert shop_id is not None
    if not all(c.isascii() and (c.isalnum() or c in "._:-") for c in shop_id):
        raise v.RowRejected("platform_shop_id", "only ASCII letters, digits and . _ : - are allowed")
    operator_type = v.choice(values, "operator_type", OPERATOR_TYPES)
    uscc = _identifier(values, "operator_uscc", "uscc")
    id_number = _identifier(values, "operator_id_number", "ric")
    rep_name = v.text(values, "legal_rep_name", max_length=100)
    rep_id = _identifier(values, "legal_rep_id_number", "ric")
    if operator_type in {"organisation", "individual_business"} and uscc is None:
        raise v.RowRejected("operator_uscc", f"required for operator_type {operator_type}")
    if operator_type == "person":
        if id_number is None:
            raise v.RowRejected("operator_id_number", "required for operator_type person")
        if uscc is not None:
            raise v.RowRejected("operator_uscc", "a natural person has no USCC")
        if rep_name or rep_id:
            raise v.RowRejected("legal_rep_name", "a natural person operator has no legal representative")
    if operator_type == "organisation" and id_number is not None:
        raise v.RowRejected("operator_id_number", "an organisation has no citizen ID number")
    if operator_type == "individual_business" and id_number is not None:
        # The ID number of an individual business is its operator's (经营者): recorded as a person related
        # to the business as its legal representative, never on the business itself.
        if rep_id is not None and rep_id != id_number:
            raise v.RowRejected(
                "legal_rep_id_number", "differs from operator_id_number of the individual business"
            )
        if rep_name is None:
            raise v.RowRejected("legal_rep_name", "required: the name of the individual business's operator")
        rep_id = id_number
    if rep_id is not None and rep_name is None:
        raise v.RowRejected("legal_rep_name", "required with legal_rep_id_number")
    if rep_name is not None and rep_id is None:
        raise v.RowRejected("legal_rep_id_number", "required with legal_rep_name")
    phone = v.text(values, "phone", max_length=20)
    if phone is not None:
        try:
            phone = normalize_phone(phone)
        except ValueError as exc:
            raise v.RowRejected("phone", str(exc)) from None
    opened = v.date(values, "opened_at")
    if opened is not None and opened > utc_now().date():
        raise v.RowRejected("opened_at", "in the future")
    return ShopRow(
        number=number,
        platform_shop_id=shop_id,
        shop_name=v.text(values, "shop_name", required=True) or "",
        category=v.text(values, "category", max_length=100),
        operator_type=operator_type or "",
        operator_name=v.text(values, "operator_name", required=True) or "",
        operator_uscc=uscc,
        operator_id_number=id_number,
        legal_rep_name=rep_name,
        legal_rep_id_number=rep_id,
        phone=phone,
        region_code=_identifier(values, "region_code", "region"),
        address=v.text(values, "address"),
        opened_date=opened,
    )


class _SubjectResolver:
    """Finds or creates (in bulk) the subjects a batch refers to."""

    def __init__(self, session: Session, rows: Sequence[ShopRow]):
        self.session = session
        self.new: list[dict[str, Any]] = []
        usccs = {r.operator_uscc for r in rows if r.operator_uscc}
        self.by_uscc = repo.subject_ids_by_usccs(session, usccs)
        self.bidx = {
            n: blind_index("id_number", n)
            for r in rows
            for n in (r.operator_id_number, r.legal_rep_id_number)
            if n
        }
        self.by_bidx = repo.subject_ids_by_id_number_bidx(session, self.bidx.values())

    def organisation(self, row: ShopRow) -> str:
        assert row.operator_uscc is not None
        found = self.by_uscc.get(row.operator_uscc)
        if found:
            return found
        subject_id = new_id()
        values: dict[str, Any] = {
            "id": subject_id,
            "kind": row.operator_type,
            "name": row.operator_name,
            "uscc": row.operator_uscc,
            "region_code": row.operator_uscc[2:8],
            **pii_values("subject", "id_number", subject_id, None),
            **pii_values("subject", "phone", subject_id, None),
            **pii_values("subject", "address", subject_id, None),
        }
        self.new.append(values)
        self.by_uscc[row.operator_uscc] = subject_id
        return subject_id

    def person(self, name: str, id_number: str, region_code: str | None = None) -> str:
        bidx = self.bidx[id_number]
        found = self.by_bidx.get(bidx)
        if found:
            return found
        subject_id = new_id()
        self.new.append(
            {
                "id": subject_id,
                "kind": "person",
                "name": name,
                "uscc": None,
                "region_code": region_code or id_number[:6],
                **pii_values("subject", "id_number", subject_id, id_number),
                **pii_values("subject", "phone", subject_id, None),
                **pii_values("subject", "address", subject_id, None),
            }
        )
        self.by_bidx[bidx] = subject_id
        return subject_id

    def flush(self) -> int:
        if self.new:
            repo.bulk_insert(self.session, Subject, self.new)
        return len(self.new)


@dataclass
class ParsedBatch:
    """A validated batch: its good rows (the first of each platform shop id) and its rejects."""

    rows: list[ShopRow]
    rejected: list[tuple[int, str]]


def parse_batch(batch: Sequence[Row]) -> ParsedBatch:
    """Validate a batch row by row. Pure (no store, no keys): a loader may run it ahead, elsewhere."""
    rejected: list[tuple[int, str]] = []
    parsed: dict[str, ShopRow] = {}
    for row in batch:
        try:
            shop_row = parse_shop_row(row.number, row.values)
        except v.RowRejected as exc:
            rejected.append((row.number, str(exc)))
            continue
        if shop_row.platform_shop_id in parsed:
            first = parsed[shop_row.platform_shop_id].number
            rejected.append((row.number, f"platform_shop_id: repeats row {first}"))
            continue
        parsed[shop_row.platform_shop_id] = shop_row
    return ParsedBatch(rows=list(parsed.values()), rejected=rejected)


def import_batch(
    session: Session,
    principal: Principal,
    platform: Platform,
    batch: Sequence[Row],
    parsed: ParsedBatch | None = None,
) -> BatchResult:
    """Validate and register one batch of shop rows for ``platform`` (one audit entry per batch).

    ``parsed`` is ``parse_batch(batch)`` when the caller validated the batch ahead.
    """
    grant = authorize(principal, "shops.create")
    if grant.platform_id and grant.platform_id != platform.id:
        raise Forbidden("a platform registers only its own shops")
    if parsed is None:
        parsed = parse_batch(batch)
    result = BatchResult(rejected=list(parsed.rejected))
    rows = parsed.rows
    resolver = _SubjectResolver(session, rows)
    operator_of: dict[str, str] = {}
    rep_pairs: set[tuple[str, str]] = set()
    for r in rows:
        if r.operator_type == "person":
            assert r.operator_id_number is not None
            operator_of[r.platform_shop_id] = resolver.person(
                r.operator_name, r.operator_id_number, r.region_code
            )
        else:
            operator_of[r.platform_shop_id] = resolver.organisation(r)
            if r.legal_rep_id_number and r.legal_rep_name:
                rep = resolver.person(r.legal_rep_name, r.legal_rep_id_number)
                rep_pairs.add((rep, operator_of[r.platform_shop_id]))
    result.subjects_inserted = resolver.flush()
    new_pairs = rep_pairs - repo.existing_relations(session, "legal_representative", rep_pairs)
    if new_pairs:
        repo.bulk_insert(
            session,
            Relation,
            [
                {"id": new_id(), "kind": "legal_representative", "holder_id": h, "object_id": o}
                for h, o in new_pairs
            ],
        )
    existing = repo.shops_by_platform_shop_ids(session, platform.id, (r.platform_shop_id for r in rows))
    new_shops = []
    for r in rows:
        shop = existing.get(r.platform_shop_id)
        shop_id = shop.id if shop is not None else new_id()
        values = {
            "name": r.shop_name,
            "category": r.category,
            "operator_id": operator_of[r.platform_shop_id],
            "region_code": r.region_code,
            "opened_date": r.opened_date,
            **pii_values("shop", "phone", shop_id, r.phone),
            **pii_values("shop", "address", shop_id, r.address),
        }
        if shop is not None:
            changed = any(getattr(shop, k) != val for k, val in values.items() if not k.endswith("_enc"))
            if changed:
                for key, val in values.items():
                    setattr(shop, key, val)
                result.shops_updated += 1
        else:
            new_shops.append(
                {"id": shop_id, "platform_id": platform.id, "platform_shop_id": r.platform_shop_id, **values}
            )
    if new_shops:
        repo.bulk_insert(session, Shop, new_shops)
        for s in new_shops:
            announce(
                session,
                ShopRegistered(shop_id=s["id"], platform_id=platform.id, operator_id=s["operator_id"]),
            )
    result.shops_inserted = len(new_shops)
    linked = set(operator_of.values()) | {h for h, _ in rep_pairs}
    repo.link_subjects(session, platform.id, linked)
    session.flush()
    record_change(
        session,
        principal,
        "shops.import",
        "platform",
        platform.id,
        {
            "rows": len(batch),
            "shops_inserted": result.shops_inserted,
            "shops_updated": result.shops_updated,
            "subjects_inserted": result.subjects_inserted,
            "rejected": len(result.rejected),
        },
    )
    return result


def prepare_bulk_load(session: Session) -> None:
    """Tune the session for a bulk load (a bigger page cache on SQLite; see the repository)."""
    repo.prepare_bulk_load(session)


def refresh_statistics(session: Session) -> None:
    """Refresh the planner statistics of the tables the import grows (PostgreSQL; see the repository)."""
    repo.refresh_statistics(session)
