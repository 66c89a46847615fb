"""The tamper-evident audit trail (RELIABILITY.md C10, C12): hash chain, RFC 6962 Merkle roots, signed
checkpoints; tampering with the table (edit, edit + re-hash, truncate) is detected."""

import base64
import datetime as dt
import hashlib
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.security import audit
from ecredit.security.audit import AuditEntry, AuditError, AuditHead
from ecredit.security.keys import KeyRing
from ecredit.security.signing import sign_token, verify_token
from tests.test_cli import run_ecredit

runner = CliRunner()
GENESIS = "00" * 32
AT = dt.datetime(2026, 11, 28, 9, 25, 14, 76694, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ring():
    return KeyRing.generate()


def _head(session) -> tuple[int, str]:
    row = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one()
    return row.last_seq, row.last_hash


def _append(session, n: int, **overrides) -> list[AuditEntry]:
    entries = []
    for i in range(n):
        kwargs = {
            "actor": "user:alice",
            "role": "regulator",
            "action": "subjects.create_shop",
            "object_type": "shop",
            "object_id": f"shop-{i}",
            "request_id": f"req-{i}",
            "details": {"platform": "jd", "n": i, "名称": "济南测试商贸有限公司"},
        } | overrides
        entries.append(audit.record(session, **kwargs))
    return entries


def _unguard(session) -> None:
    """Remove the append-only triggers, as an attacker with DDL rights would (rolled back with the test)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DROP TRIGGER audit_entry_no_update"))
        session.execute(text("DROP TRIGGER audit_entry_no_delete"))
    else:
        session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))


def _outsider_hash(prev_hash: str, fields: dict) -> str:
    """The entry hash computed from the documented format alone (no ecredit code)."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


def _hash(prev_hash: str, fields: dict) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + audit.canonical(fields)).hexdigest()


def _rehash_from(session, seq: int) -> None:
    """Recompute entry_hash (and the links) from ``seq`` to the end, then fix the head: a careful forger."""
    prev = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == seq - 1)) or GENESIS
    rows = session.execute(select(AuditEntry.__table__).where(AuditEntry.seq >= seq).order_by("seq")).all()
    for row in rows:
        fields = audit.entry_fields(row) | {"prev_hash": prev}
        new_hash = _hash(prev, fields)
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == row.seq).values(prev_hash=prev, entry_hash=new_hash)
        )
        prev = new_hash
    last = session.scalar(select(func.max(AuditEntry.seq)))
    session.execute(update(AuditHead).values(last_seq=last, last_hash=prev))


class TestCanonical:
    def test_known_answer(self):
        fields = {
            "seq": 3,
            "at": AT,
            "actor": "user:alice",
            "details": {"b": [1, 2.5, None, True], "a": "济南"},
            "object_id": None,
        }
        assert (
            audit.canonical(fields)
            == (
                '{"actor":"user:alice","at":"2026-11-28T09:25:14.076694Z",'
                '"details":{"a":"济南","b":[1,2.5,null,true]},"object_id":null,"seq":3}'
            ).encode()
        )

    def test_times_are_utc_with_microseconds_and_z(self):
        tz = dt.timezone(dt.timedelta(hours=8))
        assert audit.canonical({"at": dt.datetime(2026, 1, 1, 8, 0, tzinfo=tz)}) == (
            b'{"at":"2026-01-01T00:00:00.000000Z"}'
        )

    def test_rejects_naive_times_nan_and_lone_surrogates(self):
        with pytest.raises(ValueError, match="naive"):
            audit.canonical({"at": dt.datetime(2026, 1, 1)})
        with pytest.raises(ValueError):
            audit.canonical({"x": float("nan")})
        with pytest.raises(ValueError):
            audit.canonical({"x": "\ud800"})


# RFC 6962 reference vectors (certificate-transparency test data): leaves and tree heads of size 0..8.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1, written as the recursion in the RFC."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])).digest()


class TestMerkleRoot:
    @pytest.mark.parametrize("size", range(9))
    def test_rfc6962_reference_roots(self, size):
        leaves = [audit.leaf_hash(bytes.fromhex(x)) for x in CT_LEAVES[:size]]
        assert audit.merkle_root(leaves).hex() == CT_ROOTS[size]

    def test_streaming_root_equals_the_rfc_recursion(self):
        leaves = [audit.leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
        for n in range(71):
            assert audit.merkle_root(iter(leaves[:n])) == _reference_root(leaves[:n])

    def test_leaf_hashes_must_be_32_bytes(self):
        with pytest.raises(ValueError):
            audit.merkle_root([b"short"])


class TestRecord:
    def test_appends_a_gap_free_chain(self, session):
        start, start_hash = _head(session)
        entries = _append(session, 3)
        assert [e.seq for e in entries] == [start + 1, start + 2, start + 3]
        assert entries[0].prev_hash == start_hash
        assert entries[1].prev_hash == entries[0].entry_hash
        assert entries[2].prev_hash == entries[1].entry_hash
        assert _head(session) == (start + 3, entries[2].entry_hash)
        first = session.get(AuditEntry, 1)
        assert first.prev_hash == GENESIS

    def test_hash_follows_the_documented_format(self, session):
        entry = audit.record(
            session,
            actor="user:alice",
            role="regulator",
            action="pii.clear_read",
            object_type="subject",
            object_id="01KB3Z5X8QA2P7K9H4F6S3D8XE",
            request_id="9f2c4e1a7b3d5f60",
            details={"fields": ["id_number"], "purpose": "case_handling"},
            at=AT,
        )
        fields = {
            "seq": entry.seq,
            "at": "2026-11-28T09:25:14.076694Z",
            "actor": "user:alice",
            "role": "regulator",
            "action": "pii.clear_read",
            "object_type": "subject",
            "object_id": "01KB3Z5X8QA2P7K9H4F6S3D8XE",
            "request_id": "9f2c4e1a7b3d5f60",
            "details": {"fields": ["id_number"], "purpose": "case_handling"},
            "prev_hash": entry.prev_hash,
        }
        assert entry.entry_hash == _outsider_hash(entry.prev_hash, fields)
        session.expire_all()  # read back from the store: the same values hash the same
        stored = session.get(AuditEntry, entry.seq)
        assert stored.at == AT and stored.details == fields["details"]
        assert audit.verify_chain(session).ok

    def test_flushes_but_never_commits(self, session):
        start, _ = _head(session)
        with session.begin_nested():
            _append(session, 2)
            assert session.scalar(select(func.count()).where(AuditEntry.seq > start)) == 2
            session.rollback()
        assert session.scalar(select(func.count()).where(AuditEntry.seq > start)) == 0
        assert _head(session)[0] == start

    @pytest.mark.parametrize(
        "details",
        [
            {"id_number": "370102199003071238"},
            {"note": "call 13912345678 tomorrow"},
            {"people": [{"tel": "１３９１２３４５６７８"}]},  # full-width digits
            {"n": 13912345678},
            {"370102199003071238": "as a key"},
        ],
    )
    def test_rejects_clear_personal_data_in_details(self, session, details):
        start = _head(session)
        with pytest.raises(ValueError, match="clear personal data") as info:
            _append(session, 1, details=details)
        assert "13912345678" not in str(info.value) and "370102199003071238" not in str(info.value)
        assert _head(session) == start

    def test_masked_values_and_row_ids_are_fine(self, session):
        entry = _append(
            session,
            1,
            details={
                "phone": "139****5678",
                "id": "370102********1238",
                "subject": "01KB3Z5X8Q13912345678XE0AB",
            },
        )[0]
        assert entry.details["subject"] == "01KB3Z5X8Q13912345678XE0AB"

    def test_identifiers_that_are_clear_numbers_are_masked(self, session):
        entry = _append(session, 1, actor="user:13912345678", object_id="370102199003071238")[0]
        assert entry.actor == "user:139****5678"
        assert entry.object_id == "370102********1238"
        assert audit.verify_chain(session).ok

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"actor": ""}, "actor"),
            ({"actor": "a\nb"}, "control"),
            ({"role": None}, "role"),
            ({"action": "Create Shop"}, "action"),
            ({"object_type": "x" * 65}, "object_type"),
            ({"details": ["not", "a", "dict"]}, "dict"),
            ({"details": {"s": {1, 2}}}, "set"),
            ({"details": {1: "int key"}}, "keys"),
            ({"details": {"x": float("inf")}}, "NaN"),
            ({"details": {"x": "a" * 20_000}}, "larger"),
            ({"at": dt.datetime(2026, 1, 1)}, "timezone"),
        ],
    )
    def test_rejects_invalid_input(self, session, overrides, message):
        with pytest.raises(ValueError, match=message):
            _append(session, 1, **overrides)

    def test_details_are_stored_as_hashed(self, session):
        entry = _append(session, 1, details={"t": AT, "pair": (1, 2), "nested": {"ok": True}})[0]
        assert entry.details == {"t": "2026-11-28T09:25:14.076694Z", "pair": [1, 2], "nested": {"ok": True}}
        assert audit.verify_chain(session).ok

    def test_entries_are_append_only_in_the_database(self, session):
        entry = _append(session, 1)[0]
        for statement in (
            update(AuditEntry).where(AuditEntry.seq == entry.seq).values(actor="mallory"),
            delete(AuditEntry).where(AuditEntry.seq == entry.seq),
        ):
            with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
                session.execute(statement)


# Text an entry may carry: any code point but surrogates, with JSON's special characters made likely.
_TEXT = st.text(
    st.one_of(st.sampled_from('"\\/\b\f\n\r\t\x7f\u2028济南é'), st.characters(exclude_categories=["Cs"])),
    max_size=30,
)
_SAFE_TEXT = _TEXT.filter(lambda t: t.strip() and t.isprintable() and "\x00" not in t)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT.filter(lambda t: "\x00" not in t),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _statements(session) -> list[str]:
    """Collects the SQL statements the session's connection runs from now on."""
    seen: list[str] = []
    event.listen(session.connection(), "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


class TestPrepareAndAppend:
    """``record`` = ``prepare`` (checks and formatting, no I/O) + ``append`` (the statements)."""

    @settings(max_examples=300, deadline=None)
    @given(
        actor=_SAFE_TEXT,
        object_id=st.none() | _SAFE_TEXT,
        request_id=st.none() | _SAFE_TEXT,
        details=st.dictionaries(_TEXT, _JSON, max_size=4),
        seq=st.integers(1, 2**62),
        micros=st.integers(0, 10**15),
        prev=st.binary(min_size=32, max_size=32),
    )
    def test_prepared_bytes_are_the_canonical_bytes(
        self, actor, object_id, request_id, details, seq, micros, prev
    ):
        try:
            entry = audit.prepare(
                actor=actor[:200],
                role="regulator",
                action="shops.update",
                object_type="shop",
                object_id=object_id,
                request_id=request_id and request_id[:100],
                details=details,
            )
        except ValueError:
            return  # refused input (personal data, size): nothing to format
        at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
        fields = {
            "seq": seq,
            "at": at,
            "actor": entry.actor,
            "role": entry.role,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "request_id": entry.request_id,
            "details": entry.details,
            "prev_hash": prev.hex(),
        }
        at_text = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert entry.body(seq, at_text, prev.hex()) == audit.canonical(fields)

    def test_prepare_checks_without_the_store(self):
        with pytest.raises(ValueError, match="clear personal data"):
            audit.prepare(
                actor="user:a", role="admin", action="x.y", object_type="t", details={"p": "13912345678"}
            )
        with pytest.raises(ValueError, match="action"):
            audit.prepare(actor="user:a", role="admin", action="X Y", object_type="t")

    def test_append_is_two_statements_after_this_process_appended(self, session):
        _append(session, 1)
        entry = audit.prepare(actor="user:a", role="admin", action="x.y", object_type="t", object_id="1")
        seen = _statements(session)
        appended = audit.append(session, entry)
        assert len(seen) == 2
        assert seen[0].lstrip().upper().startswith("UPDATE AUDIT_HEAD")
        assert seen[1].lstrip().upper().startswith("INSERT INTO AUDIT_ENTRY")
        assert _head(session) == (appended.seq, appended.entry_hash)
        assert audit.verify_chain(session).ok

    @pytest.mark.parametrize("how", ["other_writer", "rolled_back", "never_appended"])
    def test_a_head_moved_elsewhere_is_read_again(self, session, how):
        """The process's guess of the head is only a guess: another writer, a rollback or a fresh process."""
        earlier = _append(session, 2)
        if how == "other_writer":  # this process appended the first, another process the second
            audit._seen_head.value = (earlier[0].seq, earlier[0].entry_hash)
        elif how == "rolled_back":  # this process appended in a transaction that did not commit
            with session.begin_nested():
                _append(session, 2)
                session.rollback()
        else:
            audit._seen_head.value = None
        start = _head(session)
        appended = _append(session, 2)
        assert [e.seq for e in appended] == [start[0] + 1, start[0] + 2]
        assert appended[0].prev_hash == start[1]
        assert _head(session) == (appended[1].seq, appended[1].entry_hash)
        assert audit.verify_chain(session).ok

    def test_the_stored_row_is_the_returned_one(self, session):
        appended = _append(session, 1, details={"n": 1, "名称": "济南"})[0]
        session.expire_all()
        stored = session.get(AuditEntry, appended.seq)
        assert audit.entry_fields(stored) == audit.entry_fields(appended)
        assert stored.entry_hash == appended.entry_hash


class TestVerifyChain:
    def test_intact_chain_streams_in_batches(self, session):
        _append(session, 7)
        total = _head(session)[0]
        report = audit.verify_chain(session, batch_size=2)
        assert report.ok and report.entries == total and report.first_bad_seq is None
        assert report == audit.verify_chain(session)

    def test_edited_field_is_a_hash_mismatch(self, session):
        entries = _append(session, 5)
        _unguard(session)
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == entries[2].seq).values(actor="user:mallory")
        )
        report = audit.verify_chain(session, batch_size=2)
        assert not report.ok
        assert (report.first_bad_seq, report.problem) == (entries[2].seq, "hash_mismatch")
        assert report.entries == entries[2].seq - 1

    def test_edited_details_are_a_hash_mismatch(self, session):
        entries = _append(session, 3)
        _unguard(session)
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == entries[0].seq).values(details={"platform": "tb"})
        )
        report = audit.verify_chain(session)
        assert (report.first_bad_seq, report.problem) == (entries[0].seq, "hash_mismatch")

    def test_rehashed_entry_breaks_the_next_link(self, session):
        entries = _append(session, 4)
        _unguard(session)
        fields = audit.entry_fields(entries[1]) | {"action": "subjects.delete"}
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == entries[1].seq)
            .values(action="subjects.delete", entry_hash=_hash(entries[1].prev_hash, fields))
        )
        report = audit.verify_chain(session)
        assert (report.first_bad_seq, report.problem) == (entries[2].seq, "broken_link")

    def test_deleted_middle_entry_is_a_seq_gap(self, session):
        entries = _append(session, 4)
        _unguard(session)
        session.execute(delete(AuditEntry).where(AuditEntry.seq == entries[1].seq))
        report = audit.verify_chain(session)
        assert (report.first_bad_seq, report.problem) == (entries[1].seq, "seq_gap")

    def test_deleted_tail_is_caught_by_the_head(self, session):
        entries = _append(session, 4)
        _unguard(session)
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= entries[2].seq))
        report = audit.verify_chain(session)
        assert (report.first_bad_seq, report.problem) == (entries[2].seq, "truncated")

    def test_head_disagreeing_with_entries(self, session):
        entries = _append(session, 2)
        session.execute(update(AuditHead).values(last_hash="ab" * 32))
        report = audit.verify_chain(session)
        assert (report.first_bad_seq, report.problem) == (entries[1].seq, "head_mismatch")

    def test_entry_inserted_behind_the_heads_back(self, session):
        entries = _append(session, 2)
        seq, _ = _head(session)
        session.execute(update(AuditHead).values(last_seq=seq - 1, last_hash=entries[0].entry_hash))
        report = audit.verify_chain(session)
        assert (report.first_bad_seq, report.problem) == (seq, "head_mismatch")
        assert "beyond" in report.detail


class TestCheckpoint:
    def test_format_is_a_c2sp_signed_checkpoint(self, session, ring):
        _append(session, 3)
        size = _head(session)[0]
        cp = audit.make_checkpoint(session, ring, origin="ecredit.test/audit")
        origin, size_line, root_line, blank, sig_line, end = cp.text.split("\n")
        assert (origin, size_line, blank, end) == ("ecredit.test/audit", str(size), "", "")
        assert base64.b64decode(root_line) == cp.root and len(cp.root) == 32
        kid = ring.active_signing_key_id
        assert sig_line.startswith(f"— {kid} ")
        blob = base64.b64decode(sig_line.split(" ")[2])
        public = ring.public_signing_keys()[kid]
        assert blob[:4] == audit.note_key_hash(kid, public)
        public.verify(blob[4:], f"{origin}\n{size_line}\n{root_line}\n".encode())
        assert cp.root.hex() == audit.verify_chain(session).root
        assert audit.parse_checkpoint(cp.text) == cp

    def test_verifies_and_stays_valid_as_the_log_grows(self, session, ring):
        _append(session, 3)
        cp = audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        keys = ring.public_signing_keys()
        assert audit.verify_against_checkpoint(session, cp, keys).ok
        _append(session, 4)
        report = audit.verify_against_checkpoint(session, cp.text, keys, batch_size=3)
        assert report.ok and report.entries == cp.size + 4

    # (a) editing an entry's field in the table: the chain is broken.
    def test_detects_an_edited_entry(self, session, ring):
        entries = _append(session, 5)
        cp = audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        _unguard(session)
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == entries[1].seq)
            .values(role="admin", object_id="shop-x")
        )
        report = audit.verify_against_checkpoint(session, cp, ring.public_signing_keys())
        assert not report.ok
        assert (report.first_bad_seq, report.problem) == (entries[1].seq, "hash_mismatch")

    # (b) editing an entry AND re-hashing the chain after it: the chain verifies, the checkpoint root differs.
    def test_detects_an_edited_and_rehashed_chain(self, session, ring):
        entries = _append(session, 5)
        cp = audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        _unguard(session)
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == entries[1].seq).values(actor="user:mallory")
        )
        _rehash_from(session, entries[1].seq)
        assert audit.verify_chain(session).ok  # a perfect forgery as far as the chain can tell
        report = audit.verify_against_checkpoint(session, cp, ring.public_signing_keys())
        assert not report.ok and report.problem == "root_mismatch"

    # (c) deleting the tail: the store holds fewer entries than the checkpoint.
    def test_detects_a_deleted_tail(self, session, ring):
        entries = _append(session, 5)
        cp = audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        _unguard(session)
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= entries[3].seq))
        # The forger also winds the head back, so the chain on its own looks fine.
        session.execute(update(AuditHead).values(last_seq=entries[2].seq, last_hash=entries[2].entry_hash))
        assert audit.verify_chain(session).ok
        report = audit.verify_against_checkpoint(session, cp, ring.public_signing_keys())
        assert not report.ok
        assert (report.first_bad_seq, report.problem) == (entries[3].seq, "truncated")

    def test_rejects_forged_or_foreign_checkpoints(self, session, ring):
        _append(session, 2)
        cp = audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        keys = ring.public_signing_keys()
        lines = cp.text.split("\n")
        bigger = "\n".join([lines[0], str(cp.size + 1), *lines[2:]])
        other_root = "\n".join([*lines[:2], base64.b64encode(b"\x00" * 32).decode(), *lines[3:]])
        for text_ in (bigger, other_root):
            assert audit.verify_against_checkpoint(session, text_, keys).problem == "signature_invalid"
        stranger = KeyRing.generate()
        foreign = audit.make_checkpoint(session, stranger, origin=audit.DEFAULT_ORIGIN)
        assert audit.verify_against_checkpoint(session, foreign, keys).problem == "signature_invalid"
        wrong_origin = audit.verify_against_checkpoint(session, cp, keys, origin="other.example/log")
        assert wrong_origin.problem == "checkpoint_malformed"

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            "not a note",
            "origin\n1\nAAAA\n\n— k AAAA\n",
            "origin\n01\n" + base64.b64encode(bytes(32)).decode() + "\n\n— k " + "A" * 92 + "\n",
            "origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\nextension\n\n— k " + "A" * 92 + "\n",
            "origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n",
            b"\xff\xfe",
        ],
    )
    def test_malformed_checkpoints_are_reported_not_raised(self, session, ring, bad):
        report = audit.verify_against_checkpoint(session, bad, ring.public_signing_keys())
        assert not report.ok and report.problem == "checkpoint_malformed"

    def test_retired_keys_still_verify(self, session, ring):
        _append(session, 1)
        cp = audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        rotated = ring.with_new_signing_key(retire_previous=True)
        assert audit.verify_against_checkpoint(session, cp, rotated.public_signing_keys()).ok

    def test_refuses_to_sign_a_broken_chain(self, session, ring):
        entries = _append(session, 2)
        _unguard(session)
        session.execute(update(AuditEntry).where(AuditEntry.seq == entries[0].seq).values(actor="x"))
        with pytest.raises(AuditError, match="broken") as info:
            audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        assert info.value.code == "audit.chain_broken"

    @pytest.mark.parametrize("origin", ["", " padded", "two\nlines", "— dash", "x" * 256])
    def test_rejects_bad_origins(self, session, ring, origin):
        with pytest.raises(AuditError):
            audit.make_checkpoint(session, ring, origin=origin)


class TestSignedNoteInterop:
    # golang.org/x/mod/sumdb/note's documented example key and note.
    VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
    TEXT = (
        "If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n"
    )
    SIG = (
        "— PeterNeumann "
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    )

    def test_signature_and_key_match_the_go_reference_byte_for_byte(self):
        key = Ed25519PrivateKey.from_private_bytes(self.SEED)
        assert audit.note_signature(self.TEXT, "PeterNeumann", key) == self.SIG
        assert audit.verifier_key("PeterNeumann", key.public_key()) == self.VKEY

    def test_text_without_final_newline_is_refused(self):
        key = Ed25519PrivateKey.from_private_bytes(self.SEED)
        with pytest.raises(AuditError):
            audit.note_signature("no newline", "PeterNeumann", key)


class TestDomainSeparation:
    def test_checkpoint_and_mark_signatures_do_not_cross_over(self, session, ring):
        _append(session, 1)
        cp = audit.make_checkpoint(session, ring, origin=audit.DEFAULT_ORIGIN)
        keys = ring.public_signing_keys()
        # A checkpoint signature presented as a mark token.
        sig = base64.urlsafe_b64encode(cp.signatures[0].signature).rstrip(b"=").decode()
        assert verify_token(keys, f"{cp.body}.{sig}").status != "valid"
        body_b64 = base64.urlsafe_b64encode(cp.body.encode()).rstrip(b"=").decode()
        assert verify_token(keys, f"{body_b64}.{sig}").status != "valid"
        # A mark signature presented as a checkpoint signature.
        token = sign_token(ring, {"shop": "s1"})
        mark_sig = base64.urlsafe_b64decode(token.split(".")[1] + "==")
        forged = audit.Checkpoint(
            cp.origin,
            cp.size,
            cp.root,
            (audit.NoteSignature(ring.active_signing_key_id, cp.signatures[0].key_hash, mark_sig),),
        )
        assert audit.verify_against_checkpoint(session, forged, keys).problem == "signature_invalid"


class TestAtomicity:
    """C10: a business change and its audit entry commit or roll back together (real transactions)."""

    def test_write_and_audit_roll_back_together(self, isolated_store):
        from ecredit.db import session_scope
        from ecredit.subjects.models import Subject

        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

        def change(name: str, fail: bool) -> None:
            with session_scope() as s:
                subject = Subject(kind="organisation", name=name)
                s.add(subject)
                s.flush()
                audit.record(
                    s,
                    actor="cli:test",
                    role="admin",
                    action="subjects.create",
                    object_type="subject",
                    object_id=subject.id,
                )
                if fail:
                    raise RuntimeError("the business rule failed after the audit entry was written")

        with pytest.raises(RuntimeError):
            change("回滚测试有限公司", fail=True)
        change("提交测试有限公司", fail=False)
        with session_scope(read_only=True) as s:
            names = set(s.scalars(select(Subject.name)))
            audited = set(s.scalars(select(AuditEntry.object_id)))
            ids = set(s.scalars(select(Subject.id)))
            assert "回滚测试有限公司" not in names and "提交测试有限公司" in names
            assert audited <= ids  # nothing audited that was not stored
            assert _head(s)[0] == s.scalar(select(func.count()).select_from(AuditEntry))
            assert audit.verify_chain(s).ok

    def test_concurrent_appends_stay_gap_free(self, isolated_store):
        from ecredit.db import session_scope

        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        with session_scope(read_only=True) as s:
            start = _head(s)[0]
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                for i in range(10):
                    with session_scope() as s:
                        audit.record(
                            s,
                            actor=f"cli:w{n}",
                            role="admin",
                            action="test.append",
                            object_type="x",
                            object_id=str(i),
                        )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        with session_scope(read_only=True) as s:
            seqs = list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
            assert seqs == list(range(1, start + 41))
            assert audit.verify_chain(s).ok


class TestCli:
    def _store_with_entries(self, n: int) -> None:
        from ecredit.db import session_scope

        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        with session_scope() as s:
            _append(s, n)

    def test_checkpoint_to_stdout_and_file_then_verify(self, isolated_store):
        self._store_with_entries(4)
        result = runner.invoke(app, ["audit", "checkpoint", "--origin", "ecredit.test/audit"])
        assert result.exit_code == 0, result.output
        cp = audit.parse_checkpoint(result.stdout)
        assert cp.origin == "ecredit.test/audit" and cp.size >= 4
        path = isolated_store / "checkpoint.txt"
        result = runner.invoke(app, ["audit", "checkpoint", "--out", str(path)])
        assert result.exit_code == 0 and path.exists()
        assert audit.parse_checkpoint(path.read_text(encoding="utf-8")).origin == audit.DEFAULT_ORIGIN
        result = runner.invoke(app, ["audit", "verify", "--checkpoint", str(path)])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("OK:")
        assert runner.invoke(app, ["audit", "verify"]).exit_code == 0

    def test_verify_exits_1_with_the_first_bad_seq(self, isolated_store):
        from ecredit.db import get_engine

        self._store_with_entries(5)
        path = isolated_store / "checkpoint.txt"
        assert runner.invoke(app, ["audit", "checkpoint", "--out", str(path)]).exit_code == 0
        with get_engine().begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("DROP TRIGGER audit_entry_no_update"))
            else:
                conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
            conn.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="user:mallory"))
        get_engine().dispose()

        for args in (["audit", "verify"], ["audit", "verify", "--checkpoint", str(path)]):
            result = run_ecredit(*args)
            assert result.returncode == 1, result.stdout + result.stderr
            assert "FAILED at seq 3 (hash_mismatch)" in result.stdout
            assert result.stderr.strip() == "audit verification failed at seq 3: hash_mismatch"

        result = run_ecredit("audit", "checkpoint")
        assert result.returncode == 2
        assert result.stderr.startswith("error: the audit chain is broken")
        assert result.stdout == ""

    def test_verify_reports_a_malformed_checkpoint(self, isolated_store):
        self._store_with_entries(1)
        path = isolated_store / "bad.txt"
        path.write_text("hello\n", encoding="utf-8")
        result = runner.invoke(app, ["audit", "verify", "--checkpoint", str(path)])
        assert result.exit_code == 1
        assert "checkpoint_malformed" in result.stdout
        missing = run_ecredit("audit", "verify", "--checkpoint", str(isolated_store / "nope.txt"))
        assert missing.returncode == 2
