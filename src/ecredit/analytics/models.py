"""The lake manifest: which Parquet files hold committed batches (DESIGN.md §3).

A file is visible to readers only through a row here. A batch row is the idempotency record of a load (REST
batch, file batch or compaction): its key is unique per platform, so a batch committed once is never
committed twice. Compaction retires files (``retired_at``) instead of deleting their rows, so the history
of a partition stays traceable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class LakeBatch(Base):
    """One acknowledged load into the lake."""

    __tablename__ = "lake_batch"
    __table_args__ = (UniqueConstraint("platform", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32))  # platform code, as in the partition path
    idempotency_key: Mapped[str] = mapped_column(String(300))  # rest:<key> | file:<...> | compaction:<id>
    source: Mapped[str] = mapped_column(String(16))  # rest | file | compaction
    rows: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 over the files' "path sha256" lines
    schema_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class LakeFile(Base):
    """One Parquet file of a batch, in one partition ``kind=/platform=/date=``."""

    __tablename__ = "lake_file"
    __table_args__ = (Index("ix_lake_file_partition", "kind", "platform", "partition_date"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    batch_id: Mapped[str] = mapped_column(ForeignKey("lake_batch.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32))
    partition_date: Mapped[dt.date] = mapped_column(Date)
    path: Mapped[str] = mapped_column(String(400), unique=True)  # relative to the lake root, with /
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retired_by: Mapped[str | None] = mapped_column(String(26))  # the compaction batch that replaced it
