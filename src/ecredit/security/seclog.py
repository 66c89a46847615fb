"""Security event logging (RELIABILITY.md C14, OWASP ASVS 16.2-16.4).

Every event is exactly one log line on the ``ecredit.security`` logger: a JSON object with ``ts`` (UTC,
RFC 3339 with microseconds and ``Z``), ``event`` and the event's fields, in that order::

    {"ts":"2026-11-28T09:25:14.076694Z","event":"auth.failure","reason":"unknown key","method":"bearer",...}

| function        | event            | level   |
|-----------------|------------------|---------|
| auth_success    | auth.success     | INFO    |
| auth_failure    | auth.failure     | WARNING |
| access_denied   | access.denied    | WARNING |
| clear_read      | pii.clear_read   | INFO    |
| rate_limited    | rate.limited     | WARNING |

Every value is treated as untrusted and sanitised before it is written:

1. NFKC-normalised (full-width digits become ASCII, so they are caught below);
2. backslashes and every control, format or separator character (``\\n``, ``\\r``, U+0085, U+2028,
   bidi overrides...) written as a visible escape (``\\n``, ``\\u2028``), so no input can start a line
   of its own or disguise one;
3. personal data masked with the one masking pattern (``masking.py``): whatever ``find_pii`` flags, and
   also any run of 11 or more digits, possibly split by single spaces or hyphens or prefixed by ``+``
   (``+86 139 1234 5678``), which ``find_pii`` alone would miss (a value that is wholly a ULID row id
   is spared this second rule);
4. cut to 200 characters (``key_prefix`` to 16), marked with ``…``.

The logger is set to INFO so clear reads are never dropped by a WARNING root level; where the lines go
(and the six-month retention of personal-data access logs) is the deployment's logging configuration.
Logging a security event never raises.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from typing import Any

import orjson

from ecredit.kit.clock import utc_now
from ecredit.kit.ids import is_id
from ecredit.security.masking import PII_PATTERNS, find_pii, mask_id_number, mask_phone

__all__ = [
    "LOGGER_NAME",
    "MAX_VALUE_CHARS",
    "access_denied",
    "auth_failure",
    "auth_success",
    "clear_read",
    "logger",
    "rate_limited",
]

LOGGER_NAME = "ecredit.security"
MAX_VALUE_CHARS = 200
_MAX_KEY_PREFIX = 16
_MAX_INPUT_CHARS = 4 * MAX_VALUE_CHARS

logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)

_DIGIT = re.compile(r"[0-9]")
_DIGIT_RUN = re.compile(r"\+?[0-9](?:[ -]?[0-9]){10,}[Xx]?")
_TRAILING_DIGITS = re.compile(r"[\d\s+-]+$")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _mask_run(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9Xx]", "", match.group())
    if len(digits) in {15, 18}:
        return mask_id_number(digits) or ""
    return mask_phone(digits) or ""


def _mask_pii(text: str) -> str:
    text = PII_PATTERNS["id_number"].sub(lambda m: mask_id_number(m.group()) or "", text)
    text = PII_PATTERNS["phone"].sub(lambda m: mask_phone(m.group()) or "", text)
    if is_id(text):  # a row id (ULID) is kept whole unless find_pii flags it
        return text
    return _DIGIT_RUN.sub(_mask_run, text)


def _escape(text: str) -> str:
    out = []
    for char in text:
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif unicodedata.category(char) in _UNSAFE_CATEGORIES:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def _plain(text: str) -> bool:
    """True when the rules would leave ``text`` as it is: printable ASCII (NFKC and escaping change
    nothing), no backslash, and fewer than 11 digits (every personal-data pattern needs 11 or more)."""
    return text.isascii() and text.isprintable() and "\\" not in text and len(_DIGIT.findall(text)) < 11


def _sanitise(value: Any, limit: int = MAX_VALUE_CHARS) -> str | None:
    """One untrusted value as safe, masked, single-line text."""
    if value is None:
        return None
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # a broken __str__ must not break the caller
        text = f"<unprintable {type(value).__name__}>"
    if len(text) <= limit and _plain(text):  # the common case (ids, roles, reasons): nothing to change
        return text
    return _apply_rules(text, limit)


def _apply_rules(text: str, limit: int) -> str:
    """Rules 1-4 of the module docstring, applied one by one."""
    if len(text) > _MAX_INPUT_CHARS:
        # Bound the work; drop a number cut in two at the edge rather than keep half of it.
        text = _TRAILING_DIGITS.sub("", text[:_MAX_INPUT_CHARS])
    text = unicodedata.normalize("NFKC", text)
    # Escape before masking: an escape's hex digits next to input digits must not form a clear number.
    text = _mask_pii(_escape(text))
    if find_pii(text):  # cannot happen with the masks above; never write personal data regardless
        text = "*" * len(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timestamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _emit(level: int, event: str, fields: dict[str, Any], limits: dict[str, int] | None = None) -> None:
    if not logger.isEnabledFor(level):
        return
    limits = limits or {}
    entry: dict[str, Any] = {"ts": _timestamp(utc_now()), "event": event}
    for name, value in fields.items():
        entry[name] = _sanitise(value, limits.get(name, MAX_VALUE_CHARS))
    logger.log(level, orjson.dumps(entry).decode("utf-8"))  # compact, UTF-8 kept, like json.dumps(...)


def auth_success(actor: str, role: str, method: str, request_id: str | None) -> None:
    """A caller proved who it is."""
    _emit(
        logging.INFO,
        "auth.success",
        {"actor": actor, "role": role, "method": method, "request_id": request_id},
    )


def auth_failure(reason: str, method: str, request_id: str | None, key_prefix: str | None = None) -> None:
    """Credentials were missing, malformed, unknown, expired or wrong (``key_prefix``: public part only)."""
    _emit(
        logging.WARNING,
        "auth.failure",
        {"reason": reason, "method": method, "request_id": request_id, "key_prefix": key_prefix},
        {"key_prefix": _MAX_KEY_PREFIX},
    )


def access_denied(
    actor: str,
    role: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    request_id: str | None,
) -> None:
    """An authenticated caller was refused an operation or an object."""
    _emit(
        logging.WARNING,
        "access.denied",
        {
            "actor": actor,
            "role": role,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "request_id": request_id,
        },
    )


def clear_read(
    actor: str, role: str, field: str, subject_id: str, purpose: str, request_id: str | None
) -> None:
    """Someone read a personal field in clear: who, which field of whose record, why (never the value)."""
    _emit(
        logging.INFO,
        "pii.clear_read",
        {
            "actor": actor,
            "role": role,
            "field": field,
            "subject_id": subject_id,
            "purpose": purpose,
            "request_id": request_id,
        },
    )


def rate_limited(scope: str, request_id: str | None) -> None:
    """A client went past a rate limit."""
    _emit(logging.WARNING, "rate.limited", {"scope": scope, "request_id": request_id})
