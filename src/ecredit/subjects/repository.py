"""Queries of the subject registry (all SQL of this module lives here)."""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    LargeBinary,
    String,
    any_,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ecredit.kit.clock import utc_now
from ecredit.subjects.models import Platform, Relation, Shop, Subject, SubjectLink


def bulk_insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """INSERT rows that all carry the same keys: one ``executemany`` of plain tuples on SQLite, one COPY
    for many rows on PostgreSQL (else a Core ``executemany``).

    None goes in as NULL and the column defaults apply as with the ORM. The timestamps the clock fills in
    (``created_at``, ``updated_at``) get one instant for the whole statement, made and converted once
    instead of row by row (a tenth of a bulk load's time). An ORM bulk insert would also leave None values
    out, splitting the rows into one statement per run of identical None patterns.
    """
    if not rows:
        return
    table = model.__table__
    now = utc_now()
    dialect = session.get_bind().dialect
    copy = dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS
    plain = _plain_rows(dialect, table, rows, now) if copy or dialect.name == "sqlite" else None
    if plain is not None:
        names, tuples = plain
        if copy:
            _copy(session, table, names, tuples)
            return
        if dialect.name == "sqlite":
            # The parameters straight to the driver, without a compiled statement building and
            # converting a parameter dictionary per row (a sixth of a bulk load's time).
            quote = dialect.identifier_preparer.quote
            sql = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 (quoted names)
                f"VALUES ({', '.join('?' * len(names))})"
            )
            session.connection().exec_driver_sql(sql, tuples)
            return
    stamps: dict[str, Any] = {}
    for name in ("created_at", "updated_at"):
        if name in table.c and name not in rows[0]:
            rendered = literal(now, table.c[name].type).compile(
                dialect=dialect, compile_kwargs={"literal_binds": True}
            )
            stamps[name] = literal_column(str(rendered))
    session.execute(insert(table).values(**stamps), rows)


COPY_MIN_ROWS = 100  # from this many rows, PostgreSQL gets them through COPY


def _plain_rows(
    dialect: Any, table: Any, rows: list[dict[str, Any]], now: Any
) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """(column names, one tuple of driver values per row) to INSERT or COPY ``rows``: the values
    converted as an INSERT converts them, the column defaults filled in (the clock's timestamps: ``now``,
    for every row). None when a column lacks a value that only an INSERT can compute (a callable default).
    """
    keys = list(rows[0])
    fill: dict[str, Any] = {}
    for column in table.columns:
        if column.key in rows[0] or column.default is None:
            continue
        if column.name in ("created_at", "updated_at"):
            fill[column.key] = now
        elif column.default.is_scalar:
            fill[column.key] = column.default.arg
        else:
            return None

    def processor(name: str) -> Any:  # the conversion an INSERT applies to the column's values
        return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

    extra = []
    for name, value in fill.items():  # the same for every row: converted once
        proc = processor(name)
        extra.append(value if proc is None else proc(value))
    tail = tuple(extra)
    # Both drivers take bytes for a binary column as they are (the INSERT's conversion only wraps them).
    convert = [
        (i, proc)
        for i, k in enumerate(keys)
        if not isinstance(table.c[k].type, LargeBinary) and (proc := processor(k))
    ]
    names = [table.c[key].name for key in [*keys, *fill]]
    if not convert:
        if len(keys) == 1:
            key = keys[0]
            return names, [(row[key], *tail) for row in rows]
        get = operator.itemgetter(*keys)
        return names, [get(row) + tail for row in rows]
    tuples = []
    for row in rows:
        values = [row[k] for k in keys]
        for i, proc in convert:
            values[i] = proc(values[i])
        tuples.append((*values, *tail))
    return names, tuples


def _copy(session: Session, table: Any, names: list[str], tuples: list[tuple[Any, ...]]) -> None:
    """Send rows made by ``_plain_rows`` with PostgreSQL's COPY, in the session's transaction.

    COPY costs the server a fraction of one INSERT per row (no statement per row), and the client writes
    rows without building a statement's parameters.
    """
    quote = session.get_bind().dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
            for values in tuples:
                copy.write_row(values)
    finally:
        cursor.close()


def _one_of(session: Session, column: Any, values: Iterable[str]) -> Any:
    """``column IN (values)`` for the batch look-ups of bulk loads (thousands of values).

    The values travel as one parameter: an array on PostgreSQL, ``column = ANY(:values)``, and a JSON
    array on SQLite, ``column IN (SELECT value FROM json_each(:values))``. The statement is short and
    cheap to build, send and parse, and both planners probe the column's index value by value (a list of
    thousands of placeholders is expanded and parsed anew for every batch).
    """
    values = list(values)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    if dialect == "sqlite":
        listed = select(literal_column("value")).select_from(
            func.json_each(bindparam(None, orjson.dumps(values).decode(), type_=String))
        )
        return column.in_(listed.scalar_subquery())
    return column.in_(values)


def _subject_scope(stmt, *, platform_id: str | None, region_prefix: str | None):
    """Restrict a subject query to a tenant's linked subjects and/or a region."""
    if platform_id:
        # A correlated EXISTS probes the link's primary key for each candidate subject. (``id IN
        # (SELECT subject_id ...)`` made SQLite list every subject the platform is linked to, for every
        # query: 140 ms at a million shops, where the probe takes 0.2 ms.)
        linked = (
            select(SubjectLink.subject_id)
            .where(SubjectLink.platform_id == platform_id, SubjectLink.subject_id == Subject.id)
            .exists()
        )
        stmt = stmt.where(linked)
    if region_prefix:
        stmt = stmt.where(Subject.region_code.like(f"{escape_like(region_prefix)}%", escape="\\"))
    return stmt


def _shop_scope(stmt, *, platform_id: str | None, region_prefix: str | None):
    """Restrict a shop query to a tenant's shops and/or a region."""
    if platform_id:
        stmt = stmt.where(Shop.platform_id == platform_id)
    if region_prefix:
        stmt = stmt.where(Shop.region_code.like(f"{escape_like(region_prefix)}%", escape="\\"))
    return stmt


def is_linked(session: Session, platform_id: str, subject_id: str) -> bool:
    return session.get(SubjectLink, (platform_id, subject_id)) is not None


def link_subjects(
    session: Session, platform_id: str, subject_ids: Iterable[str], *, unlinked: Collection[str] = ()
) -> None:
    """Link subjects to a platform (existing links are kept); one set-based insert. ``unlinked``: ids
    known to have no link yet (subjects created in this transaction), not looked up."""
    ids = set(subject_ids)
    if not ids:
        return
    look_up = ids.difference(unlinked)
    have = set()
    if look_up:
        have = set(
            session.scalars(
                select(SubjectLink.subject_id).where(
                    SubjectLink.platform_id == platform_id, _one_of(session, SubjectLink.subject_id, look_up)
                )
            )
        )
    missing = ids - have
    if missing:
        bulk_insert(session, SubjectLink, [{"platform_id": platform_id, "subject_id": i} for i in missing])


def escape_like(fragment: str) -> str:
    """Escape LIKE wildcards so a user's fragment matches literally."""
    return fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_subject(session: Session, subject_id: str) -> Subject | None:
    return session.get(Subject, subject_id)


def get_subject_by_uscc(session: Session, uscc: str) -> Subject | None:
    return session.scalars(select(Subject).where(Subject.uscc == uscc)).one_or_none()


def get_subject_by_id_number_bidx(session: Session, bidx: str) -> Subject | None:
    return session.scalars(select(Subject).where(Subject.id_number_bidx == bidx)).one_or_none()


def subjects_by_usccs(session: Session, usccs: Iterable[str]) -> dict[str, Subject]:
    usccs = list(set(usccs))
    if not usccs:
        return {}
    rows = session.scalars(select(Subject).where(Subject.uscc.in_(usccs)))
    return {s.uscc: s for s in rows if s.uscc}


def subject_ids_by_usccs(session: Session, usccs: Iterable[str]) -> dict[str, str]:
    usccs = list(set(usccs))
    if not usccs:
        return {}
    stmt = select(Subject.uscc, Subject.id).where(_one_of(session, Subject.uscc, usccs))
    return dict(session.connection().execute(stmt).all())  # plain rows: no ORM result processing


def subject_ids_by_id_number_bidx(session: Session, bidxs: Iterable[str]) -> dict[str, str]:
    bidxs = list(set(bidxs))
    if not bidxs:
        return {}
    stmt = select(Subject.id_number_bidx, Subject.id).where(_one_of(session, Subject.id_number_bidx, bidxs))
    return dict(session.connection().execute(stmt).all())  # plain rows: no ORM result processing


def search_subjects(
    session: Session,
    *,
    name_fragment: str | None = None,
    uscc: str | None = None,
    id_number_bidx: str | None = None,
    kind: str | None = None,
    after_id: str | None = None,
    limit: int,
    platform_id: str | None = None,
    region_prefix: str | None = None,
    kinds: Sequence[str] | None = None,
) -> Sequence[Subject]:
    stmt = _subject_scope(select(Subject), platform_id=platform_id, region_prefix=region_prefix)
    if kinds is not None:
        stmt = stmt.where(Subject.kind.in_(kinds))
    if name_fragment:
        stmt = stmt.where(Subject.name.like(f"%{escape_like(name_fragment)}%", escape="\\"))
    if uscc:
        stmt = stmt.where(Subject.uscc == uscc)
    if id_number_bidx:
        stmt = stmt.where(Subject.id_number_bidx == id_number_bidx)
    if kind:
        stmt = stmt.where(Subject.kind == kind)
    if after_id:
        stmt = stmt.where(Subject.id > after_id)
    return session.scalars(stmt.order_by(Subject.id).limit(limit)).all()


def get_platform_by_code(session: Session, code: str) -> Platform | None:
    return session.scalars(select(Platform).where(Platform.code == code)).one_or_none()


def get_platform_by_subject(session: Session, subject_id: str) -> Platform | None:
    return session.scalars(select(Platform).where(Platform.subject_id == subject_id)).one_or_none()


def list_platforms(session: Session) -> Sequence[tuple[Platform, Subject]]:
    stmt = select(Platform, Subject).join(Subject, Subject.id == Platform.subject_id).order_by(Platform.code)
    return session.execute(stmt).all()


def platform_codes(session: Session, platform_ids: Iterable[str]) -> dict[str, str]:
    ids = list(set(platform_ids))
    if not ids:
        return {}
    return dict(session.execute(select(Platform.id, Platform.code).where(Platform.id.in_(ids))).all())


def get_shop(session: Session, shop_id: str) -> Shop | None:
    return session.get(Shop, shop_id)


def get_shop_by_platform_shop_id(session: Session, platform_id: str, platform_shop_id: str) -> Shop | None:
    stmt = select(Shop).where(Shop.platform_id == platform_id, Shop.platform_shop_id == platform_shop_id)
    return session.scalars(stmt).one_or_none()


def shops_by_platform_shop_ids(session: Session, platform_id: str, ids: Iterable[str]) -> dict[str, Shop]:
    ids = list(set(ids))
    if not ids:
        return {}
    stmt = select(Shop).where(Shop.platform_id == platform_id, _one_of(session, Shop.platform_shop_id, ids))
    return {s.platform_shop_id: s for s in session.scalars(stmt)}


def search_shops(
    session: Session,
    *,
    platform_id: str | None = None,
    operator_id: str | None = None,
    name_fragment: str | None = None,
    after_id: str | None = None,
    limit: int,
    tenant_id: str | None = None,
    region_prefix: str | None = None,
) -> Sequence[Shop]:
    stmt = _shop_scope(select(Shop), platform_id=tenant_id, region_prefix=region_prefix)
    if platform_id:
        stmt = stmt.where(Shop.platform_id == platform_id)
    if operator_id:
        stmt = stmt.where(Shop.operator_id == operator_id)
    if name_fragment:
        stmt = stmt.where(Shop.name.like(f"%{escape_like(name_fragment)}%", escape="\\"))
    if after_id:
        stmt = stmt.where(Shop.id > after_id)
    return session.scalars(stmt.order_by(Shop.id).limit(limit)).all()


def relations_of(session: Session, subject_id: str, *, platform_id: str | None = None) -> Sequence[Relation]:
    stmt = select(Relation).where(or_(Relation.holder_id == subject_id, Relation.object_id == subject_id))
    if platform_id:
        linked = select(SubjectLink.subject_id).where(SubjectLink.platform_id == platform_id)
        stmt = stmt.where(Relation.holder_id.in_(linked), Relation.object_id.in_(linked))
    stmt = stmt.order_by(Relation.id)
    return session.scalars(stmt).all()


def get_relation(session: Session, kind: str, holder_id: str, object_id: str) -> Relation | None:
    stmt = select(Relation).where(
        Relation.kind == kind, Relation.holder_id == holder_id, Relation.object_id == object_id
    )
    return session.scalars(stmt).one_or_none()


def existing_relations(session: Session, kind: str, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    pairs = list(set(pairs))
    if not pairs:
        return set()
    holders = {h for h, _ in pairs}
    stmt = select(Relation.holder_id, Relation.object_id).where(
        Relation.kind == kind, _one_of(session, Relation.holder_id, holders)
    )
    found = set(session.connection().execute(stmt).all())  # plain rows: no ORM result processing
    return found & set(pairs)


# A bulk load inserts into every index of the registry at random places: with SQLite's default page cache
# (2 MiB) each batch re-reads most index pages from the file. The load's connection gets 256 MiB. (At a
# million shops the indexes take about 500 MiB, but neither a 1 GiB cache nor a memory map of the file
# measured faster, and a map counts the file in the process's resident memory.)
BULK_CACHE_KIB = 256 * 1024


def prepare_bulk_load(session: Session) -> None:
    """Tune the session's connection for a bulk load: on SQLite, a page cache that holds the indexes."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"PRAGMA cache_size = -{BULK_CACHE_KIB}"))


# The columns the batch look-ups of a bulk load filter on (see the queries above).
_LOOK_UP_COLUMNS = {
    Subject: ("uscc", "id_number_bidx"),
    Shop: ("platform_id", "platform_shop_id"),
    Relation: ("kind", "holder_id"),
    SubjectLink: ("platform_id", "subject_id"),
}


def refresh_statistics(session: Session, *, look_ups_only: bool = False) -> None:
    """Refresh the planner statistics of the tables a bulk load grows (PostgreSQL; a no-op elsewhere).

    A new or fast-growing table has no statistics, or stale ones, until autovacuum analyses it (when it
    runs at all). The planner then picks sequential scans for the batch look-ups and the load turns
    quadratic. ``look_ups_only``: the table sizes and the statistics of the look-ups' columns only, a
    fraction of the work (a load refreshes them as its tables double, and everything at the end).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for model, columns in _LOOK_UP_COLUMNS.items():
        listed = f" ({', '.join(columns)})" if look_ups_only else ""
        session.execute(text(f"ANALYZE {model.__tablename__}{listed}"))
