"""Credit records and commitments: create, withdraw, repair, restore, read; sign, fulfil, breach.

Every change writes its history row and its audit entry in the caller's transaction and announces its
domain event there; the boundary commits. Classification and windows come from ``rules`` and
``policy/records.toml``; the record stores the rule and policy version it was given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ecredit.errors import FieldError, Forbidden
from ecredit.kit import clock, workdays
from ecredit.kit.events import announce
from ecredit.kit.ids import new_id
from ecredit.kit.policy import Policy, policy
from ecredit.records import repository as repo
from ecredit.records import rules
from ecredit.records.errors import (
    CommitmentNotFound,
    DuplicateRecord,
    InvalidCommitment,
    InvalidRecord,
    InvalidTransition,
    NoPublicityRule,
    RecordNotFound,
    RepairNotAllowed,
)
from ecredit.records.events import (
    RecordCorrected,
    RecordCreated,
    RecordRepaired,
    RecordRestored,
    RecordWithdrawn,
)
from ecredit.records.models import (
    CommitmentStatus,
    CreditCommitment,
    CreditRecord,
    CreditRecordEvent,
    RecordAction,
    RecordKind,
    RecordStatus,
)
from ecredit.records.schemas import (
    CommitmentBreach,
    CommitmentCreate,
    CommitmentFulfil,
    CommitmentRead,
    PlatformPenaltyCreate,
    PublicRecordRead,
    RecordCorrect,
    RecordCreate,
    RecordDetail,
    RecordEventRead,
    RecordRead,
)
from ecredit.security.masking import mask_free_text, mask_nested
from ecredit.security.permissions import Grant, Scope, authorize
from ecredit.security.principals import Principal, Role
from ecredit.security.trail import record_change
from ecredit.subjects import service as subjects_service
from ecredit.subjects.errors import SubjectNotFound
from ecredit.subjects.models import Subject


def records_policy() -> Policy:
    return policy("records")


# ------------------------------------------------------------------------------------------- creating


@dataclass
class NewRecord:
    """Everything a record is made from, after the caller's own validation."""

    subject_id: str
    kind: str
    title: str
    source_department: str
    decided_on: dt.date
    legal_basis: str = ""
    summary: str = ""
    source_ref: str | None = None
    severity: str | None = None
    regime: str | None = None
    facts: rules.Facts = field(default_factory=rules.Facts)
    evidence: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def fingerprint(new: NewRecord) -> str:
    """What makes a retry 'the same record': every input but the evidence of where it came from."""
    facts = new.facts
    body = {
        "subject_id": new.subject_id,
        "kind": new.kind,
        "title": new.title,
        "decided_on": new.decided_on.isoformat(),
        "legal_basis": new.legal_basis,
        "summary": new.summary,
        "severity": new.severity,
        "regime": new.regime,
        "types": sorted(facts.penalty_types),
        "procedure": facts.procedure,
        "fine": facts.fine_cents,
        "ban_until": facts.ban_until and facts.ban_until.isoformat(),
        "valid_until": facts.valid_until and facts.valid_until.isoformat(),
        "given_until": facts.given_until and facts.given_until.isoformat(),
        "sector": facts.sector,
        "specific_serious": facts.specific_serious,
        "list_colour": facts.list_colour,
        "outcome": facts.outcome,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def mask_new(new: NewRecord) -> NewRecord:
    """Mask phone and ID numbers in the free text of a new record (idempotent)."""
    new.title = mask_free_text(new.title)
    new.summary = mask_free_text(new.summary)
    new.legal_basis = mask_free_text(new.legal_basis)
    return new


def resolved(new: NewRecord) -> NewRecord:
    """The new record as it is fingerprinted: free text masked, the regime resolved from the department."""
    mask_new(new)
    markers = records_policy().value("samr_department_markers")
    new.regime = new.regime or rules.regime_of(new.source_department, markers)
    return new


def _validate(new: NewRecord, today: dt.date) -> list[FieldError]:
    errors = []
    facts = new.facts
    if new.decided_on > today:
        errors.append(FieldError("decided_on", f"is in the future ({new.decided_on} > {today})"))
    if new.kind == RecordKind.administrative_penalty:
        if not new.legal_basis:
            errors.append(FieldError("legal_basis", "required for an administrative penalty"))
        if not facts.penalty_types:
            errors.append(FieldError("penalty_types", "required for an administrative penalty"))
        if "fine" in facts.penalty_types and facts.fine_cents is None:
            errors.append(FieldError("amount_cents", "required when the penalty includes a fine"))
    if facts.ban_until is not None and facts.ban_until < new.decided_on:
        errors.append(FieldError("ban_until", "is before the decision date"))
    if facts.valid_until is not None and facts.valid_until < new.decided_on:
        errors.append(FieldError("valid_until", "is before the decision date"))
    if new.kind == RecordKind.list_entry:
        if facts.given_until is None:
            errors.append(FieldError("publicity_until", "required for a list entry (the list's term)"))
        elif facts.given_until < new.decided_on:
            errors.append(FieldError("publicity_until", "is before the decision date"))
    elif facts.given_until is not None:
        errors.append(FieldError("publicity_until", "is set by the publicity rules for this kind"))
    if new.kind == RecordKind.complaint_outcome and facts.outcome is None:
        errors.append(FieldError("outcome", "required for a complaint outcome"))
    if new.kind == RecordKind.list_entry and facts.list_colour is None:
        errors.append(FieldError("list_colour", "required for a list entry"))
    return errors


def _publish_by(regime: str, kind: str, decided_on: dt.date, pol: Policy) -> dict[str, Any]:
    """SAMR penalties: the day publication is due (20 working days); flagged when the calendar is unknown."""
    if regime != "samr" or kind != RecordKind.administrative_penalty:
        return {}
    days = int(pol.value("publication_deadline_samr"))
    try:
        return {"publish_by": workdays.add_workdays(decided_on, days).isoformat()}
    except workdays.CalendarUnknown as exc:
        return {"publish_by": None, "publish_by_unknown": exc.detail}


def add_record(
    session: Session,
    principal: Principal,
    new: NewRecord,
    *,
    today: dt.date | None = None,
    check_existing: bool = True,
) -> tuple[CreditRecord, bool]:
    """Create a record (no access check: callers authorise); ``(record, False)`` when the same document
    was already recorded with the same content (a retry), ``DuplicateRecord`` when with other content.
    ``check_existing=False``: the caller looked the document number up already (bulk imports)."""
    today = today or clock.today()
    pol = records_policy()
    mask_new(new)
    errors = _validate(new, today)
    if errors:
        raise InvalidRecord("invalid credit record", errors=errors)
    new.regime = new.regime or rules.regime_of(new.source_department, pol.value("samr_department_markers"))
    digest = fingerprint(new)
    if new.source_ref is not None and check_existing:
        existing = repo.get_by_source(session, new.source_ref, new.source_department, new.kind)
        if existing is not None:
            if existing.details.get("fingerprint") == digest:
                return existing, False
            raise DuplicateRecord(
                f"{new.source_department} {new.source_ref} is already recorded as {existing.id} "
                "with other content",
                errors=[FieldError("source_ref", f"already recorded as {existing.id}")],
            )
    regime = new.regime
    classified = rules.classify(new.kind, new.facts, new.severity, pol)
    effect = str(classified.effect)
    severity = str(classified.severity) if classified.severity else None
    rule = rules.choose_rule(
        rules.rules_of(pol),
        regime=regime,
        kind=new.kind,
        decided_on=new.decided_on,
        severity=severity,
        facts=new.facts,
        pol=pol,
    )
    if rule is None:
        raise NoPublicityRule(
            f"no publicity rule of {pol.ref} covers a {severity or ''} {new.kind} of the "
            f"{regime} regime decided on {new.decided_on}",
            errors=[FieldError("decided_on", "no publicity rule covers this date")],
        )
    window = rules.window(rule, new.decided_on, new.facts)
    facts = new.facts
    details = {
        **new.details,
        "regime": regime,
        "penalty_types": sorted(facts.penalty_types),
        "procedure": facts.procedure,
        "ban_until": facts.ban_until and facts.ban_until.isoformat(),
        "valid_until": facts.valid_until and facts.valid_until.isoformat(),
        "sector": facts.sector,
        "specific_serious": facts.specific_serious,
        "list_colour": facts.list_colour,
        "outcome": facts.outcome,
        "classification": classified.reasons,
        "classification_given": ["severity"] if new.severity else [],
        "rule_source": rule.source,
        "rule_confidence": rule.confidence,
        "repairable": rule.repairable,
        "department_code": principal.department,
        "fingerprint": digest,
        **_publish_by(regime, new.kind, new.decided_on, pol),
    }
    record = CreditRecord(
        id=new_id(),
        subject_id=new.subject_id,
        kind=new.kind,
        effect=effect,
        severity=severity,
        title=new.title,
        summary=new.summary,
        legal_basis=new.legal_basis,
        source_department=new.source_department,
        source_ref=new.source_ref,
        decided_on=new.decided_on,
        publicity_from=window.publicity_from,
        publicity_min_until=window.publicity_min_until,
        publicity_until=window.publicity_until,
        rule=rule.key,
        policy_version=pol.version,
        amount_cents=facts.fine_cents,
        status=RecordStatus.active.value,
        evidence=mask_nested(new.evidence),
        details=details,
    )
    session.add(record)
    # A bulk import flushes once per batch (``check_existing=False``: nothing reads the rows back before).
    _history(
        session, principal, record, RecordAction.created, "", {"rule": rule.key}, seq=1, flush=check_existing
    )
    record_change(
        session,
        principal,
        "records.create",
        "credit_record",
        record.id,
        {
            "subject_id": record.subject_id,
            "kind": record.kind,
            "severity": record.severity,
            "rule": rule.key,
            "policy": pol.ref,
            "source_ref": record.source_ref,
        },
    )
    announce(
        session,
        RecordCreated(
            record_id=record.id,
            subject_id=record.subject_id,
            kind=record.kind,
            effect=record.effect,
            severity=record.severity,
        ),
    )
    return record, True


def _history(
    session: Session,
    principal: Principal,
    record: CreditRecord,
    action: RecordAction,
    reason: str,
    details: dict[str, Any] | None = None,
    *,
    seq: int | None = None,
    flush: bool = True,
) -> None:
    session.add(
        CreditRecordEvent(
            record_id=record.id,
            seq=seq or repo.next_event_seq(session, record.id),
            action=action.value,
            actor=principal.actor,
            role=principal.role.value,
            reason=reason,
            details=details or {},
            at=clock.utc_now(),
        )
    )
    if flush:
        session.flush()


def _subject_for(session: Session, grant: Grant, subject_id: str) -> Subject:
    try:
        return subjects_service.visible_subject(session, grant, subject_id)
    except SubjectNotFound:
        # 404 like an unknown operator of a new shop (subjects.service.create_shop).
        raise SubjectNotFound(
            f"no subject {subject_id}", errors=[FieldError("subject_id", "no such subject")]
        ) from None


def create_record(
    session: Session, principal: Principal, data: RecordCreate, *, today: dt.date | None = None
) -> tuple[CreditRecord, bool]:
    """Record a fact about a subject (a regulator's decision, audited); ``created`` False on a retry."""
    grant = authorize(principal, "records.create")
    subject = _subject_for(session, grant, data.subject_id)
    new = NewRecord(
        subject_id=subject.id,
        kind=data.kind.value,
        title=data.title,
        source_department=data.source_department,
        decided_on=data.decided_on,
        legal_basis=data.legal_basis or "",
        summary=data.summary,
        source_ref=data.source_ref,
        severity=data.severity.value if data.severity else None,
        regime=data.regime,
        facts=rules.Facts(
            penalty_types=frozenset(t.value for t in data.penalty_types),
            procedure=data.procedure,
            fine_cents=data.amount_cents,
            ban_until=data.ban_until,
            sector=data.sector,
            specific_serious=data.specific_serious,
            valid_until=data.valid_until,
            given_until=data.publicity_until,
            list_colour=data.list_colour,
            outcome=data.outcome,
        ),
        evidence=dict(data.evidence),
    )
    return add_record(session, principal, new, today=today)


# ------------------------------------------------------------------------------------------- changing


def _staff_record(
    session: Session, grant: Grant, record_id: str, *, for_update: bool = False
) -> CreditRecord:
    """The record when the grant's region covers its subject; ``RecordNotFound`` otherwise."""
    record = repo.get_record(session, record_id, for_update=for_update)
    if record is None:
        raise RecordNotFound(f"no credit record {record_id}")
    subject = subjects_service.get_subject_or_raise(session, record.subject_id)
    if not grant.covers_region(subject.region_code):
        raise RecordNotFound(f"no credit record {record_id}")
    return record


def _record_for_step(
    session: Session,
    principal: Principal,
    record_id: str,
    *,
    action: str,
    step: str,
    required: RecordStatus | None = None,
    past: str = "",
) -> CreditRecord:
    """The record a workflow step changes: the action authorised, the row locked, the deciding department
    checked and, when ``required`` is given, the record in that status (else 409 naming the status)."""
    grant = authorize(principal, action)
    record = _staff_record(session, grant, record_id, for_update=True)
    _check_department(principal, record, step)
    if required is not None and record.status != required:
        raise InvalidTransition(
            f"a {record.status} record cannot be {past}",
            errors=[FieldError("status", f"is {record.status}")],
        )
    return record


def _check_department(principal: Principal, record: CreditRecord, step: str) -> None:
    """谁认定、谁修复: a regulator changes only the records its own department made (when both are known)."""
    made_by = record.details.get("department_code")
    if principal.role is Role.regulator and made_by and principal.department != made_by:
        raise Forbidden(f"only the department that made the record ({made_by}) may {step} it")


def withdraw_record(
    session: Session,
    principal: Principal,
    record_id: str,
    *,
    reason: str,
    basis_revoked_on: dt.date,
    today: dt.date | None = None,
) -> tuple[CreditRecord, dict[str, Any]]:
    """Withdraw a record whose basis was revoked, changed, or found unlawful or void; the answer says
    whether it happened inside the legal deadline (late withdrawals are made and flagged)."""
    today = today or clock.today()
    record = _record_for_step(session, principal, record_id, action="records.withdraw", step="withdraw")
    if record.status == RecordStatus.withdrawn:
        raise InvalidTransition(
            f"record {record.id} is already withdrawn", errors=[FieldError("status", "is withdrawn")]
        )
    if basis_revoked_on > today:
        raise InvalidRecord("invalid withdrawal", errors=[FieldError("basis_revoked_on", "is in the future")])
    if basis_revoked_on < record.decided_on:
        raise InvalidRecord(
            "invalid withdrawal", errors=[FieldError("basis_revoked_on", "is before the decision date")]
        )
    pol = records_policy()
    regime = record.details.get("regime", "ndrc")
    entry = rules.withdrawal_deadline_entry(regime)
    days = int(pol.value(entry))
    deadline: dt.date | None
    timing: dict[str, Any] = {"deadline_rule": entry, "deadline_source": pol.source(entry)}
    try:
        if pol.entry(entry).get("unit") == "working_days":
            deadline = workdays.add_workdays(basis_revoked_on, days)
        else:
            deadline = basis_revoked_on + dt.timedelta(days=days)
    except workdays.CalendarUnknown as exc:
        deadline = None
        timing["deadline_unknown"] = exc.detail
    timing["deadline"] = deadline and deadline.isoformat()
    timing["late"] = deadline is not None and today > deadline
    masked = mask_free_text(reason)
    previous = record.status
    record.status = RecordStatus.withdrawn.value
    session.flush()
    _history(
        session,
        principal,
        record,
        RecordAction.withdrawn,
        masked,
        {
            "from": previous,
            "basis_revoked_on": basis_revoked_on.isoformat(),
            "withdrawn_on": today.isoformat(),
            **timing,
        },
    )
    record_change(
        session,
        principal,
        "records.withdraw",
        "credit_record",
        record.id,
        {"from": previous, "reason": masked, **timing},
    )
    announce(
        session,
        RecordWithdrawn(
            record_id=record.id,
            subject_id=record.subject_id,
            kind=record.kind,
            withdrawn_by=principal.actor,
            late=bool(timing["late"]),
        ),
    )
    return record, timing


def repair_record(
    session: Session,
    principal: Principal,
    record_id: str,
    *,
    reason: str,
    commitment_id: str | None = None,
    today: dt.date | None = None,
) -> CreditRecord:
    """Repair a record (信用修复, decided by the department that made it): it leaves every public output
    and score, and stays in the archive with its history."""
    today = today or clock.today()
    record = _record_for_step(
        session,
        principal,
        record_id,
        action="records.repair",
        step="repair",
        required=RecordStatus.active,
        past="repaired",
    )
    if not record.details.get("repairable", True):
        raise RepairNotAllowed(
            f"rule {record.rule} does not allow repair: {record.details.get('rule_source', '')}",
            errors=[FieldError("rule", "not repairable")],
        )
    if today < record.publicity_min_until:
        raise RepairNotAllowed(
            f"repair may be granted only after the minimum period, from {record.publicity_min_until}",
            errors=[FieldError("publicity_min_until", f"runs until {record.publicity_min_until}")],
        )
    pol = records_policy()
    commitment = None
    if pol.value("repair_needs_commitment") and record.effect == "negative":
        if commitment_id is None:
            raise RepairNotAllowed(
                "repair needs the subject's signed repair commitment (信用修复承诺)",
                errors=[FieldError("commitment_id", "required")],
            )
        commitment = repo.get_commitment(session, commitment_id)
        if (
            commitment is None
            or commitment.subject_id != record.subject_id
            or commitment.type != "repair"
            or commitment.status != CommitmentStatus.signed
        ):
            raise RepairNotAllowed(
                "the commitment must be a signed repair commitment of the same subject",
                errors=[FieldError("commitment_id", "not a signed repair commitment of this subject")],
            )
    masked = mask_free_text(reason)
    record.status = RecordStatus.repaired.value
    session.flush()
    details = {"repaired_on": today.isoformat(), "commitment_id": commitment.id if commitment else None}
    _history(session, principal, record, RecordAction.repaired, masked, details)
    record_change(
        session, principal, "records.repair", "credit_record", record.id, {"reason": masked, **details}
    )
    announce(
        session,
        RecordRepaired(
            record_id=record.id, subject_id=record.subject_id, kind=record.kind, repaired_by=principal.actor
        ),
    )
    return record


CORRECTABLE = (
    "title",
    "summary",
    "legal_basis",
    "decided_on",
    "severity",
    "amount_cents",
    "publicity_from",
    "publicity_min_until",
    "publicity_until",
    "rule",
    "policy_version",
    "effect",
)


def _facts_of(record: CreditRecord) -> rules.Facts:
    d = record.details

    def day(key: str) -> dt.date | None:
        value = d.get(key)
        return dt.date.fromisoformat(value) if value else None

    return rules.Facts(
        penalty_types=frozenset(d.get("penalty_types") or ()),
        procedure=d.get("procedure") or "ordinary",
        fine_cents=record.amount_cents,
        ban_until=day("ban_until"),
        sector=d.get("sector"),
        specific_serious=bool(d.get("specific_serious")),
        valid_until=day("valid_until"),
        given_until=record.publicity_until if record.kind == RecordKind.list_entry else None,
        list_colour=d.get("list_colour"),
        outcome=d.get("outcome"),
    )


def correct_record(
    session: Session,
    principal: Principal,
    record_id: str,
    data: RecordCorrect,
    *,
    today: dt.date | None = None,
) -> CreditRecord:
    """Correct an active record's facts; its class, rule and window are computed again, and the history
    keeps what changed (before and after)."""
    today = today or clock.today()
    record = _record_for_step(
        session,
        principal,
        record_id,
        action="records.correct",
        step="correct",
        required=RecordStatus.active,
        past="corrected",
    )
    facts = _facts_of(record)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    facts = dataclasses.replace(
        facts,
        penalty_types=frozenset(str(t) for t in changes["penalty_types"])
        if changes.get("penalty_types") is not None
        else facts.penalty_types,
        fine_cents=changes.get("amount_cents", facts.fine_cents),
        ban_until=changes.get("ban_until", facts.ban_until),
        valid_until=changes.get("valid_until", facts.valid_until),
        given_until=changes.get("publicity_until", facts.given_until),
    )
    severity = changes.get("severity")
    new = mask_new(
        NewRecord(
            subject_id=record.subject_id,
            kind=record.kind,
            title=changes.get("title") or record.title,
            source_department=record.source_department,
            decided_on=changes.get("decided_on") or record.decided_on,
            legal_basis=changes.get("legal_basis") or record.legal_basis,
            summary=changes["summary"] if changes.get("summary") is not None else record.summary,
            source_ref=record.source_ref,
            severity=str(severity)
            if severity
            else (record.severity if "severity" in record.details.get("classification_given", []) else None),
            regime=record.details.get("regime"),
            facts=facts,
        )
    )
    errors = _validate(new, today)
    if errors:
        raise InvalidRecord("invalid correction", errors=errors)
    pol = records_policy()
    classified = rules.classify(new.kind, new.facts, new.severity, pol)
    effect = str(classified.effect)
    new_severity = str(classified.severity) if classified.severity else None
    rule = rules.choose_rule(
        rules.rules_of(pol),
        regime=new.regime or "ndrc",
        kind=new.kind,
        decided_on=new.decided_on,
        severity=new_severity,
        facts=new.facts,
        pol=pol,
    )
    if rule is None:
        raise NoPublicityRule(
            f"no publicity rule of {pol.ref} covers the corrected record",
            errors=[FieldError("decided_on", "no publicity rule covers this date")],
        )
    window = rules.window(rule, new.decided_on, new.facts)
    before = {c: getattr(record, c) for c in CORRECTABLE}
    record.title, record.summary, record.legal_basis = new.title, new.summary, new.legal_basis
    record.decided_on, record.severity, record.effect = new.decided_on, new_severity, effect
    record.amount_cents = new.facts.fine_cents
    record.publicity_from = window.publicity_from
    record.publicity_min_until = window.publicity_min_until
    record.publicity_until = window.publicity_until
    record.rule, record.policy_version = rule.key, pol.version
    record.details = {
        **record.details,
        "penalty_types": sorted(new.facts.penalty_types),
        "ban_until": new.facts.ban_until and new.facts.ban_until.isoformat(),
        "valid_until": new.facts.valid_until and new.facts.valid_until.isoformat(),
        "classification": classified.reasons,
        "classification_given": ["severity"] if new.severity else [],
        "rule_source": rule.source,
        "rule_confidence": rule.confidence,
        "repairable": rule.repairable,
        "fingerprint": fingerprint(new),
    }
    session.flush()
    changed = {
        c: [_plain(before[c]), _plain(getattr(record, c))]
        for c in CORRECTABLE
        if before[c] != getattr(record, c)
    }
    masked = mask_free_text(data.reason)
    _history(session, principal, record, RecordAction.corrected, masked, {"changed": changed})
    record_change(
        session,
        principal,
        "records.correct",
        "credit_record",
        record.id,
        {"reason": masked, "changed": changed},
    )
    announce(
        session,
        RecordCorrected(
            record_id=record.id, subject_id=record.subject_id, kind=record.kind, corrected_by=principal.actor
        ),
    )
    return record


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def restore_record(
    session: Session, principal: Principal, record_id: str, *, reason: str, today: dt.date | None = None
) -> CreditRecord:
    """Revoke a repair (for example when the repair commitment proves false): the record is active again."""
    today = today or clock.today()
    record = _record_for_step(
        session,
        principal,
        record_id,
        action="records.repair",
        step="restore",
        required=RecordStatus.repaired,
        past="restored",
    )
    masked = mask_free_text(reason)
    record.status = RecordStatus.active.value
    session.flush()
    _history(session, principal, record, RecordAction.restored, masked, {"restored_on": today.isoformat()})
    record_change(session, principal, "records.restore", "credit_record", record.id, {"reason": masked})
    announce(
        session,
        RecordRestored(
            record_id=record.id, subject_id=record.subject_id, kind=record.kind, restored_by=principal.actor
        ),
    )
    return record


# ------------------------------------------------------------------------------------------- reading


def public_records(session: Session, *, subject_id: str, today: dt.date) -> Sequence[CreditRecord]:
    """What a public output may show of a subject on ``today``: active, published as a rule, inside its
    window (repaired, withdrawn, expired and unpublished records never)."""
    return repo.records_of(session, subject_id, public_on=today)


def scoring_records(session: Session, *, as_of: dt.date) -> Sequence[CreditRecord]:
    """Records an evaluation on ``as_of`` may use: active or expired, never repaired or withdrawn."""
    return repo.scoring_records(session, as_of=as_of)


def record_read(record: CreditRecord, today: dt.date) -> RecordRead:
    return RecordRead.model_validate(
        {
            **{c: getattr(record, c) for c in RecordRead.model_fields if c != "status"},
            "status": record.status_on(today),
        }
    )


def public_record_read(record: CreditRecord) -> PublicRecordRead:
    return PublicRecordRead.model_validate({c: getattr(record, c) for c in PublicRecordRead.model_fields})


def is_internal(grant: Grant) -> bool:
    """Staff (regulators in their region, administrators) see the archive; everyone else the public view."""
    return grant.principal.role in (Role.regulator, Role.admin) and grant.scope in (Scope.all, Scope.region)


def subject_records(
    session: Session, principal: Principal, subject_id: str, *, today: dt.date | None = None
) -> tuple[bool, list[RecordRead] | list[PublicRecordRead]]:
    """A subject's records: ``(True, every record with its status)`` for staff, ``(False, the public
    records, masked)`` for everyone else."""
    today = today or clock.today()
    grant = authorize(principal, "records.read")
    subject = subjects_service.visible_subject(session, grant, subject_id)
    if is_internal(grant):
        return True, [record_read(r, today) for r in repo.records_of(session, subject.id)]
    return False, [public_record_read(r) for r in public_records(session, subject_id=subject.id, today=today)]


def get_record_detail(
    session: Session, principal: Principal, record_id: str, *, today: dt.date | None = None
) -> RecordDetail:
    """One record with its whole history (staff only)."""
    today = today or clock.today()
    grant = authorize(principal, "records.read_archive")
    record = _staff_record(session, grant, record_id)
    history = [RecordEventRead.model_validate(e) for e in repo.events_of(session, record.id)]
    return RecordDetail(**record_read(record, today).model_dump(), history=history)


def search_records(
    session: Session,
    principal: Principal,
    *,
    subject_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 50,
    today: dt.date | None = None,
) -> list[RecordRead]:
    """Records of the archive by subject, kind and status (incl. the derived ``expired``), for staff (a
    regulator: those of subjects in the regulator's region)."""
    today = today or clock.today()
    grant = authorize(principal, "records.read_archive")
    found = repo.search_records(
        session,
        today=today,
        subject_id=subject_id,
        kind=kind,
        status=status,
        region_prefix=grant.region_prefix,
        limit=limit,
    )
    return [record_read(r, today) for r in found]


# ------------------------------------------------------------------------------------------- sources


def record_platform_penalty(
    session: Session, principal: Principal, data: PlatformPenaltyCreate, *, today: dt.date | None = None
) -> tuple[CreditRecord, bool]:
    """A platform's measure against one of its own shops becomes a ``platform_penalty`` record of the
    shop's operator (电子商务法 Art. 36), with the platform's evidence."""
    grant = authorize(principal, "records.platform_penalty")
    shop = subjects_service.visible_shop(session, grant, data.shop_id)
    platform_subject = repo.platform_subject(session, shop.platform_id)
    labels = {"warning": "警示", "suspension": "暂停服务", "termination": "终止服务"}
    new = NewRecord(
        subject_id=shop.operator_id,
        kind=RecordKind.platform_penalty.value,
        title=f"平台处置：{labels[data.measure]}（{data.rule}）",
        source_department=platform_subject.name,
        decided_on=data.decided_on,
        legal_basis=f"电子商务法第三十六条；平台规则：{data.rule}",
        summary=data.reason,
        source_ref=data.ref,
        evidence={**data.evidence, "shop_id": shop.id, "platform_ref": data.ref, "measure": data.measure},
        details={"platform_id": shop.platform_id, "shop_id": shop.id, "measure": data.measure},
    )
    return add_record(session, principal, new, today=today)


def record_confirmed_warning(
    session: Session,
    principal: Principal,
    *,
    subject_id: str,
    warning_id: str,
    warning_kind: str,
    summary: str,
    decided_on: dt.date,
    evidence: Mapping[str, Any],
) -> tuple[CreditRecord, bool]:
    """A confirmed monitoring warning becomes a ``confirmed_warning`` record of one of its subjects
    (idempotent per warning and subject); called from ``wiring`` on ``WarningConfirmed``."""
    pol = records_policy()
    new = NewRecord(
        subject_id=subject_id,
        kind=RecordKind.confirmed_warning.value,
        title=f"监测预警经确认：{warning_kind}",
        source_department=pol.value("warning_source_department"),
        decided_on=decided_on,
        legal_basis=pol.source("warning_source_department"),
        summary=summary,
        source_ref=f"{warning_id}:{subject_id}",
        regime="ndrc",
        evidence={"warning_id": warning_id, "warning_kind": warning_kind, "summary": summary, **evidence},
        details={"warning_id": warning_id},
    )
    existing = repo.get_by_source(session, new.source_ref or "", new.source_department, new.kind)
    if existing is not None:
        return existing, False
    return add_record(session, principal, new, today=decided_on)


def withdraw_warning_records(
    session: Session, principal: Principal, *, warning_id: str, subject_ids: Sequence[str], reason: str
) -> list[CreditRecord]:
    """The records made from a confirmed warning that was re-opened are withdrawn (its basis is gone)."""
    pol = records_policy()
    withdrawn = []
    for subject_id in subject_ids:
        record = repo.get_by_source(
            session, f"{warning_id}:{subject_id}", pol.value("warning_source_department"), "confirmed_warning"
        )
        if record is None or record.status == RecordStatus.withdrawn:
            continue
        previous = record.status
        record.status = RecordStatus.withdrawn.value
        session.flush()
        masked = mask_free_text(reason)
        _history(
            session,
            principal,
            record,
            RecordAction.withdrawn,
            masked,
            {"from": previous, "warning_reopened": True},
        )
        record_change(
            session,
            principal,
            "records.withdraw",
            "credit_record",
            record.id,
            {"from": previous, "reason": masked, "warning_id": warning_id},
        )
        announce(
            session,
            RecordWithdrawn(
                record_id=record.id,
                subject_id=record.subject_id,
                kind=record.kind,
                withdrawn_by=principal.actor,
                late=False,
            ),
        )
        withdrawn.append(record)
    return withdrawn


# ------------------------------------------------------------------------------------------- commitments


def commitment_types() -> dict[str, str]:
    """Configured commitment types: key -> zh-CN label."""
    return dict(records_policy().value("commitment_types"))


def commitment_read(c: CreditCommitment) -> CommitmentRead:
    return CommitmentRead.model_validate(
        {
            **{k: getattr(c, k) for k in CommitmentRead.model_fields if k != "type_label"},
            "type_label": commitment_types().get(c.type, c.type),
        }
    )


def sign_commitment(
    session: Session, principal: Principal, data: CommitmentCreate, *, today: dt.date | None = None
) -> CreditCommitment:
    """A subject signs a credit commitment of a configured type; it is recorded as a ``commitment`` record."""
    today = today or clock.today()
    grant = authorize(principal, "commitments.write")
    types = commitment_types()
    kind = str(data.type)
    if kind not in types:  # the schema's enum is the policy's list; a reloaded policy may differ
        raise InvalidCommitment(
            f"unknown commitment type {kind!r}",
            errors=[FieldError("type", f"must be one of {', '.join(sorted(types))}")],
        )
    if data.signed_on > today:
        raise InvalidCommitment("invalid commitment", errors=[FieldError("signed_on", "is in the future")])
    if data.due_on is not None and data.due_on < data.signed_on:
        raise InvalidCommitment("invalid commitment", errors=[FieldError("due_on", "is before signed_on")])
    subject = _subject_for(session, grant, data.subject_id)
    pol = records_policy()
    commitment = CreditCommitment(
        subject_id=subject.id,
        type=kind,
        text=mask_free_text(data.text),
        signed_on=data.signed_on,
        due_on=data.due_on,
        status=CommitmentStatus.signed.value,
        policy_version=pol.version,
        signed_by=principal.actor,
        details={"source_department": data.source_department},
    )
    session.add(commitment)
    session.flush()
    record, _ = add_record(
        session,
        principal,
        NewRecord(
            subject_id=subject.id,
            kind=RecordKind.commitment.value,
            title=f"信用承诺：{types[kind]}",
            source_department=data.source_department,
            decided_on=data.signed_on,
            legal_basis=pol.source("commitment_types"),
            summary=commitment.text,
            source_ref=commitment.id,
            evidence={"commitment_id": commitment.id},
        ),
        today=today,
    )
    commitment.record_id = record.id
    session.flush()
    record_change(
        session,
        principal,
        "commitments.sign",
        "credit_commitment",
        commitment.id,
        {"subject_id": subject.id, "type": kind, "record_id": record.id},
    )
    return commitment


def _open_commitment(session: Session, grant: Grant, commitment_id: str) -> CreditCommitment:
    commitment = repo.get_commitment(session, commitment_id, for_update=True)
    if commitment is None:
        raise CommitmentNotFound(f"no commitment {commitment_id}")
    subject = subjects_service.get_subject_or_raise(session, commitment.subject_id)
    if not grant.covers_region(subject.region_code):
        raise CommitmentNotFound(f"no commitment {commitment_id}")
    if commitment.status != CommitmentStatus.signed:
        raise InvalidTransition(
            f"a {commitment.status} commitment cannot change again",
            errors=[FieldError("status", f"is {commitment.status}")],
        )
    return commitment


def fulfil_commitment(
    session: Session,
    principal: Principal,
    commitment_id: str,
    data: CommitmentFulfil,
    *,
    today: dt.date | None = None,
) -> CreditCommitment:
    """The commitment was kept: a positive ``commitment_fulfilled`` record."""
    return _close(session, principal, commitment_id, "fulfil", data.on, data.note or "", None, today)


def breach_commitment(
    session: Session,
    principal: Principal,
    commitment_id: str,
    data: CommitmentBreach,
    *,
    today: dt.date | None = None,
) -> CreditCommitment:
    """The commitment was broken: a negative ``commitment_breach`` record (its class by type)."""
    return _close(session, principal, commitment_id, "breach", data.on, data.reason, data.legal_basis, today)


def _close(
    session: Session,
    principal: Principal,
    commitment_id: str,
    step: str,
    on: dt.date,
    reason: str,
    legal_basis: str | None,
    today: dt.date | None,
) -> CreditCommitment:
    today = today or clock.today()
    grant = authorize(principal, "commitments.write")
    commitment = _open_commitment(session, grant, commitment_id)
    if on > today:
        raise InvalidCommitment("invalid date", errors=[FieldError("on", "is in the future")])
    if on < commitment.signed_on:
        raise InvalidCommitment("invalid date", errors=[FieldError("on", "is before the signing date")])
    pol = records_policy()
    label = commitment_types().get(commitment.type, commitment.type)
    masked = mask_free_text(reason)
    breach = step == "breach"
    record, _ = add_record(
        session,
        principal,
        NewRecord(
            subject_id=commitment.subject_id,
            kind=(RecordKind.commitment_breach if breach else RecordKind.commitment_fulfilled).value,
            title=f"{'违背' if breach else '履行'}信用承诺：{label}",
            source_department=commitment.details.get("source_department", ""),
            decided_on=on,
            legal_basis=legal_basis or pol.source("commitment_types"),
            summary=masked,
            source_ref=commitment.id,
            severity=pol.value("commitment_breach_severity").get(commitment.type) if breach else None,
            evidence={"commitment_id": commitment.id, "commitment_record_id": commitment.record_id},
        ),
        today=today,
    )
    commitment.status = (CommitmentStatus.breached if breach else CommitmentStatus.fulfilled).value
    commitment.closed_on = on
    commitment.close_reason = masked
    commitment.outcome_record_id = record.id
    session.flush()
    record_change(
        session,
        principal,
        f"commitments.{step}",
        "credit_commitment",
        commitment.id,
        {"record_id": record.id, "reason": masked},
    )
    return commitment


def subject_commitments(session: Session, principal: Principal, subject_id: str) -> list[CommitmentRead]:
    """A subject's commitments (staff)."""
    grant = authorize(principal, "commitments.read")
    subject = subjects_service.visible_subject(session, grant, subject_id)
    return [commitment_read(c) for c in repo.commitments_of(session, subject.id)]


def get_commitment(session: Session, principal: Principal, commitment_id: str) -> CommitmentRead:
    grant = authorize(principal, "commitments.read")
    commitment = repo.get_commitment(session, commitment_id)
    if commitment is None:
        raise CommitmentNotFound(f"no commitment {commitment_id}")
    subject = subjects_service.get_subject_or_raise(session, commitment.subject_id)
    if not grant.covers_region(subject.region_code):
        raise CommitmentNotFound(f"no commitment {commitment_id}")
    return commitment_read(commitment)
