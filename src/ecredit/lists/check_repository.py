"""Queries of the check API, the enforcement orders and the intake guard (all the SQL of those modules).

Every batch query takes its keys as one parameter (``_one_of``): thousands of keys make one short statement
whose planner probes the column's index key by key, never one query per subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Row, String, and_, any_, bindparam, func, literal_column, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ecredit.lists.models import EnforcementOrder, EntryState, ListEntry, OrderStatus
from ecredit.subjects.models import Platform, Relation, Shop, Subject

CHUNK = 10_000  # keys per statement (the check batch limit: one statement per key kind at most)


def _one_of(session: Session, column: Any, values: Sequence[str]) -> Any:
    """``column IN (values)`` with the values as one parameter: an array on PostgreSQL
    (``= ANY(:values)``), a JSON array on SQLite (``IN (SELECT value FROM json_each(:values))``)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    if dialect == "sqlite":
        listed = select(literal_column("value")).select_from(
            func.json_each(bindparam(None, orjson.dumps(list(values)).decode(), type_=String))
        )
        return column.in_(listed.scalar_subquery())
    return column.in_(list(values))


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = sorted(set(values))
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _rows(session: Session, stmt: Any) -> Sequence[Row[Any]]:
    return session.connection().execute(stmt).all()  # plain rows: no ORM result processing


_SUBJECT_COLUMNS = (Subject.id, Subject.kind, Subject.name, Subject.uscc)


_ENTRY_COLUMNS = (
    ListEntry.subject_id,
    ListEntry.id,
    ListEntry.list_type,
    ListEntry.colour,
    ListEntry.published_on,
    ListEntry.effective_until,
)


def _keys_table(session: Session, values: Sequence[str]) -> Any:
    """PostgreSQL: the keys as a table (``unnest`` of one array parameter), to probe indexes from."""
    keys = func.unnest(bindparam(None, list(values), type_=ARRAY(String)))
    return keys.table_valued("value").render_derived(name="k")


def subjects_with_entries(
    session: Session, key: str, values: Iterable[str], today: dt.date, stamps: list[Any] | None = None
) -> tuple[dict[str, Row[Any]], list[Row[Any]]]:
    """The subjects whose ``key`` (``uscc``, ``id_number_bidx`` or ``id``) is one of ``values`` with
    their entries in force on ``today``, in one statement per chunk (the subject's index, then the
    (subject_id, state) index of list_entry): ((id, kind, name, uscc) by key, and the entries as rows of
    (subject_id, id, list_type, colour, published_on, effective_until)).

    PostgreSQL probes the indexes key by key through LATERAL subqueries (``OFFSET 0`` keeps them from being
    flattened): with a plain ``= ANY(:keys)`` its default costs (random_page_cost 4, a disk with nothing
    cached) made the planner scan the million subjects in parallel for a few thousand keys (325 ms, where
    the probes take a few).

    ``stamps``: when given, each statement also reads the lists data stamp (``lists_data_stamp``, one
    index probe evaluated once per statement) and appends it there: one round trip less per check.
    """
    column = {"uscc": Subject.uscc, "id_number_bidx": Subject.id_number_bidx, "id": Subject.id}[key]
    subjects: dict[str, Row[Any]] = {}
    entries: list[Row[Any]] = []
    postgres = session.get_bind().dialect.name == "postgresql"
    for chunk in _chunks(values):
        if postgres:
            k = _keys_table(session, chunk)
            s = (
                select(column.label("key"), *_SUBJECT_COLUMNS)
                .where(column == k.c.value)
                .offset(0)
                .lateral("s")
            )
            e = (
                select(*_ENTRY_COLUMNS[1:])
                .where(ListEntry.subject_id == s.c.id, _in_force(today))
                .offset(0)
                .lateral("e")
            )
            stmt = (
                select(s.c.key, s.c.id, s.c.kind, s.c.name, s.c.uscc, *e.c)
                .select_from(k)
                .join(s, true())
                .outerjoin(e, true())
            )
        else:
            stmt = (
                select(column, *_SUBJECT_COLUMNS, *_ENTRY_COLUMNS[1:])
                .outerjoin(ListEntry, and_(ListEntry.subject_id == Subject.id, _in_force(today)))
                .where(_one_of(session, column, chunk))
            )
        if stamps is not None:
            stmt = stmt.add_columns(_STAMP.label("stamp"))
        for row in _rows(session, stmt):
            subjects[row[0]] = row[1:5]
            if row[5] is not None:
                entries.append((row[1], *row[5:10]))  # type: ignore[arg-type]
            if stamps is not None:
                stamps.append(row[10])
    return subjects, entries


def _in_force(today: dt.date) -> Any:
    """An entry published and inside its term on ``today`` (``ListEntry.is_in_force`` as SQL)."""
    return and_(
        ListEntry.state == EntryState.published.value,
        or_(ListEntry.effective_until.is_(None), ListEntry.effective_until >= today),
    )


def current_relations(
    session: Session, kinds: Collection[str], holder_ids: Iterable[str]
) -> Sequence[Row[Any]]:
    """(holder_id, object_id, kind) of the current relations (no ended_date) of the kinds held by the
    holders (through the (kind, holder_id, object_id) unique index)."""
    out: list[Row[Any]] = []
    postgres = session.get_bind().dialect.name == "postgresql"
    for kind in sorted(kinds):
        for chunk in _chunks(holder_ids):
            current = (Relation.kind == kind, Relation.ended_date.is_(None))
            if postgres:  # probe the index key by key (see subjects_with_entries)
                k = _keys_table(session, chunk)
                r = (
                    select(Relation.holder_id, Relation.object_id, Relation.kind)
                    .where(Relation.holder_id == k.c.value, *current)
                    .offset(0)
                    .lateral("r")
                )
                stmt = select(*r.c).select_from(k).join(r, true())
            else:
                stmt = select(Relation.holder_id, Relation.object_id, Relation.kind).where(
                    _one_of(session, Relation.holder_id, chunk), *current
                )
            out += _rows(session, stmt)
    return out


def current_holders(session: Session, kind: str, object_id: str) -> list[str]:
    """The subjects currently holding a relation of ``kind`` to ``object_id`` (a company's legal rep)."""
    stmt = select(Relation.holder_id).where(
        Relation.kind == kind, Relation.object_id == object_id, Relation.ended_date.is_(None)
    )
    return [r[0] for r in _rows(session, stmt.order_by(Relation.holder_id))]


_stamp_table = ListEntry.__table__.alias("stamp_entry")
_STAMP = select(func.max(_stamp_table.c.updated_at)).correlate(None).scalar_subquery()


def lists_data_stamp(session: Session) -> dt.datetime | None:
    """The newest change to any list entry (one probe of the updated_at index), None when there is none."""
    return session.execute(select(func.max(ListEntry.updated_at))).scalar()


def red_entries_of_platform(
    session: Session, platform_id: str | None, today: dt.date, *, after_id: str | None, limit: int
) -> Sequence[Row[Any]]:
    """(entry id, list_type, published_on, effective_until, subject id, kind, name, uscc) of red-list
    entries in force whose subject operates a shop on the platform (every platform when None)."""
    stmt = (
        select(
            ListEntry.id,
            ListEntry.list_type,
            ListEntry.published_on,
            ListEntry.effective_until,
            *_SUBJECT_COLUMNS,
        )
        .join(Subject, Subject.id == ListEntry.subject_id)
        .where(ListEntry.colour == "red", _in_force(today))
    )
    if platform_id is not None:
        operates = (
            select(Shop.id)
            .where(Shop.operator_id == ListEntry.subject_id, Shop.platform_id == platform_id)
            .exists()
        )
        stmt = stmt.where(operates)
    if after_id:
        stmt = stmt.where(ListEntry.id > after_id)
    return _rows(session, stmt.order_by(ListEntry.id).limit(limit))


def shops_of_subjects(
    session: Session, subject_ids: Iterable[str], platform_id: str | None = None
) -> Sequence[Row[Any]]:
    """(operator_id, shop id, platform id, platform shop id) of the subjects' shops."""
    out: list[Row[Any]] = []
    for chunk in _chunks(subject_ids):
        stmt = select(Shop.operator_id, Shop.id, Shop.platform_id, Shop.platform_shop_id).where(
            _one_of(session, Shop.operator_id, chunk)
        )
        if platform_id is not None:
            stmt = stmt.where(Shop.platform_id == platform_id)
        out += _rows(session, stmt.order_by(Shop.id))
    return out


# ---------------------------------------------------------------- enforcement orders


def get_entry(session: Session, entry_id: str) -> ListEntry | None:
    return session.get(ListEntry, entry_id)


def order_keys_of_entry(session: Session, entry_id: str) -> set[tuple[str, str, str | None]]:
    """(platform id, measure, shop id) of the orders already issued for an entry."""
    stmt = select(EnforcementOrder.platform_id, EnforcementOrder.measure, EnforcementOrder.shop_id).where(
        EnforcementOrder.entry_id == entry_id
    )
    return {tuple(r) for r in _rows(session, stmt)}  # type: ignore[misc]


def orders_of_entry(session: Session, entry_id: str, statuses: Collection[str]) -> Sequence[EnforcementOrder]:
    stmt = (
        select(EnforcementOrder)
        .where(EnforcementOrder.entry_id == entry_id, EnforcementOrder.status.in_(sorted(statuses)))
        .order_by(EnforcementOrder.id)
    )
    return session.scalars(stmt).all()


def get_order(session: Session, order_id: str, *, for_update: bool = False) -> EnforcementOrder | None:
    stmt = select(EnforcementOrder).where(EnforcementOrder.id == order_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def _overdue(today: dt.date) -> Any:
    """Issued and past its deadline, or lifted and past the deadline to undo it."""
    return or_(
        and_(EnforcementOrder.status == OrderStatus.issued.value, EnforcementOrder.due_on < today),
        and_(EnforcementOrder.status == OrderStatus.lifted.value, EnforcementOrder.lift_due_on < today),
    )


def search_orders(
    session: Session,
    *,
    platform_id: str | None,
    status: str | None,
    overdue_on: dt.date | None,
    entry_id: str | None = None,
    after_id: str | None,
    limit: int,
) -> Sequence[EnforcementOrder]:
    stmt = select(EnforcementOrder)
    if platform_id is not None:
        stmt = stmt.where(EnforcementOrder.platform_id == platform_id)
    if status is not None:
        stmt = stmt.where(EnforcementOrder.status == status)
    if overdue_on is not None:
        stmt = stmt.where(_overdue(overdue_on))
    if entry_id is not None:
        stmt = stmt.where(EnforcementOrder.entry_id == entry_id)
    if after_id:
        stmt = stmt.where(EnforcementOrder.id > after_id)
    return session.scalars(stmt.order_by(EnforcementOrder.id).limit(limit)).all()


def order_context(
    session: Session, orders: Sequence[EnforcementOrder]
) -> tuple[dict[str, str], dict[str, Row[Any]], dict[str, Row[Any]]]:
    """For a page of orders: platform codes by id, (platform shop id,) by shop id and (subject id, kind,
    name, uscc, list_type) by entry id."""
    if not orders:
        return {}, {}, {}
    platforms = dict(
        _rows(
            session,
            select(Platform.id, Platform.code).where(Platform.id.in_({o.platform_id for o in orders})),
        )
    )
    shop_ids = {o.shop_id for o in orders if o.shop_id}
    shops = {
        r[0]: r[1:]
        for r in _rows(session, select(Shop.id, Shop.platform_shop_id).where(Shop.id.in_(shop_ids)))
    }
    entry_stmt = (
        select(ListEntry.id, Subject.id, Subject.kind, Subject.name, Subject.uscc, ListEntry.list_type)
        .join(Subject, Subject.id == ListEntry.subject_id)
        .where(ListEntry.id.in_({o.entry_id for o in orders}))
    )
    entries = {r[0]: r[1:] for r in _rows(session, entry_stmt)}
    return platforms, shops, entries


def listed_subjects(session: Session, today: dt.date) -> set[str]:
    """The subjects with a black-list entry in force (the intake guard's quick test)."""
    stmt = select(ListEntry.subject_id).where(_in_force(today), ListEntry.colour == "black").distinct()
    return {r[0] for r in _rows(session, stmt)}


def holders_of(session: Session, kind: str, object_ids: Iterable[str]) -> set[str]:
    """The current holders of relations of ``kind`` to the objects (through the object_id index)."""
    out: set[str] = set()
    for chunk in _chunks(object_ids):
        stmt = select(Relation.holder_id).where(
            Relation.kind == kind, _one_of(session, Relation.object_id, chunk), Relation.ended_date.is_(None)
        )
        out.update(r[0] for r in _rows(session, stmt))
    return out
