import base64
import json
import os
import re
import stat

import pytest

from ecredit.security.keys import KeyRing, KeyRingError, load_from_env, load_or_create, save

KEY_ID = re.compile(r"[ds][0-9]{8}-[0-9a-f]{4}")


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def _doc(ring):
    return json.loads(ring.to_json())


class TestGenerate:
    def test_generate_has_one_key_of_each_kind(self):
        ring = KeyRing.generate()
        assert list(ring.data_keys) == [ring.active_data_key_id]
        assert len(ring.data_keys[ring.active_data_key_id]) == 32
        assert len(ring.blind_index_key) == 32
        assert list(ring.signing_keys) == [ring.active_signing_key_id]
        assert ring.retired_signing_public_keys == {}

    def test_key_ids_are_dated_and_typed(self):
        ring = KeyRing.generate()
        assert KEY_ID.fullmatch(ring.active_data_key_id)
        assert ring.active_data_key_id.startswith("d")
        assert KEY_ID.fullmatch(ring.active_signing_key_id)
        assert ring.active_signing_key_id.startswith("s")

    def test_two_rings_have_different_keys(self):
        assert KeyRing.generate().blind_index_key != KeyRing.generate().blind_index_key

    def test_repr_shows_no_key_material(self):
        ring = KeyRing.generate()
        text = repr(ring)
        assert ring.active_data_key_id in text
        assert base64.b64encode(ring.blind_index_key).decode() not in text
        assert repr(ring.blind_index_key) not in text
        assert repr(ring.data_keys[ring.active_data_key_id]) not in text


class TestJson:
    def test_round_trip(self):
        ring = KeyRing.generate().with_new_data_key().with_new_signing_key(retire_previous=True)
        again = KeyRing.from_json(ring.to_json())
        assert again.to_json() == ring.to_json()
        assert again.data_keys == ring.data_keys
        assert again.active_data_key_id == ring.active_data_key_id
        assert again.blind_index_key == ring.blind_index_key
        assert again.public_signing_keys() == ring.public_signing_keys()

    def test_documented_field_names(self):
        doc = _doc(KeyRing.generate())
        assert set(doc) == {
            "format",
            "data_keys",
            "active_data_key",
            "blind_index_key",
            "signing_keys",
            "active_signing_key",
            "retired_signing_public_keys",
        }
        assert doc["format"] == 1

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "not json",
            "[]",
            "null",
            '"ring"',
            "{",
            '{"format": 1}',
        ],
    )
    def test_unparseable_or_incomplete_json_is_refused(self, text):
        with pytest.raises(KeyRingError):
            KeyRing.from_json(text)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("format", 2),
            ("format", "1"),
            ("format", True),
            ("data_keys", {}),
            ("data_keys", []),
            ("data_keys", {"d1": "not base64!"}),
            ("data_keys", {"d1": base64.b64encode(b"x" * 16).decode()}),
            ("data_keys", {"bad id with spaces": base64.b64encode(b"x" * 32).decode()}),
            ("data_keys", {"d1": 12}),
            ("active_data_key", "nope"),
            ("active_data_key", 5),
            ("blind_index_key", base64.b64encode(b"x" * 31).decode()),
            ("blind_index_key", None),
            ("signing_keys", {}),
            ("signing_keys", {"s1": base64.b64encode(b"x" * 33).decode()}),
            ("active_signing_key", "nope"),
            ("retired_signing_public_keys", {"s1": "AAAA"}),
            ("retired_signing_public_keys", "none"),
        ],
    )
    def test_bad_field_is_refused(self, field, value):
        doc = _doc(KeyRing.generate())
        doc[field] = value
        with pytest.raises(KeyRingError):
            KeyRing.from_json(json.dumps(doc))

    def test_missing_field_is_refused(self):
        doc = _doc(KeyRing.generate())
        del doc["blind_index_key"]
        with pytest.raises(KeyRingError, match="blind_index_key"):
            KeyRing.from_json(json.dumps(doc))

    def test_unknown_field_is_refused(self):
        doc = _doc(KeyRing.generate())
        doc["active_data_key_id"] = doc["active_data_key"]
        with pytest.raises(KeyRingError, match="unknown"):
            KeyRing.from_json(json.dumps(doc))

    def test_duplicate_key_is_refused(self):
        ring = KeyRing.generate()
        text = ring.to_json().replace('"format": 1', '"format": 1, "format": 1')
        with pytest.raises(KeyRingError, match="duplicate"):
            KeyRing.from_json(text)

    def test_blind_index_key_equal_to_a_data_key_is_refused(self):
        doc = _doc(KeyRing.generate())
        doc["blind_index_key"] = doc["data_keys"][doc["active_data_key"]]
        with pytest.raises(KeyRingError, match="differ"):
            KeyRing.from_json(json.dumps(doc))

    def test_retired_id_that_is_also_a_signing_key_is_refused(self):
        ring = KeyRing.generate()
        doc = _doc(ring)
        public = ring.public_signing_keys()[ring.active_signing_key_id].public_bytes_raw()
        doc["retired_signing_public_keys"] = {ring.active_signing_key_id: base64.b64encode(public).decode()}
        with pytest.raises(KeyRingError):
            KeyRing.from_json(json.dumps(doc))

    def test_error_message_does_not_echo_key_material(self):
        doc = _doc(KeyRing.generate())
        secret = doc["blind_index_key"]
        doc["data_keys"]["d1"] = secret[:-4]
        with pytest.raises(KeyRingError) as info:
            KeyRing.from_json(json.dumps(doc))
        assert secret[:-4] not in str(info.value)


class TestRotation:
    def test_new_data_key_becomes_active_and_old_ones_stay(self):
        ring = KeyRing.generate()
        rotated = ring.with_new_data_key()
        assert rotated.active_data_key_id != ring.active_data_key_id
        assert set(rotated.data_keys) == {ring.active_data_key_id, rotated.active_data_key_id}
        assert rotated.blind_index_key == ring.blind_index_key
        assert list(ring.data_keys) == [ring.active_data_key_id]  # the original ring is unchanged

    def test_without_data_key_removes_an_old_key_only(self):
        ring = KeyRing.generate()
        rotated = ring.with_new_data_key()
        assert set(rotated.without_data_key(ring.active_data_key_id).data_keys) == {
            rotated.active_data_key_id
        }
        with pytest.raises(KeyRingError):
            rotated.without_data_key(rotated.active_data_key_id)
        with pytest.raises(KeyRingError):
            rotated.without_data_key("d19990101-0000")

    def test_new_signing_key_keeps_previous_private_key_by_default(self):
        ring = KeyRing.generate()
        rotated = ring.with_new_signing_key()
        assert rotated.active_signing_key_id != ring.active_signing_key_id
        assert set(rotated.signing_keys) == {ring.active_signing_key_id, rotated.active_signing_key_id}
        assert rotated.retired_signing_public_keys == {}

    def test_retire_previous_destroys_its_private_key_but_keeps_it_verifiable(self):
        ring = KeyRing.generate()
        old = ring.active_signing_key_id
        rotated = ring.with_new_signing_key(retire_previous=True)
        assert old not in rotated.signing_keys
        assert rotated.retired_signing_public_keys[old] == ring.signing_keys[old].public_key()
        assert set(rotated.public_signing_keys()) == {old, rotated.active_signing_key_id}

    def test_ring_maps_are_copied(self):
        ring = KeyRing.generate()
        source = dict(ring.data_keys)
        copy = KeyRing(
            data_keys=source,
            active_data_key_id=ring.active_data_key_id,
            blind_index_key=ring.blind_index_key,
            signing_keys=ring.signing_keys,
            active_signing_key_id=ring.active_signing_key_id,
            retired_signing_public_keys={},
        )
        source["d-extra"] = b"x" * 32
        assert "d-extra" not in copy.data_keys

    def test_non_bytes_key_is_refused(self):
        ring = KeyRing.generate()
        with pytest.raises(KeyRingError, match="bytes"):
            KeyRing(
                data_keys={"d1": 32},
                active_data_key_id="d1",
                blind_index_key=ring.blind_index_key,
                signing_keys=ring.signing_keys,
                active_signing_key_id=ring.active_signing_key_id,
                retired_signing_public_keys={},
            )


class TestLoadOrCreate:
    def test_creates_file_with_mode_0600(self, tmp_path):
        path = tmp_path / "keys" / "keyring.json"
        ring = load_or_create(path)
        assert path.is_file()
        assert _mode(path) == 0o600
        assert KeyRing.from_json(path.read_text()).to_json() == ring.to_json()
        assert [p.name for p in path.parent.iterdir()] == ["keyring.json"]  # no temp file left

    def test_second_call_loads_the_same_ring(self, tmp_path):
        path = tmp_path / "keyring.json"
        first = load_or_create(path)
        second = load_or_create(path)
        assert second.to_json() == first.to_json()

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
    def test_refuses_file_accessible_by_group_or_others(self, tmp_path, mode):
        path = tmp_path / "keyring.json"
        load_or_create(path)
        os.chmod(path, mode)
        with pytest.raises(KeyRingError, match="chmod 600"):
            load_or_create(path)

    def test_refuses_malformed_file(self, tmp_path):
        path = tmp_path / "keyring.json"
        path.write_text("{}")
        os.chmod(path, 0o600)
        with pytest.raises(KeyRingError, match=str(path)):
            load_or_create(path)

    def test_keeps_the_file_of_a_process_that_won_the_creation_race(self, tmp_path, monkeypatch):
        path = tmp_path / "keyring.json"
        winner = KeyRing.generate()
        original_generate = KeyRing.generate

        def generate_after_the_other_process_saved():
            save(path, winner)
            return original_generate()

        monkeypatch.setattr(KeyRing, "generate", staticmethod(generate_after_the_other_process_saved))
        assert load_or_create(path).to_json() == winner.to_json()
        assert KeyRing.from_json(path.read_text()).to_json() == winner.to_json()
        assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]

    def test_refuses_a_fifo_without_hanging(self, tmp_path):
        path = tmp_path / "keyring.json"
        os.mkfifo(path, 0o600)
        with pytest.raises(KeyRingError, match="regular file"):
            load_or_create(path)

    def test_refuses_a_directory(self, tmp_path):
        path = tmp_path / "keyring.json"
        path.mkdir(mode=0o700)
        with pytest.raises(KeyRingError):
            load_or_create(path)


class TestSave:
    def test_save_replaces_atomically_with_mode_0600(self, tmp_path):
        path = tmp_path / "keyring.json"
        ring = load_or_create(path)
        rotated = ring.with_new_data_key()
        save(path, rotated)
        assert _mode(path) == 0o600
        assert load_or_create(path).active_data_key_id == rotated.active_data_key_id
        assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]

    def test_save_fixes_a_loose_mode(self, tmp_path):
        path = tmp_path / "keyring.json"
        path.write_text("old")
        os.chmod(path, 0o644)
        save(path, KeyRing.generate())
        assert _mode(path) == 0o600


class TestLoadFromEnv:
    def test_unset_gives_none(self):
        assert load_from_env({}) is None

    def test_loads_the_same_json(self):
        ring = KeyRing.generate()
        loaded = load_from_env({"ECREDIT_KEYRING_JSON": ring.to_json()})
        assert loaded is not None
        assert loaded.to_json() == ring.to_json()

    @pytest.mark.parametrize("value", ["", "   ", "{}", "garbage"])
    def test_empty_or_malformed_is_refused(self, value):
        with pytest.raises(KeyRingError, match="ECREDIT_KEYRING_JSON"):
            load_from_env({"ECREDIT_KEYRING_JSON": value})
