"""Errors of real-name verification and marks."""

from ecredit.errors import NotFound, ValidationFailed


class RegisterEntryNotFound(NotFound):
    code = "verification.register_entry_not_found"


class MarkNotFound(NotFound):
    code = "verification.mark_not_found"


class InvalidRegisterRow(ValidationFailed):
    code = "verification.invalid_register_row"
