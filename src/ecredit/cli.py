"""The ``ecredit`` command line."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ecredit import identifiers, jobs
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
keys_app = typer.Typer(
    help="API keys for machines (platforms, banks, departments, agencies).", no_args_is_help=True
)
users_app = typer.Typer(help="Staff users who log in.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

out = Console()
err = Console(stderr=True)


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
            v = service.verify_shop(session, jobs.cli_principal(), shop_id)
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
    summary = jobs.reverify(include_unverified=include_unverified)
    out.print(f"verified {summary['verified']}, rejected {summary['rejected']}")


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
        platform, subject = service.register_platform(session, jobs.cli_principal(), data)
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
    summary = jobs.import_file(file, kind=kind, platform=platform)
    out.print(
        f"{summary['loaded']} rows loaded, {summary['rejected']} rejected"
        + (f" (see {summary['rejects_file']})" if summary["rejected"] else ""),
        soft_wrap=True,
    )
    raise typer.Exit(1 if summary["rejected"] else 0)


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
    with jobs.progress_bar() as progress:
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


# ---------------------------------------------------------------- keys and users


def _role(role: str) -> Any:
    from ecredit.security.principals import Role

    try:
        return Role(role)
    except ValueError:
        raise EcreditError(
            f"--role must be one of {', '.join(r.value for r in Role)} (got {role!r})"
        ) from None


def _platform_id(session: Any, code: str | None) -> str | None:
    from ecredit.subjects import service as subjects_service

    return subjects_service.get_platform_or_raise(session, code).id if code else None


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="platform | regulator | bank | department | agency | admin")],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    platform: Annotated[str | None, typer.Option(help="Platform code (role platform).")] = None,
    department: Annotated[str | None, typer.Option(help="Department (role regulator), e.g. market.")] = None,
    region: Annotated[str | None, typer.Option(help="Region prefix (role regulator), e.g. 3701.")] = None,
    expires_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    import datetime as dt

    from ecredit.db import session_scope
    from ecredit.kit.clock import utc_now
    from ecredit.security import credentials
    from ecredit.security.trail import record_change

    principal = jobs.cli_principal()
    with session_scope() as session:
        new = credentials.create_api_key(
            session,
            role=_role(role),
            label=label or f"{role} key",
            created_by=principal.actor,
            platform_id=_platform_id(session, platform),
            department=department,
            region_prefix=region,
            expires_at=utc_now() + dt.timedelta(days=expires_days) if expires_days else None,
        )
        record_change(session, principal, "keys.create", "api_key", new.key.key_id, {"role": role})
    err.print(f"key {new.key.key_id} created for role {role}; store it now, it is not shown again:")
    sys.stdout.write(new.token + "\n")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (ids, roles, scopes, use; never secrets)."""
    from ecredit.db import session_scope
    from ecredit.security import credentials

    table = Table(
        "key id", "role", "label", "platform", "region", "created", "expires", "last used", "revoked"
    )
    with session_scope(read_only=True) as session:
        for k in credentials.list_api_keys(session):
            table.add_row(
                k.key_id,
                k.role,
                k.label,
                k.platform_id or "",
                k.region_prefix or "",
                f"{k.created_at:%Y-%m-%d}",
                f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "",
                f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
                "yes" if k.revoked_at else "",
            )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (the part after eck_).")]) -> None:
    """Revoke an API key at once."""
    from ecredit.db import session_scope
    from ecredit.security import credentials
    from ecredit.security.trail import record_change

    with session_scope() as session:
        key = credentials.revoke_api_key(session, key_id)
        record_change(session, jobs.cli_principal(), "keys.revoke", "api_key", key.key_id)
    out.print(f"key {key.key_id} revoked")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="regulator | admin | platform | bank | department | agency")],
    platform: Annotated[str | None, typer.Option(help="Platform code (role platform).")] = None,
    department: Annotated[str | None, typer.Option(help="Department (role regulator).")] = None,
    region: Annotated[str | None, typer.Option(help="Region prefix (role regulator).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a staff user (the password is asked for, or read from stdin)."""
    from ecredit.db import session_scope
    from ecredit.security import credentials
    from ecredit.security.trail import record_change

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with session_scope() as session:
        user = credentials.create_user(
            session,
            username=username,
            password=password,
            role=_role(role),
            platform_id=_platform_id(session, platform),
            department=department,
            region_prefix=region,
        )
        record_change(session, jobs.cli_principal(), "users.create", "app_user", user.id, {"role": role})
    out.print(f"user {username} created ({role})")


# ---------------------------------------------------------------- audit

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("checkpoint")
def audit_checkpoint(
    out_file: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write the checkpoint here (default stdout).")
    ] = None,
    origin: Annotated[
        str | None, typer.Option(help="The log's name on the first line (default ecredit.example/audit).")
    ] = None,
) -> None:
    """Verify the chain and print a signed checkpoint (C2SP tlog-checkpoint) of its size and Merkle root."""
    from ecredit.db import session_scope
    from ecredit.security import audit, context

    ring = context.get_keyring()
    with session_scope(read_only=True) as session:
        checkpoint = audit.make_checkpoint(session, ring, origin=origin or audit.DEFAULT_ORIGIN)
    if out_file is None:
        sys.stdout.write(checkpoint.text)
        return
    out_file.write_text(checkpoint.text, encoding="utf-8")
    out.print(f"checkpoint of {checkpoint.size} entries written to {out_file}", highlight=False, markup=False)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, readable=True, help="Also check against this signed checkpoint."
        ),
    ] = None,
) -> None:
    """Recompute the hash chain (and the checkpoint's Merkle root); exit 1 naming the first bad entry."""
    from ecredit.db import session_scope
    from ecredit.security import audit, context

    with session_scope(read_only=True) as session:
        if checkpoint is None:
            report = audit.verify_chain(session)
        else:
            with checkpoint.open("rb") as fh:
                text = fh.read(audit.MAX_CHECKPOINT_CHARS * 4 + 1)
            keys = context.get_keyring().public_signing_keys()
            report = audit.verify_against_checkpoint(session, text, keys)
    out.print(str(report), highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        where = f" at seq {report.first_bad_seq}" if report.first_bad_seq is not None else ""
        err.print(f"audit verification failed{where}: {report.problem}", highlight=False, markup=False)
        raise typer.Exit(1)


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
    seed: Annotated[int, typer.Option(help="Seed of the synthetic province.")] = 7,
    scale: Annotated[
        str, typer.Option(help="Size of the province: tiny | small | medium | large.")
    ] = "small",
) -> None:
    """Build the demo: simulate a province, register and verify its shops, ingest its events into the
    lake, issue marks, then serve the API."""
    from ecredit import demo as demo_module

    info = demo_module.build(seed=seed, scale=scale, log=lambda line: out.print(line, highlight=False))
    demo_module.print_guide(info, lambda line: out.print(line, soft_wrap=True, highlight=False))
    if serve_after:
        serve(None, None)


@app.command("simulate")
def simulate(
    out_dir: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Output directory (missing or empty).")
    ],
    scale: Annotated[str, typer.Option(help="tiny | small | medium | large")] = "tiny",
    seed: Annotated[int, typer.Option(help="The same seed gives byte-identical output.")] = 1,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv | parquet (default: csv for tiny and small, else parquet)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: 1 below 500,000 orders, else 2).")
    ] = None,
    orders: Annotated[int | None, typer.Option(help="Override the scale's number of orders.")] = None,
) -> None:
    """Write a synthetic province: register, platforms, shops, accounts, listings, orders, payments,
    parcels and scans, reviews, ground truth of injected misconduct and a manifest (docs/simulation.md)."""
    from ecredit import sim

    try:
        result = sim.simulate(
            out_dir,
            scale=scale,
            seed=seed,
            fmt=fmt,
            workers=workers,
            orders=orders,
            log=lambda line: err.print(line, highlight=False, markup=False),
        )
    except sim.SimulationError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    totals: dict[str, int] = {}
    for key, rows in result.manifest["row_counts"].items():
        name = key.split("/")[-1] if not key.startswith("truth/") else key
        totals[name] = totals.get(name, 0) + rows
    table = Table("file", "rows")
    for name, rows in sorted(totals.items(), key=lambda kv: (kv[0].startswith("truth/"), kv[0])):
        table.add_row(name, f"{rows:,}")
    out.print(table)
    out.print(
        f"{result.manifest['scale']} province (seed {seed}, {result.manifest['format']}) written to "
        f"{out_dir} in {result.seconds:.1f} s",
        highlight=False,
        markup=False,
    )


# ---------------------------------------------------------------- intake and the event lake

lake_app = typer.Typer(help="The event lake (Parquet files listed by the manifest).", no_args_is_help=True)
app.add_typer(lake_app, name="lake")


@app.command("ingest")
def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV, JSON Lines or Parquet files."),
    ],
    platform: Annotated[str, typer.Option(help="Code of the platform the records belong to.")],
    kind: Annotated[
        str | None,
        typer.Option(
            help="accounts | listings | orders | payments | parcels | parcel_scans | reviews "
            "(default: from the file name, e.g. orders.csv)."
        ),
    ] = None,
    max_error_rate: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Exit 0 when at most this share of rows is rejected."),
    ] = None,
) -> None:
    """Load platform records into the event lake in committed batches; bad rows go to FILE.rejects.csv.

    Exits 1 if any row was rejected (or, with --max-error-rate, if more than that share was), 2 on a file
    that cannot be read at all. Running a file again loads nothing twice. Parcels and parcel scans are
    checked as they are loaded (real-time checks: unverified courier companies, impossible tracks); what
    the checks find is stored as risk warnings (ecredit warnings list).
    """
    import time

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from ecredit import wiring
    from ecredit.intake import loads as intake

    wiring.wire()  # the real-time checks subscribe to intake's RecordsAccepted

    failed = over = False
    for file in files:
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]} rows  {task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            console=err,
            disable=not err.is_terminal,
        )
        started = time.monotonic()
        with progress:
            task = progress.add_task(f"ingesting {file.name}", total=file.stat().st_size, rows="0", rate="-")

            def on_progress(
                rows: int, done: int, task: Any = task, progress: Any = progress, started: float = started
            ) -> None:
                rate = rows / max(time.monotonic() - started, 1e-6)
                progress.update(task, completed=done, rows=f"{rows:,}", rate=f"{rate:,.0f}")

            try:
                summary = intake.ingest_file(
                    file,
                    platform=platform,
                    kind=kind,
                    principal=jobs.cli_principal(),
                    on_progress=on_progress,
                )
            except EcreditError as exc:
                err.print(f"[red]error:[/red] {file}: {exc}", highlight=False, soft_wrap=True)
                failed = True
                continue
            progress.update(task, completed=file.stat().st_size)
        rate = summary.rows / summary.seconds if summary.seconds else 0.0
        out.print(
            f"{file}: {summary.kind}: {summary.loaded:,} rows loaded, {summary.skipped:,} already loaded, "
            f"{summary.rejected:,} rejected ({rate:,.0f} rows/s)"
            + (f" (see {summary.rejects_file})" if summary.rejected else ""),
            soft_wrap=True,
            highlight=False,
        )
        limit = 0.0 if max_error_rate is None else max_error_rate
        if summary.rejected and summary.error_rate > limit:
            over = True
    raise typer.Exit(2 if failed else 1 if over else 0)


@lake_app.command("stats")
def lake_stats(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: kind -> de-duplicated records.")
    ] = False,
) -> None:
    """Records per kind in the lake (de-duplicated on platform and record id), with rows, files, batches."""
    from ecredit.analytics.lake import Lake
    from ecredit.db import session_scope

    with session_scope(read_only=True) as session:
        stats = Lake().stats(session)
    if as_json:
        sys.stdout.write(json.dumps({k: v["records"] for k, v in stats.items()}) + "\n")
        return
    table = Table("kind", "records", "stored rows", "files", "batches")
    for k, v in stats.items():
        table.add_row(k, f"{v['records']:,}", f"{v['rows']:,}", f"{v['files']:,}", f"{v['batches']:,}")
    out.print(table)


@lake_app.command("compact")
def lake_compact(
    kind: Annotated[str | None, typer.Option(help="Only this kind (default: all).")] = None,
    min_files: Annotated[
        int, typer.Option(min=2, help="Merge partitions with at least this many files.")
    ] = 2,
    orphan_age: Annotated[
        float,
        typer.Option(min=0.0, help="Remove unlisted files (crashed loads) older than this, in seconds."),
    ] = 3600.0,
) -> None:
    """Merge the small files of each partition into one de-duplicated file (an atomic manifest swap)."""
    from ecredit.analytics.lake import KINDS, Lake

    if kind is not None and kind not in KINDS:
        raise EcreditError(f"--kind must be one of {', '.join(KINDS)} (got {kind!r})")
    summary = Lake().compact(kind=kind, min_files=min_files, orphan_age_s=orphan_age)
    out.print(
        f"{summary.partitions} partitions compacted: {summary.files_merged} files into "
        f"{summary.files_written}, {summary.rows_before:,} rows into {summary.rows_after:,}; "
        f"{summary.orphans_removed} orphan files removed",
        highlight=False,
        soft_wrap=True,
    )
    for line in summary.details:
        err.print(line, highlight=False, markup=False)


# ---------------------------------------------------------------- risk warnings and monitoring

warnings_app = typer.Typer(help="Risk warnings (风险预警): list, show, triage, export.", no_args_is_help=True)
monitor_app = typer.Typer(
    help="Big-data monitoring: detector runs and their evaluation.", no_args_is_help=True
)
app.add_typer(warnings_app, name="warnings")
app.add_typer(monitor_app, name="monitor")

_USER = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"


def _warning_filters(
    kind: str | None = None,
    status: str | None = None,
    platform: str | None = None,
    min_score: float | None = None,
    shop: str | None = None,
    account: str | None = None,
) -> Any:
    from ecredit.monitoring.findings import WarningKind
    from ecredit.monitoring.models import WarningStatus
    from ecredit.monitoring.service import WarningFilters

    def choice(enum: Any, value: str | None, option: str) -> Any:
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            raise EcreditError(
                f"{option} must be one of {', '.join(e.value for e in enum)} (got {value!r})"
            ) from None

    return WarningFilters(
        kind=choice(WarningKind, kind, "--kind"),
        status=choice(WarningStatus, status, "--status"),
        platform=platform,
        min_score=min_score,
        shop=shop,
        account=account,
    )


def _json_line(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


@warnings_app.command("list")
def warnings_list(
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. brushing_ring.")] = None,
    status: Annotated[str | None, typer.Option(help="open | confirmed | dismissed")] = None,
    platform: Annotated[str | None, typer.Option(help="Only patterns on this platform.")] = None,
    min_score: Annotated[float | None, typer.Option(help="Score at least this.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per warning.")] = False,
) -> None:
    """List risk warnings, newest first."""
    from ecredit.db import session_scope
    from ecredit.monitoring import service

    filters = _warning_filters(kind, status, platform, min_score)
    with session_scope(read_only=True) as session:
        items: list[Any] = []
        cursor = None
        while len(items) < limit:
            page, cursor = service.list_warnings(
                session, jobs.cli_principal(), filters, cursor=cursor, limit=min(200, limit - len(items))
            )
            items.extend(page)
            if cursor is None:
                break
    if as_json:
        for item in items:
            _json_line(item.model_dump(mode="json"))
        return
    table = Table()
    for name in ("id", "kind", "platform", "status", "score", "shops/accounts/records"):
        table.add_column(name, no_wrap=True)
    table.add_column("summary")  # the one column that wraps
    for w in items:
        c = w.member_counts
        table.add_row(
            w.id,
            w.kind.value,
            w.platform,
            w.status.value,
            f"{w.score:.2f}",
            f"{c.shops}/{c.accounts}/{c.objects}",
            w.summary,
        )
    out.print(table)
    out.print(f"{len(items)} warning(s)", highlight=False)


@warnings_app.command("show")
def warnings_show(
    warning_id: Annotated[str, typer.Argument(help="The warning's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="The warning as one JSON object.")] = False,
) -> None:
    """One warning with its evidence: details and every shop, account and record."""
    from ecredit.db import session_scope
    from ecredit.monitoring import service

    with session_scope(read_only=True) as session:
        w = service.get_warning(session, jobs.cli_principal(), warning_id)
    if as_json:
        _json_line(w.model_dump(mode="json"))
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, value in (
        ("id", w.id),
        ("kind", w.kind.value),
        ("platform", w.platform),
        ("status", w.status.value),
        ("score", f"{w.score:.4g}"),
        ("confidence", f"{w.confidence:.2f}"),
        ("summary", w.summary),
        ("detector", f"{w.detector} {w.detector_version} on {w.engine}, snapshot {w.snapshot}"),
        (
            "seen",
            f"{w.seen_count} run(s), first {w.created_at:%Y-%m-%d %H:%M}, "
            f"last {w.last_seen_at:%Y-%m-%d %H:%M}",
        ),
        (
            "triage",
            f"{w.triaged_by} at {w.triaged_at:%Y-%m-%d %H:%M}: {w.triage_reason or '-'}"
            if w.triaged_at
            else "-",
        ),
        ("subjects", ", ".join(w.subject_ids) or "-"),
        ("details", json.dumps(w.details, ensure_ascii=False)),
    ):
        head.add_row(label, value)
    out.print(head, highlight=False)
    table = Table("role", "platform", "ref", "record kind", "linked", "shop id", "subject id")
    for m in w.members:
        table.add_row(
            m.role.value,
            m.platform,
            m.ref,
            m.object_kind or "",
            "yes" if m.linked else "",
            m.shop_id or "",
            m.subject_id or "",
        )
    out.print(table)


def _triage_command(step: str, warning_id: str, reason: str | None, user: str) -> None:
    import re

    from ecredit.db import session_scope
    from ecredit.monitoring import service
    from ecredit.security.principals import system

    if not re.fullmatch(_USER, user):
        raise EcreditError(f"--user must be a user name (letters, digits, . _ @ -), got {user!r}")
    steps = {
        "confirm": service.confirm_warning,
        "dismiss": service.dismiss_warning,
        "reopen": service.reopen_warning,
    }
    with session_scope() as session:
        warning = steps[step](session, system(user), warning_id, reason=reason)  # type: ignore[operator]
        status = warning.status
    out.print(f"warning {warning_id} is {status}", highlight=False)


_Reason = Annotated[
    str | None, typer.Option(help="Why (masked for phone and ID numbers before it is stored).")
]
_User = Annotated[str, typer.Option(help="Who decides: named in the audit trail as cli:NAME.")]


@warnings_app.command("confirm")
def warnings_confirm(
    warning_id: Annotated[str, typer.Argument(help="The warning's id.")], user: _User, reason: _Reason = None
) -> None:
    """Confirm an open warning as misconduct (audited)."""
    _triage_command("confirm", warning_id, reason, user)


@warnings_app.command("dismiss")
def warnings_dismiss(
    warning_id: Annotated[str, typer.Argument(help="The warning's id.")], user: _User, reason: _Reason = None
) -> None:
    """Dismiss an open warning; --reason is required (audited)."""
    _triage_command("dismiss", warning_id, reason, user)


@warnings_app.command("reopen")
def warnings_reopen(
    warning_id: Annotated[str, typer.Argument(help="The warning's id.")], user: _User, reason: _Reason = None
) -> None:
    """Re-open a confirmed or dismissed warning; --reason is required (audited)."""
    _triage_command("reopen", warning_id, reason, user)


@warnings_app.command("export")
def warnings_export(
    out_file: Annotated[Path, typer.Option("--out", dir_okay=False, help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv | jsonl")] = "csv",
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    status: Annotated[str | None, typer.Option(help="open | confirmed | dismissed")] = None,
    platform: Annotated[str | None, typer.Option(help="Only patterns on this platform.")] = None,
    min_score: Annotated[float | None, typer.Option(help="Score at least this.")] = None,
    shop: Annotated[str | None, typer.Option(help="Only warnings naming this shop (platform id).")] = None,
    account: Annotated[str | None, typer.Option(help="Only warnings naming this account.")] = None,
) -> None:
    """Write warnings to CSV or JSON Lines, streaming (columns in docs/monitoring.md; id lists joined by
    ';', a member on another platform as platform:ref)."""
    import csv
    import os

    from ecredit.db import session_scope
    from ecredit.monitoring import service

    if fmt not in {"csv", "jsonl"}:
        raise EcreditError(f"--format must be csv or jsonl (got {fmt!r})")
    filters = _warning_filters(kind, status, platform, min_score, shop, account)
    principal = jobs.cli_principal()
    partial = out_file.with_name(out_file.name + ".partial")
    rows = 0
    try:
        with session_scope(read_only=True) as session, partial.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=service.EXPORT_COLUMNS) if fmt == "csv" else None
            if writer is not None:
                writer.writeheader()
            for row in service.export_rows(session, principal, filters):
                if writer is not None:
                    writer.writerow(row)
                else:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                rows += 1
        os.replace(partial, out_file)
    finally:
        partial.unlink(missing_ok=True)
    with session_scope() as session:
        service.record_export(session, principal, rows=rows, fmt=fmt, filters=filters)
    out.print(f"{rows:,} warnings written to {out_file}", highlight=False, markup=False, soft_wrap=True)


@monitor_app.command("run")
def monitor_run(
    engine: Annotated[
        str | None, typer.Option(help="duckdb (default: ECREDIT_ENGINE, else duckdb) or spark.")
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option(help="Run only this detector (repeatable); those it needs run too. Default: all."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per detector.")] = False,
) -> None:
    """Run the detectors over the committed lake and store their findings as risk warnings."""
    from ecredit.monitoring import runner

    def go() -> None:
        plan = runner.plan(detector)
        with jobs.progress_bar() as bar:
            task = bar.add_task("monitor", total=len(plan), rate="")
            done: set[str] = set()

            def note(name: str, message: str) -> None:
                bar.update(task, description=f"{name}: {message}"[:60])
                if message.endswith(" findings") and name not in done:
                    done.add(name)
                    bar.advance(task)

            result = runner.run(engine_name=engine, detectors=detector, progress=note)
        if as_json:
            for name, r in result.results.items():
                _json_line(
                    {
                        "detector": name,
                        "version": r.run.version,
                        "engine": r.run.engine,
                        "snapshot": r.run.snapshot,
                        "findings": len(r.findings),
                        "new": r.new,
                        "updated": r.updated,
                        "seconds": round(r.seconds, 2),
                    }
                )
            return
        table = Table(box=None, pad_edge=False)
        for name in ("detector", "findings", "new", "updated", "seconds"):
            table.add_column(name, justify="left" if name == "detector" else "right", no_wrap=True)
        for name, r in result.results.items():
            table.add_row(name, f"{len(r.findings):,}", f"{r.new:,}", f"{r.updated:,}", f"{r.seconds:.1f}")
        out.print(table)
        out.print(
            f"engine {result.engine}, lake snapshot {result.snapshot or '(empty lake)'}, "
            f"{result.seconds:.1f} s"
        )

    _run(go)


@monitor_app.command("evaluate")
def monitor_evaluate(
    truth: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="A simulated province (its truth/ directory).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per row.")] = False,
) -> None:
    """Precision, recall and F1 of the stored warnings (not dismissed) against the simulator's labels."""
    from ecredit.db import session_scope
    from ecredit.monitoring.evaluate import evaluate_store

    with session_scope(read_only=True) as session:
        scores = evaluate_store(session, jobs.cli_principal(), truth)
    if as_json:
        for s in scores:
            _json_line(s.to_dict())
        return

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    table = Table(box=None, pad_edge=False)  # no rules: fits 80 columns
    table.add_column("kind / unit", no_wrap=True)
    for name in ("truth", "warned", "TP", "FP", "FN", "prec.", "recall", "F1"):
        table.add_column(name, justify="right", no_wrap=True)
    for s in scores:
        table.add_row(
            s.unit.label,
            f"{s.truth:,}",
            f"{s.predicted:,}",
            f"{s.tp:,}",
            f"{s.fp:,}",
            f"{s.fn:,}",
            pct(s.precision),
            pct(s.recall),
            pct(s.f1),
        )
    out.print(table)


# ---------------------------------------------------------------- credit records and commitments

records_app = typer.Typer(
    help="Credit records (信用记录): import 双公示 files, list, show, withdraw, repair.", no_args_is_help=True
)
commitments_app = typer.Typer(
    help="Credit commitments (信用承诺): sign, fulfil, breach.", no_args_is_help=True
)
app.add_typer(records_app, name="records")
app.add_typer(commitments_app, name="commitments")


def _cli_user(user: str) -> Any:
    import re

    from ecredit.security.principals import system

    if not re.fullmatch(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", user):
        raise EcreditError(f"--user must be a user name (letters, digits, . _ @ -), got {user!r}")
    return system(user)


def _cli_date(value: str, option: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise EcreditError(f"{option} must be a date YYYY-MM-DD (got {value!r})") from None


@records_app.command("import")
def records_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or .xlsx, 双公示 headers.")
    ],
    kind: Annotated[str, typer.Option(help="penalty | licence")],
    source_department: Annotated[
        str | None,
        typer.Option(help="The deciding authority, for files without a 处罚机关/许可机关 column."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="CSV encoding (default: UTF-8, or GB18030 when the header is).")
    ] = None,
) -> None:
    """Import administrative penalties or licences (双公示 layout; fines in 万元); bad rows go to
    FILE.rejects.csv with their row number and reason, and the exit code is 1."""
    summary = jobs.import_records_file(
        file, kind=kind, source_department=source_department, encoding=encoding
    )
    out.print(
        f"{summary['loaded']} records loaded, {summary['unchanged']} already recorded, "
        f"{summary['registered']} subjects registered from the business register, "
        f"{summary['rejected']} rejected"
        + (f" (see {summary['rejects_file']})" if summary["rejected"] else ""),
        soft_wrap=True,
        highlight=False,
    )
    raise typer.Exit(1 if summary["rejected"] else 0)


@records_app.command("list")
def records_list(
    subject: Annotated[str | None, typer.Option(help="Only this subject's records (its id).")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. administrative_penalty.")] = None,
    status: Annotated[str | None, typer.Option(help="active | expired | repaired | withdrawn")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per record.")] = False,
) -> None:
    """List credit records of the archive (with the derived status `expired`)."""
    from ecredit.db import session_scope
    from ecredit.records import service
    from ecredit.records.models import RecordKind

    if kind is not None and kind not in {k.value for k in RecordKind}:
        raise EcreditError(f"--kind must be one of {', '.join(k.value for k in RecordKind)} (got {kind!r})")
    if status is not None and status not in {"active", "expired", "repaired", "withdrawn"}:
        raise EcreditError(f"--status must be active, expired, repaired or withdrawn (got {status!r})")
    with session_scope(read_only=True) as session:
        items = service.search_records(
            session, jobs.cli_principal(), subject_id=subject, kind=kind, status=status, limit=limit
        )
    if as_json:
        for item in items:
            _json_line(item.model_dump(mode="json"))
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    for name in ("kind", "class", "decided", "public until", "status", "title"):
        table.add_column(name)
    for r in items:
        table.add_row(
            r.id,
            r.kind.value,
            r.severity.value if r.severity else "-",
            str(r.decided_on),
            str(r.publicity_until) if r.publicity_until else "not published",
            r.status,
            r.title,
        )
    out.print(table)
    out.print(f"{len(items)} record(s)", highlight=False)


@records_app.command("show")
def records_show(
    record_id: Annotated[str, typer.Argument(help="The record's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="The record as one JSON object.")] = False,
) -> None:
    """One record with its window, rule, evidence and history."""
    from ecredit.db import session_scope
    from ecredit.records import service

    with session_scope(read_only=True) as session:
        r = service.get_record_detail(session, jobs.cli_principal(), record_id)
    if as_json:
        _json_line(r.model_dump(mode="json"))
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, value in (
        ("id", r.id),
        ("subject", r.subject_id),
        ("kind", f"{r.kind.value} ({r.effect.value}, {r.severity.value if r.severity else '-'})"),
        ("title", r.title),
        ("source", f"{r.source_department} {r.source_ref or ''}"),
        ("legal basis", r.legal_basis),
        ("decided", str(r.decided_on)),
        (
            "publicity",
            f"{r.publicity_from} - {r.publicity_until or 'not published'} "
            f"(repair from {r.publicity_min_until})",
        ),
        ("rule", f"{r.rule} ({r.policy_version}): {r.details.get('rule_source', '')}"),
        ("amount", f"{r.amount_cents / 100:,.2f} yuan" if r.amount_cents is not None else "-"),
        ("status", r.status),
        ("evidence", json.dumps(r.evidence, ensure_ascii=False)),
    ):
        head.add_row(label, value)
    out.print(head, highlight=False)
    table = Table("seq", "action", "actor", "role", "at", "reason")
    for h in r.history:
        table.add_row(str(h.seq), h.action.value, h.actor, h.role, f"{h.at:%Y-%m-%d %H:%M}", h.reason)
    out.print(table)


@records_app.command("withdraw")
def records_withdraw(
    record_id: Annotated[str, typer.Argument(help="The record's id.")],
    user: _User,
    reason: Annotated[str, typer.Option(help="Why (masked for phone and ID numbers).")],
    revoked_on: Annotated[str, typer.Option(help="When the decision was revoked or changed (YYYY-MM-DD).")],
) -> None:
    """Withdraw a record whose basis was revoked; says whether the legal deadline was kept (audited)."""
    from ecredit.db import session_scope
    from ecredit.records import service

    with session_scope() as session:
        _, timing = service.withdraw_record(
            session,
            _cli_user(user),
            record_id,
            reason=reason,
            basis_revoked_on=_cli_date(revoked_on, "--revoked-on"),
        )
    when = (
        f"deadline {timing['deadline']}, {'LATE' if timing['late'] else 'on time'}"
        if timing["deadline"]
        else f"deadline unknown: {timing.get('deadline_unknown')}"
    )
    out.print(f"record {record_id} is withdrawn ({when})", highlight=False)


@records_app.command("repair")
def records_repair(
    record_id: Annotated[str, typer.Argument(help="The record's id.")],
    user: _User,
    reason: Annotated[str, typer.Option(help="Why (masked for phone and ID numbers).")],
    commitment: Annotated[
        str | None, typer.Option(help="The subject's signed repair commitment (its id).")
    ] = None,
) -> None:
    """Repair a record: it leaves every public output and score, and stays in the archive (audited)."""
    from ecredit.db import session_scope
    from ecredit.records import service

    with session_scope() as session:
        service.repair_record(session, _cli_user(user), record_id, reason=reason, commitment_id=commitment)
    out.print(f"record {record_id} is repaired", highlight=False)


@commitments_app.command("sign")
def commitments_sign(
    subject: Annotated[str, typer.Option(help="The subject's id.")],
    commitment_type: Annotated[str, typer.Option("--type", help="A configured type, e.g. repair.")],
    text: Annotated[str, typer.Option(help="What the subject promises.")],
    department: Annotated[str, typer.Option(help="The department that takes the commitment.")],
    user: _User,
    signed_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).")] = None,
    due_on: Annotated[str | None, typer.Option(help="By when it must be kept (YYYY-MM-DD).")] = None,
) -> None:
    """A subject signs a credit commitment; it is recorded as a `commitment` record."""
    from pydantic import ValidationError

    from ecredit.db import session_scope
    from ecredit.kit.clock import today
    from ecredit.records import service
    from ecredit.records.schemas import CommitmentCreate

    try:
        data = CommitmentCreate(
            subject_id=subject,
            type=commitment_type,
            text=text,
            source_department=department,
            signed_on=_cli_date(signed_on, "--signed-on") if signed_on else today(),
            due_on=_cli_date(due_on, "--due-on") if due_on else None,
        )
    except ValidationError as exc:
        raise _validation_error(exc) from None
    with session_scope() as session:
        commitment = service.sign_commitment(session, _cli_user(user), data)
        commitment_id = commitment.id
    out.print(f"commitment {commitment_id} signed", highlight=False)


def _close_commitment(step: str, commitment_id: str, user: str, on: str | None, reason: str | None) -> None:
    from pydantic import ValidationError

    from ecredit.db import session_scope
    from ecredit.kit.clock import today
    from ecredit.records import service
    from ecredit.records.schemas import CommitmentBreach, CommitmentFulfil

    day = _cli_date(on, "--on") if on else today()
    try:
        with session_scope() as session:
            if step == "fulfil":
                c = service.fulfil_commitment(
                    session, _cli_user(user), commitment_id, CommitmentFulfil(on=day, note=reason)
                )
            else:
                c = service.breach_commitment(
                    session, _cli_user(user), commitment_id, CommitmentBreach(on=day, reason=reason or "")
                )
            record_id = c.outcome_record_id
    except ValidationError as exc:
        raise _validation_error(exc) from None
    done = "fulfilled" if step == "fulfil" else "breached"
    out.print(f"commitment {commitment_id} is {done} (record {record_id})", highlight=False)


@commitments_app.command("fulfil")
def commitments_fulfil(
    commitment_id: Annotated[str, typer.Argument(help="The commitment's id.")],
    user: _User,
    on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).")] = None,
    note: Annotated[str | None, typer.Option(help="A note.")] = None,
) -> None:
    """The commitment was kept: a `commitment_fulfilled` record."""
    _close_commitment("fulfil", commitment_id, user, on, note)


@commitments_app.command("breach")
def commitments_breach(
    commitment_id: Annotated[str, typer.Argument(help="The commitment's id.")],
    user: _User,
    reason: Annotated[str, typer.Option(help="How it was broken.")],
    on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).")] = None,
) -> None:
    """The commitment was broken: a `commitment_breach` record (its class by type)."""
    _close_commitment("breach", commitment_id, user, on, reason)


# ---------------------------------------------------------------- credit evaluation and supervision

score_app = typer.Typer(
    help="Credit evaluation: scores, grades, risk classes, credit points.", no_args_is_help=True
)
app.add_typer(score_app, name="score")
supervision_app = typer.Typer(
    help="Classified supervision: random-inspection plans (双随机抽查).", no_args_is_help=True
)
app.add_typer(supervision_app, name="supervision")


@score_app.command("run")
def score_run(
    engine: Annotated[
        str | None, typer.Option(help="duckdb (default: ECREDIT_ENGINE, else duckdb) or spark.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default: today in China).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object with the run's counts.")] = False,
) -> None:
    """Evaluate every shop, platform and logistics company with the indicator model; store the scores."""
    import datetime as dt

    from ecredit.errors import BadRequest
    from ecredit.scoring import runner, spec

    def go() -> None:
        day = None
        if as_of is not None:
            try:
                day = dt.date.fromisoformat(as_of)
            except ValueError:
                raise BadRequest(f"--as-of: {as_of!r} is not a date YYYY-MM-DD") from None
        model = spec.load()
        steps = 2 + sum(len(model.for_entity(e)) for e in model.entities)
        with jobs.progress_bar() as bar:
            task = bar.add_task("score", total=steps, rate="")

            def note(message: str) -> None:
                bar.update(task, description=message[:60])
                bar.advance(task)

            result = runner.run(engine_name=engine, as_of=day, progress=note)
            bar.update(task, completed=steps)
        if as_json:
            _json_line(
                {
                    "run_id": result.run_id,
                    "model": model.ref,
                    "engine": result.evaluation.engine,
                    "snapshot": result.evaluation.snapshot,
                    "as_of": result.evaluation.as_of.isoformat(),
                    "counts": result.counts,
                    "seconds": round(result.seconds, 2),
                }
            )
            return
        table = Table(box=None, pad_edge=False)
        for name in ("entity", "evaluated", "A", "B", "C", "D", "overrides"):
            table.add_column(name, justify="left" if name == "entity" else "right", no_wrap=True)
        for entity, c in result.counts.items():
            classes = c["classes"]
            table.add_row(
                entity,
                f"{c['entities']:,}",
                *(f"{classes.get(k, 0):,}" for k in "ABCD"),
                f"{c['overrides']:,}",
            )
        out.print(table)
        out.print(
            f"run {result.run_id}, model {model.ref}, engine {result.evaluation.engine}, "
            f"lake snapshot {result.evaluation.snapshot or '(empty lake)'}, {result.seconds:.1f} s",
            highlight=False,
        )

    _run(go)


@supervision_app.command("plan")
def supervision_plan(
    department: Annotated[str, typer.Option(help="The inspecting department's code.")],
    region: Annotated[str, typer.Option(help="GB/T 2260 region code, e.g. 370100 (Jinan) or 370000.")],
    size: Annotated[int, typer.Option(help="How many entities to draw.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and data give the same plan.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Output path without suffix (writes .csv and .xlsx).")
    ] = None,
) -> None:
    """Draw a random-inspection plan, rates per risk class from policy/scoring.toml; CSV and Excel."""
    from ecredit.db import session_scope
    from ecredit.scoring import supervision

    def go() -> None:
        with session_scope() as session:
            result = supervision.make_plan(
                session, jobs.cli_principal(), department=department, region=region, size=size, seed=seed
            )
            target = out_file or Path(f"inspection-plan-{department}-{region}-{seed}")
            csv_path, xlsx_path = supervision.write_files(result, target)
            plan_id = result.plan.id
            population = dict(result.plan.population)
        drawn: dict[str, int] = {}
        for row in result.rows:
            drawn[row["风险分类"]] = drawn.get(row["风险分类"], 0) + 1
        table = Table(box=None, pad_edge=False)
        for name in ("class", "population", "drawn"):
            table.add_column(name, justify="left" if name == "class" else "right", no_wrap=True)
        for k in "ABCD":
            table.add_row(k, f"{population.get(k, 0):,}", f"{drawn.get(k, 0):,}")
        out.print(table)
        out.print(
            f"plan {plan_id}: {len(result.rows):,} drawn; {csv_path}, {xlsx_path}",
            highlight=False,
            soft_wrap=True,
        )

    _run(go)


# ---------------------------------------------------------------- red and black lists, working days

lists_app = typer.Typer(
    help="Red and black lists (守信红名单 / 失信黑名单): the listing procedure, objections, credit repair.",
    no_args_is_help=True,
)
calendar_app = typer.Typer(
    help="The working-day calendar (State Council holiday notices).", no_args_is_help=True
)
app.add_typer(lists_app, name="lists")
app.add_typer(calendar_app, name="calendar")

_Why = Annotated[str, typer.Option(help="Why (masked for phone and ID numbers).")]
_Entry = Annotated[str, typer.Argument(help="The list entry's id.")]
_Json = Annotated[bool, typer.Option("--json", help="The result as one JSON object.")]


@contextlib.contextmanager
def _lists_session(read_only: bool = False) -> Iterator[Any]:
    """A session for a lists command, with this process's working-day table read from the store and the
    domain events wired (a publication issues its enforcement orders from the CLI as from the API)."""
    from ecredit import wiring
    from ecredit.db import session_scope
    from ecredit.kit import workdays

    wiring.wire()
    with session_scope(read_only=read_only) as session:
        workdays.refresh(session)
        yield session


def _lists_step(fn: Callable[[Any], Any], done: Callable[[Any], str], as_json: bool = False) -> None:
    """Run one step in its own transaction (committed on success, nothing changed on error: then one
    ``error: ...`` line and exit code 2)."""

    def go() -> None:
        with _lists_session() as session:
            result = fn(session)
            message = done(result)
            payload = _lists_json(result) if as_json else None
        if as_json:
            _json_line(payload)
        else:
            out.print(message, highlight=False, soft_wrap=True)

    _run(go)


def _lists_json(result: Any) -> Any:
    from ecredit.lists import service
    from ecredit.lists.models import ListEntry

    if isinstance(result, tuple):
        result = result[0]
    if isinstance(result, ListEntry):
        return service.entry_read(result).model_dump(mode="json")
    return result


def _entry_line(entry: Any) -> str:
    due = (
        f", due {entry.due_on}"
        if entry.due_on
        else (", deadline unknown (no calendar)" if entry.due_unknown else "")
    )
    from ecredit.lists import rules
    from ecredit.lists.catalogue import catalogue

    following = ", ".join(
        a.value for a in rules.next_steps(catalogue().list_type(entry.list_type), entry.state)
    )
    return f"entry {entry.id} ({entry.list_type}) is {entry.state}{due}; next: {following or 'none'}"


@lists_app.command("types")
def lists_types(as_json: _Json = False) -> None:
    """The list types with their legal basis, procedure, term and measures."""
    from ecredit.lists import service

    cat = service.catalogue_read()
    if as_json:
        _json_line(cat.model_dump(mode="json"))
        return
    table = Table("key", "colour", "name", "procedure", "term", "early removal", "measures")
    for t in cat.types:
        table.add_row(
            t.key,
            t.colour,
            t.name_zh,
            " → ".join(t.procedure),
            f"{t.duration_months} months",
            "never"
            if t.early_removal_after_months is None
            else f"after {t.early_removal_after_months} months",
            str(len(t.measures)),
        )
    out.print(table)
    out.print(f"policy {cat.version}", highlight=False)


@lists_app.command("nominate")
def lists_nominate(
    subject: Annotated[str, typer.Option(help="The subject's id.")],
    list_type: Annotated[str, typer.Option("--type", help="The list type key (ecredit lists types).")],
    user: _User,
    reason: _Why,
    basis: Annotated[list[str] | None, typer.Option(help="A basis credit record's id (repeatable).")] = None,
    evidence: Annotated[list[str] | None, typer.Option(help="Evidence as KEY=VALUE (repeatable).")] = None,
    by_rule: Annotated[bool, typer.Option("--by-rule", help="Nominate when the type's rule holds.")] = False,
    as_json: _Json = False,
) -> None:
    """Nominate a subject for a list (by a regulator, with basis records and evidence; or by the type's
    rule over records and scores)."""
    from ecredit.lists import service

    principal = _cli_user(user)
    pairs = {}
    for item in evidence or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise EcreditError(f"--evidence must be KEY=VALUE (got {item!r})")
        pairs[key] = value

    def go(session: Any) -> Any:
        if by_rule:
            entry = service.nominate_by_rule(session, principal, list_type=list_type, subject_id=subject)
            if entry is None:
                lt = service.catalogue().list_type(list_type)
                why = service.evaluate_rule(session, lt, subject, service.clock.today()).why
                raise EcreditError(f"not nominated: the rule does not hold or an entry is open ({why})")
            return entry
        return service.nominate(
            session, principal, service.Nomination(subject, list_type, reason, list(basis or []), pairs)
        )

    _lists_step(go, _entry_line, as_json)


def _simple_step(name: str, fn_name: str) -> None:
    def command(entry_id: _Entry, user: _User, reason: _Why, as_json: _Json = False) -> None:
        from ecredit.lists import service

        principal = _cli_user(user)
        fn = getattr(service, fn_name)
        _lists_step(
            lambda session: fn(session, principal, entry_id, reason=reason),
            lambda result: (
                _entry_line(result[0] if isinstance(result, tuple) else result)
                + (f"; document {result[1].number}" if isinstance(result, tuple) else "")
            ),
            as_json,
        )

    command.__doc__ = {
        "notify": "Serve the prior notice (告知书); the defence window starts.",
        "close-defence": "Close a defence window that passed unused.",
        "review": "Review the file (a second regulator: not the nominator).",
        "decide": "Take the listing decision (决定书); publication becomes due.",
        "approve": "Approve the decision as the next level up (types with higher-level approval).",
        "publish": "Publish the entry: its credit record is made and its measures take effect.",
    }[name]
    lists_app.command(name)(command)


for _name, _fn in (
    ("notify", "notify"),
    ("close-defence", "close_defence"),
    ("review", "review"),
    ("decide", "decide"),
    ("approve", "approve_higher"),
    ("publish", "publish"),
):
    _simple_step(_name, _fn)


@lists_app.command("record-defence")
def lists_record_defence(
    entry_id: _Entry,
    user: _User,
    statement: Annotated[str, typer.Option(help="The party's statement and defence (陈述申辩).")],
    filed_on: Annotated[
        str | None, typer.Option(help="When it was filed (YYYY-MM-DD, default today).")
    ] = None,
    hearing: Annotated[bool, typer.Option("--hearing", help="The party asked for a hearing (听证).")] = False,
    as_json: _Json = False,
) -> None:
    """Record the party's statement and defence, filed inside the window."""
    from ecredit.lists import service

    principal = _cli_user(user)
    day = _cli_date(filed_on, "--filed-on") if filed_on else service.clock.today()
    _lists_step(
        lambda session: service.record_defence(
            session, principal, entry_id, statement=statement, filed_on=day, hearing_requested=hearing
        ),
        _entry_line,
        as_json,
    )


@lists_app.command("withdraw")
def lists_withdraw(
    entry_id: _Entry,
    user: _User,
    reason: _Why,
    revoked_on: Annotated[str, typer.Option(help="When the basis was revoked (YYYY-MM-DD).")],
    as_json: _Json = False,
) -> None:
    """Withdraw a published entry whose basis was revoked (out of public view at once)."""
    from ecredit.lists import service

    principal = _cli_user(user)
    day = _cli_date(revoked_on, "--revoked-on")

    def done(result: Any) -> str:
        entry, timing = result
        when = (
            f"deadline {timing['deadline']}, {'LATE' if timing['late'] else 'on time'}"
            if timing["deadline"]
            else f"deadline unknown: {timing.get('deadline_unknown')}"
        )
        return f"{_entry_line(entry)} ({when})"

    _lists_step(
        lambda session: service.withdraw(session, principal, entry_id, reason=reason, basis_revoked_on=day),
        done,
        as_json,
    )


@lists_app.command("drop")
def lists_drop(
    entry_id: _Entry,
    user: _User,
    reason: _Why,
    ground: Annotated[str, typer.Option(help="no_basis | no_intent | other")] = "no_basis",
    as_json: _Json = False,
) -> None:
    """End a pending procedure without a listing (no basis; the party proved no intent)."""
    from ecredit.lists import service

    if ground not in ("no_basis", "no_intent", "other"):
        raise EcreditError(f"--ground must be no_basis, no_intent or other (got {ground!r})")
    principal = _cli_user(user)
    _lists_step(
        lambda session: service.drop(session, principal, entry_id, reason=reason, ground=ground),
        _entry_line,
        as_json,
    )


@lists_app.command("object")
def lists_object(
    entry_id: _Entry,
    user: _User,
    grounds: Annotated[str, typer.Option(help="The objection's grounds (异议).")],
    filed_on: Annotated[
        str | None, typer.Option(help="When it was filed (YYYY-MM-DD, default today).")
    ] = None,
) -> None:
    """Register an objection to a published entry."""
    from ecredit.lists import service

    principal = _cli_user(user)
    day = _cli_date(filed_on, "--filed-on") if filed_on else service.clock.today()
    _lists_step(
        lambda session: service.file_objection(session, principal, entry_id, grounds=grounds, filed_on=day),
        lambda o: (
            f"objection {o.id} registered on entry {o.entry_id}; answer due "
            + (str(o.due_on) if o.due_on else "unknown (no calendar)")
        ),
    )


@lists_app.command("answer-objection")
def lists_answer_objection(
    objection_id: Annotated[str, typer.Argument(help="The objection's id.")],
    user: _User,
    answer: Annotated[str, typer.Option(help="The answer.")],
    upheld: Annotated[bool, typer.Option("--upheld/--rejected", help="Whether the objection is right.")],
    remedy: Annotated[str | None, typer.Option(help="Upheld: withdraw | correct.")] = None,
    correction: Annotated[str | None, typer.Option(help="The corrected reasons (remedy correct).")] = None,
) -> None:
    """Answer an objection (with its answer document); an upheld one withdraws or corrects the entry."""
    from ecredit.lists import service

    principal = _cli_user(user)
    _lists_step(
        lambda session: service.answer_objection(
            session,
            principal,
            objection_id,
            upheld=upheld,
            answer=answer,
            remedy=remedy,
            correction=correction,
        ),
        lambda r: f"objection {r[0].id} is {r[0].status}; answer {r[1].number}",
    )


@lists_app.command("repair")
def lists_repair(
    target: Annotated[str, typer.Argument(help="The list entry's (or credit record's) id.")],
    user: _User,
    statement: Annotated[str, typer.Option(help="What was corrected, which duties were fulfilled.")],
    record: Annotated[bool, typer.Option("--record", help="The target is a credit record.")] = False,
    duties_fulfilled: Annotated[
        bool, typer.Option("--duties-fulfilled", help="Duties declared fulfilled.")
    ] = False,
    evidence: Annotated[list[str] | None, typer.Option(help="Evidence of the duties as KEY=VALUE.")] = None,
    commitment: Annotated[str | None, typer.Option(help="The signed repair commitment's id.")] = None,
    decide: Annotated[
        str | None, typer.Option(help="Decide at once as the department: approve | reject.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="The decision's reason (with --decide).")] = None,
) -> None:
    """Apply for credit repair (信用修复): the conditions are checked and shown; with --decide the
    department decides in the same command."""
    from ecredit.lists import service

    principal = _cli_user(user)
    pairs = dict(item.partition("=")[::2] for item in evidence or [])
    if decide not in (None, "approve", "reject"):
        raise EcreditError(f"--decide must be approve or reject (got {decide!r})")
    if decide and not reason:
        raise EcreditError("--decide needs --reason")

    def go(session: Any) -> Any:
        application = service.apply_for_repair(
            session,
            principal,
            service.RepairRequest(
                "record" if record else "list_entry",
                target,
                statement,
                duties_fulfilled,
                pairs,
                commitment,
                "cli",
            ),
        )
        if decide:
            session.flush()
            service.decide_repair(
                session, principal, application.id, approve=decide == "approve", reason=reason or ""
            )
        return application

    def done(a: Any) -> str:
        lines = [f"repair application {a.id}: {a.status}"]
        for name, c in a.conditions["items"].items():
            lines.append(f"  {'✓' if c['met'] else '✗'} {name}: {c['why']}")
        return "\n".join(lines)

    _lists_step(go, done)


@lists_app.command("decide-repair")
def lists_decide_repair(
    application_id: Annotated[str, typer.Argument(help="The repair application's id.")],
    user: _User,
    reason: _Why,
    approve: Annotated[bool, typer.Option("--approve/--reject", help="The decision.")],
) -> None:
    """Decide a repair application as the responsible department (approval needs every condition met)."""
    from ecredit.lists import service

    principal = _cli_user(user)
    _lists_step(
        lambda session: service.decide_repair(
            session, principal, application_id, approve=approve, reason=reason
        ),
        lambda a: f"repair application {a.id}: {a.status}",
    )


@lists_app.command("run-expiry")
def lists_run_expiry(
    today: Annotated[str | None, typer.Option(help="Run as of this day (YYYY-MM-DD, default today).")] = None,
    as_json: _Json = False,
) -> None:
    """Store `expired` for entries past their term; escalate long abnormal-operation listings."""
    from ecredit.lists import service

    day = _cli_date(today, "--today") if today else None
    _lists_step(
        lambda session: service.run_expiry(session, jobs.cli_principal(), today=day),
        lambda r: (
            f"{len(r['expired'])} entries expired, {len(r['escalated'])} escalated (as of {r['today']})"
        ),
        as_json,
    )


@lists_app.command("queue")
def lists_queue(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per item.")] = False,
) -> None:
    """Overdue steps (defence windows, publications, withdrawals, objections, repair decisions) and
    steps whose deadline is unknown."""
    import dataclasses

    from ecredit.lists import service

    with _lists_session(read_only=True) as session:
        items = service.queue(session, jobs.cli_principal())
    if as_json:
        for item in items:
            _json_line(
                {
                    k: str(v) if v is not None and not isinstance(v, bool | int) else v
                    for k, v in dataclasses.asdict(item).items()
                }
            )
        return
    table = Table("kind", "object", "subject", "state", "due", "overdue (working days)")
    for i in items:
        table.add_row(
            i.kind,
            f"{i.object_type} {i.object_id}",
            i.subject_id,
            i.state,
            "UNKNOWN (no calendar)" if i.due_unknown else str(i.due_on),
            "-" if i.overdue_workdays is None else str(i.overdue_workdays),
        )
    out.print(table)
    out.print(f"{len(items)} item(s)", highlight=False)


@lists_app.command("list")
def lists_list(
    subject: Annotated[str | None, typer.Option(help="Only this subject's entries.")] = None,
    list_type: Annotated[str | None, typer.Option("--type", help="Only this list type.")] = None,
    state: Annotated[str | None, typer.Option(help="Only entries in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entry.")] = False,
) -> None:
    """List entries of the archive."""
    from ecredit.lists import service

    with _lists_session(read_only=True) as session:
        found = [
            service.entry_read(e)
            for e in service.search_entries(
                session,
                jobs.cli_principal(),
                subject_id=subject,
                list_type=list_type,
                state=state,
                limit=limit,
            )
        ]
    if as_json:
        for e in found:
            _json_line(e.model_dump(mode="json"))
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    for name in ("type", "subject", "state", "due", "published", "until"):
        table.add_column(name)
    for e in found:
        table.add_row(
            e.id,
            e.list_type,
            e.subject_id,
            e.state.value,
            "UNKNOWN" if e.due_unknown else str(e.due_on or "-"),
            str(e.published_on or "-"),
            str(e.effective_until or "-"),
        )
    out.print(table)
    out.print(f"{len(found)} entr{'y' if len(found) == 1 else 'ies'}", highlight=False)


@lists_app.command("show")
def lists_show(entry_id: _Entry, as_json: _Json = False) -> None:
    """One entry with its history, documents, objections and repair applications."""
    from ecredit.lists import service

    with _lists_session(read_only=True) as session:
        detail = service.entry_detail(session, service.get_entry(session, jobs.cli_principal(), entry_id))
    if as_json:
        _json_line(detail.model_dump(mode="json"))
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, value in (
        ("id", detail.id),
        ("list", f"{detail.list_type} ({detail.colour})"),
        ("subject", detail.subject_id),
        ("state", detail.state.value),
        ("next steps", ", ".join(detail.next_steps) or "none"),
        ("reason", detail.reason),
        ("basis", ", ".join(detail.basis_record_ids) or "-"),
        ("due", "UNKNOWN (no calendar)" if detail.due_unknown else str(detail.due_on or "-")),
        ("published", f"{detail.published_on or '-'} until {detail.effective_until or '-'}"),
        ("record", detail.record_id or "-"),
    ):
        head.add_row(label, value)
    out.print(head, highlight=False)
    table = Table("seq", "action", "from", "to", "actor", "role", "at", "reason")
    for h in detail.history:
        table.add_row(
            str(h.seq),
            h.action,
            h.from_state or "-",
            h.to_state,
            h.actor,
            h.role,
            f"{h.at:%Y-%m-%d %H:%M}",
            h.reason,
        )
    out.print(table)
    for d in detail.documents:
        out.print(f"document {d.kind.value} {d.number} sha256 {d.sha256}", highlight=False)


@calendar_app.command("load")
def calendar_load(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV: date,kind,name,source.")
    ],
    user: _User,
) -> None:
    """Load a year's holidays and make-up working days from the State Council's notice (replaces the
    years in the file); deadlines flagged unknown are computed again (audited)."""
    from ecredit.db import session_scope
    from ecredit.kit import clock, workdays
    from ecredit.lists import service as lists_service
    from ecredit.security.trail import record_change

    principal = _cli_user(user)
    rows = workdays.parse_csv(file.read_text(encoding="utf-8"))
    with session_scope() as session:
        years = workdays.load_rows(session, rows, loaded_by=principal.actor, now=clock.utc_now())
        recomputed = lists_service.recompute_unknown_deadlines(session)
        record_change(
            session,
            principal,
            "calendar.load",
            "calendar_day",
            ",".join(map(str, years)),
            {"rows": len(rows), "file": file.name, "sources": sorted({r["source"] for r in rows})},
        )
    out.print(
        f"{len(rows)} day(s) loaded for {', '.join(map(str, years))}; "
        f"{recomputed} deadline(s) that were unknown now computed",
        highlight=False,
    )


@calendar_app.command("years")
def calendar_years() -> None:
    """The years deadlines may reach into (the pinned package's and the loaded table's)."""
    from ecredit.kit import workdays

    with _lists_session(read_only=True):
        pass
    out.print(", ".join(map(str, workdays.known_years())), highlight=False)


# ---------------------------------------------------------------- check API and enforcement orders (lists)

orders_app = typer.Typer(
    help="Platform enforcement orders (联合惩戒): list, report, overdue.", no_args_is_help=True
)
app.add_typer(orders_app, name="orders")


def _check_items(usccs: list[str], subject_ids: list[str], file: Path | None) -> list[Any]:
    """The subjects of ``ecredit check``: USCCs and subject ids from options, anything (ID numbers too)
    from the file: one subject per line, either the bare identifier (a USCC, an ID number or a subject id)
    or ``key,value`` with key uscc | id_number | subject_id; blank lines and ``#`` comments skipped."""
    import re

    from pydantic import ValidationError

    from ecredit.identifiers import detect_kind
    from ecredit.lists.check_schemas import CheckItem

    raw: list[tuple[str, dict[str, str]]] = [("--uscc", {"uscc": u}) for u in usccs]
    raw += [("--subject-id", {"subject_id": i}) for i in subject_ids]
    if file is not None:
        text = file.read_text(encoding="utf-8-sig")
        for n, line in enumerate(text.splitlines(), start=1):
            line = line.strip()  # noqa: PLW2901
            if not line or line.startswith("#") or line.lower() in {"key,value", "subject"}:
                continue
            if "," in line:
                key, _, value = (part.strip() for part in line.partition(","))
            elif re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", line):
                key, value = "subject_id", line
            else:
                kind = detect_kind(line)
                key, value = {"uscc": "uscc", "ric": "id_number"}.get(kind, "unknown"), line
            if key not in {"uscc", "id_number", "subject_id"}:
                raise EcreditError(f"{file.name} line {n}: not a USCC, ID number or subject id")
            raw.append((f"{file.name} line {n}", {key: value}))
    items = []
    for where, values in raw:
        try:
            items.append(CheckItem(**values))
        except ValidationError as exc:  # the reason only: never the value (an ID number)
            reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise EcreditError(f"{where}: {reason}") from None
    if not items:
        raise EcreditError("name at least one subject (--uscc, --subject-id or --file)")
    return items


@app.command("check")
def check_command(
    action: Annotated[str, typer.Option(help="A check action, e.g. loan, open_shop, legal_representative.")],
    uscc: Annotated[list[str] | None, typer.Option("--uscc", help="A USCC (repeatable).")] = None,
    subject_id: Annotated[
        list[str] | None, typer.Option("--subject-id", help="A subject id (repeatable).")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Subjects, one per line (ID numbers go here only).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The whole answer as one JSON object.")] = False,
) -> None:
    """May these subjects do ACTION? Answers allowed / restricted / rewarded / unknown with the entries,
    measures and legal basis behind each, and the data version (audited: one entry per call)."""
    from ecredit.db import session_scope
    from ecredit.kit.clock import today
    from ecredit.lists import check as check_service
    from ecredit.lists.check_schemas import CheckResponse

    items = _check_items(uscc or [], subject_id or [], file)
    with session_scope() as session:
        result = check_service.check(session, jobs.cli_principal(), items, action, today())
    body = CheckResponse.model_validate(result)
    if as_json:
        _json_line(body.model_dump(mode="json"))
        return
    table = Table()
    for name in ("#", "subject", "answer", "entries", "measures", "why"):
        table.add_column(name)
    for a in body.results:
        table.add_row(
            str(a.index),
            f"{a.ref}" + (f"\n{a.name}" if a.name else ""),
            a.answer,
            "\n".join(f"{e.list_type} ({e.colour}, until {e.effective_until})" for e in a.entries) or "-",
            "\n".join(f"{m.measure}: {m.legal_basis}" for m in a.measures) or "-",
            a.explanation,
        )
    out.print(table)
    c = body.counts
    out.print(
        f"{body.action} ({body.action_name}): {c.restricted} restricted, {c.rewarded} rewarded, "
        f"{c.allowed} allowed, {c.unknown} unknown · data version {body.data_version.stamp}",
        highlight=False,
        soft_wrap=True,
    )


def _order_table(items: list[dict[str, Any]]) -> Table:
    table = Table()
    for name in ("id", "platform", "shop", "measure", "status", "due", "reported", "late", "overdue"):
        table.add_column(name, no_wrap=name == "id")
    for o in items:
        due = "unknown" if o["due_unknown"] else str(o["due_on"])
        if o["lift_due_on"]:
            due += f" (undo by {o['lift_due_on']})"
        table.add_row(
            o["id"],
            o["platform"],
            o["platform_shop_id"] or "-",
            o["measure"],
            o["status"],
            due,
            str(o["reported_on"] or "-"),
            {True: "LATE", False: "on time", None: "-"}[o["late"]],
            "OVERDUE" if o["overdue"] else "",
        )
    return table


@orders_app.command("list")
def orders_list(
    status: Annotated[str | None, typer.Option(help="issued | completed | lifted | lift_confirmed")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only orders past a deadline unreported.")
    ] = False,
    entry: Annotated[str | None, typer.Option(help="Only the orders of this list entry (its id).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="At most this many, oldest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per order.")] = False,
) -> None:
    """List enforcement orders with their deadlines and reports."""
    from ecredit.db import session_scope
    from ecredit.kit.clock import today
    from ecredit.lists import enforcement
    from ecredit.lists.models import OrderStatus

    if status is not None and status not in {s.value for s in OrderStatus}:
        raise EcreditError(
            f"--status must be one of {', '.join(s.value for s in OrderStatus)} (got {status!r})"
        )
    with session_scope(read_only=True) as session:
        items, _ = enforcement.list_orders(
            session,
            jobs.cli_principal(),
            today=today(),
            status=status,
            overdue=overdue,
            entry_id=entry,
            limit=limit,
        )
    _print_orders(items, as_json)


def _print_orders(items: list[dict[str, Any]], as_json: bool) -> None:
    from ecredit.lists.check_schemas import OrderRead

    if as_json:
        for item in items:
            _json_line(OrderRead.model_validate(item).model_dump(mode="json"))
        return
    out.print(_order_table(items))
    out.print(f"{len(items)} order(s)", highlight=False)


@orders_app.command("overdue")
def orders_overdue(
    limit: Annotated[int, typer.Option(min=1, max=200, help="At most this many, oldest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per order.")] = False,
) -> None:
    """Every platform's orders past their deadline (to carry out, or to undo) with no report."""
    from ecredit.db import session_scope
    from ecredit.kit.clock import today
    from ecredit.lists import enforcement

    with session_scope(read_only=True) as session:
        items, _ = enforcement.overdue_orders(session, jobs.cli_principal(), today=today(), limit=limit)
    _print_orders(items, as_json)


@orders_app.command("report")
def orders_report(
    order_id: Annotated[str, typer.Argument(help="The order's id.")],
    platform: Annotated[str, typer.Option(help="The reporting platform's code (the order must be its own).")],
    report: Annotated[str, typer.Option(help="What the platform did (masked for phone and ID numbers).")],
    lift: Annotated[
        bool, typer.Option("--lift", help="Report the measure of a lifted order undone.")
    ] = False,
    on: Annotated[str | None, typer.Option(help="The day of the report (YYYY-MM-DD; default today).")] = None,
) -> None:
    """Record a platform's report on an order (for platforms without API access; audited)."""
    from ecredit.db import session_scope
    from ecredit.kit.clock import today
    from ecredit.lists import enforcement
    from ecredit.security.principals import Principal, Role
    from ecredit.subjects import repository as subjects_repo

    day = _cli_date(on, "--on") if on else today()
    with session_scope() as session:
        found = subjects_repo.get_platform_by_code(session, platform)
        if found is None:
            raise EcreditError(f"--platform: no platform {platform!r}")
        principal = Principal(
            actor=f"{jobs.cli_principal().actor}@{platform}", role=Role.platform, platform_id=found.id
        )
        step = enforcement.report_lift if lift else enforcement.report_completion
        view = step(session, principal, order_id, report=report, today=day)
    late = view["lift_late"] if lift else view["late"]
    out.print(f"order {order_id} is {view['status']} ({'LATE' if late else 'on time'})", highlight=False)


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
