import base64
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecredit.security.keys import KeyRing
from ecredit.security.signing import MAX_TOKEN_LENGTH, TokenCheck, sign_token, verify_token

PAYLOAD = {
    "subject": "91370100MA3C5X1234",
    "shop": "shop-42",
    "platform": "平台甲",
    "issued_at": "2026-11-28T09:16:00Z",
    "expires_at": "2027-05-28T09:16:00Z",
}
ALPHABET = string.ascii_letters + string.digits + "-_."


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def ring():
    return KeyRing.generate()


@pytest.fixture(scope="module")
def token(ring):
    return sign_token(ring, PAYLOAD)


class TestSignToken:
    def test_valid_round_trip(self, ring, token):
        check = verify_token(ring.public_signing_keys(), token)
        assert check.status == "valid"
        assert check.payload == {**PAYLOAD, "kid": ring.active_signing_key_id}
        assert check.key_id == ring.active_signing_key_id

    def test_format_is_canonical_json_without_padding(self, ring, token):
        body, signature = token.split(".")
        assert "=" not in token
        raw = _unb64url(body)
        assert raw == json.dumps(
            {**PAYLOAD, "kid": ring.active_signing_key_id},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
        assert "平台甲".encode() in raw
        assert len(_unb64url(signature)) == 64
        ring.public_signing_keys()[ring.active_signing_key_id].verify(_unb64url(signature), body.encode())

    def test_does_not_modify_the_payload(self, ring):
        payload = dict(PAYLOAD)
        sign_token(ring, payload)
        assert payload == PAYLOAD

    def test_refuses_a_payload_with_kid(self, ring):
        with pytest.raises(ValueError, match="kid"):
            sign_token(ring, {**PAYLOAD, "kid": "s1"})

    def test_refuses_an_oversized_token(self, ring):
        with pytest.raises(ValueError, match="limit"):
            sign_token(ring, {"blob": "x" * MAX_TOKEN_LENGTH})

    def test_refuses_non_json_values(self, ring):
        with pytest.raises(ValueError):
            sign_token(ring, {"score": float("nan")})


class TestVerifyToken:
    def test_any_single_character_change_is_never_valid(self, ring, token):
        keys = ring.public_signing_keys()
        for i, original in enumerate(token):
            for replacement in ALPHABET:
                if replacement == original:
                    continue
                changed = token[:i] + replacement + token[i + 1 :]
                check = verify_token(keys, changed)
                assert check.status in {"forged", "malformed"}, (i, replacement)
                assert check.payload is None

    def test_deleting_or_inserting_a_character_is_never_valid(self, ring, token):
        keys = ring.public_signing_keys()
        for i in range(len(token)):
            assert verify_token(keys, token[:i] + token[i + 1 :]).status != "valid"
        for i in range(len(token) + 1):
            assert verify_token(keys, token[:i] + "A" + token[i:]).status != "valid"

    def test_unknown_kid_is_forged(self, ring, token):
        check = verify_token(KeyRing.generate().public_signing_keys(), token)
        assert check.status == "forged"
        assert check.key_id == ring.active_signing_key_id
        assert check.payload is None

    def test_signature_by_another_key_under_our_kid_is_forged(self, ring):
        other = KeyRing.generate()
        body = _b64url(
            json.dumps(
                {**PAYLOAD, "kid": ring.active_signing_key_id}, sort_keys=True, separators=(",", ":")
            ).encode()
        )
        signature = other.signing_keys[other.active_signing_key_id].sign(body.encode())
        check = verify_token(ring.public_signing_keys(), f"{body}.{_b64url(signature)}")
        assert check.status == "forged"

    def test_payload_swapped_under_a_valid_signature_is_forged(self, ring, token):
        other = sign_token(ring, {**PAYLOAD, "shop": "shop-43"})
        forged = token.split(".")[0] + "." + other.split(".")[1]
        assert verify_token(ring.public_signing_keys(), forged).status == "forged"

    def test_older_signing_key_still_verifies(self, ring, token):
        rotated = ring.with_new_signing_key()
        assert verify_token(rotated.public_signing_keys(), token).status == "valid"
        new_token = sign_token(rotated, PAYLOAD)
        assert verify_token(rotated.public_signing_keys(), new_token).key_id == rotated.active_signing_key_id

    def test_retired_key_still_verifies_with_its_public_key(self, ring, token):
        rotated = ring.with_new_signing_key(retire_previous=True)
        assert ring.active_signing_key_id in rotated.retired_signing_public_keys
        assert ring.active_signing_key_id not in rotated.signing_keys
        restored = KeyRing.from_json(rotated.to_json())
        check = verify_token(restored.public_signing_keys(), token)
        assert check.status == "valid"
        assert check.key_id == ring.active_signing_key_id

    def test_dropped_key_no_longer_verifies(self, ring, token):
        keys = ring.with_new_signing_key().public_signing_keys()
        del keys[ring.active_signing_key_id]
        assert verify_token(keys, token).status == "forged"

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            ".",
            "abc",
            "a.b.c",
            "abc.",
            ".abc",
            "eyJ9.AAAA",
            "a b.c",
            "abc=.def",
            "x" * (MAX_TOKEN_LENGTH + 1),
            "\u0000.\u0000",
            "é.é",
        ],
    )
    def test_malformed(self, ring, bad):
        check = verify_token(ring.public_signing_keys(), bad)
        assert check.status == "malformed"
        assert check.payload is None
        assert check.key_id is None

    def test_well_signed_but_non_object_payload_is_malformed(self, ring):
        key = ring.signing_keys[ring.active_signing_key_id]
        for payload in (b"[1,2]", b'"kid"', b"not json", b"\xff\xfe", b'{"a":1,"a":2}', b'{"kid":5}', b"{}"):
            body = _b64url(payload)
            token = f"{body}.{_b64url(key.sign(body.encode()))}"
            assert verify_token(ring.public_signing_keys(), token).status == "malformed", payload

    def test_signature_of_wrong_length_is_malformed(self, ring, token):
        body, signature = token.split(".")
        short = _b64url(_unb64url(signature)[:63])
        assert verify_token(ring.public_signing_keys(), f"{body}.{short}").status == "malformed"

    def test_non_str_token_is_malformed(self, ring):
        assert verify_token(ring.public_signing_keys(), None).status == "malformed"  # type: ignore[arg-type]
        assert verify_token(ring.public_signing_keys(), b"a.b").status == "malformed"  # type: ignore[arg-type]

    def test_hostile_kid_is_not_echoed(self, ring):
        body = _b64url(b'{"kid":"s1\\nFAKE LOG LINE"}')
        check = verify_token(ring.public_signing_keys(), f"{body}.{_b64url(bytes(64))}")
        assert check.status == "forged"
        assert check.key_id is None

    def test_result_is_a_token_check(self, ring, token):
        assert isinstance(verify_token(ring.public_signing_keys(), token), TokenCheck)


class TestVerifyTokenFuzz:
    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=5000))
    def test_arbitrary_text_never_raises(self, text):
        keys = KEYS_FOR_FUZZ
        check = verify_token(keys, text)
        assert check.status in {"valid", "forged", "malformed"}
        assert check.status != "valid"

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=ALPHABET, max_size=400))
    def test_token_alphabet_text_never_raises(self, text):
        assert verify_token(KEYS_FOR_FUZZ, text).status in {"forged", "malformed"}

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300), st.binary(min_size=64, max_size=64))
    def test_arbitrary_payload_bytes_never_raise(self, payload, signature):
        token = f"{_b64url(payload)}.{_b64url(signature)}"
        assert verify_token(KEYS_FOR_FUZZ, token).status in {"forged", "malformed"}

    @settings(max_examples=200, deadline=None)
    @given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=20))
    def test_arbitrary_json_payload_never_raises(self, value):
        body = _b64url(json.dumps({"kid": FUZZ_RING.active_signing_key_id, "v": value}).encode())
        assert verify_token(KEYS_FOR_FUZZ, f"{body}.{_b64url(bytes(64))}").status == "forged"

    def test_deeply_nested_payload_is_malformed_not_an_error(self):
        body = _b64url(b"[" * 3000)
        assert verify_token(KEYS_FOR_FUZZ, f"{body}.{_b64url(bytes(64))}").status == "malformed"


FUZZ_RING = KeyRing.generate()
KEYS_FOR_FUZZ = FUZZ_RING.public_signing_keys()
