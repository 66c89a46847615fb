"""Credentials: API keys for machines, users and login sessions for staff."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class ApiKey(Base):
    """A machine credential. Only a hash of the secret is stored; the key is shown once."""

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)  # public part, shown in the key's prefix
    secret_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the high-entropy secret
    label: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str | None] = mapped_column(String(26))
    department: Mapped[str | None] = mapped_column(String(32))
    region_prefix: Mapped[str | None] = mapped_column(String(6))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AppUser(Base):
    """A member of staff who logs in to the portal (password hashed with argon2id)."""

    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str | None] = mapped_column(String(26))
    department: Mapped[str | None] = mapped_column(String(32))
    region_prefix: Mapped[str | None] = mapped_column(String(6))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class LoginSession(Base):
    """A staff login; the bearer token is stored hashed."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(26), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
