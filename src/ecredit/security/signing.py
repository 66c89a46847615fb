"""Compact Ed25519-signed tokens for trusted certification marks (可信认证标识).

Token format::

    base64url(payload) "." base64url(signature)

base64url without padding; the payload is canonical JSON (sorted keys, no spaces, UTF-8, non-ASCII kept)
and always holds ``"kid"``, the id of the signing key; the Ed25519 signature covers the ASCII bytes of the
first base64url segment. The payload's meaning (subject, shop, platform, expiry...) belongs to the caller:
this module only proves who signed it. ``verify_token`` never raises on any token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ecredit.security.keys import KEY_ID_PATTERN, KeyRing

__all__ = ["MAX_TOKEN_LENGTH", "TokenCheck", "TokenStatus", "sign_token", "verify_token"]

MAX_TOKEN_LENGTH = 4096
_SIGNATURE_BYTES = 64
_B64URL = re.compile(r"[A-Za-z0-9_-]+")

TokenStatus = Literal["valid", "forged", "malformed"]


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a token; ``payload`` is set only when the status is valid."""

    status: TokenStatus
    payload: dict[str, Any] | None
    key_id: str | None
    reason: str


def sign_token(ring: KeyRing, payload: dict[str, Any]) -> str:
    """Sign ``payload`` (plus ``kid``) with the ring's active signing key and return the token."""
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
    if "kid" in payload:
        raise ValueError("payload must not contain 'kid': sign_token sets it")
    kid = ring.active_signing_key_id
    body = _b64url_encode(_canonical_json({**payload, "kid": kid}))
    signature = ring.signing_keys[kid].sign(body.encode("ascii"))
    token = f"{body}.{_b64url_encode(signature)}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(f"token would be {len(token)} characters; the limit is {MAX_TOKEN_LENGTH}")
    return token


def verify_token(public_keys: Mapping[str, Ed25519PublicKey], token: str) -> TokenCheck:
    """Check a token's structure, key id and signature; never raises on any token."""
    if not isinstance(token, str):
        return _malformed("token is not a string")
    if len(token) > MAX_TOKEN_LENGTH:
        return _malformed(f"token is longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 2:
        return _malformed("token must have exactly two dot-separated parts")
    body, signature_text = parts
    payload_bytes = _b64url_decode(body)
    signature = _b64url_decode(signature_text)
    if payload_bytes is None or signature is None:
        return _malformed("token part is not canonical unpadded base64url")
    if len(signature) != _SIGNATURE_BYTES:
        return _malformed("signature has the wrong length")
    payload = _parse_payload(payload_bytes)
    if payload is None:
        return _malformed("payload is not a UTF-8 JSON object")
    kid = payload.get("kid")
    if not isinstance(kid, str):
        return _malformed("payload has no string 'kid'")
    # Only echo a key id that looks like one: the token is untrusted and may end up in logs.
    safe_kid = kid if KEY_ID_PATTERN.fullmatch(kid) else None
    key = public_keys.get(kid) if safe_kid else None
    if key is None:
        return TokenCheck("forged", None, safe_kid, "unknown signing key id")
    try:
        key.verify(signature, body.encode("ascii"))
    except InvalidSignature:
        return TokenCheck("forged", None, safe_kid, "signature does not verify")
    return TokenCheck("valid", payload, safe_kid, "signature verified")


def _malformed(reason: str) -> TokenCheck:
    return TokenCheck("malformed", None, None, reason)


def _canonical_json(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes | None:
    """Decode unpadded base64url; None unless ``text`` is the one canonical encoding of its bytes."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Unused low bits in the last character would let several texts decode to the same bytes.
    return raw if _b64url_encode(raw) == text else None


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_payload(raw: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None
