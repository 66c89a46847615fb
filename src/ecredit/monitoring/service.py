"""Risk warnings (风险预警): store the detectors' findings, list them, triage them, export them."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from ecredit.errors import FieldError, Forbidden
from ecredit.kit.clock import utc_now
from ecredit.kit.events import announce
from ecredit.kit.ids import new_id
from ecredit.monitoring import repository as repo
from ecredit.monitoring.errors import InvalidFinding, InvalidTransition, InvalidTriage, WarningNotFound
from ecredit.monitoring.events import WarningConfirmed, WarningReopened
from ecredit.monitoring.findings import DetectorRun, Finding, Member, MemberRole, WarningKind
from ecredit.monitoring.models import RiskWarning, WarningStatus
from ecredit.monitoring.schemas import MemberCounts, MemberRead, WarningDetail, WarningRead
from ecredit.security.masking import PII_PATTERNS, find_pii, mask_free_text, mask_id_number, mask_phone
from ecredit.security.permissions import Grant, authorize
from ecredit.security.principals import Principal, system
from ecredit.security.trail import record_change
from ecredit.subjects import repository as subjects_repo

MONITOR = system("monitor")  # the principal of detector runs started without one

# ---------------------------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class RecordSummary:
    new: int  # warnings created
    updated: int  # existing warnings found again and refreshed


def _plain_json(value: Any) -> tuple[Any, str]:
    """JSON types only, and their text: numpy scalars and arrays, datetimes and non-string keys as JSON
    has them; NaN and infinities become null (PostgreSQL's JSON refuses them)."""
    text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return orjson.loads(text), text.decode("utf-8")


def _mask_pii(text: str) -> str:
    """``text`` with its clear ID and mobile numbers masked (the patterns ``find_pii`` spots, nothing
    else: a parcel id's long digit run stays); text without any is returned as it is."""
    if not find_pii(text):
        return text
    text = unicodedata.normalize("NFKC", text)
    text = PII_PATTERNS["id_number"].sub(lambda m: mask_id_number(m.group()) or "", text)
    return PII_PATTERNS["phone"].sub(lambda m: mask_phone(m.group()) or "", text)


def _scrub(value: Any) -> Any:
    """Mask clear ID and mobile numbers in the strings of a summary or of details (the API never shows
    personal data in clear)."""
    if isinstance(value, str):
        return _mask_pii(value)
    if isinstance(value, int) and not isinstance(value, bool) and find_pii(str(value)):
        return _mask_pii(str(value))  # a phone number stored as a number is still one
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


_ROLE_ORDER = {MemberRole.shop: 0, MemberRole.account: 1, MemberRole.object: 2}
_ROLE_VALUE = {role: role.value for role in MemberRole}
_MEMBER_COLUMNS = (
    "warning_id",
    "seq",
    "role",
    "platform",
    "ref",
    "object_kind",
    "linked",
    "shop_id",
    "subject_id",
)
_UNKNOWN = (None, None)  # shop id and subject id of a member the registry does not know


def _checked(index: int, finding: Finding) -> Finding:
    """The finding with its kind, roles and numbers checked (a detector bug fails the run, naming it)."""

    def bad(field: str, message: str) -> InvalidFinding:
        return InvalidFinding(
            f"finding {index} is invalid", errors=[FieldError(f"findings[{index}].{field}", message)]
        )

    try:
        kind = WarningKind(finding.kind)
    except ValueError:
        raise bad("kind", f"unknown kind {finding.kind!r}") from None
    score, confidence = float(finding.score), float(finding.confidence)
    if not math.isfinite(score):
        raise bad("score", "must be a finite number")
    if not (0.0 <= confidence <= 1.0):
        raise bad("confidence", "must be between 0 and 1")
    if not finding.platform or len(finding.platform) > 32:
        raise bad("platform", "must be a platform code of 1-32 characters")
    if not finding.summary or not finding.summary.strip():
        raise bad("summary", "must not be empty")
    if not finding.members:
        raise bad("members", "a finding names at least one member")
    # Keyed by the sort order (shops, accounts, records; parties before linked; platform, kind, id), which
    # also drops duplicates; members that are already well-typed are kept as they are (the common case).
    by_key: dict[tuple[Any, ...], Member] = {}
    for m in finding.members:
        role, ref, platform, object_kind, linked = m.role, m.ref, m.platform, m.object_kind, m.linked
        if role.__class__ is not MemberRole:
            try:
                role = MemberRole(role)
            except ValueError:
                raise bad("members", f"unknown role {role!r}") from None
        if not ref or len(ref) > 128 or not platform or len(platform) > 32:
            raise bad("members", f"member {platform}:{ref} needs a platform and a ref of 1-128 characters")
        if object_kind is not None and len(object_kind) > 16:
            raise bad("members", f"object kind {object_kind!r} is too long")
        if role is not m.role or linked.__class__ is not bool or m.__class__ is not Member:
            m = Member(role, platform, ref, object_kind, bool(linked))  # noqa: PLW2901
        by_key[(_ROLE_ORDER[role], m.linked, platform, object_kind or "", ref, object_kind is None)] = m
    try:
        details, text = _plain_json(finding.details or {})
    except TypeError as exc:
        raise bad("details", f"not JSON: {exc}") from None
    if find_pii(text):  # one look over the whole evidence; most has nothing to mask
        details = _scrub(details)
    return Finding(
        kind=kind,
        platform=finding.platform,
        score=score,
        confidence=confidence,
        summary=_scrub(finding.summary.strip()),
        members=[by_key[k] for k in sorted(by_key)],
        details=details,
    )


def _check_run(run: DetectorRun) -> None:
    for name, value, least, most in (
        ("detector", run.detector, 1, 64),
        ("version", run.version, 1, 32),
        ("engine", run.engine, 1, 16),
        ("snapshot", run.snapshot, 0, 64),  # empty: the lake had no committed batch yet
    ):
        if not isinstance(value, str) or not least <= len(value) <= most:
            raise InvalidFinding(
                "invalid detector run", errors=[FieldError(name, f"{least}-{most} characters")]
            )


def record_findings(
    session: Session,
    run: DetectorRun,
    findings: Sequence[Finding],
    *,
    principal: Principal | None = None,
    now: dt.datetime | None = None,
) -> RecordSummary:
    """Store a detector run's findings as risk warnings, set-based; returns how many are new and updated.

    A finding whose fingerprint matches a warning of the same detector refreshes that warning (score,
    confidence, summary, details, members, provenance, ``last_seen_at``, ``seen_count``) instead of adding
    another; its status and triage stay as they are, so a dismissed warning stays dismissed. Two findings
    of one run with the same fingerprint are one warning: the higher score wins.
    """
    now = now or utc_now()
    principal = principal or MONITOR
    _check_run(run)
    by_fingerprint: dict[str, Finding] = {}
    for index, raw in enumerate(findings):
        finding = _checked(index, raw)
        fingerprint = finding.fingerprint(run.detector)
        kept = by_fingerprint.get(fingerprint)
        if kept is None or finding.score > kept.score:
            by_fingerprint[fingerprint] = finding
    existing = repo.warnings_by_fingerprint(session, run.detector, by_fingerprint)
    shop_keys = set()
    for f in by_fingerprint.values():
        for m in f.members:  # shops come first (``_checked`` sorts them so)
            if m.role is not MemberRole.shop:
                break
            shop_keys.add((m.platform, m.ref))
    shops = repo.shops_by_platform_ref(session, shop_keys)

    # The members of warnings found again, to rewrite only those whose members changed.
    previous = repo.member_tuples(session, [hit[0] for hit in existing.values()])
    new_rows: list[dict[str, Any]] = []
    seen_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    replaced: list[str] = []
    for fingerprint, finding in by_fingerprint.items():
        hit = existing.get(fingerprint)
        warning_id = hit[0] if hit else new_id()
        if hit:
            seen_rows.append(
                {
                    "w_id": warning_id,
                    "w_detector_version": run.version,
                    "w_engine": run.engine,
                    "w_snapshot": run.snapshot,
                    "w_platform": finding.platform,
                    "w_score": finding.score,
                    "w_confidence": finding.confidence,
                    "w_summary": finding.summary,
                    "w_details": finding.details,
                    "w_last_seen_at": now,
                }
            )
        else:
            new_rows.append(
                {
                    "id": warning_id,
                    "kind": finding.kind.value,
                    "platform": finding.platform,
                    "detector": run.detector,
                    "detector_version": run.version,
                    "engine": run.engine,
                    "snapshot": run.snapshot,
                    "fingerprint": fingerprint,
                    "score": finding.score,
                    "confidence": finding.confidence,
                    "summary": finding.summary,
                    "details": finding.details,
                    "status": WarningStatus.open.value,
                    "triage_reason": None,
                    "triaged_by": None,
                    "triaged_at": None,
                    "created_at": now,
                    "last_seen_at": now,
                    "seen_count": 1,
                }
            )
        members = [
            (
                seq,
                _ROLE_VALUE[m.role],  # a dict look-up: Enum.value is a slow descriptor
                m.platform,
                m.ref,
                m.object_kind,
                m.linked,
                *(shops.get((m.platform, m.ref), _UNKNOWN) if m.role is MemberRole.shop else _UNKNOWN),
            )
            for seq, m in enumerate(finding.members)
        ]
        if hit and previous.get(warning_id) == members:
            continue  # found again with the same members: nothing to rewrite
        if hit:
            replaced.append(warning_id)
        member_rows += [dict(zip(_MEMBER_COLUMNS, (warning_id, *member), strict=True)) for member in members]
    repo.delete_members(session, replaced)
    repo.update_seen(session, seen_rows)
    repo.insert_warnings(session, new_rows)
    repo.insert_members(session, member_rows)
    session.flush()
    record_change(
        session,
        principal,
        "warnings.record",
        "detector_run",
        run.detector,
        {
            "version": run.version,
            "engine": run.engine,
            "snapshot": run.snapshot,
            "findings": len(findings),
            "new": len(new_rows),
            "updated": len(seen_rows),
        },
    )
    return RecordSummary(new=len(new_rows), updated=len(seen_rows))


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class WarningFilters:
    """What a list or an export selects; every filter given must hold."""

    kind: WarningKind | None = None
    status: WarningStatus | None = None
    platform: str | None = None  # the platform the pattern happened on
    shop: str | None = None  # a member shop's platform id (on ``platform`` when given)
    account: str | None = None  # a member account's platform id (on ``platform`` when given)
    subject_id: str | None = None  # the operator of one of the warning's shops
    min_score: float | None = None
    created_from: dt.datetime | None = None  # inclusive
    created_to: dt.datetime | None = None  # exclusive


@dataclass(frozen=True)
class _Scope:
    tenant_code: str | None  # a platform's code: only its shops, accounts and members
    region_prefix: str | None


def _scope(session: Session, grant: Grant) -> _Scope:
    tenant_code = None
    if grant.platform_id:
        tenant_code = subjects_repo.platform_codes(session, [grant.platform_id]).get(grant.platform_id)
        if tenant_code is None:
            raise Forbidden("the credential's platform is not registered")
    return _Scope(tenant_code=tenant_code, region_prefix=grant.region_prefix)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware instant in UTC; instants beyond the calendar's ends (year 1 at +14:00) are clamped."""
    if value is None:
        return None
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        if value.year == dt.MINYEAR:
            return dt.datetime.min.replace(tzinfo=dt.UTC)
        return dt.datetime.max.replace(tzinfo=dt.UTC)


WITHHELD = "[withheld]"  # what a platform reads in place of another platform's id
_ID_CHAR = r"A-Za-z0-9_\-"


@dataclass(frozen=True)
class _TenantView:
    """How one warning looks to a platform: evidence of other platforms left out (RELIABILITY.md C1).

    Details entries that belong to another platform (a dict whose ``platform`` is another code, in a list
    or as a value) are dropped; in every text (summary, details, triage reason) the ids and codes of the
    warning's members on other platforms are replaced by ``[withheld]``.
    """

    tenant: str
    foreign: frozenset[str]

    def text(self, value: str | None) -> str | None:
        if not value or not self.foreign:
            return value
        refs = "|".join(re.escape(r) for r in sorted(self.foreign, key=len, reverse=True))
        return re.sub(rf"(?<![{_ID_CHAR}.])(?:{refs})(?![{_ID_CHAR}])", WITHHELD, value)

    def _other(self, value: Any) -> bool:
        return (
            isinstance(value, dict)
            and isinstance(value.get("platform"), str)
            and value["platform"] != self.tenant
        )

    def details(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.details(v) for v in value if not self._other(v)]
        if isinstance(value, dict):
            return {k: self.details(v) for k, v in value.items() if not self._other(v)}
        return value


def _tenant_views(
    session: Session, scope: _Scope | None, warning_ids: Sequence[str]
) -> dict[str, _TenantView]:
    """Per warning, the platform's view of it (empty when the caller is no platform)."""
    if scope is None or not scope.tenant_code:
        return {}
    tenant = scope.tenant_code
    foreign = repo.foreign_refs(session, warning_ids, platform=tenant)
    return {i: _TenantView(tenant, frozenset(foreign.get(i, ()))) for i in warning_ids}


def _search(
    session: Session, scope: _Scope, filters: WarningFilters, *, before_id: str | None, limit: int
) -> Sequence[RiskWarning]:
    return repo.search_warnings(
        session,
        kind=filters.kind.value if filters.kind else None,
        status=filters.status.value if filters.status else None,
        platform=filters.platform,
        shop_ref=filters.shop,
        account_ref=filters.account,
        subject_id=filters.subject_id,
        min_score=filters.min_score,
        created_from=_utc(filters.created_from),
        created_to=_utc(filters.created_to),
        before_id=before_id,
        limit=limit,
        tenant_code=scope.tenant_code,
        region_prefix=scope.region_prefix,
    )


def list_warnings(
    session: Session, principal: Principal, filters: WarningFilters, *, cursor: str | None, limit: int
) -> tuple[list[WarningRead], str | None]:
    """Warnings the caller may see, newest first; the cursor is the last id of the previous page."""
    scope = _scope(session, authorize(principal, "warnings.read"))
    rows = _search(session, scope, filters, before_id=cursor, limit=limit + 1)
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return warning_reads(session, rows[:limit], scope), next_cursor


def _visible_warning(
    session: Session, scope: _Scope, warning_id: str, *, for_update: bool = False
) -> RiskWarning:
    warning = repo.get_warning(session, warning_id, for_update=for_update)
    if warning is None or not repo.is_visible(
        session, warning.id, tenant_code=scope.tenant_code, region_prefix=scope.region_prefix
    ):
        raise WarningNotFound(f"no warning {warning_id}")
    return warning


def get_warning(session: Session, principal: Principal, warning_id: str) -> WarningDetail:
    """One warning with its details and members (a platform sees only its own members)."""
    scope = _scope(session, authorize(principal, "warnings.read"))
    return warning_detail(session, _visible_warning(session, scope, warning_id), scope)


def _read(
    warning: RiskWarning, counts: dict[str, int], subject_ids: list[str], view: _TenantView | None = None
) -> dict[str, Any]:
    text = view.text if view is not None else (lambda value: value)
    return {
        "id": warning.id,
        "kind": warning.kind,
        "platform": warning.platform,
        "score": warning.score,
        "confidence": warning.confidence,
        "summary": text(warning.summary),
        "status": warning.status,
        "detector": warning.detector,
        "detector_version": warning.detector_version,
        "engine": warning.engine,
        "snapshot": warning.snapshot,
        "triage_reason": text(warning.triage_reason),
        "triaged_by": warning.triaged_by,
        "triaged_at": warning.triaged_at,
        "created_at": warning.created_at,
        "last_seen_at": warning.last_seen_at,
        "seen_count": warning.seen_count,
        "subject_ids": subject_ids,
        "member_counts": MemberCounts(
            shops=counts.get("shop", 0), accounts=counts.get("account", 0), objects=counts.get("object", 0)
        ),
    }


def warning_reads(
    session: Session, warnings: Sequence[RiskWarning], scope: _Scope | None = None
) -> list[WarningRead]:
    """The list views of warnings (member counts and subjects limited to a platform's own)."""
    ids = [w.id for w in warnings]
    platform = scope.tenant_code if scope else None
    counts = repo.member_counts(session, ids, platform=platform)
    subjects = repo.subject_ids_of(session, ids, platform=platform)
    views = _tenant_views(session, scope, ids)
    return [WarningRead(**_read(w, counts[w.id], subjects[w.id], views.get(w.id))) for w in warnings]


def _member_read(m: Any) -> MemberRead:
    return MemberRead(
        role=MemberRole(m.role),
        platform=m.platform,
        ref=m.ref,
        object_kind=m.object_kind,
        linked=bool(m.linked),
        shop_id=m.shop_id,
        subject_id=m.subject_id,
    )


def warning_detail(session: Session, warning: RiskWarning, scope: _Scope | None = None) -> WarningDetail:
    """The full view of a warning: details and members (a platform's own members only)."""
    platform = scope.tenant_code if scope else None
    members = repo.members_of(session, [warning.id], platform=platform)[warning.id]
    counts: dict[str, int] = {}
    for m in members:
        counts[m.role] = counts.get(m.role, 0) + 1
    subjects = sorted({m.subject_id for m in members if m.subject_id and not m.linked})
    view = _tenant_views(session, scope, [warning.id]).get(warning.id)
    details = warning.details or {}
    return WarningDetail(
        **_read(warning, counts, subjects, view),
        details=view.details(details) if view is not None else details,
        members=[_member_read(m) for m in members],
    )


# ---------------------------------------------------------------------------------------------- triage

# (status, step) -> the status after the step; anything else is refused.
TRANSITIONS: dict[tuple[WarningStatus, str], WarningStatus] = {
    (WarningStatus.open, "confirm"): WarningStatus.confirmed,
    (WarningStatus.open, "dismiss"): WarningStatus.dismissed,
    (WarningStatus.confirmed, "reopen"): WarningStatus.open,
    (WarningStatus.dismissed, "reopen"): WarningStatus.open,
}
REASON_REQUIRED = frozenset({"dismiss", "reopen"})


def next_status(status: WarningStatus, step: str) -> WarningStatus | None:
    """The status a triage step leads to, or None when the step is not allowed from ``status``."""
    return TRANSITIONS.get((status, step))


def _triage(
    session: Session,
    principal: Principal,
    warning_id: str,
    step: str,
    reason: str | None,
    now: dt.datetime | None,
) -> RiskWarning:
    grant = authorize(principal, "warnings.triage")
    reason = reason.strip() if reason else None
    if step in REASON_REQUIRED and not reason:
        raise InvalidTriage(
            f"a reason is required to {step} a warning", errors=[FieldError("reason", "required")]
        )
    warning = _visible_warning(session, _scope(session, grant), warning_id, for_update=True)
    previous = WarningStatus(warning.status)
    target = next_status(previous, step)
    if target is None:
        hint = "re-open it first" if previous is not WarningStatus.open else "it is not triaged"
        raise InvalidTransition(
            f"a {previous.value} warning cannot be {step}ed ({hint})",
            errors=[FieldError("status", f"is {previous.value}")],
        )
    masked = mask_free_text(reason) if reason else None
    warning.status = target.value
    warning.triage_reason = masked
    warning.triaged_by = principal.actor
    warning.triaged_at = now or utc_now()
    session.flush()
    record_change(
        session,
        principal,
        f"warnings.{step}",
        "risk_warning",
        warning.id,
        {"kind": warning.kind, "from": previous.value, "to": target.value, "reason": masked},
    )
    if step == "confirm":
        shops = repo.party_shops(session, warning.id)
        announce(
            session,
            WarningConfirmed(
                warning_id=warning.id,
                kind=warning.kind,
                platform=warning.platform,
                subject_ids=tuple(sorted({s for _, s in shops})),
                shop_ids=tuple(dict.fromkeys(shop for shop, _ in shops)),
                confirmed_by=principal.actor,
                reason=masked,
            ),
        )
    elif step == "reopen":
        announce(
            session,
            WarningReopened(
                warning_id=warning.id,
                previous_status=previous.value,
                reopened_by=principal.actor,
                reason=masked or "",
            ),
        )
    return warning


def confirm_warning(
    session: Session,
    principal: Principal,
    warning_id: str,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> RiskWarning:
    """Confirm an open warning as misconduct (a regulator's decision, audited; announces WarningConfirmed)."""
    return _triage(session, principal, warning_id, "confirm", reason, now)


def dismiss_warning(
    session: Session, principal: Principal, warning_id: str, *, reason: str, now: dt.datetime | None = None
) -> RiskWarning:
    """Dismiss an open warning, with the reason (audited)."""
    return _triage(session, principal, warning_id, "dismiss", reason, now)


def reopen_warning(
    session: Session, principal: Principal, warning_id: str, *, reason: str, now: dt.datetime | None = None
) -> RiskWarning:
    """Re-open a confirmed or dismissed warning, with the reason (audited; announces WarningReopened)."""
    return _triage(session, principal, warning_id, "reopen", reason, now)


# ---------------------------------------------------------------------------------------------- export

EXPORT_COLUMNS = (
    "warning_id",
    "kind",
    "platform",
    "shop_ids",
    "account_ids",
    "object_ids",
    "score",
    "summary",
    "confidence",
    "status",
    "detector",
    "detector_version",
    "created_at",
    "last_seen_at",
    "seen_count",
    "snapshot",
    "linked_shop_ids",
    "subject_ids",
)
EXPORT_PAGE = 1000


def _joined(members: Sequence[Any], platform: str) -> str:
    """Refs joined by ``;``; a member on another platform than the warning's as ``platform:ref``."""
    return ";".join(m.ref if m.platform == platform else f"{m.platform}:{m.ref}" for m in members)


def export_rows(session: Session, principal: Principal, filters: WarningFilters) -> Iterator[dict[str, Any]]:
    """The export rows of every warning the caller may see, page by page (newest first)."""
    scope = _scope(session, authorize(principal, "warnings.read"))
    before: str | None = None
    while True:
        page = _search(session, scope, filters, before_id=before, limit=EXPORT_PAGE)
        if not page:
            return
        members = repo.members_of(session, [w.id for w in page], platform=scope.tenant_code)
        views = _tenant_views(session, scope, [w.id for w in page])
        for w in page:
            own = members[w.id]
            view = views.get(w.id)
            parties = [m for m in own if not m.linked]
            yield {
                "warning_id": w.id,
                "kind": w.kind,
                "platform": w.platform,
                "shop_ids": _joined([m for m in parties if m.role == "shop"], w.platform),
                "account_ids": _joined([m for m in parties if m.role == "account"], w.platform),
                "object_ids": _joined([m for m in own if m.role == "object"], w.platform),
                "score": w.score,
                "summary": view.text(w.summary) if view is not None else w.summary,
                "confidence": w.confidence,
                "status": w.status,
                "detector": w.detector,
                "detector_version": w.detector_version,
                "created_at": w.created_at.isoformat(),
                "last_seen_at": w.last_seen_at.isoformat(),
                "seen_count": w.seen_count,
                "snapshot": w.snapshot,
                "linked_shop_ids": _joined([m for m in own if m.linked and m.role == "shop"], w.platform),
                "subject_ids": ";".join(sorted({m.subject_id for m in parties if m.subject_id})),
            }
        if len(page) < EXPORT_PAGE:
            return
        before = page[-1].id


def record_export(
    session: Session, principal: Principal, *, rows: int, fmt: str, filters: WarningFilters
) -> None:
    """Audit an export of warnings (who took how many, with which filters)."""
    chosen = {
        k: (v.isoformat() if isinstance(v, dt.datetime) else str(v))
        for k, v in vars(filters).items()
        if v is not None
    }
    record_change(
        session,
        principal,
        "warnings.export",
        "risk_warning",
        None,
        {"rows": rows, "format": fmt, "filters": chosen},
    )
