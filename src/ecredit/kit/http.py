"""HTTP plumbing shared by every router: the transaction boundary and RFC 9457 problem responses."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ecredit.db import session_scope
from ecredit.errors import EcreditError, FieldError

RowIdPath = Annotated[str, Path(min_length=26, max_length=26, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
"""A row id (ULID) as a path parameter; a malformed one is a 422 before any lookup."""

log = logging.getLogger("ecredit.http")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://ecredit.example/problems/"


def db_session() -> Iterator[Session]:
    """One write transaction per request, committed before the response is sent."""
    with session_scope() as session:
        yield session


def db_read_session() -> Iterator[Session]:
    """One read-only transaction per request (never takes the SQLite write lock)."""
    with session_scope(read_only=True) as session:
        yield session


DbSession = Annotated[Session, Depends(db_session, scope="function")]
ReadSession = Annotated[Session, Depends(db_read_session, scope="function")]


def open_read_session(request: Request) -> contextlib.AbstractContextManager[Session]:
    """The read-only session ``ReadSession`` would give (an override of ``db_read_session``, such as a test's
    transaction, included), opened on demand: for work that needs the store only sometimes, so a request
    that does not need it pays for no session and no worker-thread hop. Call it from a worker thread."""
    provider = request.app.dependency_overrides.get(db_read_session, db_read_session)
    if inspect.isgeneratorfunction(provider):
        return contextlib.contextmanager(provider)()
    return contextlib.nullcontext(provider())


class ProblemFieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with ecredit's stable ``code`` and field errors."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemFieldError] = []


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem+json bodies for these statuses."""
    descriptions = {
        400: "Unparseable request (invalid JSON or wrong content)",
        401: "Authentication required",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict with the current state",
        413: "Request body too large",
        422: "Validation failed: the field and the reason are in `errors`",
        429: "Too many requests",
    }
    return {
        s: {"model": Problem, "description": descriptions.get(s, "Problem"), "content": {PROBLEM_JSON: {}}}
        for s in statuses
    }


def problem(
    status: int, title: str, detail: str, code: str, errors: list[FieldError] | None = None
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [e.to_dict() for e in errors or []],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        where = parts.pop(0)
        if not parts:
            return where
    return ".".join(str(p) for p in parts)


async def _on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "Bad request", "the request body is not valid JSON", "bad_request")
    field_errors = []
    for e in errors:
        message = str(e.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        field_errors.append(FieldError(_field_name(tuple(e.get("loc", ()))), message))
    return problem(
        422, "Validation failed", "the request has invalid fields", "validation_failed", field_errors
    )


async def _on_ecredit_error(_request: Request, exc: EcreditError) -> JSONResponse:
    response = problem(exc.status, exc.title, exc.detail, exc.code, exc.errors)
    for key, value in (getattr(exc, "headers", None) or {}).items():
        response.headers[key] = value
    return response


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (RFC 9110 §15.5.6: ``Allow`` lists them all).

    Starlette answers a 405 with the methods of the first route whose path matched, so a resource served
    by two routes (``GET /shops/{id}`` and ``PATCH /shops/{id}``) advertised only one of them.
    """
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
        exc.status_code, "http_error"
    )
    response = problem(exc.status_code, str(exc.detail), str(exc.detail), code)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        response.headers["Allow"] = ", ".join(allowed)
    return response


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error: %s", type(exc).__name__)
    return problem(500, "Internal error", "the server failed; the request was not applied", "internal_error")


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(EcreditError, _on_ecredit_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)
