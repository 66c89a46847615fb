"""Application factories for bench/auth_overhead.py (loaded by uvicorn from the bench directory).

``create_plain_app`` is the real application with authentication and audit switched off: the caller is
always an administrator (no credential look-up) and the audit append is a no-op. It exists only to give
the benchmark its baseline; nothing in ``src/`` can switch authentication off.
"""

from __future__ import annotations

from fastapi import Request

from ecredit.app import create_app
from ecredit.security import audit
from ecredit.security.http import current_principal
from ecredit.security.principals import system


def create_real_app():
    return create_app()


def create_plain_app():
    app = create_app()
    admin = system("bench")

    # Async like the real ``current_principal``: no worker-thread hop, so the baseline carries no
    # authentication machinery at all.
    async def no_auth(request: Request):
        return admin.with_request(getattr(request.state, "request_id", "-"))

    app.dependency_overrides[current_principal] = no_auth
    # Every way services write the trail (record = prepare + append) becomes a no-op.
    audit.prepare = lambda **kwargs: None  # type: ignore[assignment]
    audit.append = lambda *args, **kwargs: None  # type: ignore[assignment]
    audit.record = lambda *args, **kwargs: None  # type: ignore[assignment]
    return app
