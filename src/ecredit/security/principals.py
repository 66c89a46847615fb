"""Who is acting: principals, roles, and the scope each role's grant gives."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class Role(enum.StrEnum):
    public = "public"  # anonymous: the portal's visitors
    platform = "platform"  # an e-commerce platform: a tenant, sees and writes only its own data
    regulator = "regulator"  # a department's officer, scoped to a department and a region
    bank = "bank"  # banks: the check API
    department = "department"  # other departments: the check API
    agency = "agency"  # third-party credit service agency (第三方信用服务机构): public and shared data
    admin = "admin"  # operators of ecredit itself


@dataclass(frozen=True)
class Principal:
    """An authenticated (or anonymous) caller; one per request."""

    actor: str  # "anonymous", "key:<key id>", "user:<username>", "cli:<os user>"
    role: Role
    platform_id: str | None = None  # platform role: the tenant
    department: str | None = None  # regulator role: e.g. "market", "commerce"
    region_prefix: str | None = None  # regulator role: GB/T 2260 prefix ("37" = province, "3701" = Jinan)
    request_id: str | None = None

    def with_request(self, request_id: str) -> Principal:
        """The same principal, tagged with the request it acts in."""
        return replace(self, request_id=request_id)


ANONYMOUS = Principal(actor="anonymous", role=Role.public)


def system(name: str = "system") -> Principal:
    """The principal of local administration (CLI commands, jobs): an admin."""
    return Principal(actor=f"cli:{name}", role=Role.admin)
