"""Field encryption (AES-256-GCM) and keyed blind index for personal data.

Blob layout (bytes)::

    0x01 | len(key_id) | key_id (ASCII) | nonce (12 bytes, random) | ciphertext + 16-byte tag

The associated data binds the format version, the key id and the value's place (table, column, row id),
each length-prefixed, so a blob copied to another row, column or table, or relabelled with another key
id, fails to decrypt. A random 96-bit nonce is safe for about 2**32 encryptions per key; rotate data keys
(``KeyRing.with_new_data_key`` + ``Vault.reencrypt``) long before that.

The blind index is HMAC-SHA256 under the ring's separate blind-index key, domain-separated by the column
name, over the NFKC-normalised, stripped value; callers normalise further (e.g. upper-case an ID number's
check character) before calling. Use the same ``column`` label wherever values must be comparable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ecredit.security.keys import KeyRing

__all__ = ["BLOB_VERSION", "Vault", "VaultError"]

BLOB_VERSION = 0x01
_NONCE_BYTES = 12
_TAG_BYTES = 16
_AAD_LABEL = b"ecredit.vault.field"
_BLIND_INDEX_LABEL = b"ecredit.vault.blind_index.v1"
_BLIND_INDEX_BYTES = 16

BlobLike = bytes | bytearray | memoryview


class VaultError(Exception):
    """A value cannot be encrypted or decrypted (bad binding, tampering, unknown key, bad blob)."""


class Vault:
    """Encrypts and decrypts personal-data fields and computes blind indexes with one key ring."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._ciphers = {kid: AESGCM(key) for kid, key in ring.data_keys.items()}

    def __repr__(self) -> str:
        return f"Vault(active_data_key_id={self._ring.active_data_key_id!r})"

    @property
    def active_key_id(self) -> str:
        """Return the id of the data key new values are encrypted under."""
        return self._ring.active_data_key_id

    def encrypt(self, plaintext: str, *, table: str, column: str, row_id: str) -> bytes:
        """Encrypt ``plaintext`` under the active data key, bound to table, column and row id."""
        if not isinstance(plaintext, str):
            raise VaultError(f"plaintext must be a str, got {type(plaintext).__name__}")
        try:
            data = plaintext.encode("utf-8")
        except UnicodeEncodeError:
            raise VaultError("plaintext is not encodable as UTF-8") from None
        kid = self._ring.active_data_key_id
        aad = _associated_data(kid, table, column, row_id)
        nonce = os.urandom(_NONCE_BYTES)
        header = _header(kid)
        return header + nonce + self._ciphers[kid].encrypt(nonce, data, aad)

    def decrypt(self, blob: BlobLike, *, table: str, column: str, row_id: str) -> str:
        """Decrypt a blob made by ``encrypt`` for the same table, column and row id."""
        kid, nonce, ciphertext = _parse(blob)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise VaultError(f"unknown data key id {kid!r}: the key ring no longer holds it")
        aad = _associated_data(kid, table, column, row_id)
        try:
            data = cipher.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise VaultError(
                f"authentication failed for {table}.{column}: the value was tampered with "
                "or belongs to another table, column or row"
            ) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - only reachable with a forged but valid tag
            raise VaultError("decrypted value is not UTF-8") from None

    def key_id_of(self, blob: BlobLike) -> str:
        """Return the id of the data key a blob was encrypted under."""
        return _parse(blob)[0]

    def needs_rotation(self, blob: BlobLike) -> bool:
        """Tell whether a blob is encrypted under a key other than the active one."""
        return self.key_id_of(blob) != self._ring.active_data_key_id

    def reencrypt(self, blob: BlobLike, *, table: str, column: str, row_id: str) -> bytes:
        """Decrypt a blob and encrypt it again under the active data key (same binding)."""
        plaintext = self.decrypt(blob, table=table, column=column, row_id=row_id)
        return self.encrypt(plaintext, table=table, column=column, row_id=row_id)

    def blind_index(self, value: str, *, column: str) -> str:
        """Return the keyed equality index (32 hex chars) of the NFKC-normalised, stripped value."""
        if not isinstance(value, str):
            raise VaultError(f"value must be a str, got {type(value).__name__}")
        if not isinstance(column, str) or not column:
            raise VaultError("column must be a non-empty str")
        normalised = unicodedata.normalize("NFKC", value).strip()
        try:
            message = _length_prefixed(_BLIND_INDEX_LABEL, column.encode("utf-8")) + normalised.encode(
                "utf-8"
            )
        except UnicodeEncodeError:
            raise VaultError("value or column is not encodable as UTF-8") from None
        digest = hmac.new(self._ring.blind_index_key, message, hashlib.sha256).digest()
        return digest[:_BLIND_INDEX_BYTES].hex()


def _header(kid: str) -> bytes:
    raw = kid.encode("ascii")
    return bytes((BLOB_VERSION, len(raw))) + raw


def _length_prefixed(*parts: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def _associated_data(kid: str, table: str, column: str, row_id: str) -> bytes:
    for name, value in (("table", table), ("column", column), ("row_id", row_id)):
        if not isinstance(value, str) or not value:
            raise VaultError(f"{name} must be a non-empty str")
    try:
        parts = [part.encode("utf-8") for part in (kid, table, column, row_id)]
    except UnicodeEncodeError:
        raise VaultError("table, column and row_id must be encodable as UTF-8") from None
    return _length_prefixed(_AAD_LABEL, bytes((BLOB_VERSION,)), *parts)


def _parse(blob: BlobLike) -> tuple[str, bytes, bytes]:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise VaultError(f"blob must be bytes, got {type(blob).__name__}")
    data = bytes(blob)
    if len(data) < 2:
        raise VaultError("blob is too short")
    if data[0] != BLOB_VERSION:
        raise VaultError(f"unsupported blob version {data[0]}")
    kid_end = 2 + data[1]
    if data[1] == 0 or len(data) < kid_end + _NONCE_BYTES + _TAG_BYTES:
        raise VaultError("blob is truncated or has a bad key id length")
    try:
        kid = data[2:kid_end].decode("ascii")
    except UnicodeDecodeError:
        raise VaultError("blob key id is not ASCII") from None
    nonce = data[kid_end : kid_end + _NONCE_BYTES]
    return kid, nonce, data[kid_end + _NONCE_BYTES :]
