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

Bulk loads encrypt hundreds of thousands of fields: the constant parts of a blob and of its associated
data (key id, table, column) and of a blind index's message (column) are built once per vault and reused,
and ``encrypt_many`` draws the nonces of a whole batch with one call to the system's random source.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import struct
import unicodedata
from collections.abc import Iterable

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
        self._headers = {kid: _header(kid) for kid in ring.data_keys}
        # The constant prefixes, per (key id, table, column) and per blind-index column (a few dozen).
        self._aad_prefixes = functools.lru_cache(maxsize=256)(_aad_prefix)
        self._index_prefixes = functools.lru_cache(maxsize=256)(_index_prefix)
        # A keyed HMAC to copy for each index: the key schedule is computed once, not per value.
        self._index_hmac = hmac.new(ring.blind_index_key, digestmod=hashlib.sha256)

    def __repr__(self) -> str:
        return f"Vault(active_data_key_id={self._ring.active_data_key_id!r})"

    def _aad_prefix(self, kid: str, table: str, column: str) -> bytes:
        try:
            return self._aad_prefixes(kid, table, column)
        except TypeError:  # unhashable: not a str
            return _aad_prefix(kid, table, column)

    def _index_prefix(self, column: str) -> bytes:
        try:
            return self._index_prefixes(column)
        except TypeError:  # unhashable: not a str
            return _index_prefix(column)

    @property
    def active_key_id(self) -> str:
        """Return the id of the data key new values are encrypted under."""
        return self._ring.active_data_key_id

    def encrypt(self, plaintext: str, *, table: str, column: str, row_id: str) -> bytes:
        """Encrypt ``plaintext`` under the active data key, bound to table, column and row id."""
        kid = self._ring.active_data_key_id
        data = _utf8(plaintext)
        aad = self._aad_prefix(kid, table, column) + _row_part(row_id)
        nonce = os.urandom(_NONCE_BYTES)
        return self._headers[kid] + nonce + self._ciphers[kid].encrypt(nonce, data, aad)

    def encrypt_many(self, items: Iterable[tuple[str, str]], *, table: str, column: str) -> list[bytes]:
        """``encrypt`` of each (row id, plaintext) for one table and column, in order: the same blobs,
        with the nonces of the whole batch drawn at once."""
        items = list(items)
        kid = self._ring.active_data_key_id
        prefix = self._aad_prefix(kid, table, column)
        header = self._headers[kid]
        cipher_encrypt = self._ciphers[kid].encrypt
        nonces = os.urandom(_NONCE_BYTES * len(items))
        blobs = []
        for i, (row_id, plaintext) in enumerate(items):
            nonce = nonces[i * _NONCE_BYTES : (i + 1) * _NONCE_BYTES]
            aad = prefix + _row_part(row_id)
            blobs.append(header + nonce + cipher_encrypt(nonce, _utf8(plaintext), aad))
        return blobs

    def decrypt(self, blob: BlobLike, *, table: str, column: str, row_id: str) -> str:
        """Decrypt a blob made by ``encrypt`` for the same table, column and row id."""
        kid, nonce, ciphertext = _parse(blob)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise VaultError(f"unknown data key id {kid!r}: the key ring no longer holds it")
        aad = self._aad_prefix(kid, table, column) + _row_part(row_id)
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
        # NFKC leaves ASCII text as it is: only other text needs normalising.
        normalised = (value if value.isascii() else unicodedata.normalize("NFKC", value)).strip()
        try:
            message = self._index_prefix(column) + normalised.encode("utf-8")
        except UnicodeEncodeError:
            raise VaultError("value is not encodable as UTF-8") from None
        mac = self._index_hmac.copy()
        mac.update(message)
        return mac.digest()[:_BLIND_INDEX_BYTES].hex()


def _header(kid: str) -> bytes:
    raw = kid.encode("ascii")
    return bytes((BLOB_VERSION, len(raw))) + raw


def _length_prefixed(*parts: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def _utf8(plaintext: str) -> bytes:
    if not isinstance(plaintext, str):
        raise VaultError(f"plaintext must be a str, got {type(plaintext).__name__}")
    try:
        return plaintext.encode("utf-8")
    except UnicodeEncodeError:
        raise VaultError("plaintext is not encodable as UTF-8") from None


def _encoded(name: str, value: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise VaultError(f"{name} must be a non-empty str")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise VaultError("table, column and row_id must be encodable as UTF-8") from None


def _aad_prefix(kid: str, table: str, column: str) -> bytes:
    """The associated data up to the row id: label, version, key id, table and column."""
    parts = [_encoded("key id", kid), _encoded("table", table), _encoded("column", column)]
    return _length_prefixed(_AAD_LABEL, bytes((BLOB_VERSION,)), *parts)


def _row_part(row_id: str) -> bytes:
    """The last part of the associated data: the length-prefixed row id."""
    raw = _encoded("row_id", row_id)
    return struct.pack(">I", len(raw)) + raw


def _associated_data(kid: str, table: str, column: str, row_id: str) -> bytes:
    """The associated data a blob is bound to (see the module docstring)."""
    return _aad_prefix(kid, table, column) + _row_part(row_id)


def _index_prefix(column: str) -> bytes:
    """The start of a blind index's message: the label and the column, length-prefixed."""
    if not isinstance(column, str) or not column:
        raise VaultError("column must be a non-empty str")
    try:
        return _length_prefixed(_BLIND_INDEX_LABEL, column.encode("utf-8"))
    except UnicodeEncodeError:
        raise VaultError("value or column is not encodable as UTF-8") from None


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
