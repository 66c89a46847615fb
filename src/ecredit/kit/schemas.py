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
