"""Errors of credit records and commitments."""

from ecredit.errors import Conflict, NotFound, ValidationFailed


class RecordNotFound(NotFound):
    code = "records.record_not_found"


class CommitmentNotFound(NotFound):
    code = "records.commitment_not_found"


class InvalidRecord(ValidationFailed):
    code = "records.invalid_record"


class NoPublicityRule(ValidationFailed):
    """No rule of the records policy covers the record's kind, regime and decision date."""

    code = "records.no_publicity_rule"


class DuplicateRecord(Conflict):
    """The document number is already recorded for this department and kind, with other content."""

    code = "records.duplicate_record"


class InvalidTransition(Conflict):
    """The record's (or commitment's) status does not allow the step."""

    code = "records.invalid_transition"


class RepairNotAllowed(Conflict):
    """The record cannot be repaired (yet): its minimum period runs, or its rule forbids repair."""

    code = "records.repair_not_allowed"


class InvalidCommitment(ValidationFailed):
    code = "records.invalid_commitment"
