"""The evaluation against ground truth: pure scoring over Arrow tables and sets, with known numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest

from ecredit.errors import BadRequest
from ecredit.monitoring import evaluate as ev
from ecredit.monitoring.findings import MemberRole, WarningKind

# The truth files as the simulator writes them (docs/simulation.md), cut to a few hand-made rows.
TRUTH: dict[str, list[dict[str, str]]] = {
    "brushing_rings.csv": [
        *(
            {"ring_id": "r1", "platform": "qilu", "member_type": "account", "member_id": a}
            for a in ("a1", "a2", "a3", "a4")
        ),
        {"ring_id": "r2", "platform": "haibin", "member_type": "account", "member_id": "a1"},
        {"ring_id": "r1", "platform": "qilu", "member_type": "shop", "member_id": "s1"},
        {"ring_id": "r1", "platform": "qilu", "member_type": "shop", "member_id": "s2"},
    ],
    "fake_reviews.csv": [{"platform": "qilu", "review_id": r, "order_id": "o"} for r in ("r1", "r2", "r3")],
    "extortion_reviewers.csv": [{"platform": "qilu", "account_id": "e1", "negative_reviews": "9"}],
    "empty_parcels.csv": [
        {"platform": "lushang", "parcel_id": p, "why": "light"} for p in ("p1", "p2", "p3", "p4")
    ],
    "shared_payers.csv": [
        {"platform": "qilu", "payer_ref": "6212365588247583121", "account_id": "c1"},
        {"platform": "qilu", "payer_ref": "6212365588247583121", "account_id": "c2"},
        {"platform": "qilu", "payer_ref": "6212365588247583121", "account_id": "c2"},
    ],
    "reopened_shops.csv": [
        {"old_platform": "qilu", "old_shop_id": "O1", "new_platform": "haibin", "new_shop_id": "N1"},
    ],
}

# kind, role, platform, ref, object_kind, linked
MEMBERS = [
    ("brushing_ring", "account", "qilu", "a1", None, False),
    ("brushing_ring", "account", "qilu", "a2", None, False),
    ("brushing_ring", "account", "qilu", "a3", None, False),
    ("brushing_ring", "account", "qilu", "x1", None, False),  # FP
    ("brushing_ring", "account", "haibin", "a9", None, False),  # FP (a1 on haibin is the FN with a4)
    ("brushing_ring", "account", "qilu", "a1", None, False),  # named by a second warning: counted once
    ("brushing_ring", "shop", "qilu", "s1", None, False),
    (
        "brushing_ring",
        "object",
        "qilu",
        "r3",
        "reviews",
        False,
    ),  # a review in a ring warning: not fake_review
    ("fake_review", "object", "qilu", "r1", "reviews", False),
    ("fake_review", "object", "qilu", "r2", "reviews", False),
    ("fake_review", "object", "qilu", "o1", "orders", False),  # evidence of another kind: not counted
    ("extortion_reviewer", "account", "qilu", "e1", None, False),
    ("extortion_reviewer", "account", "qilu", "e2", None, False),
    ("empty_parcel", "object", "lushang", "p1", "parcels", False),
    ("empty_parcel", "object", "lushang", "p2", "parcels", False),
    ("empty_parcel", "object", "lushang", "p3", "parcels", False),
    ("empty_parcel", "object", "lushang", "p4", "parcels", False),
    ("empty_parcel", "object", "lushang", "p5", "parcels", False),
    ("empty_parcel", "shop", "lushang", "LS-1", None, False),
    ("reopened_shop", "shop", "haibin", "N1", None, False),
    ("reopened_shop", "shop", "qilu", "O1", None, True),  # the earlier shop: linked evidence
]

# unit label -> (truth, predicted, tp, fp, fn, precision, recall, f1)
EXPECTED = {
    "brushing_ring accounts": (5, 5, 3, 2, 2, 0.6, 0.6, 0.6),
    "brushing_ring shops": (2, 1, 1, 0, 1, 1.0, 0.5, 2 / 3),
    "fake_review reviews": (3, 2, 2, 0, 1, 1.0, 2 / 3, 0.8),
    "extortion_reviewer accounts": (1, 2, 1, 1, 0, 0.5, 1.0, 2 / 3),
    "empty_parcel parcels": (4, 5, 4, 1, 0, 0.8, 1.0, 8 / 9),
    "shared_payer accounts": (2, 0, 0, 0, 2, None, 0.0, 0.0),
    "reopened_shop new shops": (1, 1, 1, 0, 0, 1.0, 1.0, 1.0),
}


def write_truth(directory: Path) -> Path:
    """A province directory with ``truth/*.csv`` holding ``TRUTH``."""
    truth = directory / "truth"
    truth.mkdir(parents=True)
    for name, rows in TRUTH.items():
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with (truth / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return directory


def _members_table(rows) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    return pa.table(dict(zip(ev.MEMBER_SCHEMA.names, columns, strict=True)), schema=ev.MEMBER_SCHEMA)


def _rounded(score: ev.UnitScore):
    def r(x):
        return None if x is None else round(x, 6)

    return (
        score.truth,
        score.predicted,
        score.tp,
        score.fp,
        score.fn,
        r(score.precision),
        r(score.recall),
        r(score.f1),
    )


class TestEvaluate:
    def test_known_precision_and_recall_per_unit(self, tmp_path):
        truth = ev.truth_pairs(ev.read_truth(write_truth(tmp_path)))
        scores = ev.evaluate(truth, ev.predicted_pairs(_members_table(MEMBERS)))
        assert [s.unit.label for s in scores] == list(EXPECTED)
        for s in scores:
            expected = EXPECTED[s.unit.label]
            assert _rounded(s) == tuple(None if x is None else round(x, 6) for x in expected), s.unit.label

    def test_pairs_compare_platform_and_id(self):
        unit = ev.UNITS[0]
        result = ev.score(unit, {("qilu", "a1")}, {("haibin", "a1")})
        assert (result.tp, result.fp, result.fn, result.f1) == (0, 1, 1, 0.0)

    def test_nothing_labelled_and_nothing_warned_has_no_score(self):
        result = ev.score(ev.UNITS[0], set(), set())
        assert (result.precision, result.recall, result.f1) == (None, None, None)
        assert result.to_dict()["f1"] is None

    def test_linked_members_are_never_predictions(self):
        only_linked = _members_table([("reopened_shop", "shop", "qilu", "O1", None, True)])
        unit = next(u for u in ev.UNITS if u.kind is WarningKind.reopened_shop)
        assert unit.role is MemberRole.shop
        assert ev.predicted_pairs(only_linked)[unit] == set()

    def test_a_truth_directory_without_its_files_is_refused(self, tmp_path):
        (tmp_path / "truth").mkdir()
        with pytest.raises(BadRequest, match=r"brushing_rings\.csv"):
            ev.read_truth(tmp_path)

    def test_numeric_looking_ids_stay_strings(self, tmp_path):
        write_truth(tmp_path)
        (tmp_path / "truth" / "shared_payers.csv").write_text(
            "platform,payer_ref,account_id\nqilu,6212365588247583121,000123\n", encoding="utf-8"
        )
        unit = next(u for u in ev.UNITS if u.kind is WarningKind.shared_payer)
        assert ev.truth_pairs(ev.read_truth(tmp_path / "truth"))[unit] == {("qilu", "000123")}


def test_the_docs_define_every_unit_and_export_column():
    from ecredit.monitoring.service import EXPORT_COLUMNS

    text = (Path(__file__).resolve().parents[2] / "docs" / "monitoring.md").read_text(encoding="utf-8")
    missing = [u.label for u in ev.UNITS if f"| `{u.label}` |" not in text]
    missing += [c for c in EXPORT_COLUMNS if f"| `{c}` |" not in text]
    assert not missing, missing
