"""Errors of risk warnings."""

from ecredit.errors import Conflict, NotFound, ValidationFailed


class WarningNotFound(NotFound):
    code = "warnings.warning_not_found"


class InvalidTransition(Conflict):
    """The warning's status does not allow the triage step (confirm or dismiss twice, reopen an open one)."""

    code = "warnings.invalid_transition"


class InvalidTriage(ValidationFailed):
    code = "warnings.invalid_triage"


class InvalidFinding(ValidationFailed):
    """A detector handed over a finding that breaks the contract of ``findings.py`` (a detector bug)."""

    code = "warnings.invalid_finding"
