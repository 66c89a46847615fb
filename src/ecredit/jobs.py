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

    A large shops file is read and validated by a child process a few batches ahead (validation touches
    neither the store nor the keys), so it runs on another core while this process writes.
    """
    from ecredit.db import session_scope
    from ecredit.kit.tabular import RejectsWriter, Row, read_rows
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

        def load(session: Any, batch: list[Row], parsed: Any) -> Any:
            plat = subjects_service.get_platform_or_raise(session, platform)
            importer.prepare_bulk_load(session)
            return importer.import_batch(session, principal, plat, batch, parsed)
    elif kind == "register":
        columns = register.COLUMNS

        def load(session: Any, batch: list[Row], parsed: Any) -> Any:
            return register.import_batch(session, principal, batch)
    else:
        raise EcreditError(f"--kind must be shops or register (got {kind!r})")

    rejects = RejectsWriter(file)
    loaded = 0
    batches = 0
    size = file.stat().st_size
    if kind == "shops" and size >= READ_AHEAD_MIN_BYTES:
        with contextlib.closing(read_rows(file, columns=columns)) as rows:
            next(rows, None)  # a bad header fails here, as it would on the first read
        chunks = _validated_in_child(file)
    else:
        chunks = ((batch, errors, None) for batch, errors in _batches(read_rows(file, columns=columns)))
    # A load allocates millions of short-lived objects: the cyclic garbage collector would scan the whole
    # heap over and over (a tenth of the time). Freeze what exists and collect the young less often.
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    try:
        with progress_bar() as progress, contextlib.closing(chunks):
            task = progress.add_task(f"importing {file.name}", total=size, rate="")
            for batch, errors, parsed in chunks:
                for error in errors:  # unreadable rows, in file order before the batch's rejects
                    rejects.write(error.number, error.reason, error.raw)
                if not batch:
                    continue
                with session_scope() as session:
                    result = load(session, batch, parsed)
                if result.rejected:
                    # The raw form of a row is only needed when it is rejected.
                    values_by_number = {r.number: r.values for r in batch}
                    for number, reason in result.rejected:
                        values = values_by_number.get(number)
                        rejects.write(number, reason, "" if values is None else _raw(values))
                loaded += len(batch) - len(result.rejected)
                # Measuring the batch only serves the progress bar: skip it when nobody watches.
                done = 0 if progress.disable else _batch_bytes(batch)
                progress.update(
                    task, completed=min(size, progress.tasks[0].completed + done), rate=f"{loaded:,} rows"
                )
                batches += 1
                if kind == "shops" and batches in STATISTICS_AFTER:
                    # The tables doubled: refresh the statistics the planner needs to look the next
                    # batches up by index (later it scales them with the tables' sizes by itself).
                    with session_scope() as session:
                        importer.refresh_statistics(session)
        if kind == "shops" and batches and batches not in STATISTICS_AFTER:
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


def _batches(rows: Iterator[Any]) -> Iterator[tuple[list[Any], list[Any]]]:
    """Batches of ``BATCH_ROWS`` rows, each with the unreadable rows (``RowError``) met before it; the
    last item may hold errors only."""
    from ecredit.kit.tabular import RowError

    batch: list[Any] = []
    errors: list[Any] = []
    for item in rows:
        if isinstance(item, RowError):
            errors.append(item)
            continue
        batch.append(item)
        if len(batch) >= BATCH_ROWS:
            yield batch, errors
            batch, errors = [], []
    if batch or errors:
        yield batch, errors


def _validated_in_child(file: Path) -> Iterator[tuple[list[Any], list[Any], Any]]:
    """(batch, unreadable rows, validated batch) of a shops file, read and validated by a child process
    at most ``READ_AHEAD_BATCHES`` batches ahead."""
    from ecredit.kit.tabular import Row

    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue(maxsize=READ_AHEAD_BATCHES)
    child = context.Process(
        target=_read_and_validate, args=(str(file), results), name="ecredit-read-ahead", daemon=True
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
            rows, errors, parsed = item
            yield [Row(number, values) for number, values in rows], errors, parsed
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
        results.close()


def _read_and_validate(path: str, results: Any) -> None:
    """The read-ahead process: stream the shops file and validate it batch by batch (no store, no keys)."""
    from ecredit.kit.tabular import read_rows
    from ecredit.subjects import importer

    try:
        for batch, errors in _batches(read_rows(Path(path), columns=importer.SHOP_COLUMNS)):
            parsed = importer.parse_batch(batch) if batch else None
            # Rows travel as plain tuples: a tenth of the pickling cost of the dataclasses.
            results.put(([(r.number, r.values) for r in batch], errors, parsed))
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
