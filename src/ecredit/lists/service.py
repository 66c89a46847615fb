"""The listing procedure: nominate (by a regulator or by rule), notify, record or close the defence,
review, decide, approve, publish, withdraw, drop, expire; objections; credit repair; the overdue queue.

Every step authorises first, locks the entry, asks ``rules.next_state`` whether the entry's list type
allows it from its state (409 otherwise, nothing changed), checks what needs a person or the calendar
(separation of duties, the next level up, the defence window), then changes the entry, appends its
history row and its audit entry in the caller's transaction, and announces the domain event where one
applies. Services only flush; the boundary commits. Deadlines count working days (``kit/workdays``); a
deadline in a year without calendar data is flagged ``due_unknown``, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ecredit.errors import FieldError, Forbidden
from ecredit.kit import clock, workdays
from ecredit.kit.events import announce
from ecredit.lists import documents, rules
from ecredit.lists import repository as repo
from ecredit.lists.catalogue import Catalogue, ListType, catalogue
from ecredit.lists.errors import (
    ApplicationNotFound,
    DocumentNotFound,
    DuplicateEntry,
    EntryNotFound,
    InvalidStep,
    InvalidTransition,
    ObjectionNotFound,
    RepairNotAllowed,
    SeparationOfDuties,
)
from ecredit.lists.events import ListEntryPublished, ListEntryRemoved
from ecredit.lists.models import (
    DocumentKind,
    EntryState,
    ListDocument,
    ListEntry,
    ListEntryEvent,
    Objection,
    ObjectionStatus,
    RepairApplication,
    RepairStatus,
)
from ecredit.lists.rules import Action
from ecredit.lists.schemas import (
    CatalogueRead,
    DocumentRead,
    EntryDetail,
    EntryEventRead,
    EntryRead,
    ListTypeRead,
    MeasureRead,
    ObjectionRead,
    PublicEntryRead,
    RepairRead,
)
from ecredit.records import repository as records_repo
from ecredit.records import rules as records_rules
from ecredit.records import service as records_service
from ecredit.records.models import CommitmentStatus, CreditRecord, RecordKind, RecordStatus
from ecredit.scoring import repository as scoring_repo
from ecredit.security.masking import mask_free_text, mask_nested
from ecredit.security.permissions import Grant, authorize
from ecredit.security.principals import Principal, Role
from ecredit.security.trail import record_change
from ecredit.subjects import service as subjects_service
from ecredit.subjects.errors import SubjectNotFound
from ecredit.subjects.models import ORGANISATION_KINDS, Subject

SEVERITY_RANK = {"minor": 1, "general": 2, "serious": 3}
GRADES = ("C", "CC", "CCC", "B", "BB", "BBB", "A", "AA", "AAA")  # GB/T 22116, worst first


def setting(key: str) -> int:
    return int(catalogue().settings[key])


# ------------------------------------------------------------------------------------------- history


def _history(
    session: Session,
    principal: Principal,
    entry: ListEntry,
    action: Action,
    from_state: str | None,
    reason: str,
    details: Mapping[str, Any] | None = None,
) -> ListEntryEvent:
    event = ListEntryEvent(
        entry_id=entry.id,
        seq=repo.next_event_seq(session, entry.id),
        action=action.value,
        from_state=from_state,
        to_state=entry.state,
        actor=principal.actor,
        role=principal.role.value,
        reason=reason,
        details=dict(details or {}),
        at=clock.utc_now(),
    )
    session.add(event)
    session.flush()
    return event


def _audit(
    session: Session,
    principal: Principal,
    action: Action | str,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any],
) -> None:
    name = action.value if isinstance(action, Action) else action
    record_change(session, principal, f"lists.{name}", object_type, object_id, dict(details))


def _move(
    session: Session,
    principal: Principal,
    entry: ListEntry,
    action: Action,
    target: EntryState,
    reason: str,
    details: Mapping[str, Any] | None = None,
) -> ListEntry:
    """Store the new state, its history row and its audit entry."""
    previous = entry.state
    entry.state = target.value
    session.flush()
    masked = mask_free_text(reason)
    body = dict(details or {})
    _history(session, principal, entry, action, previous, masked, body)
    _audit(
        session,
        principal,
        action,
        "list_entry",
        entry.id,
        {"from": previous, "to": entry.state, "list_type": entry.list_type, "reason": masked, **body},
    )
    return entry


# ------------------------------------------------------------------------------------------- access


def _visible_entry(session: Session, grant: Grant, entry_id: str, *, for_update: bool = False) -> ListEntry:
    entry = repo.get_entry(session, entry_id, for_update=for_update)
    if entry is None:
        raise EntryNotFound(f"no list entry {entry_id}")
    try:
        subjects_service.visible_subject(session, grant, entry.subject_id)
    except SubjectNotFound:
        raise EntryNotFound(f"no list entry {entry_id}") from None
    return entry


def _check_department(principal: Principal, department: str) -> None:
    """谁认定、谁修复: a regulator acts only on the lists of its own department (when it names one)."""
    if (
        principal.role is Role.regulator
        and principal.department
        and department
        and principal.department != department
    ):
        raise Forbidden(f"only the {department} department runs this list (you are {principal.department})")


def _refuse(entry: ListEntry, lt: ListType, action: Action) -> InvalidTransition:
    following = ", ".join(a.value for a in rules.next_steps(lt, entry.state)) or "none (the entry is closed)"
    return InvalidTransition(
        f"a {entry.state} entry of {lt.key} cannot take the step {action.value} (allowed now: {following})",
        errors=[FieldError("state", f"is {entry.state}")],
    )


@dataclass
class Step:
    grant: Grant
    entry: ListEntry
    list_type: ListType
    target: EntryState


def _step(session: Session, principal: Principal, entry_id: str, action: Action) -> Step:
    """The start of every step: authorised, the entry locked and visible, its department checked, and the
    step allowed by the table for the entry's state and list type (409 naming what is allowed now)."""
    grant = authorize(principal, f"lists.{action.value}")
    entry = _visible_entry(session, grant, entry_id, for_update=True)
    lt = catalogue().list_type(entry.list_type)
    if action is not Action.object:
        _check_department(principal, entry.department)
    target = rules.next_state(lt, entry.state, action)
    if target is None or not rules.allowed(entry.state, action, principal.role):
        raise _refuse(entry, lt, action)
    return Step(grant, entry, lt, target)


def _not_future(day: dt.date, today: dt.date, field: str) -> None:
    if day > today:
        raise InvalidStep("invalid date", errors=[FieldError(field, f"is in the future ({day} > {today})")])


def _set_due(entry: ListEntry, start: dt.date | None, count: int | None) -> workdays.Deadline | None:
    """Set (or clear) the current step's deadline; flag it when the calendar has no data."""
    if start is None or count is None:
        entry.due_on, entry.due_unknown = None, False
        return None
    due = workdays.deadline(start, count)
    entry.due_on, entry.due_unknown = due.on, due.on is None
    return due


def _due_details(due: workdays.Deadline | None) -> dict[str, Any]:
    if due is None:
        return {}
    return {"due_on": due.on and due.on.isoformat(), **({"due_unknown": due.unknown} if due.unknown else {})}


# ------------------------------------------------------------------------------------------- nominating


@dataclass
class Nomination:
    subject_id: str
    list_type: str
    reason: str
    basis_record_ids: Sequence[str] = ()
    evidence: Mapping[str, Any] | None = None


def _basis_records(session: Session, subject_id: str, ids: Sequence[str]) -> list[CreditRecord]:
    records, errors = [], []
    for i, record_id in enumerate(ids):
        record = records_repo.get_record(session, record_id)
        if record is None or record.subject_id != subject_id:
            errors.append(FieldError(f"basis_record_ids[{i}]", "no credit record of this subject"))
        elif record.status != RecordStatus.active:
            errors.append(FieldError(f"basis_record_ids[{i}]", f"the record is {record.status}"))
        else:
            records.append(record)
    if errors:
        raise InvalidStep("invalid basis", errors=errors)
    return records


def _create_entry(
    session: Session,
    principal: Principal,
    subject: Subject,
    lt: ListType,
    *,
    source: str,
    reason: str,
    basis: Sequence[str],
    evidence: Mapping[str, Any],
    today: dt.date,
    cat: Catalogue,
) -> ListEntry:
    if repo.open_entry(session, subject.id, lt.key) is not None:
        existing = repo.open_entry(session, subject.id, lt.key)
        raise DuplicateEntry(
            f"subject {subject.id} already has an open {lt.key} entry ({existing.id if existing else '?'})",
            errors=[FieldError("subject_id", "already has an open entry on this list")],
        )
    region = principal.region_prefix if principal.role is Role.regulator and principal.region_prefix else None
    entry = ListEntry(
        list_type=lt.key,
        colour=lt.colour,
        subject_id=subject.id,
        state=EntryState.nominated.value,
        nominated_by=principal.actor,
        nomination_source=source,
        basis_record_ids=list(basis),
        evidence=mask_nested(dict(evidence)),
        reason=mask_free_text(reason),
        department=lt.department,
        region_code=region or subject.region_code,
        due_on=None,
        due_unknown=False,
        nominated_on=today,
        policy_version=cat.version,
    )
    session.add(entry)
    session.flush()
    details = {
        "source": source,
        "basis_record_ids": list(basis),
        "subject_id": subject.id,
        "policy": cat.version,
    }
    _history(session, principal, entry, Action.nominate, None, entry.reason, details)
    _audit(session, principal, Action.nominate, "list_entry", entry.id, {"list_type": lt.key, **details})
    return entry


def nominate(
    session: Session, principal: Principal, data: Nomination, *, today: dt.date | None = None
) -> ListEntry:
    """A regulator nominates a subject for a list, with the basis records and the evidence."""
    today = today or clock.today()
    grant = authorize(principal, "lists.nominate")
    cat = catalogue()
    if data.list_type not in cat.types:
        raise InvalidStep(
            f"no list type {data.list_type!r}",
            errors=[FieldError("list_type", f"must be one of {', '.join(sorted(cat.types))}")],
        )
    lt = cat.types[data.list_type]
    _check_department(principal, lt.department)
    try:
        subject = subjects_service.visible_subject(session, grant, data.subject_id)
    except SubjectNotFound:
        raise SubjectNotFound(
            f"no subject {data.subject_id}", errors=[FieldError("subject_id", "no such subject")]
        ) from None
    errors = []
    if lt.colour == "black" and not data.basis_record_ids:
        errors.append(FieldError("basis_record_ids", "a black-list nomination rests on credit records"))
    if not data.evidence:
        errors.append(FieldError("evidence", "required: what the nomination rests on"))
    if errors:
        raise InvalidStep("invalid nomination", errors=errors)
    _basis_records(session, subject.id, data.basis_record_ids)
    return _create_entry(
        session,
        principal,
        subject,
        lt,
        source="regulator",
        reason=data.reason,
        basis=list(dict.fromkeys(data.basis_record_ids)),
        evidence=data.evidence or {},
        today=today,
        cat=cat,
    )


@dataclass
class RuleResult:
    matched: bool
    basis_record_ids: list[str]
    evidence: dict[str, Any]
    why: str


def evaluate_rule(session: Session, lt: ListType, subject_id: str, today: dt.date) -> RuleResult:
    """Does the subject meet the type's computable rule on ``today``? (No rule: never.)"""
    rule = lt.rule
    if rule is None:
        return RuleResult(False, [], {}, f"{lt.key} has no computable rule")
    records = records_repo.records_of(session, subject_id)
    if rule["source"] == "records":
        since = clock.add_months(today, -int(rule.get("within_months", 12)))
        wanted_kinds = set(rule.get("warning_kinds") or ())
        floor = SEVERITY_RANK.get(rule.get("min_severity") or "", 0)
        hits = [
            r
            for r in records
            if r.status == RecordStatus.active
            and r.kind == rule["record_kind"]
            and since <= r.decided_on <= today
            and SEVERITY_RANK.get(r.severity or "", 0) >= floor
            and (not wanted_kinds or (r.evidence or {}).get("warning_kind") in wanted_kinds)
        ]
        need = int(rule.get("min_count", 1))
        evidence = {
            "rule": dict(rule),
            "records": [{"id": r.id, "kind": r.kind, "decided_on": r.decided_on.isoformat()} for r in hits],
        }
        return RuleResult(
            len(hits) >= need,
            [r.id for r in hits],
            evidence,
            f"{len(hits)} matching {rule['record_kind']} record(s) since {since} (needs {need})",
        )
    # scores: every current evaluation at least min_grade and no negative record in clean_months
    scores = scoring_repo.latest_scores_of_subject(session, subject_id)
    need_grade = GRADES.index(rule["min_grade"])
    since = clock.add_months(today, -int(rule.get("clean_months", 36)))
    negative = [
        r
        for r in records
        if r.status == RecordStatus.active and r.effect == "negative" and r.decided_on >= since
    ]
    good = bool(scores) and all(GRADES.index(s.grade) >= need_grade for s in scores)
    evidence = {
        "rule": dict(rule),
        "grades": [{"entity": s.entity_key, "grade": s.grade, "run_id": s.run_id} for s in scores],
        "negative_records": [r.id for r in negative],
    }
    return RuleResult(
        good and not negative,
        [],
        evidence,
        f"grades {[s.grade for s in scores] or 'none'} (needs {rule['min_grade']}), "
        f"{len(negative)} negative record(s) since {since}",
    )


def nominate_by_rule(
    session: Session, principal: Principal, *, list_type: str, subject_id: str, today: dt.date | None = None
) -> ListEntry | None:
    """Nominate the subject when the type's rule holds; None when it does not or an open entry exists
    (idempotent: never a second open entry for the same subject and list)."""
    today = today or clock.today()
    authorize(principal, "lists.nominate")
    cat = catalogue()
    lt = cat.list_type(list_type)
    if repo.open_entry(session, subject_id, lt.key) is not None:
        return None
    result = evaluate_rule(session, lt, subject_id, today)
    if not result.matched:
        return None
    subject = subjects_service.get_subject_or_raise(session, subject_id)
    return _create_entry(
        session,
        principal,
        subject,
        lt,
        source=f"rule:{lt.key}",
        reason=f"按名单规则自动提名：{lt.criteria}（{result.why}）",
        basis=result.basis_record_ids,
        evidence=result.evidence,
        today=today,
        cat=cat,
    )


def nominate_on_record(
    session: Session, principal: Principal, *, record_id: str, subject_id: str, kind: str
) -> list[ListEntry]:
    """A new credit record may complete a type's rule (a confirmed brushing warning → the fake-trading
    list): nominate at once; called from ``wiring`` on ``RecordCreated``."""
    made = []
    for lt in catalogue().types.values():
        if lt.rule and lt.rule.get("source") == "records" and lt.rule.get("record_kind") == kind:
            entry = nominate_by_rule(session, principal, list_type=lt.key, subject_id=subject_id)
            if entry is not None:
                made.append(entry)
    return made


# ------------------------------------------------------------------------------------------- steps


def _subject(session: Session, entry: ListEntry) -> Subject:
    return subjects_service.get_subject_or_raise(session, entry.subject_id)


def _issue(
    session: Session,
    principal: Principal,
    entry: ListEntry,
    lt: ListType,
    kind: DocumentKind,
    sections: Sequence[tuple[str, str | Sequence[str]]],
    today: dt.date,
) -> ListDocument:
    subject = _subject(session, entry)
    return documents.issue(
        session,
        entry_id=entry.id,
        kind=kind,
        list_name=lt.name_zh,
        subject_name=subject.name,
        uscc=subject.uscc,
        issuer=lt.issuing_body,
        day=today,
        sections=sections,
        created_by=principal.actor,
    )


def _measure_lines(lt: ListType) -> list[str]:
    return [f"{m.name_zh}（依据：{m.legal_basis}）" for m in catalogue().measures_of(lt.key)]


def notify(
    session: Session, principal: Principal, entry_id: str, *, reason: str, today: dt.date | None = None
) -> tuple[ListEntry, ListDocument]:
    """Serve the prior notice (告知书): reasons, legal basis, measures, rights and the defence deadline."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.notify)
    entry, lt = s.entry, s.list_type
    due = None
    if lt.requires("defence"):
        due = _set_due(entry, today, lt.defence_window_workdays)
        entry.defence_until = due.on if due else None
    else:
        _set_due(entry, None, None)
    entry.notified_on = today
    if lt.requires("defence"):
        until = (
            f"{due.on}（{lt.defence_window_workdays}个工作日内）"
            if due and due.on
            else "期限待定（工作日历尚未公布）"
        )
        rights = [f"你（单位）有权进行陈述和申辩，请于{until}向本机关提出。"]
        if lt.hearing:
            rights.append("你（单位）有权要求听证；要求听证的，请在上述期限内提出。")
    else:
        rights = ["你（单位）可以向本机关陈述意见。"]
    rights.append("逾期未提出的，视为放弃上述权利。")
    notice = _issue(
        session,
        principal,
        entry,
        lt,
        DocumentKind.notice,
        [
            ("拟列入理由", entry.reason),
            ("列入标准", lt.criteria),
            ("法律依据", lt.legal_basis),
            ("列入后将采取的措施", _measure_lines(lt)),
            ("列入期限", f"自公示之日起{lt.duration_months}个月"),
            ("你（单位）享有的权利", rights),
        ],
        today,
    )
    _move(
        session,
        principal,
        entry,
        Action.notify,
        s.target,
        reason,
        {**documents.summary(notice), **_due_details(due)},
    )
    return entry, notice


def record_defence(
    session: Session,
    principal: Principal,
    entry_id: str,
    *,
    statement: str,
    filed_on: dt.date,
    hearing_requested: bool = False,
    today: dt.date | None = None,
) -> ListEntry:
    """Record the party's statement and defence (陈述申辩), filed inside the window."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.record_defence)
    entry = s.entry
    _not_future(filed_on, today, "filed_on")
    if entry.notified_on and filed_on < entry.notified_on:
        raise InvalidStep("invalid date", errors=[FieldError("filed_on", "is before the notice")])
    if entry.defence_until is not None and filed_on > entry.defence_until:
        raise InvalidTransition(
            f"the defence window closed on {entry.defence_until}: close it (close_defence)",
            errors=[FieldError("filed_on", f"after the window ({entry.defence_until})")],
        )
    masked = mask_free_text(statement)
    entry.evidence = {**entry.evidence, "defence": {"statement": masked, "filed_on": filed_on.isoformat()}}
    _set_due(entry, None, None)
    return _move(
        session,
        principal,
        entry,
        Action.record_defence,
        s.target,
        masked,
        {"filed_on": filed_on.isoformat(), "hearing_requested": hearing_requested},
    )


def close_defence(
    session: Session, principal: Principal, entry_id: str, *, reason: str, today: dt.date | None = None
) -> ListEntry:
    """Close a defence window that passed unused."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.close_defence)
    entry = s.entry
    if entry.defence_until is None:
        raise InvalidTransition(
            "the window's end is unknown (no working-day calendar for its year): load the calendar first",
            errors=[FieldError("defence_until", "unknown")],
        )
    if today <= entry.defence_until:
        raise InvalidTransition(
            f"the defence window runs until {entry.defence_until}",
            errors=[FieldError("defence_until", f"runs until {entry.defence_until}")],
        )
    _set_due(entry, None, None)
    return _move(
        session,
        principal,
        entry,
        Action.close_defence,
        s.target,
        reason,
        {"window_closed": str(entry.defence_until)},
    )


def review(
    session: Session, principal: Principal, entry_id: str, *, reason: str, today: dt.date | None = None
) -> ListEntry:
    """A second regulator reviews the file (never the nominator)."""
    s = _step(session, principal, entry_id, Action.review)
    entry = s.entry
    if entry.nomination_source == "regulator" and principal.actor == entry.nominated_by:
        raise SeparationOfDuties(
            "the review must be by another regulator than the nominator",
            errors=[FieldError("actor", "nominated this entry")],
        )
    return _move(session, principal, entry, Action.review, s.target, reason)


def decide(
    session: Session, principal: Principal, entry_id: str, *, reason: str, today: dt.date | None = None
) -> tuple[ListEntry, ListDocument]:
    """The listing decision (列入决定书); publication is due within the configured working days."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.decide)
    entry, lt = s.entry, s.list_type
    entry.decided_on = today
    due = _set_due(entry, today, setting("publish_within_workdays"))
    decision = _issue(
        session,
        principal,
        entry,
        lt,
        DocumentKind.decision,
        [
            ("列入理由", entry.reason),
            ("法律依据", lt.legal_basis),
            ("采取的措施", _measure_lines(lt)),
            ("列入期限", f"自公示之日起{lt.duration_months}个月"),
            (
                "救济途径",
                "对本决定不服的，可以依法申请行政复议或者提起行政诉讼；对公示信息有异议的，可以提出异议申请。",
            ),
        ],
        today,
    )
    details = {**documents.summary(decision), **_due_details(due)}
    _move(session, principal, entry, Action.decide, s.target, reason, details)
    return entry, decision


def _next_level_up(principal: Principal, entry: ListEntry) -> bool:
    if principal.role is Role.admin:
        return True
    prefix = principal.region_prefix or ""
    region = entry.region_code or ""
    return len(prefix) < len(region) and region.startswith(prefix)


def approve_higher(
    session: Session, principal: Principal, entry_id: str, *, reason: str, today: dt.date | None = None
) -> ListEntry:
    """The next level up approves the decision (SAMR Order 44: county and prefecture decisions)."""
    s = _step(session, principal, entry_id, Action.approve_higher)
    entry = s.entry
    if not _next_level_up(principal, entry):
        raise SeparationOfDuties(
            f"approval needs a regulator of the next level up from region {entry.region_code} (or an admin)",
            errors=[
                FieldError(
                    "region", f"{principal.region_prefix or 'province'} is not above {entry.region_code}"
                )
            ],
        )
    decider = next(
        (e.actor for e in reversed(repo.events_of(session, entry.id)) if e.action == "decide"), None
    )
    if decider == principal.actor:
        raise SeparationOfDuties(
            "the approver must not be the decider", errors=[FieldError("actor", "decided")]
        )
    entry.higher_approval_by = principal.actor
    return _move(session, principal, entry, Action.approve_higher, s.target, reason)


def publish(
    session: Session, principal: Principal, entry_id: str, *, reason: str, today: dt.date | None = None
) -> ListEntry:
    """Publish: the ``list_entry`` credit record (the list's term as its window) and ListEntryPublished."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.publish)
    entry, lt = s.entry, s.list_type
    entry.published_on = today
    entry.effective_until = clock.add_months(today, lt.duration_months) - dt.timedelta(days=1)
    entry.early_removal_from = (
        clock.add_months(today, lt.early_removal_after_months)
        if lt.early_removal_after_months is not None
        else None
    )
    late = entry.due_on is not None and today > entry.due_on
    _set_due(entry, None, None)
    record, _ = records_service.add_record(
        session,
        principal,
        records_service.NewRecord(
            subject_id=entry.subject_id,
            kind=RecordKind.list_entry.value,
            title=f"列入{lt.name_zh}",
            source_department=lt.issuing_body,
            decided_on=entry.decided_on or today,
            legal_basis=lt.legal_basis,
            summary=entry.reason,
            source_ref=f"list:{entry.id}",
            facts=records_rules.Facts(given_until=entry.effective_until, list_colour=lt.colour),
            evidence={"list_entry_id": entry.id, "list_type": lt.key},
            details={"list_entry_id": entry.id, "list_type": lt.key},
        ),
        today=today,
    )
    entry.record_id = record.id
    _move(
        session,
        principal,
        entry,
        Action.publish,
        s.target,
        reason,
        {
            "record_id": record.id,
            "effective_until": entry.effective_until.isoformat(),
            "early_removal_from": entry.early_removal_from and entry.early_removal_from.isoformat(),
            "late": late,
        },
    )
    announce(
        session,
        ListEntryPublished(
            entry_id=entry.id,
            subject_id=entry.subject_id,
            list_type=lt.key,
            colour=lt.colour,
            published_by=principal.actor,
        ),
    )
    return entry


def _removed(session: Session, principal: Principal, entry: ListEntry, reason: str) -> None:
    announce(
        session,
        ListEntryRemoved(
            entry_id=entry.id,
            subject_id=entry.subject_id,
            list_type=entry.list_type,
            colour=entry.colour,
            reason=reason,
            removed_by=principal.actor,
        ),
    )


def withdraw(
    session: Session,
    principal: Principal,
    entry_id: str,
    *,
    reason: str,
    basis_revoked_on: dt.date,
    today: dt.date | None = None,
) -> tuple[ListEntry, dict[str, Any]]:
    """Withdraw a published entry whose basis was revoked, found unlawful or void (SAMR Order 44 Art. 19):
    out of public view now, the record withdrawn, the measures lifted; late withdrawals are flagged."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.withdraw)
    entry, lt = s.entry, s.list_type
    _not_future(basis_revoked_on, today, "basis_revoked_on")
    due = workdays.deadline(basis_revoked_on, setting("withdrawal_within_workdays"))
    timing = {
        "basis_revoked_on": basis_revoked_on.isoformat(),
        "deadline": due.on and due.on.isoformat(),
        "late": due.on is not None and today > due.on,
        **({"deadline_unknown": due.unknown} if due.unknown else {}),
    }
    return _withdraw(session, principal, entry, lt, s.target, reason, basis_revoked_on, timing, today), timing


def _withdraw(
    session: Session,
    principal: Principal,
    entry: ListEntry,
    lt: ListType,
    target: EntryState,
    reason: str,
    basis_revoked_on: dt.date,
    timing: dict[str, Any],
    today: dt.date,
) -> ListEntry:
    entry.closed_on = today
    entry.close_reason = mask_free_text(reason)
    _set_due(entry, None, None)
    if entry.record_id:
        record = records_repo.get_record(session, entry.record_id)
        if record is not None and record.status not in (RecordStatus.withdrawn, RecordStatus.repaired):
            records_service.withdraw_record(
                session,
                principal,
                record.id,
                reason=reason,
                basis_revoked_on=max(basis_revoked_on, record.decided_on),
                today=today,
            )
    removal = _issue(
        session,
        principal,
        entry,
        lt,
        DocumentKind.removal,
        [
            ("移出理由", f"列入依据已被撤销、变更或者确认无效：{entry.close_reason}"),
            ("法律依据", lt.legal_basis),
        ],
        today,
    )
    _move(
        session, principal, entry, Action.withdraw, target, reason, {**timing, **documents.summary(removal)}
    )
    _removed(session, principal, entry, "withdrawn")
    return entry


def drop(
    session: Session,
    principal: Principal,
    entry_id: str,
    *,
    reason: str,
    ground: str,
    today: dt.date | None = None,
) -> ListEntry:
    """End the procedure without a listing: the review or decision found no basis, or the party proved
    there was no subjective intent (SAMR Order 44 Art. 12 para. 2)."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.drop)
    entry = s.entry
    entry.closed_on = today
    entry.close_reason = mask_free_text(reason)
    _set_due(entry, None, None)
    return _move(session, principal, entry, Action.drop, s.target, reason, {"ground": ground})


# ------------------------------------------------------------------------------------------- expiry


def run_expiry(session: Session, principal: Principal, *, today: dt.date | None = None) -> dict[str, Any]:
    """Store ``expired`` for published entries past their term (public outputs hid them already), and
    escalate entries of types with ``escalates_to`` published ``escalate_after_months`` ago or more."""
    today = today or clock.today()
    authorize(principal, "lists.expire")
    cat = catalogue()
    escalated: list[dict[str, str]] = []
    for lt in cat.types.values():
        if lt.escalates_to is None or lt.escalate_after_months is None:
            continue
        cutoff = clock.add_months(today, -lt.escalate_after_months)
        for entry in repo.published_of_type(session, lt.key, cutoff):
            if repo.open_entry(session, entry.subject_id, lt.escalates_to) is not None:
                continue
            if repo.has_source(session, f"escalation:{entry.id}"):  # escalated once: never again
                continue
            subject = _subject(session, entry)
            target = cat.list_type(lt.escalates_to)
            new = _create_entry(
                session,
                principal,
                subject,
                target,
                source=f"escalation:{entry.id}",
                reason=f"列入{lt.name_zh}满{lt.escalate_after_months}个月仍未移出（{entry.published_on}列入），依法提名列入{target.name_zh}",
                basis=[entry.record_id] if entry.record_id else [],
                evidence={"escalated_from": entry.id, "published_on": str(entry.published_on)},
                today=today,
                cat=cat,
            )
            escalated.append({"from": entry.id, "to": new.id})
    expired = []
    for entry in repo.past_term(session, today):
        lt = cat.list_type(entry.list_type)
        target = rules.next_state(lt, entry.state, Action.expire)
        if target is None:  # pragma: no cover  (past_term returns published entries only)
            continue
        entry.closed_on = today
        entry.close_reason = f"term ended on {entry.effective_until}"
        _move(
            session,
            principal,
            entry,
            Action.expire,
            target,
            entry.close_reason,
            {"effective_until": str(entry.effective_until)},
        )
        _removed(session, principal, entry, "expired")
        expired.append(entry.id)
    return {"expired": expired, "escalated": escalated, "today": today.isoformat()}


# ------------------------------------------------------------------------------------------- objections


def file_objection(
    session: Session,
    principal: Principal,
    entry_id: str,
    *,
    grounds: str,
    filed_on: dt.date,
    today: dt.date | None = None,
) -> Objection:
    """Register an objection (异议) to a published entry; it is answered within the configured limit."""
    today = today or clock.today()
    s = _step(session, principal, entry_id, Action.object)
    entry = s.entry
    _not_future(filed_on, today, "filed_on")
    if entry.published_on and filed_on < entry.published_on:
        raise InvalidStep("invalid date", errors=[FieldError("filed_on", "is before the publication")])
    due = workdays.deadline(filed_on, setting("objection_answer_workdays"))
    objection = Objection(
        entry_id=entry.id,
        filed_on=filed_on,
        filed_by=principal.actor,
        grounds=mask_free_text(grounds),
        status=ObjectionStatus.registered.value,
        due_on=due.on,
        due_unknown=due.on is None,
    )
    session.add(objection)
    session.flush()
    _move(
        session,
        principal,
        entry,
        Action.object,
        s.target,
        objection.grounds,
        {"objection_id": objection.id, **_due_details(due)},
    )
    return objection


def _objection(session: Session, principal: Principal, objection_id: str) -> tuple[Objection, Step]:
    grant = authorize(principal, "lists.answer_objection")
    objection = repo.get_objection(session, objection_id, for_update=True)
    if objection is None:
        raise ObjectionNotFound(f"no objection {objection_id}")
    try:
        _visible_entry(session, grant, objection.entry_id)
    except EntryNotFound:
        raise ObjectionNotFound(f"no objection {objection_id}") from None
    if objection.status not in (ObjectionStatus.registered, ObjectionStatus.verifying):
        raise InvalidTransition(
            f"the objection is already answered ({objection.status})",
            errors=[FieldError("status", f"is {objection.status}")],
        )
    step = _step(session, principal, objection.entry_id, Action.answer_objection)
    return objection, step


def verify_objection(
    session: Session, principal: Principal, objection_id: str, *, note: str, today: dt.date | None = None
) -> Objection:
    """Start verifying an objection (核查), with a note of what is checked."""
    objection, _ = _objection(session, principal, objection_id)
    if objection.status != ObjectionStatus.registered:
        raise InvalidTransition(
            "the objection is already being verified", errors=[FieldError("status", "is verifying")]
        )
    objection.status = ObjectionStatus.verifying.value
    session.flush()
    _audit(
        session,
        principal,
        "verify_objection",
        "list_objection",
        objection.id,
        {"entry_id": objection.entry_id, "note": mask_free_text(note)},
    )
    return objection


def answer_objection(
    session: Session,
    principal: Principal,
    objection_id: str,
    *,
    upheld: bool,
    answer: str,
    remedy: str | None = None,
    correction: str | None = None,
    today: dt.date | None = None,
) -> tuple[Objection, ListDocument]:
    """Answer an objection (upheld or rejected) with an answer document; an upheld one leads to the
    entry's withdrawal (``remedy="withdraw"``) or to a correction of its reasons (``remedy="correct"``)."""
    today = today or clock.today()
    objection, s = _objection(session, principal, objection_id)
    entry, lt = s.entry, s.list_type
    if upheld and remedy not in ("withdraw", "correct"):
        raise InvalidStep(
            "an upheld objection needs its remedy", errors=[FieldError("remedy", "withdraw or correct")]
        )
    if not upheld and remedy is not None:
        raise InvalidStep(
            "a rejected objection has no remedy", errors=[FieldError("remedy", "must be empty")]
        )
    if remedy == "correct" and not correction:
        raise InvalidStep(
            "a correction needs the corrected reasons", errors=[FieldError("correction", "required")]
        )
    masked = mask_free_text(answer)
    objection.status = (ObjectionStatus.upheld if upheld else ObjectionStatus.rejected).value
    objection.answer = masked
    objection.answered_on = today
    objection.answered_by = principal.actor
    late = objection.due_on is not None and today > objection.due_on
    document = _issue(
        session,
        principal,
        entry,
        lt,
        DocumentKind.objection_answer,
        [
            ("异议内容", objection.grounds),
            ("核查结论", "异议成立" if upheld else "异议不成立，维持列入"),
            ("答复意见", masked),
            *(
                [
                    (
                        "处理结果",
                        "撤销列入，停止公示"
                        if remedy == "withdraw"
                        else f"更正列入信息：{mask_free_text(correction or '')}",
                    )
                ]
                if upheld
                else []
            ),
        ],
        today,
    )
    details: dict[str, Any] = {
        "objection_id": objection.id,
        "upheld": upheld,
        "remedy": remedy,
        "late": late,
        **documents.summary(document),
    }
    if remedy == "correct":
        before = entry.reason
        entry.reason = mask_free_text(correction or "")
        details["changed"] = {"reason": [before, entry.reason]}
    _move(session, principal, entry, Action.answer_objection, s.target, masked, details)
    if remedy == "withdraw":
        target = rules.next_state(lt, entry.state, Action.withdraw)
        assert target is not None  # published, checked by _step
        timing = {
            "basis_revoked_on": today.isoformat(),
            "deadline": None,
            "late": False,
            "objection_id": objection.id,
        }
        _withdraw(session, principal, entry, lt, target, f"异议成立：{masked}", today, timing, today)
    return objection, document


# ------------------------------------------------------------------------------------------- repair


@dataclass
class RepairRequest:
    target_type: str  # list_entry | record
    target_id: str
    statement: str
    duties_fulfilled: bool
    duties_evidence: Mapping[str, Any]
    commitment_id: str | None
    channel: str  # api | portal_staff | cli


RECORD_REPAIR_CONDITIONS = ("minimum_period", "duties_fulfilled", "commitment", "no_repeat")


def _conditions(
    session: Session,
    *,
    subject_id: str,
    names: Sequence[str],
    min_from: dt.date | None,
    no_early_removal: bool,
    since: dt.date,
    kinds: set[str],
    exclude: set[str],
    duties_fulfilled: bool,
    duties_evidence: Mapping[str, Any],
    commitment_id: str | None,
    today: dt.date,
) -> dict[str, dict[str, Any]]:
    """Each condition of DOMAIN.md §2.6 with whether it is met and why."""
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name == "minimum_period":
            if no_early_removal or min_from is None:
                out[name] = {"met": False, "why": "this list allows no early removal"}
            else:
                out[name] = {"met": today >= min_from, "why": f"repair may be granted from {min_from}"}
        elif name == "duties_fulfilled":
            ok = duties_fulfilled and bool(duties_evidence)
            out[name] = {
                "met": ok,
                "why": "declared fulfilled, with evidence"
                if ok
                else "the duties must be declared fulfilled with evidence",
                "evidence": mask_nested(dict(duties_evidence)),
            }
        elif name == "commitment":
            c = records_repo.get_commitment(session, commitment_id) if commitment_id else None
            ok = (
                c is not None
                and c.subject_id == subject_id
                and c.type == "repair"
                and c.status == CommitmentStatus.signed
            )
            out[name] = {
                "met": ok,
                "why": f"signed repair commitment {commitment_id}"
                if ok
                else "needs the subject's signed repair commitment (信用修复承诺)",
                "commitment_id": commitment_id,
            }
        elif name == "no_repeat":
            repeats = [
                r.id
                for r in records_repo.records_of(session, subject_id)
                if r.status == RecordStatus.active
                and r.effect == "negative"
                and r.decided_on > since
                and r.id not in exclude
                and (not kinds or r.kind in kinds)
            ]
            out[name] = {
                "met": not repeats,
                "why": f"no new dishonest record of the same kind since {since}"
                if not repeats
                else f"new records since {since}",
                "records": repeats,
            }
    return out


def _target(session: Session, grant: Grant, target_type: str, target_id: str):
    if target_type == "list_entry":
        entry = _visible_entry(session, grant, target_id, for_update=True)
        return entry, None
    record = records_repo.get_record(session, target_id, for_update=True)
    if record is None:
        raise InvalidStep("no such record", errors=[FieldError("target_id", "no credit record")])
    try:
        subjects_service.visible_subject(session, grant, record.subject_id)
    except SubjectNotFound:
        raise InvalidStep("no such record", errors=[FieldError("target_id", "no credit record")]) from None
    return None, record


def _repair_conditions_of(
    session: Session, entry: ListEntry | None, record: CreditRecord | None, req, today: dt.date
):
    if entry is not None:
        lt = catalogue().list_type(entry.list_type)
        basis_kinds = {
            r.kind for r in (records_repo.get_record(session, i) for i in entry.basis_record_ids) if r
        }
        return _conditions(
            session,
            subject_id=entry.subject_id,
            names=lt.repair_conditions,
            min_from=entry.early_removal_from,
            no_early_removal=lt.early_removal_after_months is None,
            since=entry.published_on or entry.nominated_on,
            kinds=basis_kinds,
            exclude={entry.record_id or "", *entry.basis_record_ids},
            duties_fulfilled=req["duties_fulfilled"],
            duties_evidence=req["duties_evidence"],
            commitment_id=req["commitment_id"],
            today=today,
        )
    assert record is not None
    return _conditions(
        session,
        subject_id=record.subject_id,
        names=RECORD_REPAIR_CONDITIONS,
        min_from=record.publicity_min_until,
        no_early_removal=False,
        since=record.decided_on,
        kinds={record.kind},
        exclude={record.id},
        duties_fulfilled=req["duties_fulfilled"],
        duties_evidence=req["duties_evidence"],
        commitment_id=req["commitment_id"],
        today=today,
    )


def apply_for_repair(
    session: Session, principal: Principal, data: RepairRequest, *, today: dt.date | None = None
) -> RepairApplication:
    """An application for credit repair (信用修复) of a published entry or a credit record; the conditions
    are checked and stored with their reasons; the department decides within the configured limit."""
    today = today or clock.today()
    grant = authorize(principal, "lists.repair_apply")
    entry, record = _target(session, grant, data.target_type, data.target_id)
    if entry is not None:
        lt = catalogue().list_type(entry.list_type)
        if not lt.repairable:
            raise RepairNotAllowed(
                f"{lt.key} entries are not repaired", errors=[FieldError("target_id", "not repairable")]
            )
        if not entry.is_in_force(today):
            raise RepairNotAllowed(
                f"only an entry in force can be repaired (this one is {entry.state})",
                errors=[FieldError("target_id", f"is {entry.state}")],
            )
        subject_id, department = entry.subject_id, entry.department
    else:
        assert record is not None
        if record.status != RecordStatus.active or record.effect != "negative":
            raise RepairNotAllowed(
                "only an active negative record can be repaired",
                errors=[FieldError("target_id", f"is {record.status}")],
            )
        if not record.details.get("repairable", True):
            raise RepairNotAllowed(
                f"rule {record.rule} allows no repair", errors=[FieldError("target_id", "not repairable")]
            )
        subject_id, department = record.subject_id, record.details.get("department_code") or ""
    if repo.open_application(session, data.target_id) is not None:
        raise DuplicateEntry(
            "an application for this target is waiting for its decision",
            errors=[FieldError("target_id", "already applied")],
        )
    req = {
        "duties_fulfilled": data.duties_fulfilled,
        "duties_evidence": dict(data.duties_evidence),
        "commitment_id": data.commitment_id,
    }
    conditions = _repair_conditions_of(session, entry, record, req, today)
    due = workdays.deadline(today, setting("repair_decision_workdays"))
    application = RepairApplication(
        target_type=data.target_type,
        target_id=data.target_id,
        subject_id=subject_id,
        channel=data.channel,
        applied_on=today,
        applied_by=principal.actor,
        statement=mask_free_text(data.statement),
        commitment_id=data.commitment_id,
        conditions={
            "checked_on": today.isoformat(),
            "department": department,
            "request": mask_nested(req),
            "items": conditions,
        },
        status=RepairStatus.submitted.value,
        due_on=due.on,
        due_unknown=due.on is None,
        policy_version=catalogue().version,
    )
    session.add(application)
    session.flush()
    _audit(
        session,
        principal,
        "repair_apply",
        "repair_application",
        application.id,
        {
            "target": f"{data.target_type}:{data.target_id}",
            "channel": data.channel,
            "met": {k: v["met"] for k, v in conditions.items()},
            **_due_details(due),
        },
    )
    return application


def decide_repair(
    session: Session,
    principal: Principal,
    application_id: str,
    *,
    approve: bool,
    reason: str,
    today: dt.date | None = None,
) -> RepairApplication:
    """The responsible department decides (谁认定、谁修复). Approval needs every condition met on the day
    of the decision; the entry becomes ``repaired`` and its record repaired, gone from every public output
    and score, kept in the archive with its history."""
    today = today or clock.today()
    grant = authorize(principal, "lists.repair")
    application = repo.get_application(session, application_id, for_update=True)
    if application is None:
        raise ApplicationNotFound(f"no repair application {application_id}")
    try:
        subjects_service.visible_subject(session, grant, application.subject_id)
    except SubjectNotFound:
        raise ApplicationNotFound(f"no repair application {application_id}") from None
    if application.status != RepairStatus.submitted:
        raise InvalidTransition(
            f"the application is already {application.status}",
            errors=[FieldError("status", f"is {application.status}")],
        )
    _check_department(principal, application.conditions.get("department") or "")
    masked = mask_free_text(reason)
    entry = record = None
    step = None
    if application.target_type == "list_entry":
        step = _step(session, principal, application.target_id, Action.repair)
        entry = step.entry
    else:
        record = records_repo.get_record(session, application.target_id, for_update=True)
    if approve:
        req = application.conditions.get("request", {})
        conditions = _repair_conditions_of(
            session,
            entry,
            record,
            {
                "duties_fulfilled": req.get("duties_fulfilled", False),
                "duties_evidence": req.get("duties_evidence", {}),
                "commitment_id": application.commitment_id,
            },
            today,
        )
        unmet = [k for k, v in conditions.items() if not v["met"]]
        if unmet:
            raise RepairNotAllowed(
                f"conditions not met: {', '.join(unmet)}",
                errors=[FieldError(f"conditions.{k}", conditions[k]["why"]) for k in unmet],
            )
        application.conditions = {**application.conditions, "decided": conditions}
    application.status = (RepairStatus.approved if approve else RepairStatus.rejected).value
    application.decided_on = today
    application.decided_by = principal.actor
    application.decision_reason = masked
    session.flush()
    late = application.due_on is not None and today > application.due_on
    _audit(
        session,
        principal,
        "repair",
        "repair_application",
        application.id,
        {"approve": approve, "reason": masked, "late": late},
    )
    if not approve:
        return application
    if entry is not None and step is not None:
        lt = step.list_type
        entry.closed_on = today
        entry.close_reason = masked
        if entry.record_id:
            rec = records_repo.get_record(session, entry.record_id)
            if rec is not None and rec.status == RecordStatus.active:
                records_service.repair_record(
                    session,
                    principal,
                    rec.id,
                    reason=reason,
                    commitment_id=application.commitment_id,
                    today=today,
                )
        document = _issue(
            session,
            principal,
            entry,
            lt,
            DocumentKind.repair_decision,
            [
                ("申请事项", f"提前移出{lt.name_zh}"),
                (
                    "修复条件核查",
                    [
                        f"{k}：{'符合' if v['met'] else '不符合'}（{v['why']}）"
                        for k, v in application.conditions["decided"].items()
                    ],
                ),
                ("决定", f"准予信用修复，自{today}起停止公示，解除相关惩戒措施。"),
            ],
            today,
        )
        _move(
            session,
            principal,
            entry,
            Action.repair,
            step.target,
            reason,
            {"application_id": application.id, "late": late, **documents.summary(document)},
        )
        _removed(session, principal, entry, "repaired")
    elif record is not None:
        records_service.repair_record(
            session, principal, record.id, reason=reason, commitment_id=application.commitment_id, today=today
        )
    return application


# ------------------------------------------------------------------------------------------- basis revoked


def flag_basis_withdrawn(
    session: Session, *, record_id: str, today: dt.date | None = None
) -> list[ListEntry]:
    """A basis record of open entries was withdrawn: the withdrawal (published) or the drop (pending) is
    due within the withdrawal limit and shows in the queue; called from ``wiring`` on ``RecordWithdrawn``."""
    today = today or clock.today()
    flagged = []
    for entry in repo.with_basis_record(session, record_id):
        if entry.record_id == record_id:
            continue
        due = _set_due(entry, today, setting("withdrawal_within_workdays"))
        entry.evidence = {
            **entry.evidence,
            "basis_withdrawn": {"record_id": record_id, "on": today.isoformat(), **_due_details(due)},
        }
        session.flush()
        flagged.append(entry)
    return flagged


def recompute_unknown_deadlines(session: Session) -> int:
    """After a calendar load: compute the deadlines that were flagged unknown; how many now have a day."""
    done = 0
    for entry in repo.overdue_entries(session, dt.date.min, None):
        if not entry.due_unknown:
            continue
        lt = catalogue().list_type(entry.list_type)
        if entry.state == EntryState.notified and entry.notified_on:
            due = _set_due(entry, entry.notified_on, lt.defence_window_workdays)
            entry.defence_until = due.on if due else None
        elif entry.state in (EntryState.decided, EntryState.approved) and entry.decided_on:
            _set_due(entry, entry.decided_on, setting("publish_within_workdays"))
        elif "basis_withdrawn" in entry.evidence:
            _set_due(
                entry,
                dt.date.fromisoformat(entry.evidence["basis_withdrawn"]["on"]),
                setting("withdrawal_within_workdays"),
            )
        done += not entry.due_unknown
    for objection in repo.overdue_objections(session, dt.date.min):
        if objection.due_unknown:
            due = workdays.deadline(objection.filed_on, setting("objection_answer_workdays"))
            objection.due_on, objection.due_unknown = due.on, due.on is None
            done += due.on is not None
    for application in repo.overdue_applications(session, dt.date.min):
        if application.due_unknown:
            due = workdays.deadline(application.applied_on, setting("repair_decision_workdays"))
            application.due_on, application.due_unknown = due.on, due.on is None
            done += due.on is not None
    session.flush()
    return done


# ------------------------------------------------------------------------------------------- reading


QUEUE_KINDS = {
    EntryState.nominated: "notice",
    EntryState.notified: "defence_window",
    EntryState.decided: "publication",
    EntryState.approved: "publication",
    EntryState.published: "withdrawal",
}


@dataclass
class QueueItem:
    kind: str  # defence_window | publication | withdrawal | objection | repair_decision | …
    object_type: str  # list_entry | list_objection | repair_application
    object_id: str
    entry_id: str | None
    subject_id: str
    state: str
    due_on: dt.date | None
    due_unknown: bool
    overdue_workdays: int | None


def _overdue(due_on: dt.date | None, today: dt.date) -> int | None:
    if due_on is None:
        return None
    try:
        return workdays.workdays_between(due_on, today)
    except workdays.CalendarUnknown:
        return None


def queue(session: Session, principal: Principal, *, today: dt.date | None = None) -> list[QueueItem]:
    """Steps whose deadline passed (defence windows to close, publications, withdrawals, objections,
    repair decisions), and steps whose deadline is unknown (no calendar for its year), oldest first."""
    today = today or clock.today()
    grant = authorize(principal, "lists.queue")
    items = [
        QueueItem(
            kind=QUEUE_KINDS.get(EntryState(e.state), e.state),
            object_type="list_entry",
            object_id=e.id,
            entry_id=e.id,
            subject_id=e.subject_id,
            state=e.state,
            due_on=e.due_on,
            due_unknown=e.due_unknown,
            overdue_workdays=_overdue(e.due_on, today),
        )
        for e in repo.overdue_entries(session, today, grant.region_prefix)
    ]
    for o in repo.overdue_objections(session, today):
        entry = repo.get_entry(session, o.entry_id)
        if entry is None or not _covers(session, grant, entry.subject_id):
            continue
        items.append(
            QueueItem(
                "objection",
                "list_objection",
                o.id,
                o.entry_id,
                entry.subject_id,
                o.status,
                o.due_on,
                o.due_unknown,
                _overdue(o.due_on, today),
            )
        )
    for a in repo.overdue_applications(session, today):
        if not _covers(session, grant, a.subject_id):
            continue
        entry_id = a.target_id if a.target_type == "list_entry" else None
        items.append(
            QueueItem(
                "repair_decision",
                "repair_application",
                a.id,
                entry_id,
                a.subject_id,
                a.status,
                a.due_on,
                a.due_unknown,
                _overdue(a.due_on, today),
            )
        )
    items.sort(key=lambda i: (i.due_on or dt.date.max, i.object_id))
    return items


def _covers(session: Session, grant: Grant, subject_id: str) -> bool:
    try:
        subjects_service.visible_subject(session, grant, subject_id)
    except SubjectNotFound:
        return False
    return True


def get_entry(session: Session, principal: Principal, entry_id: str) -> ListEntry:
    """One entry (staff)."""
    return _visible_entry(session, authorize(principal, "lists.read"), entry_id)


def entry_history(session: Session, entry: ListEntry) -> Sequence[ListEntryEvent]:
    return repo.events_of(session, entry.id)


def entry_documents(session: Session, entry: ListEntry) -> Sequence[ListDocument]:
    return repo.documents_of(session, entry.id)


def entry_objections(session: Session, entry: ListEntry) -> Sequence[Objection]:
    return repo.objections_of(session, entry.id)


def entry_applications(session: Session, entry: ListEntry) -> Sequence[RepairApplication]:
    return repo.applications_of_target(session, entry.id)


def search_entries(
    session: Session,
    principal: Principal,
    *,
    subject_id: str | None = None,
    list_type: str | None = None,
    state: str | None = None,
    limit: int = 50,
) -> Sequence[ListEntry]:
    """Entries by subject, list type and state (staff; a regulator: those of its region)."""
    grant = authorize(principal, "lists.read")
    return repo.search_entries(
        session,
        subject_id=subject_id,
        list_type=list_type,
        state=state,
        region_prefix=grant.region_prefix,
        limit=limit,
    )


def get_document(session: Session, principal: Principal, document_id: str) -> ListDocument:
    grant = authorize(principal, "lists.documents")
    document = repo.get_document(session, document_id)
    if document is None:
        raise DocumentNotFound(f"no document {document_id}")
    try:
        _visible_entry(session, grant, document.entry_id)
    except EntryNotFound:
        raise DocumentNotFound(f"no document {document_id}") from None
    return document


def get_application(session: Session, principal: Principal, application_id: str) -> RepairApplication:
    grant = authorize(principal, "lists.read")
    application = repo.get_application(session, application_id)
    if application is None or not _covers(session, grant, application.subject_id):
        raise ApplicationNotFound(f"no repair application {application_id}")
    return application


def public_entries(
    session: Session, principal: Principal, subject_id: str, *, today: dt.date | None = None
) -> Sequence[ListEntry]:
    """The subject's entries in force on ``today`` (never repaired, withdrawn, expired or pending ones);
    market entities only for the public, as their records."""
    today = today or clock.today()
    grant = authorize(principal, "lists.read_public")
    subject = subjects_service.visible_subject(session, grant, subject_id)
    if subject.kind not in ORGANISATION_KINDS:  # a public output never shows a natural person
        raise SubjectNotFound(f"no subject {subject_id}")
    return repo.in_force(session, subject.id, today)


# ------------------------------------------------------------------------------------------- views


def catalogue_read() -> CatalogueRead:
    """The list types and their measures, with sources (public)."""
    cat = catalogue()
    types = []
    for t in cat.types.values():
        types.append(
            ListTypeRead(
                key=t.key,
                name_zh=t.name_zh,
                name_en=t.name_en,
                colour=t.colour,
                issuing_body=t.issuing_body,
                department=t.department,
                legal_basis=t.legal_basis,
                criteria=t.criteria,
                source=t.source,
                steps=list(t.steps),
                procedure=[a.value for a in rules.path(t)],
                hearing=t.hearing,
                defence_window_workdays=t.defence_window_workdays,
                duration_months=t.duration_months,
                early_removal_after_months=t.early_removal_after_months,
                repairable=t.repairable,
                repair_conditions=list(t.repair_conditions),
                rule=dict(t.rule) if t.rule else None,
                escalates_to=t.escalates_to,
                escalate_after_months=t.escalate_after_months,
                measures=[
                    MeasureRead(
                        key=m.key,
                        name_zh=m.name_zh,
                        name_en=m.name_en,
                        effect=m.effect,
                        target=m.target,
                        actions=dict(m.actions),
                        legal_basis=m.legal_basis,
                        source=m.source,
                        platform_order=m.platform_order,
                        order_deadline_workdays=m.order_deadline_workdays,
                    )
                    for m in cat.measures_of(t.key)
                ],
            )
        )
    return CatalogueRead(version=cat.version, settings=dict(cat.settings), types=types)


def entry_read(entry: ListEntry) -> EntryRead:
    lt = catalogue().list_type(entry.list_type)
    fields = {c: getattr(entry, c) for c in EntryRead.model_fields if c != "next_steps"}
    return EntryRead.model_validate(
        {**fields, "next_steps": [a.value for a in rules.next_steps(lt, entry.state)]}
    )


def entry_detail(session: Session, entry: ListEntry) -> EntryDetail:
    return EntryDetail(
        **entry_read(entry).model_dump(),
        history=[EntryEventRead.model_validate(e) for e in repo.events_of(session, entry.id)],
        documents=[DocumentRead.model_validate(d) for d in repo.documents_of(session, entry.id)],
        objections=[ObjectionRead.model_validate(o) for o in repo.objections_of(session, entry.id)],
        repair_applications=[
            RepairRead.model_validate(a) for a in repo.applications_of_target(session, entry.id)
        ],
    )


def public_entry_read(entry: ListEntry) -> PublicEntryRead:
    lt = catalogue().list_type(entry.list_type)
    assert entry.published_on is not None
    return PublicEntryRead(
        id=entry.id,
        list_type=lt.key,
        list_name=lt.name_zh,
        colour=entry.colour,
        issuing_body=lt.issuing_body,
        legal_basis=lt.legal_basis,
        reason=entry.reason,
        published_on=entry.published_on,
        effective_until=entry.effective_until,
    )
