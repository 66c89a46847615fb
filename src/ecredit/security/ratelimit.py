"""Rate limits for public look-ups and logins (RELIABILITY.md C7): a token bucket per client and bucket.

In-process: each API replica limits on its own (documented in docs/security.md). Limits come from the
settings (``ECREDIT_RATE_LIMIT_<BUCKET>_PER_MINUTE``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fastapi import Request

from ecredit.config import get_settings
from ecredit.errors import EcreditError
from ecredit.security import seclog

_MAX_CLIENTS = 100_000


class TooManyRequests(EcreditError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class TokenBucket:
    """``capacity`` requests at once, refilled at ``capacity`` per minute."""

    def __init__(self) -> None:
        self._state: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str], per_minute: int, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._state.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                if len(self._state) > _MAX_CLIENTS:
                    self._state.clear()  # bounded memory; a flood of new clients resets the window
                return 0.0
            self._state[key] = (tokens, now)
            return (1.0 - tokens) / rate if rate > 0 else 60.0

    def reset(self) -> None:
        with self._lock:
            self._state.clear()


buckets = TokenBucket()


def limit(bucket: str, *, anonymous_only: bool = False) -> Callable[[Request], None]:
    """A dependency enforcing the ``bucket`` limit for the calling client (only callers without
    credentials when ``anonymous_only``)."""

    def dependency(request: Request) -> None:
        if anonymous_only and request.headers.get("authorization"):
            return
        per_minute = getattr(get_settings(), f"rate_limit_{bucket}_per_minute")
        client = request.client.host if request.client else "unknown"
        wait = buckets.take((bucket, client), per_minute)
        if wait > 0:
            seclog.rate_limited(bucket, getattr(request.state, "request_id", "-"))
            exc = TooManyRequests(f"more than {per_minute} {bucket} requests a minute; retry later")
            exc.headers = {"Retry-After": str(max(1, math.ceil(wait)))}  # type: ignore[attr-defined]
            raise exc

    dependency.__name__ = f"rate_limit_{bucket}"
    return dependency
