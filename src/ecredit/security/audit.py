"""The tamper-evident audit trail (RELIABILITY.md C12, OWASP ASVS 16.4): a hash chain in the store, RFC 6962
Merkle tree heads, and signed checkpoints that anyone holding the public key can check.

**Entries.** ``record()`` appends one ``audit_entry`` row in the caller's transaction (flush only), so a
business change and its audit entry commit or roll back together (C10). ``seq`` runs 1, 2, 3... without
gaps. Appends are serialised by the one-row ``audit_head`` table (last seq, last hash): the append moves
it with a compare-and-set ``UPDATE ... WHERE last_seq = :seen AND last_hash = :seen_hash``, where the seen
head is the one this process appended last; when another writer moved it since, the append reads it
(``SELECT ... FOR UPDATE``) and moves it from there. On PostgreSQL the update locks the row until the caller
commits; on SQLite every writer already holds the database lock (``BEGIN IMMEDIATE``). So an append costs
two statements, the head update and the insert. ``record()`` is ``append(session, prepare(...))``: a
service that writes can call ``prepare()`` (checks, masking, canonical formatting) before its first
statement, which on SQLite takes the write lock, and ``append()`` inside it. The head lock is a hot spot.
``audit_entry`` is append-only in the database as well (triggers refuse UPDATE, DELETE and TRUNCATE), so
only someone with DDL rights can tamper, and the chain and checkpoints catch that.

**Canonical bytes.** ``canonical(fields)`` is JSON with sorted keys, no spaces, UTF-8 (non-ASCII kept,
``ensure_ascii=False``), no NaN/Infinity; instants are RFC 3339 UTC with microseconds and ``Z``
(``2026-11-28T09:25:14.076694Z``). The fields of an entry are ``seq, at, actor, role, action, object_type,
object_id, request_id, details, prev_hash`` (everything except ``entry_hash``; hashes are lowercase hex).

**Hash chain.** ``entry_hash = SHA-256(bytes.fromhex(prev_hash) || canonical(fields))``; the first entry's
``prev_hash`` is 32 zero bytes. ``verify_chain`` recomputes every hash in ``seq`` order, streaming in
batches, and names the first bad ``seq`` and why (``seq_gap``, ``broken_link``, ``hash_mismatch``,
``truncated`` or ``head_mismatch`` when the entries disagree with ``audit_head``).

**Merkle tree.** RFC 6962 §2.1: leaf hash = SHA-256(0x00 || canonical(fields)) with the same canonical
bytes as the chain, interior node = SHA-256(0x01 || left || right), the empty tree = SHA-256("").

**Checkpoints** follow C2SP tlog-checkpoint inside a C2SP signed note, so tools built for transparency logs
(e.g. Go's ``golang.org/x/mod/sumdb/note``) can check them::

    ecredit.example/audit                 <- origin (one line)
    42                                    <- tree size, decimal
    3q2+7w...=                            <- base64 (standard, padded) of the 32-byte Merkle root
                                          <- blank line ends the note text
    — s20261128-7c1e AbCdEf...==          <- em dash, key name, base64(4-byte key hash || 64-byte signature)

The key name is the key ring's signing key id; key hash = SHA-256(name || 0x0A || 0x01 || raw Ed25519
public key)[:4]; the Ed25519 signature covers the UTF-8 note text (the three lines with their final
newline). ``verifier_key()`` gives the key in the ``name+hash+base64(0x01||key)`` form those tools take.

**Domain separation from mark tokens** (same key ring): a mark signature (``signing.py``) covers ASCII
base64url text, which never holds a newline; every checkpoint message holds at least three newlines (and
``note_signature`` refuses text that does not end with one). No message is valid in both schemes, so a
signature cannot be replayed from one to the other.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    Row,
    String,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ecredit.db import Base
from ecredit.errors import EcreditError
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import is_id
from ecredit.kit.types import UTCDateTime
from ecredit.security.keys import KeyRing
from ecredit.security.masking import PII_PATTERNS, find_pii, mask_id_number, mask_phone

__all__ = [
    "DEFAULT_ORIGIN",
    "GENESIS_HASH",
    "MAX_CHECKPOINT_CHARS",
    "MAX_DETAILS_BYTES",
    "AppendedEntry",
    "AuditEntry",
    "AuditError",
    "AuditHead",
    "ChainReport",
    "Checkpoint",
    "NoteSignature",
    "PendingEntry",
    "append",
    "canonical",
    "entry_fields",
    "leaf_hash",
    "make_checkpoint",
    "merkle_root",
    "note_key_hash",
    "note_signature",
    "parse_checkpoint",
    "prepare",
    "record",
    "verifier_key",
    "verify_against_checkpoint",
    "verify_chain",
]

GENESIS_HASH = "00" * 32
DEFAULT_ORIGIN = "ecredit.example/audit"
MAX_DETAILS_BYTES = 16_384
MAX_CHECKPOINT_CHARS = 65_536
_MAX_SIGNATURES = 100
_ED25519_TYPE = b"\x01"
_HEAD_ID = 1
_FIELDS = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "object_type",
    "object_id",
    "request_id",
    "details",
    "prev_hash",
)
_ACTION = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
# Unicode categories Cc (control) and Cs (surrogate): fixed code point ranges.
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_KEY_NAME = re.compile(r"[^\s+]{1,255}")
_LIMITS = {
    "actor": 200,
    "role": 64,
    "action": 100,
    "object_type": 64,
    "object_id": 200,
    "request_id": 100,
}


class AuditError(EcreditError):
    """A checkpoint cannot be made or read (bad origin, malformed text, broken chain)."""

    code = "audit.invalid"
    status = 422
    title = "Audit trail error"


# ---------------------------------------------------------------------------------------------- tables


class AuditEntry(Base):
    """One audit entry: who did what to which object, chained to the previous entry by its hash."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index("ix_audit_entry_object", "object_type", "object_id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(100))
    # Plain JSON, never JSONB: JSONB rewrites numbers (1.0e2 -> 100), which would change the hash.
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


_COLUMN_NAMES = tuple(c.name for c in AuditEntry.__table__.columns)


class AuditHead(Base):
    """The single row holding the last seq and hash; locking it serialises appends."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


_ENTRY = AuditEntry.__table__
_HEAD = AuditHead.__table__
_INSERT_ENTRY = insert(AuditEntry.__table__)
_UPDATE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == bindparam("head_id"))
    .values(last_seq=bindparam("seq"), last_hash=bindparam("hash"))
)
# Compare-and-set: moves the head only if it is still the one this process saw last.
_ADVANCE_HEAD = (
    update(_HEAD)
    .where(
        _HEAD.c.id == bindparam("head_id"),
        _HEAD.c.last_seq == bindparam("seen_seq"),
        _HEAD.c.last_hash == bindparam("seen_hash"),
    )
    .values(last_seq=bindparam("seq"), last_hash=bindparam("hash"))
)
_SELECT_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == _HEAD_ID).with_for_update()


# ---------------------------------------------------------------------------------------------- hashing


def _rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime: audit instants must be timezone-aware")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _rfc3339(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# json.dumps(value, **settings) is JSONEncoder(**settings).encode(value); one encoder serves every call.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
)


def canonical(entry_fields: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8 with non-ASCII kept, instants as RFC 3339 'Z'."""
    try:
        return _ENCODER.encode(entry_fields).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not encodable as UTF-8 (lone surrogate)") from None


def entry_fields(entry: Any) -> dict[str, Any]:
    """The hashed fields of an entry (an ``AuditEntry`` or a row of ``audit_entry``)."""
    return {name: getattr(entry, name) for name in _FIELDS}


def _chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


def leaf_hash(entry_bytes: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || canonical entry bytes)."""
    return hashlib.sha256(b"\x00" + entry_bytes).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class _MerkleBuilder:
    """Streaming RFC 6962 tree head: O(log n) memory (a stack of perfect subtrees of decreasing height)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []

    def append(self, leaf: bytes) -> None:
        if not isinstance(leaf, bytes | bytearray) or len(leaf) != 32:
            raise ValueError("a leaf hash must be 32 bytes")
        height, node = 0, bytes(leaf)
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            node = _node_hash(left, node)
            height += 1
        self._stack.append((height, node))

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = _node_hash(left, node)
        return node


def merkle_root(leaf_hashes: Iterable[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of already-hashed leaves (see ``leaf_hash``); empty tree = SHA-256("")."""
    builder = _MerkleBuilder()
    for leaf in leaf_hashes:
        builder.append(leaf)
    return builder.root()


# ---------------------------------------------------------------------------------------------- record


def _check_text(name: str, value: object, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise ValueError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise ValueError(f"{name} must not be empty")
    if len(value) > _LIMITS[name]:
        raise ValueError(f"{name} is longer than {_LIMITS[name]} characters")
    if _CONTROL_OR_SURROGATE.search(value):
        raise ValueError(f"{name} contains control characters")
    return value


def _mask_identifier(value: str | None) -> str | None:
    """Mask any ':'-separated part of an identifier that is wholly a clear ID number or mobile number.

    Identifiers are not rejected (a client-chosen request id must not turn a write into a 500), but the
    trail is immutable, so "user:13912345678" is kept as "user:139****5678".
    """
    if value is None:
        return None
    parts = value.split(":")
    for i, part in enumerate(parts):
        norm = unicodedata.normalize("NFKC", part)
        if PII_PATTERNS["id_number"].fullmatch(norm):
            parts[i] = mask_id_number(norm) or ""
        elif PII_PATTERNS["phone"].fullmatch(norm):
            parts[i] = mask_phone(norm) or ""
    return ":".join(parts)


def _check_pii(text: str, path: str) -> None:
    # ULIDs (ids made by kit.ids) are exempt: about 1.5 in a million hold an 11-digit run that looks
    # like a mobile number, and refusing them would roll back a valid business change.
    if is_id(text):
        return
    hits = find_pii(text)
    if hits:
        kind = "citizen ID number" if len(hits[0]) == 18 else "phone number"
        # Never echo the value: the message may end up in a log.
        raise ValueError(
            f"{path}: clear personal data ({kind}) is not allowed in the audit trail; "
            "record a masked value or the subject's id"
        )


def _normalise_details(value: Any, path: str = "details", depth: int = 0) -> Any:
    """Validate ``details`` (JSON types, string keys, no clear personal data) and return a plain copy."""
    if depth > 20:
        raise ValueError(f"{path}: nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        _check_pii(str(value), path)
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: NaN and infinities are not JSON")
        return float(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path}: NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path}: not encodable as UTF-8") from None
        _check_pii(value, path)
        return str(value)
    if isinstance(value, dt.datetime):
        return _rfc3339(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: keys must be strings, got {type(key).__name__}")
            out[_normalise_details(key, f"{path} key", depth + 1)] = _normalise_details(
                item, f"{path}.{key}", depth + 1
            )
        return out
    if isinstance(value, list | tuple):
        return [_normalise_details(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON type")


def _lock_head(session: Session) -> tuple[int, str]:
    stmt = _SELECT_HEAD
    row = session.execute(stmt).one_or_none()
    if row is None:
        # The migration creates the row; this covers a store built otherwise. ON CONFLICT: two first
        # writers on PostgreSQL must not fail on the primary key.
        values = {"id": _HEAD_ID, "last_seq": 0, "last_hash": GENESIS_HASH}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(pg_insert(_HEAD).values(values).on_conflict_do_nothing(index_elements=["id"]))
        elif dialect == "sqlite":
            session.execute(sqlite_insert(_HEAD).values(values).on_conflict_do_nothing(index_elements=["id"]))
        else:  # pragma: no cover - ecredit runs on SQLite and PostgreSQL only
            session.execute(_HEAD.insert().values(values))
        row = session.execute(stmt).one()
    return int(row.last_seq), str(row.last_hash)


def _json(value: Any) -> str:
    """One value as canonical JSON text (the settings of ``canonical``)."""
    return _ENCODER.encode(value)


# The keys of an entry in canonical (sorted) order; PendingEntry writes its bytes in this order.
_SORTED_FIELDS = (
    "action",
    "actor",
    "at",
    "details",
    "object_id",
    "object_type",
    "prev_hash",
    "request_id",
    "role",
    "seq",
)
assert tuple(sorted(_FIELDS)) == _SORTED_FIELDS  # a module invariant, checked at import


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An audit entry checked, masked and formatted, waiting for its place in the chain (``append``).

    ``_head``, ``_middle`` and ``_tail`` are its canonical bytes around the three values only the append
    knows (time, previous hash, seq): ``canonical(entry_fields(entry))`` equals
    ``_head + at + _middle + prev_hash + _tail + seq + "}"``.
    """

    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None
    request_id: str | None
    details: dict[str, Any]
    _head: str
    _middle: str
    _tail: str

    def body(self, seq: int, at: str, prev_hash: str) -> bytes:
        """The canonical bytes of the entry with that seq, RFC 3339 time and previous hash."""
        return f'{self._head}"{at}"{self._middle}"{prev_hash}"{self._tail}{seq}}}'.encode()


@dataclass(frozen=True, slots=True)
class AppendedEntry:
    """An entry as appended: the stored row's values."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


def prepare(
    *,
    actor: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> PendingEntry:
    """Check and format an entry (no I/O); ValueError on invalid input or clear personal data in
    ``details``. Call it before the transaction's first statement, ``append`` inside."""
    _check_text("actor", actor, required=True)
    _check_text("role", role, required=True)
    _check_text("action", action, required=True)
    if not _ACTION.fullmatch(action):
        raise ValueError("action must be dotted lower-case words, e.g. 'subjects.create_shop'")
    _check_text("object_type", object_type, required=True)
    _check_text("object_id", object_id, required=False)
    _check_text("request_id", request_id, required=False)
    if details is not None and not isinstance(details, Mapping):
        raise ValueError(f"details must be a dict, got {type(details).__name__}")
    clean_details = _normalise_details(details or {})
    try:
        details_json = _json(clean_details)
        if len(details_json.encode("utf-8")) > MAX_DETAILS_BYTES:
            raise ValueError(f"details are larger than {MAX_DETAILS_BYTES} bytes")
    except UnicodeEncodeError:  # pragma: no cover - _normalise_details refuses such text first
        raise ValueError("text is not encodable as UTF-8 (lone surrogate)") from None
    actor_masked = _mask_identifier(actor)
    object_id_masked = _mask_identifier(object_id)
    request_id_masked = _mask_identifier(request_id)
    return PendingEntry(
        actor=actor_masked,  # type: ignore[arg-type]  # str in, str out
        role=role,
        action=action,
        object_type=object_type,
        object_id=object_id_masked,
        request_id=request_id_masked,
        details=clean_details,
        _head=f'{{"action":{_json(action)},"actor":{_json(actor_masked)},"at":',
        _middle=(
            f',"details":{details_json},"object_id":{_json(object_id_masked)},'
            f'"object_type":{_json(object_type)},"prev_hash":'
        ),
        _tail=f',"request_id":{_json(request_id_masked)},"role":{_json(role)},"seq":',
    )


class _SeenHead:
    """(last seq, last hash) of the head as this process last moved it: only a guess, which the
    compare-and-set checks against the store (another process, a rollback or another store make it wrong)."""

    value: tuple[int, str] | None = None


_seen_head = _SeenHead()


def append(session: Session, entry: PendingEntry, *, at: dt.datetime | None = None) -> AppendedEntry:
    """Append a prepared entry in the caller's transaction (flush only): two statements when no other
    writer moved the head since this process last did, four otherwise."""
    when = utc_now() if at is None else at
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime")
    when = when.astimezone(dt.UTC)
    at_text = _rfc3339(when)
    # Core statements on the session's connection: the entry is write-once, so the ORM's execution layer
    # and unit of work are pure overhead here (about half the cost of each statement).
    connection = session.connection()
    seen = _seen_head.value
    moved = False
    if seen is not None:
        seq, prev_hash = seen[0] + 1, seen[1]
        entry_hash = _chain_hash(prev_hash, entry.body(seq, at_text, prev_hash))
        params = {"head_id": _HEAD_ID, "seen_seq": seen[0], "seen_hash": prev_hash}
        moved = connection.execute(_ADVANCE_HEAD, params | {"seq": seq, "hash": entry_hash}).rowcount == 1
    if not moved:
        last_seq, prev_hash = _lock_head(session)
        seq = last_seq + 1
        entry_hash = _chain_hash(prev_hash, entry.body(seq, at_text, prev_hash))
        connection.execute(_UPDATE_HEAD, {"head_id": _HEAD_ID, "seq": seq, "hash": entry_hash})
    row = AppendedEntry(
        seq=seq,
        at=when,
        actor=entry.actor,
        role=entry.role,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        request_id=entry.request_id,
        details=entry.details,
        prev_hash=prev_hash,
        entry_hash=entry_hash,
    )
    # Statements built once, with parameters: SQLAlchemy's compiled cache does the rest.
    connection.execute(_INSERT_ENTRY, {name: getattr(row, name) for name in _COLUMN_NAMES})
    _seen_head.value = (seq, entry_hash)
    return row


def record(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AppendedEntry:
    """Append an audit entry in the caller's transaction (flush only); ValueError on invalid input or
    clear personal data in ``details``."""
    entry = prepare(
        actor=actor,
        role=role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request_id=request_id,
        details=details,
    )
    return append(session, entry, at=at)


# ---------------------------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification.

    ``problem`` is None when ``ok``, else one of: ``seq_gap``, ``broken_link``, ``hash_mismatch``,
    ``truncated``, ``head_mismatch``, ``checkpoint_malformed``, ``signature_invalid``, ``root_mismatch``.
    ``first_bad_seq`` is the first sequence number that is wrong or missing, when it can be known.
    ``entries`` counts the entries checked and found sound; ``root`` is their Merkle root (hex).
    """

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None
    detail: str = ""
    root: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.detail}"
        where = f" at seq {self.first_bad_seq}" if self.first_bad_seq is not None else ""
        return f"FAILED{where} ({self.problem}): {self.detail}"


@dataclass
class _Scan:
    count: int = 0
    last_hash: str = GENESIS_HASH
    root: bytes = b""
    root_at: bytes | None = None
    failure: ChainReport | None = None


def _fail(problem: str, seq: int | None, detail: str, entries: int = 0) -> ChainReport:
    return ChainReport(ok=False, entries=entries, first_bad_seq=seq, problem=problem, detail=detail)


def _read_head(session: Session) -> Row[Any] | None:
    return session.execute(
        select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == _HEAD_ID)
    ).one_or_none()


def _stream(session: Session, batch_size: int, stop_at: int | None) -> Iterator[Row[Any]]:
    """Entries in seq order, one keyset-paginated batch at a time."""
    last: int | None = None
    while True:
        stmt = select(_ENTRY).order_by(_ENTRY.c.seq).limit(batch_size)
        if last is not None:
            stmt = stmt.where(_ENTRY.c.seq > last)
        if stop_at is not None:
            stmt = stmt.where(_ENTRY.c.seq <= stop_at)
        rows = session.execute(stmt).all()
        yield from rows
        if len(rows) < batch_size:
            return
        last = rows[-1].seq


def _scan(session: Session, *, batch_size: int, stop_at: int | None, capture_at: int | None = None) -> _Scan:
    if type(batch_size) is not int or batch_size < 1:
        raise ValueError("batch_size must be a positive integer")
    scan = _Scan()
    tree = _MerkleBuilder()
    if capture_at == 0:
        scan.root_at = tree.root()
    expected, prev = 1, GENESIS_HASH
    for row in _stream(session, batch_size, stop_at):
        done = expected - 1
        if row.seq != expected:
            scan.failure = _fail(
                "seq_gap", expected, f"expected seq {expected}, found {row.seq} (entries missing)", done
            )
            return scan
        if row.prev_hash != prev:
            scan.failure = _fail(
                "broken_link", row.seq, "prev_hash does not equal the previous entry's hash", done
            )
            return scan
        try:
            body = canonical(entry_fields(row))
        except (TypeError, ValueError) as exc:
            scan.failure = _fail("hash_mismatch", row.seq, f"the entry cannot be canonicalised: {exc}", done)
            return scan
        if row.entry_hash != _chain_hash(prev, body):
            scan.failure = _fail(
                "hash_mismatch", row.seq, "entry_hash does not match the entry's contents", done
            )
            return scan
        tree.append(leaf_hash(body))
        if row.seq == capture_at:
            scan.root_at = tree.root()
        prev = row.entry_hash
        expected += 1
    scan.count, scan.last_hash, scan.root = expected - 1, prev, tree.root()
    return scan


def _head_problem(session: Session, scan: _Scan, head: Row[Any] | None) -> ChainReport | None:
    """Compare the entries with ``audit_head`` (read before the scan, so concurrent appends are fine)."""
    if head is None:
        if scan.count:
            return _fail("head_mismatch", None, "the audit_head row is missing", scan.count)
        return None
    if scan.count < head.last_seq:
        return _fail(
            "truncated",
            scan.count + 1,
            f"audit_head records {head.last_seq} entries but the store holds {scan.count} (tail deleted)",
            scan.count,
        )
    if scan.last_hash != head.last_hash:
        return _fail(
            "head_mismatch", scan.count, "audit_head's hash differs from the last entry's", scan.count
        )
    beyond = session.scalar(select(func.min(_ENTRY.c.seq)).where(_ENTRY.c.seq > head.last_seq))
    if beyond is not None:
        now = _read_head(session)
        # A concurrent append moves the head; entries beyond an unmoved head were inserted behind its back.
        if now is not None and now.last_seq == head.last_seq:
            return _fail(
                "head_mismatch",
                int(beyond),
                f"entry {beyond} lies beyond audit_head ({head.last_seq})",
                scan.count,
            )
    return None


def verify_chain(session: Session, *, batch_size: int = 5000) -> ChainReport:
    """Recompute every entry's hash in seq order (streaming) and check the links, the seq run and the head."""
    head = _read_head(session)
    scan = _scan(session, batch_size=batch_size, stop_at=None if head is None else int(head.last_seq))
    if scan.failure is not None:
        return scan.failure
    problem = _head_problem(session, scan, head)
    if problem is not None:
        return problem
    return ChainReport(
        ok=True,
        entries=scan.count,
        detail=f"{scan.count} entries, hash chain intact, Merkle root {scan.root.hex()}",
        root=scan.root.hex(),
    )


# ---------------------------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a signed note."""

    name: str
    key_hash: bytes
    signature: bytes

    @property
    def line(self) -> str:
        blob = base64.b64encode(self.key_hash + self.signature).decode("ascii")
        return f"— {self.name} {blob}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log's origin, its size and the Merkle root of its first ``size`` entries."""

    origin: str
    size: int
    root: bytes
    signatures: tuple[NoteSignature, ...] = ()

    @property
    def body(self) -> str:
        """The signed note text (checkpoint body)."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"

    @property
    def text(self) -> str:
        """The whole signed note, as written to a file."""
        return self.body + "\n" + "".join(s.line for s in self.signatures)


def _check_origin(origin: object) -> str:
    if not isinstance(origin, str) or not origin or len(origin) > 255:
        raise AuditError("the checkpoint origin must be a non-empty string of at most 255 characters")
    if origin != origin.strip() or any(unicodedata.category(c)[0] in {"C", "Z"} and c != " " for c in origin):
        raise AuditError("the checkpoint origin must be one line of printable text without edge spaces")
    if origin.startswith("—"):
        raise AuditError("the checkpoint origin must not start with an em dash")
    return origin


def note_key_hash(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The C2SP signed-note key hash: SHA-256(name || 0x0A || 0x01 || raw public key)[:4]."""
    raw = public_key.public_bytes_raw()
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519_TYPE + raw).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key string ``name+hexhash+base64(0x01||key)`` that signed-note tools accept."""
    raw = public_key.public_bytes_raw()
    return f"{name}+{note_key_hash(name, public_key).hex()}+{base64.b64encode(_ED25519_TYPE + raw).decode()}"


def _valid_key_name(name: str) -> bool:
    return bool(_KEY_NAME.fullmatch(name)) and not any(unicodedata.category(c)[0] == "C" for c in name)


def _signature(text: str, name: str, private_key: Ed25519PrivateKey) -> NoteSignature:
    if not _valid_key_name(name):
        raise AuditError("a key name must be non-empty without spaces or '+'")
    if not text.endswith("\n"):
        # Also what keeps these signatures apart from mark tokens (base64url text, no newline).
        raise AuditError("note text must end with a newline")
    signature = private_key.sign(text.encode("utf-8"))
    return NoteSignature(name, note_key_hash(name, private_key.public_key()), signature)


def note_signature(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signature line ``— name base64(keyhash||sig)`` of a C2SP signed note over ``text``."""
    return _signature(text, name, private_key).line


def make_checkpoint(session: Session, ring: KeyRing, *, origin: str) -> Checkpoint:
    """Verify the chain, then sign its size and Merkle root with the ring's active signing key."""
    _check_origin(origin)
    head = _read_head(session)
    scan = _scan(session, batch_size=5000, stop_at=None if head is None else int(head.last_seq))
    failure = scan.failure or _head_problem(session, scan, head)
    if failure is not None:
        raise AuditError(
            f"the audit chain is broken, no checkpoint signed: {failure}", code="audit.chain_broken"
        )
    unsigned = Checkpoint(origin=origin, size=scan.count, root=scan.root)
    kid = ring.active_signing_key_id
    signature = _signature(unsigned.body, kid, ring.signing_keys[kid])
    return Checkpoint(origin=origin, size=scan.count, root=scan.root, signatures=(signature,))


def _b64_canonical(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a signed checkpoint note (structure only; ``verify_against_checkpoint`` checks signatures)."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise AuditError("the checkpoint is not UTF-8 text") from None
    if not isinstance(text, str):
        raise AuditError("the checkpoint must be text")
    if len(text) > MAX_CHECKPOINT_CHARS:
        raise AuditError(f"the checkpoint is longer than {MAX_CHECKPOINT_CHARS} characters")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise AuditError("not a signed note: no blank line before the signatures")
    body, block = text[: split + 1], text[split + 2 :]
    lines = body.split("\n")
    if len(lines) != 4:
        raise AuditError("a checkpoint body has exactly three lines: origin, size, root")
    origin, size_text, root_text = lines[:3]
    _check_origin(origin)
    if not _SIZE.fullmatch(size_text) or int(size_text) >= 2**63:
        raise AuditError("the checkpoint size is not a canonical decimal number")
    root = _b64_canonical(root_text)
    if root is None or len(root) != 32:
        raise AuditError("the checkpoint root is not canonical base64 of 32 bytes")
    signatures = []
    sig_lines = block.split("\n")[:-1]
    if not sig_lines or len(sig_lines) > _MAX_SIGNATURES:
        raise AuditError(f"a signed note carries 1 to {_MAX_SIGNATURES} signature lines")
    for line in sig_lines:
        parts = line.removeprefix("— ").split(" ")
        if not line.startswith("— ") or len(parts) != 2 or not _valid_key_name(parts[0]):
            raise AuditError("malformed signature line")
        blob = _b64_canonical(parts[1])
        if blob is None or len(blob) < 5:
            raise AuditError("malformed signature line")
        signatures.append(NoteSignature(parts[0], blob[:4], blob[4:]))
    return Checkpoint(origin=origin, size=int(size_text), root=root, signatures=tuple(signatures))


def _verified_signers(
    checkpoint: Checkpoint, public_keys: Mapping[str, Ed25519PublicKey]
) -> tuple[list[str], str | None]:
    """The names of the known keys whose signatures verify, or a problem."""
    message = checkpoint.body.encode("utf-8")
    verified: list[str] = []
    for sig in checkpoint.signatures:
        key = public_keys.get(sig.name)
        if key is None or sig.key_hash != note_key_hash(sig.name, key):
            continue  # a signature by a key we do not know (a witness, say) is neither good nor bad
        try:
            key.verify(sig.signature, message)
        except InvalidSignature:
            return [], f"the signature by key {sig.name} does not verify"
        verified.append(sig.name)
    return verified, None if verified else "no signature by a known key"


def verify_against_checkpoint(
    session: Session,
    checkpoint: Checkpoint | str | bytes,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    origin: str | None = None,
    batch_size: int = 5000,
) -> ChainReport:
    """Check the checkpoint's signature, that the store holds at least ``size`` entries, that the Merkle
    root of the first ``size`` entries is the signed one, and the whole chain; never raises on the text."""
    if not isinstance(checkpoint, Checkpoint):
        try:
            checkpoint = parse_checkpoint(checkpoint)
        except AuditError as exc:
            return _fail("checkpoint_malformed", None, str(exc))
    if origin is not None and checkpoint.origin != origin:
        return _fail("checkpoint_malformed", None, f"the checkpoint is for another log, not {origin!r}")
    signers, problem = _verified_signers(checkpoint, public_keys)
    if problem is not None:
        return _fail("signature_invalid", None, problem)
    head = _read_head(session)
    scan = _scan(
        session,
        batch_size=batch_size,
        stop_at=None if head is None else int(head.last_seq),
        capture_at=checkpoint.size,
    )
    if scan.failure is not None:
        return scan.failure
    failure = _head_problem(session, scan, head)
    if failure is not None:
        return failure
    if scan.count < checkpoint.size:
        return _fail(
            "truncated",
            scan.count + 1,
            f"the checkpoint covers {checkpoint.size} entries but the store holds only {scan.count}",
            scan.count,
        )
    if scan.root_at != checkpoint.root:
        return _fail(
            "root_mismatch",
            None,
            f"the Merkle root of entries 1..{checkpoint.size} differs from the signed checkpoint "
            "(entries were altered and the chain re-hashed)",
            scan.count,
        )
    return ChainReport(
        ok=True,
        entries=scan.count,
        detail=(
            f"{scan.count} entries, hash chain intact; the first {checkpoint.size} match the checkpoint "
            f"of {checkpoint.origin} signed by {', '.join(signers)}"
        ),
        root=scan.root.hex(),
    )
