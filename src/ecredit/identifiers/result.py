"""Result types shared by all identifier validators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One error or warning about an identifier, with a stable machine code."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return the finding as a plain dict."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of validating one identifier."""

    value: str
    kind: str
    valid: bool
    normalized: str | None
    errors: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return {
            "value": self.value,
            "kind": self.kind,
            "valid": self.valid,
            "normalized": self.normalized,
            "errors": [finding.to_dict() for finding in self.errors],
            "warnings": [finding.to_dict() for finding in self.warnings],
        }


def make_result(
    value: str, kind: str, normalized: str | None, errors: list[Finding], warnings: list[Finding]
) -> CheckResult:
    """Build a CheckResult; it is valid exactly when there are no errors."""
    valid = not errors
    return CheckResult(
        value=value,
        kind=kind,
        valid=valid,
        normalized=normalized if valid else None,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )
