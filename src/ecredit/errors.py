"""One error hierarchy with stable codes; HTTP and CLI layers render it (RFC 9457 for HTTP)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One field-level problem: a dotted/indexed location and a reason."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class EcreditError(Exception):
    """Base of every expected error; ``code`` is stable and documented, ``status`` is its HTTP meaning."""

    code = "ecredit.error"
    status = 400
    title = "Request failed"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        if not self.errors:
            return self.detail
        parts = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        return f"{self.detail} ({parts})"


class ValidationFailed(EcreditError):
    """The input is well-formed but breaks a rule (422)."""

    code = "validation_failed"
    status = 422
    title = "Validation failed"


class BadRequest(EcreditError):
    """The request cannot be parsed at all (400)."""

    code = "bad_request"
    status = 400
    title = "Bad request"


class NotFound(EcreditError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(EcreditError):
    code = "conflict"
    status = 409
    title = "Conflict"


class Unauthorized(EcreditError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(EcreditError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class ConfigurationError(EcreditError):
    code = "configuration_error"
    status = 500
    title = "Configuration error"
