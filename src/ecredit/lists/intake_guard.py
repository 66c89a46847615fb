"""The check inside intake: a listed operator opening a shop raises a real-time warning (issue 7, DESIGN.md
§5 "a listed subject opening a shop").

``wiring.py`` subscribes ``on_shop_registered`` to the registry's ``ShopRegistered``. The guard runs the
check API's own ``check`` for action ``open_shop`` on the shop's operator, and for a company operator the
check for action ``legal_representative`` on its current legal representatives (a person a measure bars
from serving as legal representative runs the company). When either is restricted it records a
``listed_operator`` risk warning through monitoring's warning service, with the entries, the measures,
their legal basis and the data version as evidence; regulators triage it like every warning. A failing
guard never refuses the shop: the failure is logged and the registration goes on.

A bulk registration announces a million shops in a few transactions, so the guard must cost nothing per
shop when nobody is listed: per transaction it loads once the subjects with a black-list entry in force and
the people holding a legal-representative relation to one of them (``_Listed``), and runs the check (with
its audit entry) only for a shop whose operator is among them, or whose legal representative is. The cache
is dropped when the session flushes a list entry (the ORM's ``after_flush``); a list entry changed by a Core
statement in the same transaction as the shop is seen from the next transaction on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ecredit.kit.clock import today
from ecredit.lists import check as check_service
from ecredit.lists import check_repository as repo
from ecredit.lists.models import ListEntry
from ecredit.monitoring import service as monitoring_service
from ecredit.monitoring.findings import DetectorRun, Finding, Member, MemberRole, WarningKind
from ecredit.security.principals import system
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects.events import ShopRegistered
from ecredit.subjects.models import ORGANISATION_KINDS, RelationKind

log = logging.getLogger("ecredit.lists.intake_guard")

DETECTOR = "realtime_listed_operator"
VERSION = "1"
ENGINE = "intake"
GUARD = system("lists-intake-guard")
_COMPANY_KINDS = frozenset(k.value for k in ORGANISATION_KINDS)


@dataclass(frozen=True)
class _Key:
    uscc: str | None = None
    id_number: str | None = None
    subject_id: str | None = None


def _evidence(answer: check_service.SubjectAnswer, role: str) -> dict[str, Any]:
    return {
        "role": role,
        "subject_id": answer.subject_id,
        "answer": answer.answer,
        "explanation": answer.explanation,
        "entries": [
            {
                "entry_id": e.id,
                "subject_id": e.subject_id,
                "list_type": e.list_type,
                "list_name_zh": e.list_name_zh,
                "published_on": e.published_on.isoformat() if e.published_on else None,
                "effective_until": e.effective_until.isoformat() if e.effective_until else None,
                "legal_basis": e.legal_basis,
            }
            for e in answer.entries
        ],
        "measures": [
            {
                "measure": m.measure,
                "name_zh": m.name_zh,
                "answer": m.answer,
                "entry_id": m.entry_id,
                "legal_basis": m.legal_basis,
                "list_legal_basis": m.list_legal_basis,
                "via_subject_id": m.via_subject_id,
            }
            for m in answer.measures
            if m.answer == check_service.RESTRICTED
        ],
    }


def findings_for_shop(session: Session, shop_id: str) -> tuple[list[Finding], str]:
    """The findings of the guard for a newly registered shop, and the lists data stamp they rest on."""
    shop = subjects_repo.get_shop(session, shop_id)
    if shop is None:
        return [], ""
    operator = subjects_repo.get_subject(session, shop.operator_id)
    platform_code = subjects_repo.platform_codes(session, [shop.platform_id]).get(shop.platform_id, "")
    day = today()
    own = check_service.check(session, GUARD, [_Key(subject_id=shop.operator_id)], "open_shop", day)
    stamp = own.data_version.lists_data
    parts = []
    if own.results[0].answer == check_service.RESTRICTED:
        parts.append(_evidence(own.results[0], "operator"))
    if operator is not None and operator.kind in _COMPANY_KINDS:
        reps = repo.current_holders(session, RelationKind.legal_representative.value, operator.id)
        if reps:
            lr = check_service.check(
                session, GUARD, [_Key(subject_id=r) for r in reps], "legal_representative", day
            )
            parts += [
                _evidence(a, "legal_representative")
                for a in lr.results
                if a.answer == check_service.RESTRICTED
            ]
    if not parts:
        return [], stamp
    measures = sorted({m["measure"] for p in parts for m in p["measures"]})
    entries = sorted({e["entry_id"] for p in parts for e in p["entries"]})
    who = " and ".join(sorted({p["role"].replace("_", " ") for p in parts}))
    finding = Finding(
        kind=WarningKind.listed_operator,
        platform=platform_code,
        score=float(len(measures)),
        confidence=1.0,  # a published listing is a legal fact, not an estimate
        summary=(
            f"shop {shop.platform_shop_id} on {platform_code} was opened by a subject restricted as "
            f"{who}: {len(entries)} list entr{'y' if len(entries) == 1 else 'ies'} in force, "
            f"measures {', '.join(measures)}"
        ),
        members=[Member(MemberRole.shop, platform_code, shop.platform_shop_id)],
        details={
            "shop_id": shop.id,
            "operator_id": shop.operator_id,
            "entry_ids": entries,
            "measures": measures,
            "restricted": parts,
            "data_version": own.data_version.stamp,
        },
    )
    return [finding], stamp


@dataclass(frozen=True)
class _Listed:
    transaction: Any  # the session's root transaction the sets were read in
    day: Any
    subjects: frozenset[str]  # subjects with a black-list entry in force
    people: frozenset[str]  # current legal representatives of those subjects

    def may_be_restricted(self, session: Session, operator_id: str) -> bool:
        if operator_id in self.subjects:
            return True
        if not self.people:
            return False
        reps = repo.current_holders(session, RelationKind.legal_representative.value, operator_id)
        return any(r in self.people for r in reps)


_CACHE = "ecredit.lists.intake_guard"


def _listed(session: Session) -> _Listed:
    day = today()
    cached = session.info.get(_CACHE)
    root = session.get_transaction()
    if cached is not None and cached.transaction is root and cached.day == day:
        return cached
    subjects = repo.listed_subjects(session, day)
    people = (
        repo.holders_of(session, RelationKind.legal_representative.value, subjects) if subjects else set()
    )
    fresh = _Listed(root, day, frozenset(subjects), frozenset(people))
    session.info[_CACHE] = fresh
    return fresh


@sa_event.listens_for(Session, "after_flush")
def _forget_on_list_change(session: Session, _context: Any) -> None:
    if _CACHE not in session.info:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ListEntry):
            session.info.pop(_CACHE, None)
            return


def on_shop_registered(session: Session, event: ShopRegistered) -> None:
    """``ShopRegistered`` → the check; a ``listed_operator`` warning when the operator is restricted."""
    try:
        if not _listed(session).may_be_restricted(session, event.operator_id):
            return
        with session.begin_nested():  # a failure leaves the registration's own writes as they were
            findings, stamp = findings_for_shop(session, event.shop_id)
            if findings:
                run = DetectorRun(
                    detector=DETECTOR,
                    version=VERSION,
                    engine=ENGINE,
                    snapshot=stamp[:64],
                    parameters={"actions": ["open_shop", "legal_representative"]},
                )
                monitoring_service.record_findings(session, run, findings)
    except Exception:
        log.exception("the listed-operator check failed on shop %s", event.shop_id)
