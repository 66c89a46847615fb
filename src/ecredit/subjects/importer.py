"""Bulk registration of a platform's shops and their operators from files, in batches.

Each batch is validated row by row (bad rows come back with their number and reason), then written with a
handful of set-based statements: subjects found by USCC or by the blind index of their ID number, new
ones inserted in bulk, shops upserted on (platform, platform shop id). Re-running a file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from ecredit import identifiers
from ecredit.errors import Forbidden
from ecredit.kit import rows as v
from ecredit.kit.clock import utc_now
from ecredit.kit.events import announce
from ecredit.kit.ids import new_ids
from ecredit.kit.tabular import Row
from ecredit.security.permissions import authorize
from ecredit.security.pii import blind_index, pii_values, pii_values_many
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


class ShopRow(NamedTuple):
    """A valid row of the shops file (a named tuple: it travels cheaply from a read-ahead process)."""

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


def _text(
    values: dict[str, Any], column: str, *, required: bool = False, max_length: int = 200
) -> str | None:
    """``rows.text`` (the same result, the same errors), with a short path for the common case: a string
    cell, as in every CSV file."""
    value = values.get(column)
    if value.__class__ is str:
        value = value.strip()
        if value:
            if len(value) > max_length:
                raise v.RowRejected(column, f"longer than {max_length} characters")
            return value
        value = None
    if value is None:
        if required:
            raise v.RowRejected(column, "required")
        return None
    return v.text(values, column, required=required, max_length=max_length)


def _identifier(values: dict[str, Any], column: str, kind: str, today: dt.date | None) -> str | None:
    """``rows.identifier`` with the checks remembered: in a platform's file the same credit codes, ID
    numbers (operators with several shops, legal representatives of several companies) and division
    codes come back again and again, and checking one is the costliest part of validating a row.

    ``today`` is the UTC date for ID numbers (an ID number's check depends on it: no birth date in the
    future), None for the other kinds; it is part of the key."""
    value = _text(values, column, max_length=40)
    if value is None:
        return None
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


_SHOP_ID = re.compile(r"[A-Za-z0-9._:-]+")


def parse_shop_row(number: int, values: dict[str, Any], today: dt.date | None = None) -> ShopRow:
    """Validate one row of the shops file; raises ``RowRejected``. ``today``: the UTC date (default: now)."""
    if today is None:
        today = dt.datetime.now(dt.UTC).date()
    shop_id = _text(values, "platform_shop_id", required=True, max_length=64)
    assert shop_id is not None
    if not _SHOP_ID.fullmatch(shop_id):
        raise v.RowRejected("platform_shop_id", "only ASCII letters, digits and . _ : - are allowed")
    operator_type = _text(values, "operator_type", required=True)
    if operator_type not in OPERATOR_TYPES:
        raise v.RowRejected("operator_type", f"must be one of {', '.join(sorted(OPERATOR_TYPES))}")
    uscc = _identifier(values, "operator_uscc", "uscc", None)
    id_number = _identifier(values, "operator_id_number", "ric", today)
    rep_name = _text(values, "legal_rep_name", max_length=100)
    rep_id = _identifier(values, "legal_rep_id_number", "ric", today)
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
    phone = _text(values, "phone", max_length=20)
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
        shop_name=_text(values, "shop_name", required=True) or "",
        category=_text(values, "category", max_length=100),
        operator_type=operator_type,
        operator_name=_text(values, "operator_name", required=True) or "",
        operator_uscc=uscc,
        operator_id_number=id_number,
        legal_rep_name=rep_name,
        legal_rep_id_number=rep_id,
        phone=phone,
        region_code=_identifier(values, "region_code", "region", None),
        address=_text(values, "address"),
        opened_date=opened,
    )


class _Ids:
    """New row ids, drawn 1,024 at a time."""

    def __init__(self) -> None:
        self._drawn: Iterator[str] = iter(())

    def __call__(self) -> str:
        try:
            return next(self._drawn)
        except StopIteration:
            self._drawn = iter(new_ids(1024))
            return next(self._drawn)


class _SubjectResolver:
    """Finds or creates (in bulk) the subjects a batch refers to."""

    def __init__(
        self, session: Session, rows: Sequence[ShopRow], ids: _Ids, bidx: dict[str, str] | None = None
    ):
        self.session = session
        self.ids = ids
        self.new: list[dict[str, Any]] = []
        self.created: set[str] = set()  # the ids of the subjects created for this batch
        self.new_persons: list[tuple[dict[str, Any], str]] = []  # their ID numbers: encrypted at flush
        # The personal fields of a subject without them (all None), the same for every row.
        self.no_pii = {
            **pii_values("subject", "id_number", "-", None),
            **pii_values("subject", "phone", "-", None),
            **pii_values("subject", "address", "-", None),
        }
        self.no_phone_address = {
            **pii_values("subject", "phone", "-", None),
            **pii_values("subject", "address", "-", None),
        }
        usccs = {r.operator_uscc for r in rows if r.operator_uscc}
        self.by_uscc = repo.subject_ids_by_usccs(session, usccs)
        if bidx is None:
            numbers = {r.operator_id_number for r in rows} | {r.legal_rep_id_number for r in rows}
            bidx = {n: blind_index("id_number", n) for n in numbers if n}
        self.bidx = bidx
        self.by_bidx = repo.subject_ids_by_id_number_bidx(session, self.bidx.values())

    def organisation(self, row: ShopRow) -> str:
        assert row.operator_uscc is not None
        found = self.by_uscc.get(row.operator_uscc)
        if found:
            return found
        subject_id = self.ids()
        self.new.append(
            {
                "id": subject_id,
                "kind": row.operator_type,
                "name": row.operator_name,
                "uscc": row.operator_uscc,
                "region_code": row.operator_uscc[2:8],
                **self.no_pii,
            }
        )
        self.created.add(subject_id)
        self.by_uscc[row.operator_uscc] = subject_id
        return subject_id

    def person(self, name: str, id_number: str, region_code: str | None = None) -> str:
        bidx = self.bidx[id_number]
        found = self.by_bidx.get(bidx)
        if found:
            return found
        subject_id = self.ids()
        values: dict[str, Any] = {
            "id": subject_id,
            "kind": "person",
            "name": name,
            "uscc": None,
            "region_code": region_code or id_number[:6],
        }
        self.new.append(values)
        self.new_persons.append((values, id_number))
        self.created.add(subject_id)
        self.by_bidx[bidx] = subject_id
        return subject_id

    def flush(self) -> int:
        if self.new_persons:
            encrypted = pii_values_many(
                "subject", "id_number", [(values["id"], number) for values, number in self.new_persons]
            )
            for (values, _), stored in zip(self.new_persons, encrypted, strict=True):
                values.update(stored)
                values.update(self.no_phone_address)
        if self.new:
            repo.bulk_insert(self.session, Subject, self.new)
        return len(self.new)


@dataclass
class ParsedBatch:
    """A validated batch: its good rows (the first of each platform shop id), its rejects with the raw
    values of the rejected rows, and its size (rows read, good and bad)."""

    rows: list[ShopRow]
    rejected: list[tuple[int, str]]
    size: int = 0
    rejected_values: dict[int, dict[str, Any]] = field(default_factory=dict)
    encrypted: EncryptedAhead | None = None  # see encrypt_ahead

    # A batch validated ahead travels between processes: its rows go column by column (lists of plain
    # values pickle in C; a named tuple each costs twice as much to pickle and to rebuild).
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["rows"] = list(zip(*self.rows, strict=True))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["rows"] = [tuple.__new__(ShopRow, values) for values in zip(*state["rows"], strict=True)]
        self.__dict__.update(state)


@dataclass
class EncryptedAhead:
    """What ``encrypt_ahead`` prepared for a batch's rows (lists in the order of ``ParsedBatch.rows``)."""

    shop_ids: list[str]  # the id each shop gets if it is new
    phones: list[dict[str, Any]]  # the stored phone columns, bound to that id
    addresses: list[dict[str, Any]]
    id_number_bidx: dict[str, str]  # the blind index of each ID number of the batch


def parse_batch(batch: Sequence[Row]) -> ParsedBatch:
    """Validate a batch row by row. Pure (no store, no keys): a loader may run it ahead, elsewhere."""
    rejected: list[tuple[int, str]] = []
    rejected_values: dict[int, dict[str, Any]] = {}
    parsed: dict[str, ShopRow] = {}
    today = dt.datetime.now(dt.UTC).date()
    for row in batch:
        try:
            shop_row = parse_shop_row(row.number, row.values, today)
        except v.RowRejected as exc:
            rejected.append((row.number, str(exc)))
            rejected_values[row.number] = row.values
            continue
        if shop_row.platform_shop_id in parsed:
            first = parsed[shop_row.platform_shop_id].number
            rejected.append((row.number, f"platform_shop_id: repeats row {first}"))
            rejected_values[row.number] = row.values
            continue
        parsed[shop_row.platform_shop_id] = shop_row
    return ParsedBatch(
        rows=list(parsed.values()), rejected=rejected, size=len(batch), rejected_values=rejected_values
    )


def encrypt_ahead(parsed: ParsedBatch) -> None:
    """Do the part of ``import_batch`` that needs the keys but not the store, ahead (a loader runs it in
    the read-ahead process, next to the validation): draw each row's shop id, encrypt, mask and index
    the shop's personal fields for that id, and compute the blind indexes of the batch's ID numbers.
    ``import_batch`` uses them for the shops that turn out to be new (an existing shop keeps its id:
    its fields are encrypted again for it)."""
    rows = parsed.rows
    shop_ids = new_ids(len(rows))
    numbers = {r.operator_id_number for r in rows} | {r.legal_rep_id_number for r in rows}
    parsed.encrypted = EncryptedAhead(
        shop_ids=shop_ids,
        phones=pii_values_many("shop", "phone", [(i, r.phone) for i, r in zip(shop_ids, rows, strict=True)]),
        addresses=pii_values_many(
            "shop", "address", [(i, r.address) for i, r in zip(shop_ids, rows, strict=True)]
        ),
        id_number_bidx={n: blind_index("id_number", n) for n in numbers if n},
    )


def import_batch(
    session: Session, principal: Principal, platform: Platform, batch: Sequence[Row] | ParsedBatch
) -> BatchResult:
    """Validate and register one batch of shop rows for ``platform`` (one audit entry per batch).

    ``batch`` is the batch's rows, or ``parse_batch`` of them when the caller validated them ahead.
    """
    grant = authorize(principal, "shops.create")
    if grant.platform_id and grant.platform_id != platform.id:
        raise Forbidden("a platform registers only its own shops")
    parsed = batch if isinstance(batch, ParsedBatch) else parse_batch(batch)
    result = BatchResult(rejected=list(parsed.rejected))
    rows = parsed.rows
    ids = _Ids()
    ahead = parsed.encrypted
    resolver = _SubjectResolver(session, rows, ids, ahead.id_number_bidx if ahead else None)
    person, organisation = resolver.person, resolver.organisation
    operator_of: dict[str, str] = {}
    rep_pairs: set[tuple[str, str]] = set()
    for r in rows:
        if r.operator_type == "person":
            assert r.operator_id_number is not None
            operator_of[r.platform_shop_id] = person(r.operator_name, r.operator_id_number, r.region_code)
        else:
            operator = operator_of[r.platform_shop_id] = organisation(r)
            if r.legal_rep_id_number and r.legal_rep_name:
                rep_pairs.add((person(r.legal_rep_name, r.legal_rep_id_number), operator))
    result.subjects_inserted = resolver.flush()
    created = resolver.created
    # A relation to a subject created for this batch is new: only the others are looked up.
    known = {(h, o) for h, o in rep_pairs if h not in created and o not in created}
    new_pairs = rep_pairs - repo.existing_relations(session, "legal_representative", known)
    if new_pairs:
        repo.bulk_insert(
            session,
            Relation,
            [
                {"id": ids(), "kind": "legal_representative", "holder_id": h, "object_id": o}
                for h, o in new_pairs
            ],
        )
    existing = repo.shops_by_platform_shop_ids(session, platform.id, (r.platform_shop_id for r in rows))
    fresh: list[int] = []  # the positions of the new shops in rows
    for position, r in enumerate(rows):
        shop = existing.get(r.platform_shop_id)
        if shop is None:
            fresh.append(position)
            continue
        values = {
            "name": r.shop_name,
            "category": r.category,
            "operator_id": operator_of[r.platform_shop_id],
            "region_code": r.region_code,
            "opened_date": r.opened_date,
            **pii_values("shop", "phone", shop.id, r.phone),
            **pii_values("shop", "address", shop.id, r.address),
        }
        changed = any(getattr(shop, k) != val for k, val in values.items() if not k.endswith("_enc"))
        if changed:
            for key, val in values.items():
                setattr(shop, key, val)
            result.shops_updated += 1
    if ahead is not None:
        shop_ids = [ahead.shop_ids[i] for i in fresh]
        phones = [ahead.phones[i] for i in fresh]
        addresses = [ahead.addresses[i] for i in fresh]
    else:
        shop_ids = [ids() for _ in fresh]
        phones = pii_values_many(
            "shop", "phone", [(i, rows[p].phone) for i, p in zip(shop_ids, fresh, strict=True)]
        )
        addresses = pii_values_many(
            "shop", "address", [(i, rows[p].address) for i, p in zip(shop_ids, fresh, strict=True)]
        )
    platform_id = platform.id
    new_shops = [
        {
            "id": shop_id,
            "platform_id": platform_id,
            "platform_shop_id": r.platform_shop_id,
            "name": r.shop_name,
            "category": r.category,
            "operator_id": operator_of[r.platform_shop_id],
            "region_code": r.region_code,
            "opened_date": r.opened_date,
            **phone,
            **address,
        }
        for shop_id, r, phone, address in zip(
            shop_ids, (rows[p] for p in fresh), phones, addresses, strict=True
        )
    ]
    if new_shops:
        repo.bulk_insert(session, Shop, new_shops)
        for values in new_shops:
            announce(
                session,
                ShopRegistered(
                    shop_id=values["id"], platform_id=platform_id, operator_id=values["operator_id"]
                ),
            )
    result.shops_inserted = len(new_shops)
    linked = set(operator_of.values())
    linked.update(h for h, _ in rep_pairs)
    repo.link_subjects(session, platform_id, linked, unlinked=created)
    session.flush()
    record_change(
        session,
        principal,
        "shops.import",
        "platform",
        platform.id,
        {
            "rows": parsed.size,
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


def refresh_statistics(session: Session, *, look_ups_only: bool = False) -> None:
    """Refresh the planner statistics of the tables the import grows (PostgreSQL; see the repository)."""
    repo.refresh_statistics(session, look_ups_only=look_ups_only)
