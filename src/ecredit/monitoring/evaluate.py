"""How good the warnings are: precision, recall and F1 against the synthetic province's ground truth.

Each row of the evaluation is a *unit*: one kind of warning, one kind of member, and the truth file that
labels the same things (docs/monitoring.md, "Evaluation"). Both sides are sets of (platform code, the
platform's own id) pairs; a pair counts once however many warnings name it. The predictions are the
members of every stored warning that is not dismissed, linked members left out (a re-opened shop's
warning names the earlier shop only as evidence).

The scoring is pure, over Arrow tables and sets, so it is tested without a store; ``evaluate_store``
reads the two sides and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv
from sqlalchemy.orm import Session

from ecredit.errors import BadRequest, Forbidden
from ecredit.monitoring import repository as repo
from ecredit.monitoring.findings import MemberRole, WarningKind
from ecredit.security.permissions import authorize
from ecredit.security.principals import Principal

Pair = tuple[str, str]


@dataclass(frozen=True)
class Unit:
    """What one row of the evaluation counts, on the warning side and on the truth side."""

    kind: WarningKind  # warnings of this kind
    name: str  # what is counted
    role: MemberRole  # their members of this role
    object_kind: str | None  # for objects: only records of this kind
    truth_file: str  # under DIR/truth/
    platform_column: str
    id_column: str
    where: tuple[str, str] | None = None  # truth rows kept: column == value

    @property
    def label(self) -> str:
        return f"{self.kind.value} {self.name}"


UNITS: tuple[Unit, ...] = (
    Unit(
        WarningKind.brushing_ring,
        "accounts",
        MemberRole.account,
        None,
        "brushing_rings.csv",
        "platform",
        "member_id",
        ("member_type", "account"),
    ),
    Unit(
        WarningKind.brushing_ring,
        "shops",
        MemberRole.shop,
        None,
        "brushing_rings.csv",
        "platform",
        "member_id",
        ("member_type", "shop"),
    ),
    Unit(
        WarningKind.fake_review,
        "reviews",
        MemberRole.object,
        "reviews",
        "fake_reviews.csv",
        "platform",
        "review_id",
    ),
    Unit(
        WarningKind.extortion_reviewer,
        "accounts",
        MemberRole.account,
        None,
        "extortion_reviewers.csv",
        "platform",
        "account_id",
    ),
    Unit(
        WarningKind.empty_parcel,
        "parcels",
        MemberRole.object,
        "parcels",
        "empty_parcels.csv",
        "platform",
        "parcel_id",
    ),
    Unit(
        WarningKind.shared_payer,
        "accounts",
        MemberRole.account,
        None,
        "shared_payers.csv",
        "platform",
        "account_id",
    ),
    Unit(
        WarningKind.reopened_shop,
        "new shops",
        MemberRole.shop,
        None,
        "reopened_shops.csv",
        "new_platform",
        "new_shop_id",
    ),
)

MEMBER_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("role", pa.string()),
        ("platform", pa.string()),
        ("ref", pa.string()),
        ("object_kind", pa.string()),
        ("linked", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class UnitScore:
    unit: Unit
    truth: int  # labelled pairs
    predicted: int  # pairs the warnings name
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP); None when nothing was predicted."""
        return self.tp / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        """TP / (TP + FN); None when nothing is labelled."""
        return self.tp / self.truth if self.truth else None

    @property
    def f1(self) -> float | None:
        """2·TP / (2·TP + FP + FN): the harmonic mean of precision and recall; None when both sides are
        empty, 0 when one side is."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.unit.kind.value,
            "unit": self.unit.name,
            "truth_file": self.unit.truth_file,
            "truth": self.truth,
            "predicted": self.predicted,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def score(unit: Unit, truth: set[Pair], predicted: set[Pair]) -> UnitScore:
    """Compare two sets of (platform, id) pairs."""
    tp = len(truth & predicted)
    return UnitScore(
        unit=unit,
        truth=len(truth),
        predicted=len(predicted),
        tp=tp,
        fp=len(predicted) - tp,
        fn=len(truth) - tp,
    )


def _pairs(table: pa.Table, platform_column: str, id_column: str) -> set[Pair]:
    platforms = table.column(platform_column).to_pylist()
    ids = table.column(id_column).to_pylist()
    return {(p, i) for p, i in zip(platforms, ids, strict=True) if p and i}


def truth_pairs(tables: Mapping[str, pa.Table], units: tuple[Unit, ...] = UNITS) -> dict[Unit, set[Pair]]:
    """The labelled pairs of each unit, from the truth tables by file name (string columns)."""
    found: dict[Unit, set[Pair]] = {}
    for unit in units:
        table = tables[unit.truth_file]
        if unit.where is not None:
            column, value = unit.where
            table = table.filter(pc.equal(table.column(column), value))
        found[unit] = _pairs(table, unit.platform_column, unit.id_column)
    return found


def predicted_pairs(members: pa.Table, units: tuple[Unit, ...] = UNITS) -> dict[Unit, set[Pair]]:
    """The pairs each unit's warnings name, from a members table (``MEMBER_SCHEMA``); linked members are
    evidence, not predictions."""
    parties = members.filter(pc.invert(pc.fill_null(members.column("linked"), False)))
    found: dict[Unit, set[Pair]] = {}
    for unit in units:
        mask = pc.and_(
            pc.equal(parties.column("kind"), unit.kind.value),
            pc.equal(parties.column("role"), unit.role.value),
        )
        if unit.object_kind is not None:
            mask = pc.and_(mask, pc.equal(parties.column("object_kind"), unit.object_kind))
        found[unit] = _pairs(parties.filter(pc.fill_null(mask, False)), "platform", "ref")
    return found


def evaluate(
    truth: Mapping[Unit, set[Pair]], predicted: Mapping[Unit, set[Pair]], units: tuple[Unit, ...] = UNITS
) -> list[UnitScore]:
    """One score per unit, in the order of ``units``."""
    return [score(unit, truth.get(unit, set()), predicted.get(unit, set())) for unit in units]


def read_truth(truth_dir: Path, units: tuple[Unit, ...] = UNITS) -> dict[str, pa.Table]:
    """The truth files the units need, read with only their columns, every column as a string.

    ``truth_dir`` is the province directory (with ``truth/``) or ``truth/`` itself.
    """
    base = truth_dir / "truth" if (truth_dir / "truth").is_dir() else truth_dir
    columns: dict[str, set[str]] = {}
    for unit in units:
        wanted = columns.setdefault(unit.truth_file, set())
        wanted |= {unit.platform_column, unit.id_column}
        if unit.where is not None:
            wanted.add(unit.where[0])
    tables: dict[str, pa.Table] = {}
    for name, wanted in sorted(columns.items()):
        path = base / name
        if not path.is_file():
            raise BadRequest(f"{path}: truth file not found (is {truth_dir} a simulated province?)")
        names = sorted(wanted)
        options = pa_csv.ConvertOptions(
            include_columns=names, column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
        )
        try:
            tables[name] = pa_csv.read_csv(path, convert_options=options)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadRequest(f"{path}: cannot read the truth file: {exc}") from None
    return tables


def stored_members(session: Session) -> pa.Table:
    """The members of every warning that is not dismissed, as an Arrow table (``MEMBER_SCHEMA``)."""
    return pa.table(repo.evaluation_members(session), schema=MEMBER_SCHEMA)


def evaluate_store(session: Session, principal: Principal, truth_dir: Path) -> list[UnitScore]:
    """Score the stored warnings against a simulated province's labels (every warning: admin only)."""
    grant = authorize(principal, "warnings.read")
    if grant.platform_id or grant.region_prefix:
        raise Forbidden("the evaluation reads every warning: it needs an unrestricted grant")
    truth = truth_pairs(read_truth(truth_dir))
    return evaluate(truth, predicted_pairs(stored_members(session)))
