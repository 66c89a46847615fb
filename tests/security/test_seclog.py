"""Security event logging (RELIABILITY.md C14): one JSON line per event, UTC, no injection, no PII."""

import datetime as dt
import inspect
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecredit.security import seclog
from ecredit.security.masking import find_pii

ID_NUMBER = "370102199003071238"
PHONE = "13912345678"

# Each event function with a value for every parameter.
CALLS = {
    seclog.auth_success: {
        "actor": "user:alice",
        "role": "regulator",
        "method": "password",
        "request_id": "r1",
    },
    seclog.auth_failure: {
        "reason": "unknown key",
        "method": "bearer",
        "request_id": "r2",
        "key_prefix": "eck_abc",
    },
    seclog.access_denied: {
        "actor": "key:abc",
        "role": "platform",
        "action": "subjects.read_personal_data",
        "object_type": "subject",
        "object_id": "01KB3Z5X8Q9WJ4T6M2N7R0C1VD",
        "request_id": "r3",
    },
    seclog.clear_read: {
        "actor": "user:bob",
        "role": "regulator",
        "field": "id_number",
        "subject_id": "01KB3Z5X8QA2P7K9H4F6S3D8XE",
        "purpose": "case_handling",
        "request_id": "r4",
    },
    seclog.rate_limited: {"scope": "lookup", "request_id": "r5"},
}
EVENTS = {
    seclog.auth_success: ("auth.success", logging.INFO),
    seclog.auth_failure: ("auth.failure", logging.WARNING),
    seclog.access_denied: ("access.denied", logging.WARNING),
    seclog.clear_read: ("pii.clear_read", logging.INFO),
    seclog.rate_limited: ("rate.limited", logging.WARNING),
}
FIELD_CASES = [(fn, name) for fn, kwargs in CALLS.items() for name in kwargs]
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def _emit(caplog, fn, **kwargs) -> tuple[logging.LogRecord, dict]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=seclog.LOGGER_NAME):
        fn(**kwargs)
    records = [r for r in caplog.records if r.name == seclog.LOGGER_NAME]
    assert len(records) == 1, records
    message = records[0].getMessage()
    assert len(message.splitlines()) == 1, message
    return records[0], json.loads(message)


def _name(fn) -> str:
    return fn.__name__


class TestEvents:
    @pytest.mark.parametrize("fn", list(CALLS), ids=_name)
    def test_one_json_line_with_ts_event_and_fields(self, caplog, fn):
        record, data = _emit(caplog, fn, **CALLS[fn])
        event, level = EVENTS[fn]
        assert record.levelno == level
        assert list(data)[:2] == ["ts", "event"]
        assert data["event"] == event
        assert {k: v for k, v in data.items() if k not in {"ts", "event"}} == CALLS[fn]

    @pytest.mark.parametrize("fn", list(CALLS), ids=_name)
    def test_timestamp_is_utc_rfc3339_with_z(self, caplog, fn):
        _, data = _emit(caplog, fn, **CALLS[fn])
        assert data["ts"].endswith("Z")
        parsed = dt.datetime.fromisoformat(data["ts"].replace("Z", "+00:00"))
        assert parsed.utcoffset() == dt.timedelta(0)
        assert abs(dt.datetime.now(dt.UTC) - parsed) < dt.timedelta(minutes=1)

    def test_signatures_are_the_documented_ones(self):
        assert list(inspect.signature(seclog.auth_failure).parameters) == [
            "reason",
            "method",
            "request_id",
            "key_prefix",
        ]
        for fn, kwargs in CALLS.items():
            assert list(inspect.signature(fn).parameters) == list(kwargs)

    def test_missing_optional_values_are_null(self, caplog):
        _, data = _emit(
            caplog, seclog.auth_failure, reason="no credentials", method="bearer", request_id=None
        )
        assert data["key_prefix"] is None and data["request_id"] is None

    def test_logger_is_not_filtered_by_a_warning_root(self):
        assert seclog.logger.name == "ecredit.security"
        assert seclog.logger.isEnabledFor(logging.INFO)


class TestInjection:
    @pytest.mark.parametrize(
        ("fn", "field"), FIELD_CASES, ids=lambda x: x if isinstance(x, str) else _name(x)
    )
    @pytest.mark.parametrize("brk", LINE_BREAKS, ids=repr)
    def test_no_input_can_start_a_line(self, caplog, fn, field, brk):
        forged = f'x{brk}{{"ts":"2026-01-01T00:00:00Z","event":"auth.success","actor":"admin"}}'
        record, data = _emit(caplog, fn, **(CALLS[fn] | {field: forged}))
        message = record.getMessage()
        assert brk not in message
        assert not any(b in message for b in LINE_BREAKS)
        assert data["event"] == EVENTS[fn][0]
        assert data[field].startswith("x\\")  # the break is shown, escaped

    def test_escapes_are_unambiguous(self, caplog):
        _, data = _emit(caplog, seclog.rate_limited, scope="a\nb", request_id="a\\nb")
        assert data["scope"] == "a\\nb"
        assert data["request_id"] == "a\\\\nb"

    def test_bidi_and_invisible_characters_are_made_visible(self, caplog):
        _, data = _emit(caplog, seclog.rate_limited, scope="adm\u202enimda\u200b", request_id="\x00\x1b[31m")
        assert data["scope"] == "adm\\u202enimda\\u200b"
        assert data["request_id"] == "\\u0000\\u001b[31m"

    def test_long_values_are_cut(self, caplog):
        _, data = _emit(
            caplog,
            seclog.auth_failure,
            reason="y" * 10_000,
            method="bearer",
            request_id="r",
            key_prefix="eck_" + "k" * 60,
        )
        assert len(data["reason"]) == seclog.MAX_VALUE_CHARS and data["reason"].endswith("…")
        assert len(data["key_prefix"]) == 16

    def test_never_raises_on_odd_values(self, caplog):
        class Broken:
            def __str__(self):
                raise RuntimeError("boom")

        _, data = _emit(caplog, seclog.rate_limited, scope=Broken(), request_id=10**5000)
        assert data["scope"] == "<unprintable Broken>"


class TestPersonalData:
    @pytest.mark.parametrize(
        ("fn", "field"), FIELD_CASES, ids=lambda x: x if isinstance(x, str) else _name(x)
    )
    @pytest.mark.parametrize(
        "value",
        [
            ID_NUMBER,
            "11010519491231002X",
            PHONE,
            f"id={ID_NUMBER};tel={PHONE}",
            "１３９１２３４５６７８",  # full-width digits
            "+8613912345678",
            "139 1234 5678",
            "139-1234-5678",
            f"line1\n{PHONE}\r\n",
        ],
    )
    def test_clear_numbers_never_appear(self, caplog, fn, field, value):
        record, data = _emit(caplog, fn, **(CALLS[fn] | {field: value}))
        message = record.getMessage()
        assert find_pii(message) == []
        for clear in (ID_NUMBER, "11010519491231002X", PHONE, "12345678", "19900307"):
            assert clear not in message
        assert "*" in data[field]

    def test_masks_with_the_one_pattern(self, caplog):
        _, data = _emit(caplog, seclog.rate_limited, scope=f"id {ID_NUMBER}", request_id=f"tel {PHONE}")
        assert data["scope"] == "id 370102********1238"
        assert data["request_id"] == "tel 139****5678"

    def test_ulids_and_short_numbers_are_kept(self, caplog):
        ulid = "01KB3Z5X8Q00000000000000XE"  # a row id with a long digit run is still kept whole
        kwargs = CALLS[seclog.clear_read] | {"purpose": "case 2026-0042", "subject_id": ulid}
        _, data = _emit(caplog, seclog.clear_read, **kwargs)
        assert data["subject_id"] == ulid
        assert data["purpose"] == "case 2026-0042"

    @settings(max_examples=300, deadline=None)
    @given(
        before=st.text(max_size=40),
        after=st.text(max_size=40),
        pii=st.sampled_from([ID_NUMBER, PHONE, "１３９１２３４５６７８", "86" + PHONE]),
    )
    def test_property_one_line_no_pii(self, before, after, pii):
        handler = _Collect()
        seclog.logger.addHandler(handler)
        try:
            seclog.access_denied(before + pii + after, "role", after, pii, before, "r")
        finally:
            seclog.logger.removeHandler(handler)
        (message,) = handler.messages
        assert len(message.splitlines()) == 1
        assert find_pii(message) == []
        data = json.loads(message)
        assert data["event"] == "access.denied"


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class TestCommonCase:
    """Plain values (printable ASCII, no backslash, fewer than 11 digits) skip the rules: the shortcut
    must give exactly what the rules give, and every other value must still go through them."""

    @settings(max_examples=1000, deadline=None)
    @given(
        text=st.text(st.sampled_from("ab Z09:._-+\\\n\t\u00e9\uff11\u2028"), max_size=40)
        | st.from_regex(r"[ -~]{0,30}", fullmatch=True)
        | st.text(max_size=30),
        limit=st.sampled_from([16, seclog.MAX_VALUE_CHARS]),
    )
    def test_shortcut_gives_what_the_rules_give(self, text, limit):
        assert seclog._sanitise(text, limit) == seclog._apply_rules(text, limit)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("key:abcdefghijkl", "key:abcdefghijkl"),
            ("tel 1391234567", "tel 1391234567"),  # 10 digits: nothing to mask
            ("tel 13912345678", "tel 139****5678"),  # 11: masked
            ("1 3 9 1 2 3 4 5 6 7 8", "139****5678"),  # a split run is still caught
            ("a\\b", "a\\\\b"),  # backslash escaped
        ],
    )
    def test_edges_of_the_shortcut(self, value, expected):
        assert seclog._sanitise(value) == expected

    @settings(max_examples=300, deadline=None)
    @given(values=st.lists(st.text(max_size=20), min_size=4, max_size=4))
    def test_line_is_compact_json_with_text_kept(self, values):
        handler = _Collect()
        seclog.logger.addHandler(handler)
        try:
            seclog.auth_success(*values)
        finally:
            seclog.logger.removeHandler(handler)
        (message,) = handler.messages
        assert message == json.dumps(json.loads(message), ensure_ascii=False, separators=(",", ":"))
