"""Pure rules of real-name verification: given the facts, which checks pass (no database, no I/O)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from ecredit import identifiers


@dataclass(frozen=True)
class Check:
    """One check: a stable code, whether it passed, and why."""

    code: str
    passed: bool
    message: str
    blocking: bool = True

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "passed": self.passed, "message": self.message, "blocking": self.blocking}


@dataclass(frozen=True)
class RegisterFacts:
    uscc: str
    name: str
    legal_rep_name: str | None
    status: str


@dataclass(frozen=True)
class OperatorFacts:
    kind: str
    name: str
    uscc: str | None
    id_number: str | None  # clear value, decrypted only for this check
    legal_rep_names: tuple[str, ...] = ()
    legal_rep_id_numbers: tuple[str, ...] = ()
    register: RegisterFacts | None = None


@dataclass(frozen=True)
class Outcome:
    verified: bool
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def reasons(self) -> list[dict[str, object]]:
        """The failed blocking checks: why a verification was rejected."""
        return [c.to_dict() for c in self.checks if c.blocking and not c.passed]


def same_name(a: str | None, b: str | None) -> bool:
    """Names match after NFKC (full-width brackets) and with white space removed."""
    if a is None or b is None:
        return False

    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split())

    return norm(a) == norm(b)


def evaluate(facts: OperatorFacts, *, active_statuses: frozenset[str], today: dt.date) -> Outcome:
    """Run every check that applies to the operator's kind."""
    checks: list[Check] = []
    if facts.kind in {"organisation", "individual_business"}:
        checks.extend(_organisation_checks(facts, active_statuses))
    if facts.kind == "person":
        checks.extend(_person_checks("operator", facts.id_number, today))
    if facts.kind == "person" and facts.uscc:
        checks.append(Check("operator.uscc_on_person", False, "a natural person cannot carry a USCC"))
    verified = all(c.passed for c in checks if c.blocking) and bool(checks)
    return Outcome(verified=verified, checks=tuple(checks))


def _organisation_checks(facts: OperatorFacts, active_statuses: frozenset[str]) -> list[Check]:
    out: list[Check] = []
    if not facts.uscc:
        return [Check("uscc.missing", False, "the operator has no unified social credit code")]
    result = identifiers.check_uscc(facts.uscc)
    out.append(
        Check(
            "uscc.format",
            result.valid,
            "USCC format and check character valid"
            if result.valid
            else "; ".join(f.message for f in result.errors),
        )
    )
    for warning in result.warnings:
        out.append(Check(warning.code, False, warning.message, blocking=False))
    reg = facts.register
    if reg is None:
        out.append(Check("register.match", False, "no entry with this USCC in the business register"))
        return out
    out.append(Check("register.match", True, "found in the business register"))
    out.append(
        Check(
            "register.name",
            same_name(reg.name, facts.name),
            "name matches the register"
            if same_name(reg.name, facts.name)
            else f"name differs from the register ({reg.name})",
        )
    )
    active = reg.status in active_statuses
    out.append(
        Check(
            "register.status",
            active,
            f"register status {reg.status}" + ("" if active else " is not an active status"),
        )
    )
    if reg.legal_rep_name:
        if not facts.legal_rep_names:
            out.append(Check("legal_rep.missing", False, "no legal representative recorded for the operator"))
        else:
            matched = any(same_name(reg.legal_rep_name, n) for n in facts.legal_rep_names)
            out.append(
                Check(
                    "legal_rep.match",
                    matched,
                    "legal representative matches the register"
                    if matched
                    else "legal representative differs from the register",
                )
            )
    for number in facts.legal_rep_id_numbers:
        out.extend(_person_checks("legal_rep", number, None))
    return out


def _person_checks(prefix: str, id_number: str | None, today: dt.date | None) -> list[Check]:
    if not id_number:
        return [Check(f"{prefix}.id_number_missing", False, "no citizen ID number on file")]
    result = identifiers.check_ric(id_number, today=today)
    checks = [
        Check(
            f"{prefix}.id_number",
            result.valid,
            "citizen ID number valid" if result.valid else "; ".join(f.message for f in result.errors),
        )
    ]
    checks.extend(Check(w.code, False, w.message, blocking=False) for w in result.warnings)
    return checks
