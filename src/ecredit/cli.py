"""The ``ecredit`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ecredit import identifiers
from ecredit.errors import EcreditError

app = typer.Typer(
    help="ecredit — e-commerce credit supervision.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="The operational store.", no_args_is_help=True)
identity_app = typer.Typer(help="Identifier checks and real-name verification.", no_args_is_help=True)
registry_app = typer.Typer(
    help="The subject registry: platforms, shops, the business register.", no_args_is_help=True
)
vault_app = typer.Typer(help="The personal-data vault.", no_args_is_help=True)
marks_app = typer.Typer(help="Trusted certification marks.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(identity_app, name="identity")
app.add_typer(registry_app, name="registry")
app.add_typer(vault_app, name="vault")
app.add_typer(marks_app, name="marks")

out = Console()
err = Console(stderr=True)

BATCH_ROWS = 5000


def _progress() -> Progress:
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


# ---------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the store to the latest schema (creates the embedded SQLite store on first run)."""
    from ecredit import migrate
    from ecredit.db import get_engine

    engine = get_engine()
    migrate.upgrade(engine, revision)
    out.print(
        f"store at revision {migrate.current(engine)} ({engine.url.render_as_string(hide_password=True)})"
    )


@db_app.command("current")
def db_current() -> None:
    """Print the store's schema revision."""
    from ecredit import migrate
    from ecredit.db import get_engine

    out.print(migrate.current(get_engine()) or "(empty store)")


# ---------------------------------------------------------------- identity


@identity_app.command("check")
def identity_check(
    values: Annotated[list[str], typer.Argument(help="Identifiers to check.")],
    kind: Annotated[str, typer.Option(help="uscc | ric | gtin | region | auto")] = "auto",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per value (default when piped).")
    ] = False,
) -> None:
    """Validate identifiers; exits 0 only if every value is valid."""
    if kind not in {"auto", "uscc", "ric", "gtin", "region"}:
        raise EcreditError(f"--kind must be one of auto, uscc, ric, gtin, region (got {kind!r})")
    results = [identifiers.check(v, kind) for v in values]
    if as_json or not out.is_terminal:
        for r in results:
            sys.stdout.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    else:
        table = Table("value", "kind", "valid", "normalized", "errors", "warnings")
        for r in results:
            table.add_row(
                r.value,
                r.kind,
                "[green]yes" if r.valid else "[red]no",
                r.normalized or "",
                "\n".join(f.message for f in r.errors),
                "\n".join(f.message for f in r.warnings),
            )
        out.print(table)
    raise typer.Exit(0 if all(r.valid for r in results) else 1)


@identity_app.command("verify")
def identity_verify(shop_ids: Annotated[list[str], typer.Argument(help="Shop ids (ecredit ids).")]) -> None:
    """Verify the operators of the given shops now."""
    from ecredit.db import session_scope
    from ecredit.verification import service

    failed = 0
    for shop_id in shop_ids:
        with session_scope() as session:
            v = service.verify_shop(session, shop_id)
            reasons = "; ".join(str(r["message"]) for r in v.reasons)
            out.print(f"{shop_id}: {v.outcome}" + (f" ({reasons})" if reasons else ""))
            failed += v.outcome != "verified"
    raise typer.Exit(1 if failed else 0)


@identity_app.command("reverify")
def identity_reverify(
    due: Annotated[
        bool, typer.Option("--due", help="Re-verify every shop whose verification has expired.")
    ] = False,
    include_unverified: Annotated[bool, typer.Option(help="Also verify shops never verified.")] = False,
) -> None:
    """Re-check shops whose verification interval (policy/verification.toml) has run out."""
    if not due:
        raise EcreditError("nothing selected: pass --due")
    summary = reverify(include_unverified=include_unverified)
    out.print(f"verified {summary['verified']}, rejected {summary['rejected']}")


def reverify(*, include_unverified: bool) -> dict[str, int]:
    """Verify every due shop in committed batches (used by the CLI and the demo)."""
    from ecredit.db import session_scope
    from ecredit.kit.clock import utc_now
    from ecredit.verification import service

    now = utc_now()
    counts = {"verified": 0, "rejected": 0}
    with session_scope(read_only=True) as session:
        total = service.count_due(session, now=now, include_unverified=include_unverified)
    with _progress() as progress:
        task = progress.add_task("verifying", total=total, rate="")
        while True:
            with session_scope() as session:
                ids = service.shops_due_for_verification(
                    session, now=now, include_unverified=include_unverified, limit=500
                )
                for shop_id in ids:
                    counts[service.verify_shop(session, shop_id, now=now).outcome] += 1
            progress.advance(task, len(ids))
            if not ids:
                break
    return counts


# ---------------------------------------------------------------- registry


@registry_app.command("add-platform")
def registry_add_platform(
    code: Annotated[str, typer.Argument(help="Short platform code, e.g. 'jd'.")],
    name: Annotated[str, typer.Option(help="Registered name of the platform operator.")],
    uscc: Annotated[str, typer.Option(help="The operator's unified social credit code.")],
) -> None:
    """Register an e-commerce platform."""
    from pydantic import ValidationError

    from ecredit.db import session_scope
    from ecredit.subjects import service
    from ecredit.subjects.schemas import PlatformCreate

    try:
        data = PlatformCreate(code=code, name=name, uscc=uscc)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    with session_scope() as session:
        platform, subject = service.register_platform(session, data)
        out.print(f"platform {platform.code} registered ({subject.name}, {subject.uscc})")


def _validation_error(exc: Any) -> EcreditError:
    from ecredit.errors import FieldError, ValidationFailed

    errors = [
        FieldError(".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
        for e in exc.errors()
    ]
    return ValidationFailed("invalid input", errors=errors)


@registry_app.command("import")
def registry_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or JSONL file.")
    ],
    kind: Annotated[str, typer.Option(help="shops | register")],
    platform: Annotated[str | None, typer.Option(help="Platform code (for --kind shops).")] = None,
) -> None:
    """Bulk-register shops of a platform, or load the business register; bad rows go to FILE.rejects.csv."""
    summary = import_file(file, kind=kind, platform=platform)
    out.print(
        f"{summary['loaded']} rows loaded, {summary['rejected']} rejected"
        + (f" (see {summary['rejects_file']})" if summary["rejected"] else ""),
        soft_wrap=True,
    )
    raise typer.Exit(1 if summary["rejected"] else 0)


def import_file(file: Path, *, kind: str, platform: str | None) -> dict[str, Any]:
    """Load a registry file in committed batches; returns counts (used by the CLI and the demo)."""
    from ecredit.db import session_scope
    from ecredit.kit.tabular import RejectsWriter, Row, read_rows
    from ecredit.subjects import importer
    from ecredit.subjects import service as subjects_service
    from ecredit.verification import register

    if kind == "shops":
        if not platform:
            raise EcreditError("--platform is required with --kind shops")
        columns = importer.SHOP_COLUMNS
        with session_scope(read_only=True) as session:
            subjects_service.get_platform_or_raise(session, platform)

        def load(session: Any, batch: list[Row]) -> Any:
            plat = subjects_service.get_platform_or_raise(session, platform)
            return importer.import_batch(session, plat, batch)
    elif kind == "register":
        columns = register.COLUMNS
        load = register.import_batch
    else:
        raise EcreditError(f"--kind must be shops or register (got {kind!r})")

    rejects = RejectsWriter(file)
    raw_by_number: dict[int, str] = {}
    loaded = 0
    size = file.stat().st_size
    try:
        with _progress() as progress:
            task = progress.add_task(f"importing {file.name}", total=size, rate="")
            for batch in _batches(read_rows(file, columns=columns), rejects, raw_by_number):
                with session_scope() as session:
                    result = load(session, batch)
                for number, reason in result.rejected:
                    rejects.write(number, reason, raw_by_number.get(number, ""))
                loaded += len(batch) - len(result.rejected)
                raw_by_number.clear()
                progress.update(
                    task,
                    completed=min(size, progress.tasks[0].completed + _batch_bytes(batch)),
                    rate=f"{loaded:,} rows",
                )
    finally:
        rejects.close()
    return {"loaded": loaded, "rejected": rejects.count, "rejects_file": str(rejects.path)}


def _batch_bytes(batch: list[Any]) -> int:
    return sum(len(json.dumps(r.values, ensure_ascii=False).encode()) for r in batch)


def _batches(rows: Iterator[Any], rejects: Any, raw_by_number: dict[int, str]) -> Iterator[list[Any]]:
    from ecredit.kit.tabular import RowError

    batch: list[Any] = []
    for item in rows:
        if isinstance(item, RowError):
            rejects.write(item.number, item.reason, item.raw)
            continue
        raw_by_number[item.number] = json.dumps(item.values, ensure_ascii=False)
        batch.append(item)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------- vault and marks


@vault_app.command("rotate")
def vault_rotate() -> None:
    """Add a new data key to the key file and re-encrypt every personal field under it."""
    from ecredit import all_models
    from ecredit.config import get_settings
    from ecredit.db import get_engine, session_factory
    from ecredit.security import context, keys, rotation

    if keys.load_from_env(__import__("os").environ) is not None:
        raise EcreditError("keys come from ECREDIT_KEYRING_JSON: rotate them there, then run this again")
    path = get_settings().resolved_key_file
    ring = context.get_keyring().with_new_data_key()
    keys.save(path, ring)
    context.reset()
    vault = context.get_vault()
    factory = session_factory(get_engine())
    with factory() as session:
        total = rotation.count_encrypted(session, all_models.metadata)
    with _progress() as progress:
        task = progress.add_task("re-encrypting", total=total, rate="")
        rewritten = rotation.rotate_all(
            factory, vault, all_models.metadata, on_progress=lambda n: progress.advance(task, n)
        )
    out.print(f"active data key {ring.active_data_key_id}; {rewritten} ciphertexts re-encrypted")


@marks_app.command("rotate-key")
def marks_rotate_key() -> None:
    """Start signing marks with a new key; marks signed with older keys stay verifiable."""
    from ecredit.config import get_settings
    from ecredit.security import context, keys

    ring = context.get_keyring().with_new_signing_key()
    keys.save(get_settings().resolved_key_file, ring)
    context.reset()
    out.print(f"marks are now signed with key {ring.active_signing_key_id}")


@marks_app.command("check")
def marks_check(token: Annotated[str, typer.Argument(help="The mark token.")]) -> None:
    """Check a mark token: valid, revoked, expired or forged."""
    from ecredit.db import session_scope
    from ecredit.verification import service

    with session_scope(read_only=True) as session:
        result = service.check_mark(session, token)
    out.print(f"{result.status}: {result.reason}" + (f" — {result.shop_name}" if result.shop_name else ""))
    raise typer.Exit(0 if result.status == "valid" else 1)


# ---------------------------------------------------------------- serve and demo


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default ECREDIT_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ECREDIT_PORT or 8000).")] = None,
) -> None:
    """Serve the API (and, as they land, the portal)."""
    import uvicorn

    from ecredit.config import get_settings

    settings = get_settings()
    uvicorn.run(
        "ecredit.app:create_app", factory=True, host=host or settings.host, port=port or settings.port
    )


@app.command("demo")
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the service afterwards.")
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the demo registry.")] = 7,
) -> None:
    """Build the demo registry (migrate, import, verify, issue marks) and serve it."""
    from ecredit import demo as demo_module

    info = demo_module.build(seed=seed, log=out.print)
    demo_module.print_guide(info, lambda line: out.print(line, soft_wrap=True, highlight=False))
    if serve_after:
        serve(None, None)


def _run(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except EcreditError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        sys.exit(2)


def main() -> None:
    """Entry point: one clear line and a non-zero exit for every expected error."""
    _run(app)


if __name__ == "__main__":
    main()
