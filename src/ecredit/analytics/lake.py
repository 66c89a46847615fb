"""The event lake: Parquet under ``ECREDIT_LAKE``, visible only through committed manifest rows.

Layout: ``kind=<kind>/platform=<code>/date=<yyyy-mm-dd>/part-<batch id>-<n>.parquet``, the date being the
local date (Asia/Shanghai) of the record's main timestamp. The partition values live in the path only.

Durability (RELIABILITY.md C9): a file is written under a temporary name in its partition directory,
fsynced, renamed into place, and the directory is fsynced (so are directories created on the way). Only then
does the caller commit the batch's manifest rows (``add_batch``); the batch is acknowledged after that commit.
A crash before it leaves a file no manifest row lists: readers never see it, and ``compact`` removes such
orphans once they are old enough.

Readers (``connect``, ``stats``) list files from the manifest, never from the directory, and de-duplicate on
(platform, record key): the newest ingested version of a record wins (``_ingested_at``, ``_batch``, ``_row``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ecredit.analytics.models import LakeBatch, LakeFile
from ecredit.config import get_settings
from ecredit.db import session_scope
from ecredit.errors import Conflict, EcreditError
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id

KINDS = ("accounts", "listings", "orders", "payments", "parcels", "parcel_scans", "reviews")
KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "listings": ("listing_id",),
    "orders": ("order_id",),
    "payments": ("payment_id",),
    "parcels": ("parcel_id",),
    "parcel_scans": ("parcel_id", "scan_at", "status"),
    "reviews": ("review_id",),
}
SCHEMA_VERSION = 1
# Bookkeeping columns of every lake file: the batch, the row's number in its source, the ingestion time.
BATCH_COLUMN, ROW_COLUMN, INGESTED_COLUMN = "_batch", "_row", "_ingested_at"
NEWEST_FIRST = f"{INGESTED_COLUMN} DESC, {BATCH_COLUMN} DESC, {ROW_COLUMN} DESC"
PARTITION_COLUMNS = ("kind", "platform", "date")
# The partition values readers take from a file's path: ``platform`` and ``date``. Never ``kind``: a reader
# knows the kind it reads, and reviews have a ``kind`` column of their own (initial | follow_up) that hive
# partitioning would overwrite with the path's "reviews" (it did, in compaction, before 2026-12-03).
PATH_COLUMNS = ("platform", "date")
PARTITION_PATTERN = r"/platform=([^/]+)/date=([^/]+)/[^/]+$"
FILE_COLUMN = "__ecredit_file"
WRITE_THREADS = 8
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}

Transaction = Callable[[], AbstractContextManager[Session]]


class LakeError(EcreditError):
    code = "lake_error"
    status = 500
    title = "Lake error"


@dataclass(frozen=True)
class StagedFile:
    """A file written durably under its final name, not yet listed in the manifest."""

    path: str  # relative to the lake root, with /
    partition_date: dt.date
    rows: int
    bytes: int
    sha256: str


@dataclass
class CompactionSummary:
    partitions: int = 0
    files_merged: int = 0
    files_written: int = 0
    rows_before: int = 0
    rows_after: int = 0
    orphans_removed: int = 0
    details: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- durable files


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> None:
    """``mkdir -p`` that fsyncs the parent of every directory it creates (a new entry must survive)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        _fsync_dir(directory.parent)


def write_durably(directory: Path, name: str, data: memoryview | bytes) -> None:
    """Write ``data`` to ``directory/name``: temporary name, fsync, rename, fsync of the directory."""
    _make_dirs(directory)
    tmp = directory / f".tmp-{name}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, directory / name)
    _fsync_dir(directory)


@dataclass(frozen=True)
class Layout:
    """Column choices of a lake table's Parquet files (None: every column)."""

    dictionary: Sequence[str] | None = None  # the columns to dictionary-encode: those with few values
    statistics: Sequence[str] | None = None  # the columns to keep min/max statistics of


def parquet_bytes(
    table: pa.Table, metadata: dict[str, str] | None = None, layout: Layout | None = None
) -> pa.Buffer:
    """A Parquet file in memory (zstd level 1, one row group)."""
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    layout = layout or Layout()
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        use_dictionary=True if layout.dictionary is None else list(layout.dictionary),
        write_statistics=True if layout.statistics is None else list(layout.statistics),
        **PARQUET_OPTIONS,
    )
    return sink.getvalue()


def batch_checksum(files: Iterable[StagedFile]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path} {f.sha256}\n".encode())
    return h.hexdigest()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------- the lake


class Lake:
    """The event lake at ``root`` (default: settings ``resolved_lake``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        location = str(root) if root is not None else get_settings().resolved_lake
        if "://" in location and not location.startswith("file://"):
            raise LakeError(f"only local lakes are supported for now (got {location!r})")
        self.root = Path(location.removeprefix("file://")).resolve()

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    @staticmethod
    def partition(kind: str, platform: str, day: dt.date) -> str:
        return f"kind={kind}/platform={platform}/date={day.isoformat()}"

    # ------------------------------------------------------------ writing

    def write_files(
        self,
        kind: str,
        platform: str,
        batch_id: str,
        parts: Sequence[tuple[dt.date, pa.Table]],
        *,
        layout: Layout | None = None,
    ) -> list[StagedFile]:
        """Write one file per partition of a batch, durably; list them in the manifest with ``add_batch``.

        ``layout``: which columns to dictionary-encode and to keep statistics of (default: every column).
        """
        if kind not in KEYS:
            raise LakeError(f"unknown lake table {kind!r}")
        # Readers read one footer per batch and take it for the schema of every file of the batch.
        schemas = [table.schema for _, table in parts]
        if any(not s.equals(schemas[0]) for s in schemas[1:]):
            raise LakeError(f"{kind} batch {batch_id}: its parts do not all have one schema")
        meta = {"ecredit.kind": kind, "ecredit.schema_version": str(SCHEMA_VERSION)}

        def store(n: int, day: dt.date, rows: int, data: pa.Buffer) -> StagedFile:
            rel_dir = self.partition(kind, platform, day)
            name = f"part-{batch_id}-{n}.parquet"
            write_durably(self.root / rel_dir, name, data)
            digest = hashlib.sha256(data).hexdigest()
            return StagedFile(f"{rel_dir}/{name}", day, rows, data.size, digest)

        def encode_and_store(n: int, day: dt.date, table: pa.Table) -> StagedFile:
            return store(n, day, table.num_rows, parquet_bytes(table, meta, layout))

        todo = [(n, day, table) for n, (day, table) in enumerate(parts) if table.num_rows]
        if len(todo) <= 1:
            return [encode_and_store(n, day, t) for n, day, t in todo]
        # A batch spread over many dates writes many small files: each is encoded and written on a thread
        # of its own, so encodings use both cores and fsync waits overlap. (Encoding here, one file after
        # the other, once saved the kernel zeroing fresh pages for every buffer; with transparent huge pages
        # off during loads, ``intake.loads.bulk_load_tuning``, the threads measured 8-12 % faster.)
        staged: list[StagedFile] = []
        errors: list[BaseException] = []
        with ThreadPoolExecutor(min(WRITE_THREADS, len(todo)), thread_name_prefix="lake-write") as pool:
            futures = []
            try:
                for n, day, table in todo:
                    futures.append(pool.submit(encode_and_store, n, day, table))
            except BaseException as exc:
                errors.append(exc)
            for future in futures:
                try:
                    staged.append(future.result())
                except Exception as exc:  # remove what was written, then fail the batch
                    errors.append(exc)
        if errors:
            self.remove_staged(staged)
            raise errors[0]
        return staged

    def add_batch(
        self,
        session: Session,
        *,
        batch_id: str,
        kind: str,
        platform: str,
        key: str,
        source: str,
        files: Sequence[StagedFile],
    ) -> LakeBatch:
        """Add the manifest rows of a written batch (the caller's transaction commits them)."""
        batch = LakeBatch(
            id=batch_id,
            kind=kind,
            platform=platform,
            idempotency_key=key,
            source=source,
            rows=sum(f.rows for f in files),
            files=len(files),
            checksum=batch_checksum(files),
            schema_version=SCHEMA_VERSION,
            created_at=utc_now(),
        )
        session.add(batch)
        session.flush()
        session.add_all(
            LakeFile(
                batch_id=batch_id,
                kind=kind,
                platform=platform,
                partition_date=f.partition_date,
                path=f.path,
                rows=f.rows,
                bytes=f.bytes,
                sha256=f.sha256,
            )
            for f in files
        )
        session.flush()
        return batch

    def remove_staged(self, files: Iterable[StagedFile]) -> None:
        """Delete files whose batch was not committed (best effort; ``compact`` sweeps the rest)."""
        for f in files:
            with contextlib.suppress(OSError):
                (self.root / f.path).unlink()

    # ------------------------------------------------------------ the manifest

    @staticmethod
    def batch_by_key(session: Session, platform: str, key: str) -> LakeBatch | None:
        stmt = select(LakeBatch).where(LakeBatch.platform == platform, LakeBatch.idempotency_key == key)
        return session.scalars(stmt).one_or_none()

    @staticmethod
    def keys_with_prefix(session: Session, platform: str, prefix: str) -> set[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = select(LakeBatch.idempotency_key).where(
            LakeBatch.platform == platform, LakeBatch.idempotency_key.like(f"{escaped}%", escape="\\")
        )
        return set(session.scalars(stmt))

    @staticmethod
    def active_files(
        session: Session, kind: str | None = None, platform: str | None = None
    ) -> list[LakeFile]:
        stmt = select(LakeFile).where(LakeFile.retired_at.is_(None))
        if kind:
            stmt = stmt.where(LakeFile.kind == kind)
        if platform:
            stmt = stmt.where(LakeFile.platform == platform)
        return list(session.scalars(stmt.order_by(LakeFile.path)))

    def committed_paths(
        self,
        session: Session,
        kind: str,
        platform: str,
        dates: tuple[dt.date, dt.date],
        *,
        except_batch: str | None = None,
    ) -> list[str]:
        """The absolute paths of a kind's committed files of a platform with partition dates in ``dates``
        (both ends included), optionally without one batch's; paths only, no ORM rows (a per-batch query)."""
        stmt = select(LakeFile.path).where(
            LakeFile.retired_at.is_(None),
            LakeFile.kind == kind,
            LakeFile.platform == platform,
            LakeFile.partition_date.between(*dates),
        )
        if except_batch is not None:
            stmt = stmt.where(LakeFile.batch_id != except_batch)
        return [str(self.root / path) for path in session.scalars(stmt.order_by(LakeFile.path))]

    def paths(self, files: Iterable[LakeFile]) -> list[str]:
        return [str(self.root / f.path) for f in files]

    # ------------------------------------------------------------ reading

    def schema_groups(self, files: Iterable[LakeFile]) -> list[list[str]]:
        """The files' absolute paths, grouped by schema (for ``grouped_source_sql``), in path order.

        Every file of a batch has its batch's schema (``write_files`` refuses parts that differ), so one
        footer is read per batch, not per file: a kind of the medium province has 33,000 files in a few
        dozen batches.
        """
        by_batch: dict[str, list[str]] = {}
        for f in files:
            by_batch.setdefault(f.batch_id, []).append(str(self.root / f.path))
        groups: list[tuple[pa.Schema, list[str]]] = []
        for paths in by_batch.values():
            try:
                schema = pq.read_schema(paths[0])
            except OSError as exc:
                raise LakeError(f"cannot read the schema of lake file {paths[0]}: {exc}") from exc
            for known, members in groups:
                if known.equals(schema):  # names, types and order; not the key-value metadata
                    members.extend(paths)
                    break
            else:
                groups.append((schema, list(paths)))
        return [sorted(members) for _, members in groups]

    @staticmethod
    def source_sql(paths: Sequence[str], *, path_columns: bool = True) -> str:
        """The one way to read lake files in DuckDB: a relation over exactly these files.

        Hive partitioning is off (DuckDB would otherwise detect it from the ``key=value`` directories), so
        every data column is read as stored: a partition value never shadows a column of the same name
        (reviews' own ``kind``). With ``path_columns``, ``platform`` and ``date`` are taken from each file's
        path and appended; without, the relation holds the data columns only (what a lake file stores, as
        compaction rewrites it). Columns named like a path column inside a file (never written by intake)
        are dropped: the path is the truth.

        The files may have different schemas: they are read with ``union_by_name``, which binds every file
        (its footer read and a reader kept per file, for every query that binds the relation: about 20 KB a
        file). For many files of known schemas, ``grouped_source_sql`` binds one file per group.
        """
        return Lake._source([paths], union_by_name=True, path_columns=path_columns)

    @staticmethod
    def grouped_source_sql(groups: Sequence[Sequence[str]], *, path_columns: bool = True) -> str:
        """``source_sql`` over groups of files that share a schema within each group (``schema_groups``).

        Each group is read without ``union_by_name`` (DuckDB binds its first file and reads the others by
        column name), the groups are united ``BY NAME``, so a relation binds one file per schema. Measured on
        the medium province (3 Dec 2026, load about 10): the views over its 32,868 account and 13,782 listing
        files, registered and counted, peaked at 2.35 GiB RSS in 90 s read with ``union_by_name`` and at
        0.70 GiB in 45 s read by group.
        """
        return Lake._source([g for g in groups if g], union_by_name=False, path_columns=path_columns)

    @staticmethod
    def _source(groups: Sequence[Sequence[str]], *, union_by_name: bool, path_columns: bool) -> str:
        if not groups:
            raise LakeError("no lake file to read")
        options = f"union_by_name = {'true' if union_by_name else 'false'}, hive_partitioning = false"
        if path_columns:
            options += f", filename = {_quote(FILE_COLUMN)}"
        reads = [
            f"SELECT * FROM read_parquet([{', '.join(_quote(p) for p in paths)}], {options})"  # noqa: S608
            for paths in groups
        ]
        union = " UNION ALL BY NAME ".join(reads)
        stray = ", ".join(_quote(c) for c in (*PATH_COLUMNS, FILE_COLUMN))
        keep = f"COLUMNS(lambda c: c NOT IN ({stray}))"
        if not path_columns:
            return f"(SELECT {keep} FROM ({union}))"  # noqa: S608 (paths quoted, names ours)
        pattern = _quote(PARTITION_PATTERN)
        return (
            f"(SELECT {keep}, "  # noqa: S608 (paths quoted, names ours)
            f"regexp_extract({FILE_COLUMN}, {pattern}, 1) AS platform, "
            f"CAST(regexp_extract({FILE_COLUMN}, {pattern}, 2) AS DATE) AS date "
            f"FROM ({union}))"
        )

    @staticmethod
    def dedup_sql(kind: str, source: str, *, platform_column: bool = True) -> str:
        """The newest version of each (platform, record key) of ``source``."""
        key = ", ".join((("platform",) if platform_column else ()) + KEYS[kind])
        # Identifiers come from KEYS, file paths are quoted by ``source_sql``: no caller text reaches the SQL.
        window = f"row_number() OVER (PARTITION BY {key} ORDER BY {NEWEST_FIRST})"
        return f"SELECT * FROM {source} QUALIFY {window} = 1"  # noqa: S608

    def connect(self, session: Session, kinds: Iterable[str] = KINDS) -> Any:
        """An in-memory DuckDB connection with one view per kind over its committed files.

        ``<kind>`` is de-duplicated on (platform, record key); ``<kind>_all`` holds every stored version.
        A kind with no file yet has no view.
        """
        import duckdb

        con = duckdb.connect()
        for kind in kinds:
            files = self.active_files(session, kind)
            if not files:
                continue
            source = self.grouped_source_sql(self.schema_groups(files))
            con.execute(f"CREATE VIEW {kind}_all AS SELECT * FROM {source}")  # noqa: S608 (see dedup_sql)
            con.execute(f"CREATE VIEW {kind} AS {self.dedup_sql(kind, f'{kind}_all')}")
        return con

    def stats(self, session: Session) -> dict[str, dict[str, int]]:
        """Per kind: de-duplicated records, stored rows, files and batches (over every platform)."""
        import duckdb

        out: dict[str, dict[str, int]] = {}
        con = duckdb.connect()
        try:
            for kind in KINDS:
                files = self.active_files(session, kind)
                entry = {"records": 0, "rows": sum(f.rows for f in files), "files": len(files)}
                entry["batches"] = len({f.batch_id for f in files})
                if files:
                    key = ", ".join(("platform", *KEYS[kind]))
                    source = self.grouped_source_sql(self.schema_groups(files))
                    sql = f"SELECT count(*) FROM (SELECT DISTINCT {key} FROM {source})"  # noqa: S608
                    entry["records"] = int(con.execute(sql).fetchone()[0])
                out[kind] = entry
        finally:
            con.close()
        return out

    # ------------------------------------------------------------ compaction

    def compact(
        self,
        *,
        kind: str | None = None,
        min_files: int = 2,
        orphan_age_s: float = 3600.0,
        transaction: Transaction = session_scope,
        on_partition: Callable[[str], None] | None = None,
    ) -> CompactionSummary:
        """Merge the files of each partition holding ``min_files`` or more into one de-duplicated file.

        The swap is one transaction: the new file's manifest rows are added and the old files retired
        together, only if none of them was retired meanwhile (a concurrent compaction): readers see
        either the old files or the new one. The old files are deleted after the commit. Files that no
        manifest row lists and that are older than ``orphan_age_s`` (left by crashed loads) are removed.
        """
        import duckdb

        summary = CompactionSummary()
        with transaction() as session:
            files = self.active_files(session, kind)
        groups: dict[tuple[str, str, dt.date], list[LakeFile]] = {}
        for f in files:
            groups.setdefault((f.kind, f.platform, f.partition_date), []).append(f)
        con = duckdb.connect()
        try:
            for (k, platform, day), members in sorted(groups.items()):
                if len(members) < min_files:
                    continue
                partition = self.partition(k, platform, day)
                sql = self.dedup_sql(
                    k, self.source_sql(self.paths(members), path_columns=False), platform_column=False
                )
                table = con.sql(f"{sql} ORDER BY {', '.join(KEYS[k])}").to_arrow_table()
                batch_id = new_id()
                staged = self.write_files(k, platform, batch_id, [(day, table)])
                try:
                    with transaction() as session:
                        self.add_batch(
                            session,
                            batch_id=batch_id,
                            kind=k,
                            platform=platform,
                            key=f"compaction:{batch_id}",
                            source="compaction",
                            files=staged,
                        )
                        ids = [m.id for m in members]
                        result = session.execute(
                            update(LakeFile)
                            .where(LakeFile.id.in_(ids), LakeFile.retired_at.is_(None))
                            .values(retired_at=utc_now(), retired_by=batch_id)
                        )
                        if result.rowcount != len(ids):
                            raise Conflict(f"{partition}: compacted concurrently")
                except Conflict as exc:
                    self.remove_staged(staged)
                    summary.details.append(str(exc))
                    continue
                for m in members:
                    with contextlib.suppress(OSError):
                        (self.root / m.path).unlink()
                summary.partitions += 1
                summary.files_merged += len(members)
                summary.files_written += len(staged)
                summary.rows_before += sum(m.rows for m in members)
                summary.rows_after += table.num_rows
                if on_partition is not None:
                    on_partition(partition)
        finally:
            con.close()
        summary.orphans_removed = self.remove_orphans(older_than_s=orphan_age_s, transaction=transaction)
        return summary

    def remove_orphans(self, *, older_than_s: float, transaction: Transaction = session_scope) -> int:
        """Delete files under the lake that no manifest row lists (crashed loads), once old enough."""
        if not self.root.exists():
            return 0
        with transaction() as session:
            listed = set(session.scalars(select(LakeFile.path)))
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self._walk():
            rel = path.relative_to(self.root).as_posix()
            if rel in listed:
                continue
            try:
                if path.stat().st_mtime > cutoff:
                    continue
                path.unlink()
                removed += 1
            except OSError:
                continue
        return removed

    def _walk(self) -> Iterator[Path]:
        for kind_dir in self.root.glob("kind=*"):
            yield from (p for p in kind_dir.glob("platform=*/date=*/*") if p.is_file())
