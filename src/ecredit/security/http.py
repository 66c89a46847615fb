"""Authentication and authorisation at the HTTP edge.

Every route declares its action with ``Depends(require("shops.read"))``: the caller is authenticated from
``Authorization: Bearer <API key or session token>`` and the role is checked against the permission table
before the body is validated, so a denied caller learns nothing about the operation. Services check again
and apply the grant's scope (tenant, region) to every query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ecredit.errors import Unauthorized
from ecredit.kit.http import open_read_session
from ecredit.security import seclog
from ecredit.security.credentials import authenticate_token, cached_principal
from ecredit.security.permissions import EVERYONE, PERMISSIONS, Grant, authorize
from ecredit.security.principals import ANONYMOUS, Principal, Role

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key (`eck_…`, machines) or a staff session token (`ecs_…`, from /api/v1/auth/login).",
)


def request_id(request: Request) -> str:
    """The request's id (set by the request-id middleware)."""
    return getattr(request.state, "request_id", "-")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller: anonymous without credentials; 401 for bad credentials (never silently anonymous).

    Runs on the event loop: a credential verified lately (``credentials.cached_principal``) costs no
    session and no worker-thread hop; only the others are looked up in the store, in a worker thread.
    """
    rid = request_id(request)
    if credentials is None:
        if request.headers.get("authorization"):
            seclog.auth_failure("unsupported authorization scheme", "bearer", rid)
            raise _unauthorized("use Authorization: Bearer <token>")
        return ANONYMOUS.with_request(rid)
    token = credentials.credentials
    principal = cached_principal(token)
    if principal is None:
        try:
            principal = await run_in_threadpool(_authenticate_in_store, request, token)
        except Unauthorized as exc:
            prefix = token[:16] if token.startswith("eck_") else None
            seclog.auth_failure(exc.detail, "bearer", rid, key_prefix=prefix)
            raise _unauthorized(exc.detail) from None
    seclog.auth_success(principal.actor, principal.role.value, "bearer", rid)
    return principal.with_request(rid)


def _authenticate_in_store(request: Request, token: str) -> Principal:
    with open_read_session(request) as session:
        return authenticate_token(session, token)


def _unauthorized(detail: str) -> Unauthorized:
    exc = Unauthorized(detail)
    exc.headers = {"WWW-Authenticate": 'Bearer realm="ecredit"'}  # type: ignore[attr-defined]
    return exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(action: str) -> Callable[..., Principal]:
    """A dependency that authorises ``action`` for the caller and returns the principal."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")

    async def dependency(principal: CurrentPrincipal) -> Principal:  # in-memory: no worker-thread hop
        authorize(principal, action)
        return principal

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    return dependency


SELF_SERVICE = frozenset({"auth.login", "auth.logout"})
"""Actions outside the permission table: anyone may try to log in or out."""


def is_public(action: str) -> bool:
    """True when anyone, credentials or not, may call the operation of ``action``."""
    return action in SELF_SERVICE or PERMISSIONS.get(action) == EVERYONE


def credentials_optional(action: str) -> bool:
    """True when anonymous callers get a (narrower) public view and credentials widen it."""
    grants = PERMISSIONS.get(action, {})
    return not is_public(action) and Role.public in grants


OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearer": []}]


def route_meta(action: str) -> dict[str, Any]:
    """``openapi_extra`` for a route: its action, and ``security: []`` when anyone may call it."""
    if action not in PERMISSIONS and action not in SELF_SERVICE:
        raise KeyError(f"unknown action {action!r}")
    extra: dict[str, Any] = {"x-ecredit-action": action}
    if is_public(action):
        extra["security"] = []
    return extra


def install_public_security(app: FastAPI) -> None:
    """Make the OpenAPI document say ``security: []`` on every public operation (RELIABILITY.md C2).

    Public routes still read an optional bearer (a presented credential is checked), and FastAPI appends
    that scheme to the operation's ``security`` after merging ``openapi_extra`` by list concatenation, so
    ``route_meta``'s ``security: []`` alone ended up as ``[{"bearer": []}]``: documented as secured.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict):
                    continue
                action = operation.get("x-ecredit-action", "")
                if is_public(action):
                    operation["security"] = []
                elif credentials_optional(action):
                    operation["security"] = OPTIONAL_BEARER
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def grant_of(principal: Principal, action: str) -> Grant:
    """The grant the service layer works with."""
    return authorize(principal, action)


def caller(action: str) -> Any:
    """The type of a route's principal parameter: the caller, authorised for ``action`` before anything else
    of the request is looked at (``principal: caller("records.read")``)."""
    return Annotated[Principal, Depends(require(action))]
