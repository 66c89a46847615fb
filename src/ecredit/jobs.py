"""Long-running work in committed batches, with progress: bulk registry loads and re-verification.

Shared by the CLI and the demo. Each batch is its own transaction; re-running a job is idempotent.
"""

from __future__ import annotations

import contextlib
import gc
import getpass
import json
import multiprocessing
import queue
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ecredit.errors import EcreditError
from ecredit.security.principals import Principal, system

err = Console(stderr=True)

BATCH_ROWS = 5000
# A shops load commits every 5 batches (25,000 rows) rather than every batch. On SQLite each commit
# writes every page the transaction touched to the WAL and checkpoints them into the file; the index
# inserts land at random places, so a batch of 5,000 rows touches nearly as many pages as 25,000 do:
# five times fewer commits write 2.4 times fewer bytes (at 300,000 shops, 1.5 GiB instead of 3.7 GiB).
# Batches stay the unit of validation, duplicate detection and audit (one entry each), so the rows, the
# rejects and the audit trail are those of one commit per batch; durability is that of every commit.
SHOPS_BATCHES_PER_COMMIT = 5
GC_THRESHOLD = 50_000  # allocations between young-generation collections during bulk loads
STATISTICS_AFTER = frozenset({1, 2, 4, 8, 16, 32})  # batches after which a load refreshes statistics
READ_AHEAD_MIN_BYTES = 16 * 2**20  # shops files from this size are validated in a child process
READ_AHEAD_BATCHES = 2


def cli_principal() -> Principal:
    """Local commands act as an administrator named after the operating-system user (for the audit)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return system(name)


def progress_bar() -> Progress:
    """A Rich progress bar on stderr (hidden when stderr is not a terminal)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )


def import_file(file: Path, *, kind: str, platform: str | None) -> dict[str, Any]:
    """Load a registry file in committed batches; returns counts (used by the CLI and the demo).

    A large shops file is read, validated and its shops' personal fields encrypted by a child process a
    few batches ahead (that work needs the keys, never the store), so it runs on another core while this
    process writes.
    """
    from ecredit.db import session_scope
    from ecredit.kit.tabular import RejectsWriter, read_rows
    from ecredit.subjects import importer
    from ecredit.subjects import service as subjects_service
    from ecredit.verification import register

    principal = cli_principal()
    if kind == "shops":
        if not platform:
            raise EcreditError("--platform is required with --kind shops")
        columns = importer.SHOP_COLUMNS
        with session_scope(read_only=True) as session:
            subjects_service.get_platform_or_raise(session, platform)

        def load(session: Any, work: Any) -> Any:
            plat = subjects_service.get_platform_or_raise(session, platform)
            importer.prepare_bulk_load(session)
            return importer.import_batch(session, principal, plat, work)
    elif kind == "register":
        columns = register.COLUMNS

        def load(session: Any, work: Any) -> Any:
            return register.import_batch(session, principal, work)
    else:
        raise EcreditError(f"--kind must be shops or register (got {kind!r})")

    rejects = RejectsWriter(file)
    loaded = 0
    batches = 0
    size = file.stat().st_size
    if kind == "shops" and size >= READ_AHEAD_MIN_BYTES:
        with contextlib.closing(read_rows(file, columns=columns)) as rows:
            next(rows, None)  # a bad header fails here, as it would on the first read
        chunks = _validated_in_child(file, measure=err.is_terminal)
    else:
        chunks = (
            (errors, batch, len(batch), None) for batch, errors in _batches(read_rows(file, columns=columns))
        )
    # A load allocates millions of short-lived objects: the cyclic garbage collector would scan the whole
    # heap over and over (a tenth of the time). Freeze what exists and collect the young less often.
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    # Shops: several batches per transaction (see SHOPS_BATCHES_PER_COMMIT); the register: one.
    per_commit = SHOPS_BATCHES_PER_COMMIT if kind == "shops" else 1

    def write_rejects(work: Any, rejected: list[tuple[int, str]]) -> None:
        # The raw form of a row is only needed when it is rejected.
        if isinstance(work, importer.ParsedBatch):
            values_by_number = work.rejected_values
        else:
            values_by_number = {r.number: r.values for r in work}
        for number, reason in rejected:
            values = values_by_number.get(number)
            rejects.write(number, reason, "" if values is None else _raw(values))

    try:
        with progress_bar() as progress, contextlib.closing(chunks):
            task = progress.add_task(f"importing {file.name}", total=size, rate="")
            pending = iter(chunks)
            more = True
            while more:  # one transaction per round
                more = statistics_due = False
                with session_scope() as session:
                    in_transaction = 0
                    # work: the batch's rows, or the batch validated ahead (importer.ParsedBatch)
                    for errors, work, rows_in_batch, measured in pending:
                        for error in errors:  # unreadable rows, in file order before the batch's rejects
                            rejects.write(error.number, error.reason, error.raw)
                        if not rows_in_batch:
                            continue
                        result = load(session, work)
                        write_rejects(work, result.rejected)
                        loaded += rows_in_batch - len(result.rejected)
                        # Measuring the batch only serves the progress bar: skip it when nobody watches.
                        done = measured
                        if done is None:
                            done = 0 if progress.disable else _batch_bytes(work)
                        progress.update(
                            task,
                            completed=min(size, progress.tasks[0].completed + done),
                            rate=f"{loaded:,} rows",
                        )
                        batches += 1
                        in_transaction += 1
                        statistics_due = kind == "shops" and batches in STATISTICS_AFTER
                        if in_transaction >= per_commit or statistics_due:
                            more = True  # commit, then go on with the next batches
                            break
                if statistics_due:
                    # The tables doubled: refresh the statistics the planner needs to look the next
                    # batches up by index (later it scales them with the tables' sizes by itself).
                    with session_scope() as session:
                        importer.refresh_statistics(session, look_ups_only=True)
        if kind == "shops" and batches:
            with session_scope() as session:
                importer.refresh_statistics(session)
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
        rejects.close()
    return {"loaded": loaded, "rejected": rejects.count, "rejects_file": str(rejects.path)}


def _raw(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False)


def _batch_bytes(batch: list[Any]) -> int:
    return sum(len(_raw(r.values).encode()) for r in batch)


def _batches(rows: Iterator[Any], size: int | None = None) -> Iterator[tuple[list[Any], list[Any]]]:
    """Batches of ``size`` (default ``BATCH_ROWS``) rows, each with the unreadable rows (``RowError``) met
    before it; the last item may hold errors only."""
    from ecredit.kit.tabular import RowError

    size = size or BATCH_ROWS
    batch: list[Any] = []
    errors: list[Any] = []
    for item in rows:
        if isinstance(item, RowError):
            errors.append(item)
            continue
        batch.append(item)
        if len(batch) >= size:
            yield batch, errors
            batch, errors = [], []
    if batch or errors:
        yield batch, errors


def _validated_in_child(file: Path, *, measure: bool) -> Iterator[tuple[list[Any], Any, int, int]]:
    """(unreadable rows, validated batch, rows in the batch, its size in bytes when ``measure``) of a
    shops file, read and validated by a child process at most ``READ_AHEAD_BATCHES`` batches ahead."""
    from ecredit.security.context import get_keyring

    # The child reads the same key ring: load it here first, so that a first run creates the key file
    # once, in this process, before the child looks for it.
    get_keyring()
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue(maxsize=READ_AHEAD_BATCHES)
    child = context.Process(
        target=_read_and_validate,
        args=(str(file), results, BATCH_ROWS, measure),
        name="ecredit-read-ahead",
        daemon=True,
    )
    child.start()
    try:
        while True:
            try:
                item = results.get(timeout=1.0)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"reading {file.name} stopped (exit code {child.exitcode})") from None
                continue
            if item is None:
                break
            if isinstance(item, str):
                raise RuntimeError(f"reading {file.name} failed in the read-ahead process:\n{item}")
            errors, parsed, measured = item
            yield errors, parsed, 0 if parsed is None else parsed.size, measured
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
        results.close()


def _read_and_validate(path: str, results: Any, batch_rows: int, measure: bool) -> None:
    """The read-ahead process: stream the shops file, validate it batch by batch, and encrypt the shops'
    personal fields ahead (``importer.encrypt_ahead``: the keys, never the store).

    Only the validated rows (named tuples) and the raw values of rejected rows travel back: pickling every
    row's raw values too cost as much as validating them."""
    from ecredit.kit.tabular import read_rows
    from ecredit.subjects import importer

    try:
        for batch, errors in _batches(read_rows(Path(path), columns=importer.SHOP_COLUMNS), batch_rows):
            parsed = None
            if batch:
                parsed = importer.parse_batch(batch)
                importer.encrypt_ahead(parsed)
            results.put((errors, parsed, _batch_bytes(batch) if measure else 0))
    except Exception:
        results.put(traceback.format_exc())
        return
    results.put(None)


def reverify(*, include_unverified: bool) -> dict[str, int]:
    """Verify every due shop in committed batches (used by the CLI and the demo)."""
    from ecredit.db import session_scope
    from ecredit.kit.clock import utc_now
    from ecredit.verification import service

    now = utc_now()
    principal = cli_principal()
    counts = {"verified": 0, "rejected": 0}
    with session_scope(read_only=True) as session:
        total = service.count_due(session, now=now, include_unverified=include_unverified)
    with progress_bar() as progress:
        task = progress.add_task("verifying", total=total, rate="")
        while True:
            with session_scope() as session:
                ids = service.shops_due_for_verification(
                    session, now=now, include_unverified=include_unverified, limit=500
                )
                for shop_id in ids:
                    counts[service.verify_shop(session, principal, shop_id, now=now).outcome] += 1
            progress.advance(task, len(ids))
            if not ids:
                break
    return counts


RECORDS_BATCH_ROWS = 500


def _register_lookup(session: Any, principal: Principal, uscc: str) -> str | None:
    """A USCC the registry does not know but the business register does: register the subject from the
    register entry (name, region) and return its id; None when the register does not know it either."""
    from pydantic import ValidationError

    from ecredit.subjects import service as subjects_service
    from ecredit.subjects.schemas import SubjectCreate
    from ecredit.verification import repository as verification_repo

    entry = verification_repo.get_register_entry(session, uscc)
    if entry is None:
        return None
    kind = "individual_business" if uscc.startswith("92") else "organisation"
    try:
        data = SubjectCreate(kind=kind, name=entry.name, uscc=uscc, region_code=entry.region_code)
        subject, _ = subjects_service.create_subject(session, principal, data)
    except (ValidationError, EcreditError):
        return None
    return subject.id


def import_records_file(
    file: Path, *, kind: str, source_department: str | None = None, encoding: str | None = None
) -> dict[str, Any]:
    """Load administrative penalties or licences in the 双公示 layout (CSV or .xlsx) in committed batches;
    bad rows go to FILE.rejects.csv with their number and reason (personal data in them masked)."""
    from ecredit.db import session_scope
    from ecredit.kit.tabular import RejectsWriter, detect_encoding, detect_format, read_rows
    from ecredit.records import importer
    from ecredit.security.masking import mask_free_text

    if kind not in importer.KINDS:
        raise EcreditError(f"--kind must be penalty or licence (got {kind!r})")
    fmt = detect_format(file)
    if fmt not in {"csv", "xlsx"}:
        raise EcreditError(f"{file.name}: expected a .csv or .xlsx file")
    if fmt == "csv":
        encoding = encoding or detect_encoding(file)
        try:
            "".encode(encoding)
        except LookupError:
            raise EcreditError(f"--encoding: unknown encoding {encoding!r}") from None
    principal = cli_principal()
    rejects = RejectsWriter(file)
    totals = {"loaded": 0, "unchanged": 0, "registered": 0}
    header_checked = False
    try:
        for batch, errors in _batches(read_rows(file, encoding=encoding or "utf-8"), RECORDS_BATCH_ROWS):
            for error in errors:
                rejects.write(error.number, error.reason, mask_free_text(error.raw))
            if not batch:
                continue
            if not header_checked:
                missing = importer.missing_columns(
                    list(batch[0].values), kind, authority_given=source_department is not None
                )
                if missing:
                    raise EcreditError(f"{file.name}: missing column(s) {', '.join(missing)}")
                header_checked = True
            with session_scope() as session:
                result = importer.import_batch(
                    session,
                    principal,
                    batch,
                    kind=kind,
                    file_name=file.name,
                    default_authority=source_department,
                    register_lookup=_register_lookup,
                )
            by_number = {r.number: r.values for r in batch}
            for number, reason in result.rejected:
                rejects.write(number, reason, mask_free_text(_raw_cells(by_number.get(number, {}))))
            totals["loaded"] += result.loaded
            totals["unchanged"] += result.unchanged
            totals["registered"] += result.registered
    finally:
        rejects.close()
    return {**totals, "rejected": rejects.count, "rejects_file": str(rejects.path), "encoding": encoding}


def _raw_cells(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, default=str)
