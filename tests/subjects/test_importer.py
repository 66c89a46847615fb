"""Bulk registration of shops: the repository's bulk statements, and the loader's batching (several
batches per transaction, validation ahead in a child process) giving the same rows, rejects and audit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from ecredit import jobs
from ecredit.kit.ids import new_id
from ecredit.subjects import repository as repo
from ecredit.subjects.models import Relation, Shop, Subject, SubjectLink
from tests.builders import id_number, make_platform, make_subject, uscc
from tests.test_cli import SHOP_COLUMNS, _shop, invoke


class TestBulkStatements:
    def test_bulk_insert_fills_defaults_and_converts_like_the_orm(self, session):
        platform = make_platform(session)
        subject_id, shop_id = new_id(), new_id()
        repo.bulk_insert(
            session,
            Subject,
            [
                {
                    "id": subject_id,
                    "kind": "organisation",
                    "name": "济南甲有限公司",
                    "uscc": uscc(),
                    "phone_enc": None,
                }
            ],
        )
        import datetime as dt

        repo.bulk_insert(
            session,
            Shop,
            [
                {
                    "id": shop_id,
                    "platform_id": platform.id,
                    "platform_shop_id": "S-1",
                    "name": "甲店",
                    "operator_id": subject_id,
                    "opened_date": dt.date(2021, 2, 3),
                    "address_enc": b"\x01\x02\x00\xff",
                }
            ],
        )
        session.expire_all()
        subject = session.get(Subject, subject_id)
        shop = session.get(Shop, shop_id)
        assert subject.status == "active" and subject.phone_enc is None
        assert shop.status == "open" and shop.verification_status == "unverified"
        assert shop.opened_date == dt.date(2021, 2, 3)
        assert bytes(shop.address_enc) == b"\x01\x02\x00\xff"
        assert shop.created_at.tzinfo is not None and shop.created_at == shop.updated_at
        assert abs((dt.datetime.now(dt.UTC) - shop.created_at).total_seconds()) < 60

    def test_batch_look_ups_take_tens_of_thousands_of_values(self, session):
        platform = make_platform(session)
        subjects = [make_subject(session) for _ in range(3)]
        person = make_subject(session, kind="person")
        wanted = [s.uscc for s in subjects]
        noise = [f"9137010200000{i:05d}" for i in range(40_000)]  # more values than SQLite's placeholders
        assert repo.subject_ids_by_usccs(session, [*noise, *wanted]) == {s.uscc: s.id for s in subjects}
        assert repo.subject_ids_by_id_number_bidx(session, [*noise, person.id_number_bidx]) == {
            person.id_number_bidx: person.id
        }
        repo.link_subjects(session, platform.id, [s.id for s in subjects])
        repo.link_subjects(session, platform.id, [s.id for s in subjects] + [person.id])  # keeps the links
        links = session.scalars(select(SubjectLink.subject_id).where(SubjectLink.platform_id == platform.id))
        assert sorted(links) == sorted([s.id for s in subjects] + [person.id])
        repo.bulk_insert(
            session,
            Relation,
            [
                {
                    "id": new_id(),
                    "kind": "legal_representative",
                    "holder_id": person.id,
                    "object_id": subjects[0].id,
                }
            ],
        )
        pairs = {(person.id, s.id) for s in subjects} | {(f"x{i}", "y") for i in range(30_000)}
        assert repo.existing_relations(session, "legal_representative", pairs) == {
            (person.id, subjects[0].id)
        }
        assert repo.shops_by_platform_shop_ids(session, platform.id, noise) == {}


def _file(path: Path) -> Path:
    """A shops file of 40 rows: bad rows, a shop id repeated inside a batch and one repeated in a later
    batch (an update), operators and legal representatives shared between shops."""
    shared_uscc, shared_rep = uscc(), id_number()
    rows = []
    for n in range(1, 41):
        row = _shop(n)
        if n % 4 == 0:
            row |= {"operator_uscc": shared_uscc, "operator_name": "济南共用有限公司"}
        if n % 3 == 0:
            row |= {"legal_rep_id_number": shared_rep}
        if n % 9 == 0:
            row |= {"phone": "12345"}
        if n == 11:
            row |= {"platform_shop_id": "P-10"}  # repeats row 10, in the same batch of 7
        if n == 33:
            row |= {"platform_shop_id": "P-2", "shop_name": "改名店"}  # repeats row 2, 4 batches later
        if n == 20:
            row |= {"operator_type": "person", "operator_uscc": "", "operator_name": "李四"}
            row |= {"operator_id_number": id_number(), "legal_rep_name": "", "legal_rep_id_number": ""}
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SHOP_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("only,three,cells\n")
    return path


def _load(store: Path, source: Path, code: str) -> tuple[dict, str]:
    copy = store / code / "shops.csv"
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    counts = jobs.import_file(copy, kind="shops", platform=code)
    rejects = (copy.parent / "shops.csv.rejects.csv").read_text(encoding="utf-8")
    return counts, rejects


def _state(code: str) -> tuple[list, list]:
    from sqlalchemy import text

    from ecredit.db import session_scope
    from ecredit.subjects.models import Platform

    with session_scope(read_only=True) as s:
        platform = s.scalars(select(Platform).where(Platform.code == code)).one()
        shops = sorted(
            (x.platform_shop_id, x.name, x.operator_id, x.phone_masked, x.address_masked)
            for x in s.scalars(select(Shop).where(Shop.platform_id == platform.id))
        )
        audit = [
            {
                k: v
                for k, v in (json.loads(d) if isinstance(d, str) else d).items()
                if k != "subjects_inserted"
            }
            for (d,) in s.execute(
                text(
                    "SELECT details FROM audit_entry"
                    " WHERE action = 'shops.import' AND object_id = :p ORDER BY seq"
                ),
                {"p": platform.id},
            )
        ]
    return shops, audit


@pytest.mark.parametrize(("per_commit", "ahead"), [(3, False), (3, True), (1, True)])
def test_batches_per_commit_and_validation_ahead_change_nothing(
    isolated_store, monkeypatch, per_commit, ahead
):
    invoke("db", "upgrade")
    for code in ("ref", "new"):
        assert (
            invoke("registry", "add-platform", code, "--name", "演示平台有限公司", "--uscc", uscc()).exit_code
            == 0
        )
    source = _file(isolated_store / "source" / "shops.csv")
    monkeypatch.setattr(jobs, "BATCH_ROWS", 7)
    # The reference: one transaction per batch, validated in this process.
    monkeypatch.setattr(jobs, "SHOPS_BATCHES_PER_COMMIT", 1)
    monkeypatch.setattr(jobs, "READ_AHEAD_MIN_BYTES", 1 << 40)
    ref_counts, ref_rejects = _load(isolated_store, source, "ref")
    monkeypatch.setattr(jobs, "SHOPS_BATCHES_PER_COMMIT", per_commit)
    if ahead:
        monkeypatch.setattr(jobs, "READ_AHEAD_MIN_BYTES", 0)
    counts, rejects = _load(isolated_store, source, "new")

    # Rejected: the bad phones of rows 9, 18, 27 and 36, the repeat in row 11, and the unreadable row 41.
    assert ref_counts["loaded"] == counts["loaded"] == 40 - 5
    assert ref_counts["rejected"] == counts["rejected"] == 6
    assert rejects == ref_rejects
    assert [line.split(",")[0] for line in rejects.splitlines()[1:]] == ["9", "11", "18", "27", "41", "36"]
    ref_shops, ref_audit = _state("ref")
    shops, audit = _state("new")
    assert [s[1:] for s in shops] == [s[1:] for s in ref_shops]  # the same operators, too
    assert ("P-2", "改名店") in [s[:2] for s in shops]  # the repeat 4 batches later updated the shop
    assert len(audit) == 6  # one entry per batch of 7 rows, whatever the transactions
    assert audit == ref_audit
