"""ASGI middleware: request ids, body size limits, security headers."""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson

Scope = dict[str, Any]
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def _send_problem(send: Any, status: int, code: str, title: str, detail: str) -> None:
    body = orjson.dumps(
        {
            "type": f"https://ecredit.example/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            "errors": [],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_RID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def new_request_id() -> str:
    """16 characters of lower-case base32: no digit 0, 1, 8 or 9, so an id never looks like a phone or ID
    number to the personal-data filters of logs."""
    return "".join(secrets.choice(_RID_ALPHABET) for _ in range(16))


class RequestIdMiddleware:
    """Gives every request an id (a well-formed incoming ``X-Request-ID`` is kept) and echoes it."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _RID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                await _send_problem(send, 400, "bad_request", "Bad request", "invalid Content-Length")
                return
            if too_big:
                await _send_problem(
                    send, 413, "body_too_large", "Request body too large", f"at most {self.max_bytes} bytes"
                )
                return
        received = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await _send_problem(
                send, 413, "body_too_large", "Request body too large", f"at most {self.max_bytes} bytes"
            )


class _BodyTooLarge(Exception):
    pass


class SecurityHeadersMiddleware:
    """Headers every response carries; ``no-store`` on the API (its answers may carry personal data)."""

    def __init__(self, app: Any, *, hsts: bool):
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if path.startswith("/api/"):
                    extra.append((b"cache-control", b"no-store"))
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html") and not path.startswith("/docs"):
                    extra.append(
                        (
                            b"content-security-policy",
                            b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                            b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                        )
                    )
                headers.extend((k, v) for k, v in extra if k not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)
