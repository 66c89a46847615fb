"""Real-name verification of shop operators and trusted certification marks (可信认证标识)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ecredit.errors import NotFound
from ecredit.kit.clock import add_months, utc_now
from ecredit.kit.events import announce
from ecredit.kit.ids import new_id
from ecredit.kit.policy import policy
from ecredit.security import approvals
from ecredit.security.context import get_keyring
from ecredit.security.masking import mask_free_text
from ecredit.security.permissions import authorize
from ecredit.security.pii import reveal
from ecredit.security.principals import Principal
from ecredit.security.signing import sign_token, verify_token
from ecredit.security.trail import record_change
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects import service as subjects_service
from ecredit.subjects.models import Shop
from ecredit.verification import repository as repo
from ecredit.verification import rules
from ecredit.verification.errors import MarkNotFound, RegisterEntryNotFound
from ecredit.verification.events import MarkRevoked, ShopVerificationFailed, ShopVerified
from ecredit.verification.models import Mark, RegisterEntry, Verification

MAX_TOKEN_LENGTH = 4096


def get_register_entry_or_raise(session: Session, uscc: str) -> RegisterEntry:
    """The business-register entry for a USCC."""
    entry = repo.get_register_entry(session, uscc)
    if entry is None:
        raise RegisterEntryNotFound(f"no register entry for {uscc}")
    return entry


def _operator_facts(session: Session, shop: Shop) -> rules.OperatorFacts:
    operator = subjects_service.get_subject_or_raise(session, shop.operator_id)
    reps = repo.legal_representatives(session, operator.id)
    register = None
    if operator.uscc:
        entry = repo.get_register_entry(session, operator.uscc)
        if entry is not None:
            register = rules.RegisterFacts(
                uscc=entry.uscc, name=entry.name, legal_rep_name=entry.legal_rep_name, status=entry.status
            )
    return rules.OperatorFacts(
        kind=operator.kind,
        name=operator.name,
        uscc=operator.uscc,
        id_number=reveal(operator, "id_number"),
        legal_rep_names=tuple(r.name for r in reps),
        legal_rep_id_numbers=tuple(n for n in (reveal(r, "id_number") for r in reps) if n),
        register=register,
    )


def verify_shop(
    session: Session, principal: Principal, shop_id: str, *, now: dt.datetime | None = None
) -> Verification:
    """Verify a shop's operator now; a verified shop gets a fresh mark, a rejected one loses its marks."""
    grant = authorize(principal, "verification.run")
    now = now or utc_now()
    pol = policy("verification")
    shop = subjects_service.visible_shop(session, grant, shop_id)
    facts = _operator_facts(session, shop)
    outcome = rules.evaluate(
        facts, active_statuses=frozenset(pol.value("active_register_statuses")), today=now.date()
    )
    expires_at = add_months(now, pol.value("reverification_interval")) if outcome.verified else None
    verification = Verification(
        id=new_id(),
        shop_id=shop.id,
        subject_id=shop.operator_id,
        outcome="verified" if outcome.verified else "rejected",
        reasons=outcome.reasons,
        checks={"checks": [c.to_dict() for c in outcome.checks]},
        policy_ref=pol.ref,
        checked_at=now,
        expires_at=expires_at,
    )
    session.add(verification)
    shop.verification_status = verification.outcome
    shop.verified_until = expires_at
    session.flush()
    record_change(
        session,
        principal,
        "verification.run",
        "shop",
        shop.id,
        {"outcome": verification.outcome, "verification": verification.id, "policy": pol.ref},
    )
    if outcome.verified:
        for mark in repo.active_marks_of_shop(session, shop.id):
            _revoke(session, mark, "superseded by a new verification", now)
        mark = issue_mark(session, shop, verification, facts.kind, now=now)
        announce(session, ShopVerified(shop_id=shop.id, verification_id=verification.id, mark_id=mark.id))
    else:
        for mark in repo.active_marks_of_shop(session, shop.id):
            _revoke(session, mark, "real-name verification failed", now)
        announce(
            session,
            ShopVerificationFailed(
                shop_id=shop.id,
                verification_id=verification.id,
                reasons=tuple(str(r["code"]) for r in outcome.reasons),
            ),
        )
    return verification


def shops_due_for_verification(
    session: Session, *, now: dt.datetime | None = None, include_unverified: bool = False, limit: int = 1000
) -> Sequence[str]:
    """Ids of open shops whose verification has expired (and, optionally, never-verified ones)."""
    return repo.shops_due(session, now or utc_now(), include_unverified=include_unverified, limit=limit)


def count_due(session: Session, *, now: dt.datetime | None = None, include_unverified: bool = False) -> int:
    """How many open shops are due for (re-)verification."""
    return repo.count_due(session, now or utc_now(), include_unverified=include_unverified)


def list_verifications(session: Session, principal: Principal, shop_id: str) -> Sequence[Verification]:
    """A shop's verification history, newest first."""
    subjects_service.visible_shop(session, authorize(principal, "verification.read"), shop_id)
    return repo.verifications_of(session, shop_id)


def issue_mark(
    session: Session, shop: Shop, verification: Verification, operator_kind: str, *, now: dt.datetime
) -> Mark:
    """Sign a mark for a verified shop; it expires with the verification it rests on."""
    pol = policy("verification")
    ring = get_keyring()
    level = pol.value("mark_levels").get(operator_kind, "L1")
    validity_end = add_months(now, pol.value("mark_validity"))
    expires_at = min(validity_end, verification.expires_at or validity_end)
    platform_code = subjects_repo.platform_codes(session, [shop.platform_id])[shop.platform_id]
    mark_id = new_id()
    payload = {
        "mid": mark_id,
        "sub": shop.operator_id,
        "shop": shop.id,
        "plt": platform_code,
        "psid": shop.platform_shop_id,
        "lvl": level,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    token = sign_token(ring, payload)
    mark = Mark(
        id=mark_id,
        shop_id=shop.id,
        subject_id=shop.operator_id,
        platform_id=shop.platform_id,
        verification_id=verification.id,
        level=level,
        key_id=ring.active_signing_key_id,
        issued_at=now,
        expires_at=expires_at,
        token=token,
    )
    session.add(mark)
    session.flush()
    return mark


def _revoke(session: Session, mark: Mark, reason: str, now: dt.datetime) -> None:
    mark.revoked_at = now
    mark.revoked_reason = mask_free_text(reason)  # shown by the public mark check
    session.flush()
    announce(session, MarkRevoked(mark_id=mark.id, shop_id=mark.shop_id, reason=reason))


def check_mark_access(session: Session, principal: Principal, mark_id: str) -> Mark:
    """The mark, if the caller may revoke it (its shop is in the caller's scope); ``MarkNotFound`` else."""
    grant = authorize(principal, "marks.revoke")
    mark = repo.get_mark(session, mark_id)
    if mark is None:
        raise MarkNotFound(f"no mark {mark_id}")
    try:
        subjects_service.visible_shop(session, grant, mark.shop_id)
    except NotFound:
        raise MarkNotFound(f"no mark {mark_id}") from None
    return mark


def revoke_mark(
    session: Session, principal: Principal, mark_id: str, *, reason: str, now: dt.datetime | None = None
) -> Mark | approvals.Approval:
    """Revoke a mark (a regulator's decision, a list measure). Under dual control a regulator's revocation
    is a request that a second regulator approves (``approvals``); the mark is revoked then."""
    mark = check_mark_access(session, principal, mark_id)
    if approvals.needs_second_person(principal, "marks.revoke"):
        return approvals.request(
            session,
            principal,
            action="marks.revoke",
            object_type="mark",
            object_id=mark.id,
            params={"reason": reason},
            reason=reason,
        )
    execute_revoke(session, principal, mark.id, {"reason": reason}, now=now)
    return mark


def execute_revoke(
    session: Session,
    principal: Principal,
    mark_id: str,
    params: dict[str, Any],
    *,
    now: dt.datetime | None = None,
) -> None:
    """Carry out a revocation (directly, or once its approval is given)."""
    mark = check_mark_access(session, principal, mark_id)
    if mark.revoked_at is None:
        _revoke(session, mark, str(params["reason"]), now or utc_now())
        record_change(session, principal, "marks.revoke", "mark", mark.id, {"reason": params["reason"]})


def revoke_shop_marks(session: Session, shop_id: str, *, reason: str, now: dt.datetime | None = None) -> int:
    """Revoke every active mark of a shop; returns how many were revoked."""
    marks = repo.active_marks_of_shop(session, shop_id)
    for mark in marks:
        _revoke(session, mark, reason, now or utc_now())
    return len(marks)


def current_mark(session: Session, principal: Principal, shop_id: str) -> Mark:
    """The shop's newest mark (revoked or not)."""
    subjects_service.visible_shop(session, authorize(principal, "marks.read"), shop_id)
    mark = repo.latest_mark_of_shop(session, shop_id)
    if mark is None:
        raise MarkNotFound(f"shop {shop_id} has no mark")
    return mark


@dataclass(frozen=True)
class MarkCheck:
    """What the public mark check answers."""

    status: str  # valid | revoked | expired | forged
    reason: str
    payload: dict[str, Any] | None = None
    mark: Mark | None = None
    shop_name: str | None = None
    subject_name: str | None = None


def check_mark(session: Session, token: str, *, now: dt.datetime | None = None) -> MarkCheck:
    """Answer whether a presented mark token is valid, revoked, expired or forged."""
    now = now or utc_now()
    if len(token) > MAX_TOKEN_LENGTH:
        return MarkCheck("forged", "token too long")
    result = verify_token(get_keyring().public_signing_keys(), token)
    if result.status != "valid" or result.payload is None:
        return MarkCheck("forged", result.reason)
    payload = result.payload
    mark = repo.get_mark(session, str(payload.get("mid", "")))
    if mark is None or mark.token != token:
        return MarkCheck("forged", "correctly signed but never issued by this registry", payload)
    shop = subjects_repo.get_shop(session, mark.shop_id)
    subject = subjects_repo.get_subject(session, mark.subject_id)
    names = {"shop_name": shop.name if shop else None, "subject_name": subject.name if subject else None}
    if mark.revoked_at is not None:
        return MarkCheck("revoked", mark.revoked_reason or "revoked", payload, mark, **names)
    if mark.expires_at <= now:
        return MarkCheck("expired", "the mark's validity has ended", payload, mark, **names)
    return MarkCheck("valid", "signature and registry state verified", payload, mark, **names)
