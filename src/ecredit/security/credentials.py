"""Credentials: API keys (machines) and password logins with sessions (staff).

API keys look like ``eck_<key id>_<secret>``: the ``eck_`` prefix makes a leaked key recognisable to
secret scanners, the key id is public (it identifies the key in lists and logs), and only a SHA-256 hash
of the 256-bit secret is stored (a fast hash is right for high-entropy secrets; passwords use argon2id).
Session tokens look like ``ecs_<secret>`` and are stored hashed too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ecredit.config import get_settings
from ecredit.errors import Conflict, FieldError, NotFound, Unauthorized, ValidationFailed
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.policy import policy
from ecredit.security.models import ApiKey, AppUser, LoginSession
from ecredit.security.principals import Principal, Role

KEY_PREFIX = "eck_"
SESSION_PREFIX = "ecs_"
_KEY_RE = re.compile(r"^eck_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$")
_SESSION_RE = re.compile(r"^ecs_([A-Za-z0-9_-]{43})$")
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_LAST_USED_EVERY = 60.0  # seconds between writes of an API key's last use
_last_used_written: dict[str, float] = {}
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 second recommended) parameters
_DUMMY_HASH = _hasher.hash("timing equaliser")


class InvalidCredentials(Unauthorized):
    code = "auth.invalid_credentials"


class AccountLocked(Unauthorized):
    code = "auth.account_locked"


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class NewKey:
    """A freshly created key: ``token`` is shown once and never stored."""

    key: ApiKey
    token: str


def _check_scope(role: Role, platform_id: str | None, region_prefix: str | None) -> None:
    if role is Role.platform and not platform_id:
        raise ValidationFailed(
            "a platform key needs its platform", errors=[FieldError("platform", "required")]
        )
    if role is not Role.platform and platform_id:
        raise ValidationFailed(
            "only platform keys name a platform", errors=[FieldError("platform", "not allowed")]
        )
    if region_prefix is not None and not re.fullmatch(r"[0-9]{2}([0-9]{2}){0,2}", region_prefix):
        raise ValidationFailed(
            "region prefix is 2, 4 or 6 digits of a GB/T 2260 code",
            errors=[FieldError("region", "bad prefix")],
        )


def create_api_key(
    session: Session,
    *,
    role: Role,
    label: str,
    created_by: str,
    platform_id: str | None = None,
    department: str | None = None,
    region_prefix: str | None = None,
    expires_at: dt.datetime | None = None,
) -> NewKey:
    """Create a key; the clear token is returned once."""
    _check_scope(role, platform_id, region_prefix)
    key_id = "".join(secrets.choice(_B32) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        key_id=key_id,
        secret_hash=_sha256(secret),
        label=label,
        role=role.value,
        platform_id=platform_id,
        department=department,
        region_prefix=region_prefix,
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return NewKey(key=key, token=f"{KEY_PREFIX}{key_id}_{secret}")


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    """Every key, newest first (hashes only)."""
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())).all()


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    """Revoke a key by its key id (or row id)."""
    key = session.scalars(select(ApiKey).where((ApiKey.key_id == key_id) | (ApiKey.id == key_id))).first()
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utc_now()
        session.flush()
    forget_verified()
    return key


def _principal(kind: str, name: str, row: ApiKey | AppUser) -> Principal:
    return Principal(
        actor=f"{kind}:{name}",
        role=Role(row.role),
        platform_id=row.platform_id,
        department=row.department,
        region_prefix=row.region_prefix,
    )


# token hash -> (monotonic time the entry stops being trusted, the principal, the credential's expiry)
_verified: dict[str, tuple[float, Principal, dt.datetime | None]] = {}
_VERIFIED_MAX = 10_000


def forget_verified() -> None:
    """Drop every cached verification (after a revocation or logout in this process)."""
    _verified.clear()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def cached_principal(token: str, *, now: dt.datetime | None = None) -> Principal | None:
    """The principal behind ``token`` if this process verified it lately and it has not expired since;
    None when the store must be asked (``authenticate_token``). No I/O: the HTTP edge calls it inline."""
    if get_settings().auth_cache_seconds <= 0:
        return None
    digest = _digest(token)
    cached = _verified.get(digest)
    if cached is None:
        return None
    until, principal, expires_at = cached
    if time.monotonic() < until and (expires_at is None or expires_at > (now or utc_now())):
        return principal
    _verified.pop(digest, None)
    return None


def authenticate_token(session: Session, token: str, *, now: dt.datetime | None = None) -> Principal:
    """The principal behind a bearer token (API key or session), or ``InvalidCredentials``.

    A successful verification is trusted for ``ECREDIT_AUTH_CACHE_SECONDS`` (default 10 s) in this process,
    so hot keys cost no store round trip; a revocation or logout made in this process takes effect at
    once, one made elsewhere (another replica, the CLI) within that time. 0 turns the cache off.
    """
    now = now or utc_now()
    principal = cached_principal(token, now=now)
    if principal is not None:
        return principal
    if token.startswith(KEY_PREFIX):
        principal, expires_at = _authenticate_key(session, token, now)
    elif token.startswith(SESSION_PREFIX):
        principal, expires_at = _authenticate_session(session, token, now)
    else:
        raise InvalidCredentials("unrecognised credential")
    ttl = get_settings().auth_cache_seconds
    if ttl > 0:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[_digest(token)] = (time.monotonic() + ttl, principal, expires_at)
    return principal


def _authenticate_key(session: Session, token: str, now: dt.datetime) -> tuple[Principal, dt.datetime | None]:
    match = _KEY_RE.match(token)
    if not match:
        raise InvalidCredentials("malformed API key")
    key_id, secret = match.groups()
    key = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).one_or_none()
    if key is None or not hmac.compare_digest(key.secret_hash, _sha256(secret)):
        raise InvalidCredentials("unknown API key")
    if key.revoked_at is not None:
        raise InvalidCredentials("API key revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise InvalidCredentials("API key expired")
    _touch(session, key, now)
    return _principal("key", key.key_id, key), key.expires_at


def _touch(session: Session, key: ApiKey, now: dt.datetime) -> None:
    """Record the key's last use, at most once a minute per process (best effort, never fails a request)."""
    last = _last_used_written.get(key.key_id, 0.0)
    if time.monotonic() - last < _LAST_USED_EVERY:
        return
    _last_used_written[key.key_id] = time.monotonic()
    # A short transaction of its own, committed at once. Written in the caller's (read) transaction, it held
    # SQLite's write lock until the response, so a request that writes waited on its own authentication
    # (busy timeout, then a 500) whenever a key was used for the first time in a minute.
    try:
        with Session(bind=session.get_bind()) as own, own.begin():
            own.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    except OperationalError:  # the store is busy: last use is informative only
        pass


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    platform_id: str | None = None,
    department: str | None = None,
    region_prefix: str | None = None,
) -> AppUser:
    """Create a staff user; the password is hashed with argon2id."""
    _check_scope(role, platform_id, region_prefix)
    rules = policy("security")
    if len(password) < rules.value("password_min_length"):
        raise ValidationFailed(
            "password too short",
            errors=[FieldError("password", f"at least {rules.value('password_min_length')} characters")],
        )
    if session.scalars(select(AppUser).where(AppUser.username == username)).first() is not None:
        raise Conflict(f"user {username} exists", errors=[FieldError("username", "taken")])
    user = AppUser(
        id=new_id(),
        username=username,
        password_hash=_hasher.hash(password),
        role=role.value,
        platform_id=platform_id,
        department=department,
        region_prefix=region_prefix,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class NewSession:
    token: str
    expires_at: dt.datetime
    principal: Principal


def login(session: Session, *, username: str, password: str, now: dt.datetime | None = None) -> NewSession:
    """Check a password; lock the account for a while after repeated failures (policy/security.toml)."""
    now = now or utc_now()
    rules = policy("security")
    user = session.scalars(select(AppUser).where(AppUser.username == username)).one_or_none()
    if user is None or user.disabled_at is not None:
        with contextlib.suppress(VerificationError):  # same time as a real check: usernames do not leak
            _hasher.verify(_DUMMY_HASH, password)
        raise InvalidCredentials("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked("account locked after repeated failures; try again later")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_attempts += 1
        if user.failed_attempts >= rules.value("lockout_threshold"):
            user.locked_until = now + dt.timedelta(minutes=rules.value("lockout_minutes"))
            user.failed_attempts = 0
        session.flush()
        raise InvalidCredentials("wrong username or password") from None
    user.failed_attempts = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    secret = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(hours=rules.value("session_hours"))
    session.add(LoginSession(id=new_id(), token_hash=_sha256(secret), user_id=user.id, expires_at=expires_at))
    session.flush()
    return NewSession(
        token=f"{SESSION_PREFIX}{secret}", expires_at=expires_at, principal=_principal("user", username, user)
    )


def _session_row(session: Session, token: str) -> LoginSession | None:
    match = _SESSION_RE.match(token)
    if not match:
        return None
    return session.scalars(
        select(LoginSession).where(LoginSession.token_hash == _sha256(match.group(1)))
    ).first()


def _authenticate_session(
    session: Session, token: str, now: dt.datetime
) -> tuple[Principal, dt.datetime | None]:
    row = _session_row(session, token)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise InvalidCredentials("session unknown, ended or expired")
    user = session.get(AppUser, row.user_id)
    if user is None or user.disabled_at is not None:
        raise InvalidCredentials("user disabled")
    return _principal("user", user.username, user), row.expires_at


def logout(session: Session, token: str) -> None:
    """End a login session (idempotent)."""
    row = _session_row(session, token)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utc_now()
        session.flush()
    forget_verified()
