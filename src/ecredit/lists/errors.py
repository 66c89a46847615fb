"""Errors of the red and black lists."""

from ecredit.errors import Conflict, NotFound, ValidationFailed


class EntryNotFound(NotFound):
    code = "lists.entry_not_found"


class ObjectionNotFound(NotFound):
    code = "lists.objection_not_found"


class ApplicationNotFound(NotFound):
    code = "lists.application_not_found"


class DocumentNotFound(NotFound):
    code = "lists.document_not_found"


class InvalidTransition(Conflict):
    """The entry's state (or its list type's procedure) does not allow the step now."""

    code = "lists.invalid_transition"


class DuplicateEntry(Conflict):
    """The subject already has an open entry (pending or published) on this list."""

    code = "lists.duplicate_entry"


class SeparationOfDuties(Conflict):
    """The step needs another person (review by a second regulator) or the next level up."""

    code = "lists.separation_of_duties"


class InvalidStep(ValidationFailed):
    """The step's input breaks a rule (a date in the future, missing evidence, an unknown list type)."""

    code = "lists.invalid_step"


class RepairNotAllowed(Conflict):
    """The repair cannot be granted (yet): a condition is not met, or the list forbids repair."""

    code = "lists.repair_not_allowed"
