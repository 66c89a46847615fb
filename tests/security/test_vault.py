import pytest

from ecredit.security.keys import KeyRing
from ecredit.security.vault import Vault, VaultError

ID_NUMBER = "370102199001011238"
WHERE = {"table": "natural_person", "column": "id_number", "row_id": "0f9c2a1e-0001"}


@pytest.fixture(scope="module")
def ring():
    return KeyRing.generate()


@pytest.fixture
def vault(ring):
    return Vault(ring)


class TestEncryptDecrypt:
    @pytest.mark.parametrize(
        "plaintext", [ID_NUMBER, "", "山东省济南市历下区泉城路1号", "x" * 10_000, "a\nb\x00c"]
    )
    def test_round_trip(self, vault, plaintext):
        blob = vault.encrypt(plaintext, **WHERE)
        assert vault.decrypt(blob, **WHERE) == plaintext

    def test_blob_layout(self, vault, ring):
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        kid = ring.active_data_key_id.encode("ascii")
        assert blob[0] == 0x01
        assert blob[1] == len(kid)
        assert blob[2 : 2 + len(kid)] == kid
        assert len(blob) == 2 + len(kid) + 12 + len(ID_NUMBER) + 16
        assert ID_NUMBER.encode() not in blob

    def test_random_nonce_gives_different_blobs(self, vault):
        assert vault.encrypt(ID_NUMBER, **WHERE) != vault.encrypt(ID_NUMBER, **WHERE)

    def test_accepts_bytearray_and_memoryview(self, vault):
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        assert vault.decrypt(bytearray(blob), **WHERE) == ID_NUMBER
        assert vault.decrypt(memoryview(blob), **WHERE) == ID_NUMBER

    def test_tampering_any_byte_fails(self, vault):
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        for i in range(len(blob)):
            for flip in (0x01, 0x80):
                tampered = bytearray(blob)
                tampered[i] ^= flip
                with pytest.raises(VaultError):
                    vault.decrypt(bytes(tampered), **WHERE)

    @pytest.mark.parametrize("cut", [0, 1, 2, 10, 20, -1])
    def test_truncated_blob_fails(self, vault, cut):
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        with pytest.raises(VaultError):
            vault.decrypt(blob[:cut], **WHERE)

    def test_extended_blob_fails(self, vault):
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        with pytest.raises(VaultError):
            vault.decrypt(blob + b"\x00", **WHERE)

    @pytest.mark.parametrize(
        "moved",
        [
            {"row_id": "0f9c2a1e-0002"},
            {"column": "phone"},
            {"table": "courier"},
            # Shifting characters between fields must not produce the same associated data.
            {"table": "natural_person_", "column": "d_number"},
            {"column": "id_number0f9c2a1e-0001", "row_id": "x"},
        ],
    )
    def test_ciphertext_moved_elsewhere_fails(self, vault, moved):
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        with pytest.raises(VaultError, match="authentication failed"):
            vault.decrypt(blob, **{**WHERE, **moved})

    def test_relabelled_key_id_fails(self, ring):
        rotated = ring.with_new_data_key()
        vault = Vault(rotated)
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        old, new = ring.active_data_key_id.encode(), rotated.active_data_key_id.encode()
        assert len(old) == len(new)
        with pytest.raises(VaultError):
            vault.decrypt(blob.replace(new, old, 1), **WHERE)

    def test_other_ring_cannot_decrypt(self, vault):
        blob = vault.encrypt(ID_NUMBER, **WHERE)
        with pytest.raises(VaultError, match="unknown data key"):
            Vault(KeyRing.generate()).decrypt(blob, **WHERE)

    @pytest.mark.parametrize(
        "blob", [b"", b"\x01", b"\x02" + b"\x00" * 40, b"\x01\x00" + b"\x00" * 40, "text"]
    )
    def test_garbage_blob_fails(self, vault, blob):
        with pytest.raises(VaultError):
            vault.decrypt(blob, **WHERE)

    @pytest.mark.parametrize("field", ["table", "column", "row_id"])
    def test_empty_binding_is_refused(self, vault, field):
        with pytest.raises(VaultError):
            vault.encrypt(ID_NUMBER, **{**WHERE, field: ""})

    def test_non_str_plaintext_is_refused(self, vault):
        with pytest.raises(VaultError):
            vault.encrypt(b"bytes", **WHERE)


class TestRotation:
    def test_rotation_flow(self, ring):
        vault1 = Vault(ring)
        old_blob = vault1.encrypt(ID_NUMBER, **WHERE)
        assert vault1.key_id_of(old_blob) == ring.active_data_key_id
        assert not vault1.needs_rotation(old_blob)

        rotated = ring.with_new_data_key()
        vault2 = Vault(rotated)
        assert vault2.needs_rotation(old_blob)
        new_blob = vault2.reencrypt(old_blob, **WHERE)
        assert vault2.key_id_of(new_blob) == rotated.active_data_key_id
        assert not vault2.needs_rotation(new_blob)
        assert vault2.decrypt(new_blob, **WHERE) == ID_NUMBER
        # While key 1 is in the ring, blobs not yet rotated still decrypt.
        assert vault2.decrypt(old_blob, **WHERE) == ID_NUMBER

        # Once key 1 is removed, only rotated blobs decrypt.
        vault3 = Vault(rotated.without_data_key(ring.active_data_key_id))
        assert vault3.decrypt(new_blob, **WHERE) == ID_NUMBER
        with pytest.raises(VaultError, match="unknown data key"):
            vault3.decrypt(old_blob, **WHERE)

    def test_reencrypt_keeps_the_binding(self, ring):
        vault = Vault(ring.with_new_data_key())
        blob = vault.reencrypt(Vault(ring).encrypt(ID_NUMBER, **WHERE), **WHERE)
        with pytest.raises(VaultError):
            vault.decrypt(blob, **{**WHERE, "row_id": "other"})

    def test_reencrypt_refuses_a_wrong_binding(self, ring):
        vault = Vault(ring.with_new_data_key())
        blob = Vault(ring).encrypt(ID_NUMBER, **WHERE)
        with pytest.raises(VaultError):
            vault.reencrypt(blob, **{**WHERE, "row_id": "other"})

    def test_key_id_of_garbage_fails(self, vault):
        with pytest.raises(VaultError):
            vault.key_id_of(b"\x01")


class TestBlindIndex:
    def test_deterministic_32_hex_chars(self, vault):
        index = vault.blind_index(ID_NUMBER, column="id_number")
        assert index == vault.blind_index(ID_NUMBER, column="id_number")
        assert len(index) == 32
        assert int(index, 16) >= 0

    def test_same_key_in_another_vault_gives_same_index(self, ring):
        assert Vault(ring).blind_index(ID_NUMBER, column="id_number") == Vault(ring).blind_index(
            ID_NUMBER, column="id_number"
        )

    def test_unaffected_by_data_key_rotation(self, ring):
        rotated = Vault(ring.with_new_data_key())
        assert rotated.blind_index(ID_NUMBER, column="id_number") == Vault(ring).blind_index(
            ID_NUMBER, column="id_number"
        )

    def test_columns_are_separated(self, vault):
        assert vault.blind_index("13800138000", column="phone") != vault.blind_index(
            "13800138000", column="mobile"
        )

    def test_column_and_value_boundary_is_unambiguous(self, vault):
        assert vault.blind_index("b", column="a") != vault.blind_index("", column="ab")
        assert vault.blind_index("bc", column="a") != vault.blind_index("c", column="ab")

    def test_different_keys_give_different_indexes(self, ring):
        assert Vault(ring).blind_index(ID_NUMBER, column="id_number") != Vault(
            KeyRing.generate()
        ).blind_index(ID_NUMBER, column="id_number")

    def test_different_values_give_different_indexes(self, vault):
        assert vault.blind_index(ID_NUMBER, column="id_number") != vault.blind_index(
            "370102199001011239", column="id_number"
        )

    def test_full_width_and_half_width_are_equal(self, vault):
        full_width = "３７０１０２１９９００１０１１２３Ｘ"
        assert vault.blind_index(full_width, column="id_number") == vault.blind_index(
            "37010219900101123X", column="id_number"
        )

    def test_surrounding_whitespace_is_ignored(self, vault):
        assert vault.blind_index(f" \t{ID_NUMBER}\u3000\n", column="id_number") == vault.blind_index(
            ID_NUMBER, column="id_number"
        )

    def test_case_is_kept(self, vault):
        # Callers normalise case themselves (e.g. the ID check character) before indexing.
        assert vault.blind_index("37010219900101123x", column="id_number") != vault.blind_index(
            "37010219900101123X", column="id_number"
        )

    def test_index_does_not_reveal_the_value(self, vault):
        assert ID_NUMBER not in vault.blind_index(ID_NUMBER, column="id_number")

    def test_empty_column_is_refused(self, vault):
        with pytest.raises(VaultError):
            vault.blind_index(ID_NUMBER, column="")


class TestFormatStaysReadable:
    """Blobs and indexes written before (and by other tools) must keep decrypting and matching: the
    layout, the associated data and the index message are rebuilt here by hand from the module's spec."""

    @staticmethod
    def _length_prefixed(*parts: bytes) -> bytes:
        return b"".join(len(p).to_bytes(4, "big") + p for p in parts)

    def test_blob_decrypts_with_the_documented_associated_data(self, vault, ring):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        blob = vault.encrypt(ID_NUMBER, **WHERE)
        kid = ring.active_data_key_id.encode()
        nonce, ciphertext = blob[2 + len(kid) : 14 + len(kid)], blob[14 + len(kid) :]
        aad = self._length_prefixed(
            b"ecredit.vault.field",
            b"\x01",
            kid,
            WHERE["table"].encode(),
            WHERE["column"].encode(),
            WHERE["row_id"].encode(),
        )
        key = ring.data_keys[ring.active_data_key_id]
        assert AESGCM(key).decrypt(nonce, ciphertext, aad) == ID_NUMBER.encode()

    def test_a_blob_made_by_hand_decrypts(self, vault, ring):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        kid = ring.active_data_key_id.encode()
        nonce = bytes(range(12))
        aad = self._length_prefixed(b"ecredit.vault.field", b"\x01", kid, b"shop", b"address", b"01ROW")
        key = ring.data_keys[ring.active_data_key_id]
        blob = bytes((1, len(kid))) + kid + nonce + AESGCM(key).encrypt(nonce, "历下区".encode(), aad)
        assert vault.decrypt(blob, table="shop", column="address", row_id="01ROW") == "历下区"

    @pytest.mark.parametrize("value", [ID_NUMBER, "３７０１０２１９９００１０１１２３Ｘ", " 13800138000\t"])
    def test_blind_index_is_the_documented_hmac(self, vault, ring, value):
        import hashlib
        import hmac
        import unicodedata

        message = self._length_prefixed(b"ecredit.vault.blind_index.v1", b"id_number")
        message += unicodedata.normalize("NFKC", value).strip().encode()
        expected = hmac.new(ring.blind_index_key, message, hashlib.sha256).digest()[:16].hex()
        assert vault.blind_index(value, column="id_number") == expected


class TestEncryptMany:
    def test_each_blob_decrypts_in_its_own_row_only(self, vault):
        items = [(f"row-{i}", f"1380013800{i}") for i in range(10)]
        blobs = vault.encrypt_many(items, table="shop", column="phone")
        assert len(blobs) == 10
        for (row_id, value), blob in zip(items, blobs, strict=True):
            assert vault.decrypt(blob, table="shop", column="phone", row_id=row_id) == value
            with pytest.raises(VaultError, match="authentication failed"):
                vault.decrypt(blob, table="shop", column="phone", row_id=row_id + "x")

    def test_same_layout_as_encrypt_and_fresh_nonces(self, vault):
        one = vault.encrypt(ID_NUMBER, **WHERE)
        many = vault.encrypt_many(
            [(WHERE["row_id"], ID_NUMBER)] * 50, table=WHERE["table"], column=WHERE["column"]
        )
        header = one[: 2 + one[1]]
        assert all(len(b) == len(one) and b.startswith(header) for b in many)
        nonces = {b[len(header) : len(header) + 12] for b in many}
        assert len(nonces) == 50

    def test_empty_and_refusals(self, vault):
        assert vault.encrypt_many([], table="shop", column="phone") == []
        with pytest.raises(VaultError):
            vault.encrypt_many([("", "x")], table="shop", column="phone")
        with pytest.raises(VaultError):
            vault.encrypt_many([("r", b"bytes")], table="shop", column="phone")  # type: ignore[list-item]
        with pytest.raises(VaultError):
            vault.encrypt_many([("r", "x")], table="", column="phone")

    def test_unhashable_binding_is_a_vault_error(self, vault):
        with pytest.raises(VaultError):
            vault.encrypt(ID_NUMBER, table=["shop"], column="phone", row_id="r")  # type: ignore[arg-type]
        with pytest.raises(VaultError):
            vault.blind_index(ID_NUMBER, column=["id_number"])  # type: ignore[arg-type]
