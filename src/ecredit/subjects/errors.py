"""Errors of the subject registry."""

from ecredit.errors import Conflict, NotFound, ValidationFailed


class SubjectNotFound(NotFound):
    code = "subjects.subject_not_found"


class ShopNotFound(NotFound):
    code = "subjects.shop_not_found"


class PlatformNotFound(NotFound):
    code = "subjects.platform_not_found"


class DuplicateSubject(Conflict):
    code = "subjects.duplicate_subject"


class DuplicateShop(Conflict):
    code = "subjects.duplicate_shop"


class DuplicatePlatform(Conflict):
    code = "subjects.duplicate_platform"


class InvalidSubject(ValidationFailed):
    code = "subjects.invalid_subject"
