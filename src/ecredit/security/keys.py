"""The key ring: data keys, blind-index key and signing keys, kept outside the database.

The ring lives in a file (development: created on first run with mode 0600) or in the
environment variable ``ECREDIT_KEYRING_JSON`` (production). Both hold the same JSON document::

    {
      "format": 1,
      "data_keys": {"d20261128-3f9a": "<base64, 32 bytes>"},
      "active_data_key": "d20261128-3f9a",
      "blind_index_key": "<base64, 32 bytes>",
      "signing_keys": {"s20261128-7c1e": "<base64, 32-byte raw Ed25519 private key>"},
      "active_signing_key": "s20261128-7c1e",
      "retired_signing_public_keys": {"s20250301-0b2d": "<base64, 32-byte raw Ed25519 public key>"}
    }

- ``data_keys``: AES-256-GCM keys for field encryption (see ``vault.py``). Old keys stay in the ring
  until every value encrypted under them has been re-encrypted; new values use ``active_data_key``.
- ``blind_index_key``: HMAC-SHA256 key for equality lookup; never used for anything else.
- ``signing_keys``: Ed25519 private keys for trusted certification marks; new marks are signed with
  ``active_signing_key``.
- ``retired_signing_public_keys``: keys whose private part was destroyed; marks they signed still verify.

Base64 is the standard alphabet with padding. Every field is required (maps may be empty only for
``retired_signing_public_keys``); unknown fields and duplicate JSON keys are rejected. Key ids are short,
unique and sortable by creation date: a type letter (``d`` data, ``s`` signing), the UTC date and four
random hex digits, e.g. ``d20261128-3f9a``. Ids read from JSON only need to match ``KEY_ID_PATTERN``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ENV_VAR",
    "FORMAT_VERSION",
    "KEY_ID_PATTERN",
    "KeyRing",
    "KeyRingError",
    "load_from_env",
    "load_or_create",
    "save",
]

FORMAT_VERSION = 1
ENV_VAR = "ECREDIT_KEYRING_JSON"
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_BYTES = 32
_FIELDS = frozenset(
    {
        "format",
        "data_keys",
        "active_data_key",
        "blind_index_key",
        "signing_keys",
        "active_signing_key",
        "retired_signing_public_keys",
    }
)


class KeyRingError(Exception):
    """The key ring is missing, malformed or stored unsafely."""


@dataclass(frozen=True, eq=False, repr=False)
class KeyRing:
    """Immutable holder of all keys; the ``with_*`` methods return new rings."""

    data_keys: dict[str, bytes]
    active_data_key_id: str
    blind_index_key: bytes
    signing_keys: dict[str, Ed25519PrivateKey]
    active_signing_key_id: str
    retired_signing_public_keys: dict[str, Ed25519PublicKey]

    def __post_init__(self) -> None:
        # Copy the maps so a caller's later mutation cannot change the ring.
        object.__setattr__(
            self, "data_keys", {k: _key_bytes(v, f"data key {k!r}") for k, v in dict(self.data_keys).items()}
        )
        object.__setattr__(self, "signing_keys", dict(self.signing_keys))
        object.__setattr__(self, "retired_signing_public_keys", dict(self.retired_signing_public_keys))
        object.__setattr__(self, "blind_index_key", _key_bytes(self.blind_index_key, "blind_index_key"))
        self._validate()

    def _validate(self) -> None:
        if not self.data_keys:
            raise KeyRingError("data_keys is empty: at least one data key is required")
        for kid, key in self.data_keys.items():
            _check_key_id(kid, "data_keys")
            if len(key) != _KEY_BYTES:
                raise KeyRingError(f"data key {kid!r} must be {_KEY_BYTES} bytes, got {len(key)}")
        if self.active_data_key_id not in self.data_keys:
            raise KeyRingError(f"active data key {self.active_data_key_id!r} is not in data_keys")
        if len(self.blind_index_key) != _KEY_BYTES:
            raise KeyRingError(f"blind_index_key must be {_KEY_BYTES} bytes, got {len(self.blind_index_key)}")
        if any(secrets.compare_digest(self.blind_index_key, key) for key in self.data_keys.values()):
            raise KeyRingError("blind_index_key must differ from every data key")
        if not self.signing_keys:
            raise KeyRingError("signing_keys is empty: at least one signing key is required")
        for kid, private in self.signing_keys.items():
            _check_key_id(kid, "signing_keys")
            if not isinstance(private, Ed25519PrivateKey):
                raise KeyRingError(f"signing key {kid!r} is not an Ed25519 private key")
        if self.active_signing_key_id not in self.signing_keys:
            raise KeyRingError(f"active signing key {self.active_signing_key_id!r} is not in signing_keys")
        for kid, public in self.retired_signing_public_keys.items():
            _check_key_id(kid, "retired_signing_public_keys")
            if not isinstance(public, Ed25519PublicKey):
                raise KeyRingError(f"retired signing key {kid!r} is not an Ed25519 public key")
            if kid in self.signing_keys:
                raise KeyRingError(f"key id {kid!r} is both a signing key and a retired signing key")

    def __repr__(self) -> str:
        # Never show key material, only ids.
        return (
            f"KeyRing(data_keys={sorted(self.data_keys)}, active_data_key_id={self.active_data_key_id!r}, "
            f"signing_keys={sorted(self.signing_keys)}, "
            f"active_signing_key_id={self.active_signing_key_id!r}, "
            f"retired_signing_public_keys={sorted(self.retired_signing_public_keys)})"
        )

    @classmethod
    def generate(cls) -> KeyRing:
        """Create a ring with one fresh data key, a blind-index key and one signing key."""
        data_id = _new_key_id("d", set())
        signing_id = _new_key_id("s", set())
        return cls(
            data_keys={data_id: secrets.token_bytes(_KEY_BYTES)},
            active_data_key_id=data_id,
            blind_index_key=secrets.token_bytes(_KEY_BYTES),
            signing_keys={signing_id: Ed25519PrivateKey.generate()},
            active_signing_key_id=signing_id,
            retired_signing_public_keys={},
        )

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        """Parse the JSON format described in the module docstring; raise KeyRingError if malformed."""
        if not isinstance(text, str):
            raise KeyRingError(f"key ring JSON must be a str, got {type(text).__name__}")
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicates)
        except _DuplicateKeyError as exc:
            raise KeyRingError(f"key ring JSON has a duplicate key {exc.args[0]!r}") from None
        except (ValueError, RecursionError) as exc:
            # The message gives the position only, never the (secret) content.
            raise KeyRingError(f"key ring is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise KeyRingError("key ring JSON must be an object")
        missing = sorted(_FIELDS - doc.keys())
        if missing:
            raise KeyRingError(f"key ring JSON lacks field(s): {', '.join(missing)}")
        unknown = sorted(doc.keys() - _FIELDS)
        if unknown:
            raise KeyRingError(f"key ring JSON has unknown field(s): {', '.join(map(repr, unknown))}")
        fmt = doc["format"]
        if type(fmt) is not int or fmt != FORMAT_VERSION:
            raise KeyRingError(f"unsupported key ring format {fmt!r}; expected {FORMAT_VERSION}")

        data_keys = {
            kid: _b64_key(value, f"data_keys[{kid!r}]")
            for kid, value in _str_map(doc["data_keys"], "data_keys").items()
        }
        signing_keys = {
            kid: _private_key(_b64_key(value, f"signing_keys[{kid!r}]"), kid)
            for kid, value in _str_map(doc["signing_keys"], "signing_keys").items()
        }
        retired = {
            kid: _public_key(_b64_key(value, f"retired_signing_public_keys[{kid!r}]"), kid)
            for kid, value in _str_map(
                doc["retired_signing_public_keys"], "retired_signing_public_keys"
            ).items()
        }
        return cls(
            data_keys=data_keys,
            active_data_key_id=_str_field(doc, "active_data_key"),
            blind_index_key=_b64_key(doc["blind_index_key"], "blind_index_key"),
            signing_keys=signing_keys,
            active_signing_key_id=_str_field(doc, "active_signing_key"),
            retired_signing_public_keys=retired,
        )

    def to_json(self) -> str:
        """Serialise to the JSON format described in the module docstring."""
        doc = {
            "format": FORMAT_VERSION,
            "data_keys": {kid: _b64(key) for kid, key in self.data_keys.items()},
            "active_data_key": self.active_data_key_id,
            "blind_index_key": _b64(self.blind_index_key),
            "signing_keys": {kid: _b64(key.private_bytes_raw()) for kid, key in self.signing_keys.items()},
            "active_signing_key": self.active_signing_key_id,
            "retired_signing_public_keys": {
                kid: _b64(key.public_bytes_raw()) for kid, key in self.retired_signing_public_keys.items()
            },
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    def with_new_data_key(self) -> KeyRing:
        """Return a ring with a fresh active data key; old data keys stay for decryption."""
        kid = _new_key_id("d", set(self.data_keys))
        return self._replace(
            data_keys={**self.data_keys, kid: secrets.token_bytes(_KEY_BYTES)}, active_data_key_id=kid
        )

    def without_data_key(self, key_id: str) -> KeyRing:
        """Return a ring without a non-active data key, once nothing is encrypted under it any more."""
        if key_id == self.active_data_key_id:
            raise KeyRingError(f"cannot remove the active data key {key_id!r}")
        if key_id not in self.data_keys:
            raise KeyRingError(f"unknown data key {key_id!r}")
        return self._replace(data_keys={k: v for k, v in self.data_keys.items() if k != key_id})

    def with_new_signing_key(self, *, retire_previous: bool = False) -> KeyRing:
        """Return a ring with a fresh active signing key; optionally retire the previous active key."""
        kid = _new_key_id("s", set(self.signing_keys) | set(self.retired_signing_public_keys))
        signing = {**self.signing_keys, kid: Ed25519PrivateKey.generate()}
        retired = dict(self.retired_signing_public_keys)
        if retire_previous:
            previous = signing.pop(self.active_signing_key_id)
            retired[self.active_signing_key_id] = previous.public_key()
        return self._replace(
            signing_keys=signing, active_signing_key_id=kid, retired_signing_public_keys=retired
        )

    def public_signing_keys(self) -> dict[str, Ed25519PublicKey]:
        """Return every key a mark can be verified with: active, older and retired signing keys."""
        keys = dict(self.retired_signing_public_keys)
        keys.update({kid: private.public_key() for kid, private in self.signing_keys.items()})
        return keys

    def _replace(self, **changes: Any) -> KeyRing:
        fields = {
            "data_keys": self.data_keys,
            "active_data_key_id": self.active_data_key_id,
            "blind_index_key": self.blind_index_key,
            "signing_keys": self.signing_keys,
            "active_signing_key_id": self.active_signing_key_id,
            "retired_signing_public_keys": self.retired_signing_public_keys,
        }
        fields.update(changes)
        return KeyRing(**fields)


def load_or_create(path: Path) -> KeyRing:
    """Load the ring from ``path``, creating it atomically with mode 0600 on first run."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        ring = KeyRing.generate()
        # Link, not rename: if another process created the file meanwhile, keep theirs.
        if _write_atomic(path, ring.to_json(), replace=False):
            return ring
    return _load_file(path)


def load_from_env(environ: Mapping[str, str]) -> KeyRing | None:
    """Load the ring from ``ECREDIT_KEYRING_JSON``; None if the variable is unset."""
    text = environ.get(ENV_VAR)
    if text is None:
        return None
    if not text.strip():
        raise KeyRingError(f"{ENV_VAR} is set but empty; unset it or give the key ring JSON")
    try:
        return KeyRing.from_json(text)
    except KeyRingError as exc:
        raise KeyRingError(f"{ENV_VAR}: {exc}") from None


def save(path: Path, ring: KeyRing) -> None:
    """Write the ring to ``path`` atomically with mode 0600, replacing any existing file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_atomic(path, ring.to_json(), replace=True)


# --- helpers ---------------------------------------------------------------------------------------


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _key_bytes(value: object, name: str) -> bytes:
    # bytes(32) would silently be 32 zero bytes: accept only real byte strings.
    if not isinstance(value, bytes | bytearray):
        raise KeyRingError(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


def _check_key_id(kid: object, where: str) -> None:
    if not isinstance(kid, str) or not KEY_ID_PATTERN.fullmatch(kid):
        raise KeyRingError(f"{where}: invalid key id {kid!r} (expected {KEY_ID_PATTERN.pattern})")


def _str_field(doc: dict[str, Any], name: str) -> str:
    value = doc[name]
    if not isinstance(value, str):
        raise KeyRingError(f"{name} must be a string key id")
    return value


def _str_map(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise KeyRingError(f"{name} must be an object mapping key id to base64")
    for kid in value:
        _check_key_id(kid, name)
    return value


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64_key(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise KeyRingError(f"{name} must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise KeyRingError(f"{name} is not valid base64") from None
    if len(raw) != _KEY_BYTES:
        raise KeyRingError(f"{name} must decode to {_KEY_BYTES} bytes, got {len(raw)}")
    return raw


def _private_key(raw: bytes, kid: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise KeyRingError(f"signing key {kid!r} is not a valid Ed25519 private key") from None


def _public_key(raw: bytes, kid: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise KeyRingError(f"retired signing key {kid!r} is not a valid Ed25519 public key") from None


def _new_key_id(prefix: str, taken: set[str]) -> str:
    day = datetime.now(UTC).strftime("%Y%m%d")
    while True:
        kid = f"{prefix}{day}-{secrets.token_hex(2)}"
        if kid not in taken:
            return kid


def _load_file(path: Path) -> KeyRing:
    # O_NONBLOCK: opening a FIFO planted at the path must not hang.
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise KeyRingError(f"key ring file {path} does not exist") from None
    try:
        # Check the opened file itself, so the check and the read see the same inode.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyRingError(f"key ring {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise KeyRingError(
                f"key ring {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read()
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyRingError(f"key ring {path} is not UTF-8 text") from None
    try:
        return KeyRing.from_json(text)
    except KeyRingError as exc:
        raise KeyRingError(f"key ring {path}: {exc}") from None


def _write_atomic(path: Path, text: str, *, replace: bool) -> bool:
    """Write tmp, fsync, chmod 0600, then rename (replace) or link (create only); False if path existed."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            finally:
                tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
