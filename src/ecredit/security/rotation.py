"""Re-encryption of every personal field under the active data key (``ecredit vault rotate``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import MetaData, Table, select, update
from sqlalchemy.orm import Session

from ecredit.security.vault import Vault


def encrypted_columns(metadata: MetaData) -> Iterator[tuple[Table, str]]:
    """(table, field) for every ``<field>_enc`` column in the schema."""
    for table in metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_enc"):
                yield table, column.name.removesuffix("_enc")


def count_encrypted(session: Session, metadata: MetaData) -> int:
    """How many ciphertexts the store holds."""
    from sqlalchemy import func

    total = 0
    for table, field in encrypted_columns(metadata):
        col = table.c[f"{field}_enc"]
        total += session.scalar(select(func.count()).select_from(table).where(col.is_not(None))) or 0
    return total


def reencrypt_batch(
    session: Session, vault: Vault, table: Table, field: str, *, after_id: str, batch_size: int
) -> tuple[int, int, str | None]:
    """Re-encrypt one batch of one column; returns (seen, rewritten, last id or None when done)."""
    col = table.c[f"{field}_enc"]
    rows = session.execute(
        select(table.c.id, col)
        .where(col.is_not(None), table.c.id > after_id)
        .order_by(table.c.id)
        .limit(batch_size)
    ).all()
    rewritten = 0
    for row_id, blob in rows:
        if vault.needs_rotation(blob):
            fresh = vault.reencrypt(blob, table=table.name, column=field, row_id=row_id)
            session.execute(update(table).where(table.c.id == row_id).values({col.name: fresh}))
            rewritten += 1
    return len(rows), rewritten, rows[-1][0] if rows else None


def rotate_all(
    session_factory: Callable[[], Session],
    vault: Vault,
    metadata: MetaData,
    *,
    batch_size: int = 2000,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt every ciphertext not under the active key, one committed batch at a time."""
    total = 0
    for table, field in encrypted_columns(metadata):
        after = ""
        while True:
            session = session_factory()
            try:
                seen, rewritten, last = reencrypt_batch(
                    session, vault, table, field, after_id=after, batch_size=batch_size
                )
                session.commit()
            finally:
                session.close()
            total += rewritten
            if on_progress:
                on_progress(seen)
            if last is None:
                break
            after = last
    return total
