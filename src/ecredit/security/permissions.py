"""The permission table: role × action → scope. Declarative, so tests can iterate over it.

Scopes:
- ``all``: every object of the kind.
- ``own``: a platform's own objects (its shops, and the subjects it registered or whose shops it runs).
- ``region``: a regulator's region (objects whose region code starts with the regulator's prefix; no prefix
  means the whole province).
- ``public``: what the law makes public anyway: market entities (organisations, individual businesses,
  platforms, logistics companies) by name or USCC, masked; never natural persons, never a search by ID
  number (that would be an oracle on personal data).

An action missing for a role is denied. Enforcement is in the services (``authorize`` at the start of
every service, and scope filters in the repositories), not only in the routes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from ecredit.errors import Forbidden, Unauthorized
from ecredit.security.principals import Principal, Role


class Scope(enum.StrEnum):
    all = "all"
    own = "own"
    region = "region"
    public = "public"


R = Role
S = Scope
EVERYONE = dict.fromkeys(Role, S.all)
STAFF = {R.regulator: S.region, R.admin: S.all}

PERMISSIONS: Mapping[str, Mapping[Role, Scope]] = {
    # Subject registry
    "subjects.create": {R.platform: S.own, **STAFF},
    "subjects.read": {
        R.public: S.public,
        R.bank: S.public,
        R.department: S.public,
        R.platform: S.own,
        R.agency: S.all,
        **STAFF,
    },
    "subjects.update": {R.platform: S.own, **STAFF},
    "subjects.read_personal_data": {R.regulator: S.region},
    "relations.create": {R.platform: S.own, **STAFF},
    "platforms.create": {R.admin: S.all},
    "platforms.read": {r: S.all for r in Role if r is not R.public},
    "shops.create": {R.platform: S.own, **STAFF},
    "shops.read": {R.platform: S.own, R.agency: S.all, **STAFF},
    "shops.update": {R.platform: S.own, **STAFF},
    # Verification and marks
    "verification.run": {R.platform: S.own, **STAFF},
    "verification.read": {R.platform: S.own, **STAFF},
    "marks.read": {R.platform: S.own, R.agency: S.all, **STAFF},
    "marks.revoke": {**STAFF},
    "marks.check": EVERYONE,
    "register.read": EVERYONE,
    "register.import": {R.admin: S.all},
    # Dual control: requests that wait for a second person
    "approvals.read": {**STAFF},
    "approvals.decide": {**STAFF},
    "identifiers.check": EVERYONE,
    # Intake into the event lake: platforms send their own records; files are loaded by operators (CLI)
    "intake.submit": {R.platform: S.own},
    "intake.import": {R.admin: S.all},
    # Risk warnings from monitoring: regulators see those with a shop in their region, a platform those
    # naming its own shops or accounts; regulators confirm, dismiss and re-open them
    "warnings.read": {R.platform: S.own, **STAFF},
    "warnings.triage": {**STAFF},
    # Credit records: staff keep the archive (every record with its status and history); everyone else
    # sees the public records inside their window (never repaired, withdrawn or expired ones; market
    # entities only, as in the public directory); a platform the public records of its own merchants
    "records.read": {
        R.public: S.public,
        R.bank: S.public,
        R.department: S.public,
        R.agency: S.public,
        R.platform: S.own,
        **STAFF,
    },
    "records.read_archive": {**STAFF},
    "records.create": {**STAFF},
    "records.withdraw": {**STAFF},
    "records.repair": {**STAFF},
    "records.correct": {**STAFF},
    "records.import": {R.admin: S.all},
    "records.platform_penalty": {R.platform: S.own},
    # Credit commitments (信用承诺): signed, fulfilled and breached before the department that took them
    "commitments.read": {**STAFF},
    "commitments.write": {**STAFF},
    # Credit evaluation: the public (and banks, departments, agencies) see a market entity's grade only; a
    # platform the full evaluation of its own shops; regulators their region's, with the explanation
    "scores.read": {
        R.public: S.public,
        R.bank: S.public,
        R.department: S.public,
        R.agency: S.public,
        R.platform: S.own,
        **STAFF,
    },
    "scores.run": {R.admin: S.all},
    # Classified supervision: random-inspection plans drawn by regulators for their region
    "supervision.plan": {**STAFF},
    # Red and black lists (lists/rules.py holds the same roles per step; a test checks they agree). The
    # catalogue is public (criteria, legal basis, measures); entries in force are public for market entities
    # (as their records are); the procedure is staff's; a platform may object and apply for repair for
    # its own merchants; expiry is the daily job's
    "lists.types": EVERYONE,
    "lists.read_public": {
        R.public: S.public,
        R.bank: S.public,
        R.department: S.public,
        R.agency: S.public,
        R.platform: S.own,
        **STAFF,
    },
    "lists.read": {**STAFF},
    "lists.queue": {**STAFF},
    "lists.nominate": {**STAFF},
    "lists.notify": {**STAFF},
    "lists.record_defence": {**STAFF},
    "lists.close_defence": {**STAFF},
    "lists.review": {**STAFF},
    "lists.decide": {**STAFF},
    "lists.approve_higher": {**STAFF},
    "lists.publish": {**STAFF},
    "lists.withdraw": {**STAFF},
    "lists.object": {R.platform: S.own, **STAFF},
    "lists.answer_objection": {**STAFF},
    "lists.expire": {R.admin: S.all},
    "lists.repair": {**STAFF},
    "lists.drop": {**STAFF},
    "lists.repair_apply": {R.platform: S.own, **STAFF},
    "lists.documents": {**STAFF},
    # The check API (联合奖惩): list entries and measures are public-law information, answered for any
    # subject (never with personal data: ID numbers masked, no natural person's name); regulators check
    # province-wide, since a listing binds everywhere
    "lists.check": {
        R.bank: S.all,
        R.department: S.all,
        R.platform: S.all,
        R.agency: S.all,
        R.regulator: S.all,
        R.admin: S.all,
    },
    # Red-list incentives (守信激励): a platform its own merchants', banks and departments every one's
    "lists.incentives": {
        R.platform: S.own,
        R.bank: S.all,
        R.department: S.all,
        R.regulator: S.all,
        R.admin: S.all,
    },
    # Platform enforcement orders: a platform reads and answers its own; staff follow every order (orders
    # go to platforms province-wide, not to a region)
    "orders.read": {R.platform: S.own, R.regulator: S.all, R.admin: S.all},
    "orders.report": {R.platform: S.own},
    "orders.overdue": {R.regulator: S.all, R.admin: S.all},
}


@dataclass(frozen=True)
class Grant:
    """What an authorised principal may touch for one action."""

    principal: Principal
    action: str
    scope: Scope

    @property
    def platform_id(self) -> str | None:
        """The tenant to filter on (``own`` scope), else None."""
        return self.principal.platform_id if self.scope is Scope.own else None

    @property
    def public_only(self) -> bool:
        """True when only what the law makes public may be seen (market entities, masked)."""
        return self.scope is Scope.public

    @property
    def region_prefix(self) -> str | None:
        """The region prefix to filter on (``region`` scope), else None."""
        return self.principal.region_prefix if self.scope is Scope.region else None

    def covers_region(self, region_code: str | None) -> bool:
        """True when an object in ``region_code`` is inside a region grant (always true otherwise)."""
        prefix = self.region_prefix
        return not prefix or (region_code is not None and region_code.startswith(prefix))


def scope_of(role: Role, action: str) -> Scope | None:
    """The scope ``role`` has for ``action``, or None when it is denied."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}: add it to the permission table")
    return PERMISSIONS[action].get(role)


def authorize(principal: Principal, action: str) -> Grant:
    """The grant for ``action``, or ``Unauthorized`` (anonymous) / ``Forbidden`` (authenticated)."""
    scope = scope_of(principal.role, action)
    if scope is None:
        if principal.role is Role.public:
            raise Unauthorized("this operation needs credentials")
        from ecredit.security import seclog

        seclog.access_denied(principal.actor, principal.role.value, action, None, None, principal.request_id)
        raise Forbidden(f"role {principal.role.value} may not {action}")
    if scope is Scope.own and not principal.platform_id:
        raise Forbidden("a platform credential must name its platform")
    return Grant(principal=principal, action=action, scope=scope)
