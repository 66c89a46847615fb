"""Base models for API schemas: inputs forbid unknown fields; integers refuse booleans and strings."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _strict_integer(value: Any) -> Any:
    if isinstance(value, (bool, str)):
        raise ValueError("must be a JSON integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


T = TypeVar("T")

_STRIPPED = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\x00]*$"
"""A ``pattern`` for strings that reach the store: PostgreSQL text cannot hold U+0000 (it was a 500)."""

TEXT = rf"^[^\x00]*[^\x00{_STRIPPED}][^\x00]*$"
"""A ``pattern`` for free text: no U+0000 (see ``NO_NUL``), and a character left after ``InputSchema``
strips the value.

The stripped class is exactly what pydantic strips (Unicode ``White_Space``), spelled out because ``\\s``
differs between the regex engines that read the OpenAPI document (ECMA-262 adds U+FEFF and drops U+0085;
Python's adds U+001C-U+001F). Without it ``minLength: 1`` documented a whitespace-only value as valid,
which the server then refused.
"""

ULID = r"^[0-9A-HJKMNP-TV-Z]{26}$"
"""A row id (Crockford base-32 ULID, upper case)."""

Int = Annotated[int, BeforeValidator(_strict_integer)]
"""An integer field: accepts integral JSON numbers (3, 3.0), rejects booleans, strings and fractions."""


class Schema(BaseModel):
    """Base of every request and response model."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, populate_by_name=False)


class InputSchema(Schema):
    """Base of request bodies: unknown fields are rejected, surrounding whitespace stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(Schema, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None
