"""The ASGI application: routers, problem+json errors, security headers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ecredit import __version__, wiring
from ecredit.config import get_settings
from ecredit.intake.api import router as intake_router
from ecredit.kit import workdays
from ecredit.kit.http import install_problem_handlers
from ecredit.kit.middleware import BodyLimitMiddleware, RequestIdMiddleware, SecurityHeadersMiddleware
from ecredit.lists.api import router as lists_router
from ecredit.lists.check_api import router as check_router
from ecredit.lists.enforcement_api import router as orders_router
from ecredit.monitoring.api import router as warnings_router
from ecredit.records.api import router as records_router
from ecredit.scoring.api import router as credit_router
from ecredit.security.api import approvals_router
from ecredit.security.api import router as auth_router
from ecredit.security.http import install_public_security
from ecredit.subjects.api import router as subjects_router
from ecredit.verification.api import router as verification_router
from ecredit.verification.identifiers_api import router as identifiers_router

DESCRIPTION = """\
ecredit — e-commerce credit supervision (电子商务信用监管).

Errors are RFC 9457 `application/problem+json` with a stable `code` and `errors: [{field, message}]`.
Personal data (ID numbers, phones, addresses) is always masked in responses.
"""


def create_app() -> FastAPI:
    """Build the application."""
    settings = get_settings()
    docs = settings.mode != "production"
    app = FastAPI(
        title="ecredit",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    install_problem_handlers(app)
    app.include_router(auth_router)
    app.include_router(approvals_router)
    app.include_router(subjects_router)
    app.include_router(verification_router)
    app.include_router(identifiers_router)
    app.include_router(intake_router)
    app.include_router(warnings_router)
    app.include_router(credit_router)
    app.include_router(records_router)
    app.include_router(check_router)  # before the lists workflow's routes (/lists/incentives)
    app.include_router(orders_router)
    app.include_router(lists_router)
    install_public_security(app)

    @app.get("/healthz", tags=["ops"], include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    # Outermost first: ids for everything, then headers, then the body limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.mode == "production")
    app.add_middleware(RequestIdMiddleware)

    wiring.wire()
    workdays.refresh_from_store()  # the operator's holiday table (years after the pinned package)
    return app
