"""RELIABILITY.md C3: every route × every role follows the permission table (no unexpected 2xx, no 500)."""

from __future__ import annotations

import re

import pytest

from ecredit.app import create_app
from ecredit.security.permissions import PERMISSIONS, Scope, scope_of
from ecredit.security.principals import Role
from tests.builders import make_platform

SELF_SERVICE = {"auth.login", "auth.logout"}  # anyone may try to log in or out
PLACEHOLDERS = {
    "subject_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "shop_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "mark_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "approval_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "warning_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "record_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "commitment_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "entry_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "objection_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "application_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "document_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "order_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "platform": "nosuchplatform",
    "platform_shop_id": "X-1",
    "token": "not-a-token",
    "uscc": "91110000600037341L",
}


def _api_routes() -> list[tuple[str, str, str]]:
    """Every API operation of the OpenAPI document, with the action it declares."""
    out = []
    for path, operations in create_app().openapi()["paths"].items():
        for method, operation in operations.items():
            action = operation.get("x-ecredit-action")
            assert action, f"{method.upper()} {path} does not declare its action (route_meta)"
            out.append((method.upper(), path, action))
    return out


ROUTES = _api_routes()


def test_the_matrix_covers_the_api():
    assert len(ROUTES) >= 20
    assert {p for _, p, _ in ROUTES} >= {
        "/api/v1/subjects",
        "/api/v1/shops/{shop_id}",
        "/api/v1/marks/{token}",
    }


def test_every_action_is_in_the_table():
    for _method, path, action in ROUTES:
        assert action in PERMISSIONS or action in SELF_SERVICE, f"{path}: {action} missing from PERMISSIONS"


def test_only_regulators_read_personal_data_in_clear():
    allowed = {r for r in Role if scope_of(r, "subjects.read_personal_data") is not None}
    assert allowed == {Role.regulator}


def test_platforms_are_always_tenant_scoped():
    for action, grants in PERMISSIONS.items():
        if Role.platform in grants and action not in {
            "platforms.read",
            "marks.check",
            "register.read",
            "identifiers.check",
            "lists.types",  # the list catalogue: criteria, legal basis and measures are public
            "lists.check",  # list entries and measures are public-law information, on any subject
        }:
            assert grants[Role.platform] is Scope.own, action


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
@pytest.mark.parametrize(("method", "path", "action"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_route_follows_the_table(client_as, session, role, method, path, action):
    scope: dict = {}
    if role is Role.platform:
        scope["platform"] = make_platform(session)
    if role is Role.regulator:
        scope["region"] = "3701"
    client = client_as(role.value if role else None, **scope)
    url = re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS[m.group(1)], path)
    response = client.request(method, url, json={} if method in {"POST", "PATCH", "PUT"} else None)
    assert response.status_code < 500, response.text
    if action in SELF_SERVICE:
        return
    allowed = scope_of(role or Role.public, action) is not None
    if allowed:
        assert response.status_code not in {401, 403}, f"{role} denied {action}: {response.text}"
    else:
        expected = 401 if role in (None, Role.public) else 403
        assert response.status_code == expected, f"{role} got {response.status_code} for {action}"
        assert response.headers["content-type"].startswith("application/problem+json")
