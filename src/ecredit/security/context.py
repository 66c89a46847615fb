"""The process's key ring and vault: from ``ECREDIT_KEYRING_JSON`` in production, else the key file."""

from __future__ import annotations

import functools
import os

from ecredit.config import get_settings
from ecredit.security.keys import KeyRing, load_from_env, load_or_create
from ecredit.security.vault import Vault


@functools.cache
def get_keyring() -> KeyRing:
    """The key ring in force (cached; ``reset()`` after rotation)."""
    ring = load_from_env(os.environ)
    if ring is not None:
        return ring
    settings = get_settings()
    path = settings.resolved_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    return load_or_create(path)


@functools.cache
def get_vault() -> Vault:
    """The vault built on the key ring in force."""
    return Vault(get_keyring())


def reset() -> None:
    """Forget cached keys (after rotation, or between tests)."""
    get_keyring.cache_clear()
    get_vault.cache_clear()
