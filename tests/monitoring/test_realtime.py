"""Real-time checks at intake: batches of parcels and parcel scans raise risk warnings as they are accepted.

Intake announces ``RecordsAccepted`` in the transaction that commits the batch; the application's wiring
subscribes the checks (``monitoring/realtime.py``). These tests go through the real REST route and the real
file intake, and read the warnings through the warnings API and service.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ecredit.analytics.lake import Lake
from ecredit.monitoring.models import RiskWarning
from ecredit.monitoring.realtime import track_violations
from ecredit.security.audit import AuditEntry
from tests.builders import make_platform, make_register_entry, make_shop, make_subject, uscc
from tests.intake.helpers import write_csv

UNREGISTERED = uscc("370202")


def parcel(n: int, carrier: str, **overrides) -> dict:
    record = {
        "parcel_id": f"TS{n:012d}",
        "order_id": f"O-{n}",
        "carrier_uscc": carrier,
        "weight_grams": 500,
        "ship_from_region": "370102",
        "ship_to_region": "371002",
        "created_at": "2024-01-02T09:00:00+08:00",
    }
    return record | overrides


def scan(parcel_id: str, at: str, status: str, region: str) -> dict:
    return {
        "parcel_id": parcel_id,
        "scan_at": at,
        "status": status,
        "region_code": region,
        "courier_id": "C-1",
    }


# Jinan (370102) to Weihai (371002): about 430 km in a straight line; Jinan to Zibo (370303): about 90 km.
HONEST = [
    scan("P-OK", "2024-01-02T10:00:00+08:00", "picked_up", "370102"),
    scan("P-OK", "2024-01-02T13:00:00+08:00", "in_transit", "370100"),
    scan("P-OK", "2024-01-03T09:00:00+08:00", "in_transit", "371000"),
    scan("P-OK", "2024-01-03T15:00:00+08:00", "signed", "371002"),
]
NEAR_AND_FAST = [  # 90 km in 20 minutes: within the slack of two neighbouring prefectures
    scan("P-NEAR", "2024-01-02T10:00:00+08:00", "picked_up", "370102"),
    scan("P-NEAR", "2024-01-02T10:20:00+08:00", "signed", "370303"),
]
EARLY = [  # an out-for-delivery scan two hours before the pick-up
    scan("P-EARLY", "2024-01-02T08:00:00+08:00", "out_for_delivery", "370102"),
    scan("P-EARLY", "2024-01-02T10:00:00+08:00", "picked_up", "370102"),
]


@pytest.fixture
def platform(session):
    p = make_platform(session, code="qilu")
    make_shop(session, platform=p, platform_shop_id="S-1")
    return p


@pytest.fixture
def carriers(session):
    """A verified logistics company, one struck off the register, and an organisation that is no carrier."""
    verified = make_subject(session, kind="logistics_company", name="齐鲁速递有限公司")
    make_register_entry(session, verified, status="存续")
    struck_off = make_subject(session, kind="logistics_company", name="渤海速达有限公司")
    make_register_entry(session, struck_off, status="注销")
    trader = make_subject(session, kind="organisation")
    make_register_entry(session, trader)
    return {"verified": verified.uscc, "struck_off": struck_off.uscc, "trader": trader.uscc}


@pytest.fixture
def api(client_as, platform):
    return client_as("platform", platform=platform)


def post(client, kind, records, key):
    return client.post(f"/api/v1/intake/{kind}", json=records, headers={"Idempotency-Key": key})


def warnings_of(client, kind: str) -> list[dict]:
    items = client.get("/api/v1/warnings", params={"kind": kind}).json()["items"]
    return [client.get(f"/api/v1/warnings/{w['id']}").json() for w in items]


class TestCarrierCheck:
    def test_parcels_of_carriers_without_a_verified_identity_raise_one_warning_each(
        self, api, client, carriers
    ):
        records = [parcel(i, carriers["verified"]) for i in range(4)]
        records += [parcel(10 + i, UNREGISTERED) for i in range(3)]
        records += [parcel(20, carriers["struck_off"]), parcel(21, carriers["trader"])]
        r = post(api, "parcels", records, "p-1")
        assert r.status_code == 201, r.text
        batch = r.json()["batch_id"]

        found = {w["details"]["carrier_uscc"]: w for w in warnings_of(client, "unverified_carrier")}
        assert set(found) == {UNREGISTERED, carriers["struck_off"], carriers["trader"]}
        unregistered = found[UNREGISTERED]
        assert unregistered["detector"] == "realtime_carrier" and unregistered["detector_version"] == "1.0"
        assert (unregistered["engine"], unregistered["snapshot"], unregistered["platform"]) == (
            "intake",
            batch,
            "qilu",
        )
        assert unregistered["details"] == {
            "carrier_uscc": UNREGISTERED,
            "reason": "not_registered",
            "register_status": None,
            "batch_id": batch,
            "parcels": 3,
            "example_parcels": ["TS000000000010", "TS000000000011", "TS000000000012"],
        }
        assert unregistered["score"] == 3.0 and unregistered["status"] == "open"
        assert [(m["role"], m["object_kind"], m["ref"]) for m in unregistered["members"]] == [
            ("object", "carriers", UNREGISTERED)
        ]
        assert found[carriers["struck_off"]]["details"]["reason"] == "register_inactive"
        assert found[carriers["struck_off"]]["details"]["register_status"] == "注销"
        assert found[carriers["trader"]]["details"]["reason"] == "not_a_logistics_company"

    def test_a_later_batch_refreshes_the_warning_and_triage_works(self, api, client, carriers):
        assert post(api, "parcels", [parcel(1, UNREGISTERED)], "p-1").status_code == 201
        second = post(api, "parcels", [parcel(2, UNREGISTERED), parcel(3, UNREGISTERED)], "p-2")
        (warning,) = warnings_of(client, "unverified_carrier")
        assert warning["seen_count"] == 2 and warning["snapshot"] == second.json()["batch_id"]
        assert warning["details"]["parcels"] == 2
        confirmed = client.post(f"/api/v1/warnings/{warning['id']}/confirm", json={"reason": "no licence"})
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
        post(api, "parcels", [parcel(4, UNREGISTERED)], "p-3")
        (again,) = warnings_of(client, "unverified_carrier")
        assert (again["status"], again["seen_count"]) == ("confirmed", 3)

    def test_verified_carriers_replays_and_refused_batches_raise_nothing(
        self, api, client, session, carriers
    ):
        assert post(api, "parcels", [parcel(1, carriers["verified"])], "p-1").status_code == 201
        assert warnings_of(client, "unverified_carrier") == []
        assert post(api, "parcels", [parcel(2, UNREGISTERED)], "p-2").status_code == 201
        replay = post(api, "parcels", [parcel(2, UNREGISTERED)], "p-2")
        assert replay.headers.get("Idempotent-Replayed") == "true"
        refused = post(api, "parcels", [parcel(3, UNREGISTERED), parcel(4, "nope")], "p-3")
        assert refused.status_code == 422
        (warning,) = warnings_of(client, "unverified_carrier")
        assert warning["seen_count"] == 1
        records = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "warnings.record")
        )
        assert records == 1  # one recording, audited, for the one batch that found something

    def test_a_platform_does_not_see_warnings_about_no_shop_or_account(self, api, carriers):
        assert post(api, "parcels", [parcel(1, UNREGISTERED)], "p-1").status_code == 201
        assert api.get("/api/v1/warnings").json()["items"] == []


class TestTrackCheck:
    def test_a_move_faster_than_any_vehicle_across_batches(self, api, client):
        first = [scan("P-FAST", "2024-01-02T10:00:00+08:00", "picked_up", "370102"), *HONEST[:2]]
        assert post(api, "parcel_scans", first, "s-1").status_code == 201
        assert warnings_of(client, "impossible_track") == []  # nothing is wrong yet
        second = [
            scan("P-FAST", "2024-01-02T11:00:00+08:00", "signed", "371002"),
            *HONEST[2:],
            *NEAR_AND_FAST,
        ]
        r = post(api, "parcel_scans", second, "s-2")
        assert r.status_code == 201, r.text

        (warning,) = warnings_of(client, "impossible_track")
        assert warning["detector"] == "realtime_track" and warning["snapshot"] == r.json()["batch_id"]
        assert [(m["object_kind"], m["ref"]) for m in warning["members"]] == [("parcels", "P-FAST")]
        (move,) = warning["details"]["impossible_moves"]
        assert (move["from_region"], move["to_region"], move["hours"]) == ("370102", "371002", 1.0)
        assert 400 < move["km"] < 460
        assert warning["details"]["scans_before_pickup"] == []
        assert warning["confidence"] == 0.9 and "P-FAST" in warning["summary"]

    def test_a_scan_before_the_pick_up(self, api, client):
        assert post(api, "parcel_scans", EARLY + HONEST, "s-1").status_code == 201
        (warning,) = warnings_of(client, "impossible_track")
        assert warning["members"][0]["ref"] == "P-EARLY"
        assert warning["details"]["scans_before_pickup"] == [
            {
                "status": "out_for_delivery",
                "scan_at": "2024-01-02T00:00:00+00:00",
                "region_code": "370102",
                "picked_up_at": "2024-01-02T02:00:00+00:00",
            }
        ]
        assert warning["confidence"] == 0.7

    def test_a_late_pick_up_scan_shows_the_earlier_scans_before_it(self, api, client):
        assert post(api, "parcel_scans", EARLY[:1], "s-1").status_code == 201
        assert warnings_of(client, "impossible_track") == []
        assert post(api, "parcel_scans", EARLY[1:], "s-2").status_code == 201
        (warning,) = warnings_of(client, "impossible_track")
        assert len(warning["details"]["scans_before_pickup"]) == 1

    def test_a_failing_check_is_logged_and_the_batch_accepted(self, api, client, session, caplog):
        assert post(api, "parcel_scans", HONEST[:2], "s-1").status_code == 201
        for f in Lake.active_files(session, "parcel_scans"):  # the lake lost the earlier batch's file
            Path(Lake().root / f.path).unlink()
        with caplog.at_level(logging.ERROR, logger="ecredit.monitoring.realtime"):
            r = post(api, "parcel_scans", HONEST[2:], "s-2")
        assert r.status_code == 201, r.text
        assert "real-time check realtime_track failed on batch " + r.json()["batch_id"] in caplog.text
        assert warnings_of(client, "impossible_track") == []


class TestFileIntake:
    def test_an_ingested_scans_file_raises_the_same_warnings(self, isolated_store, tmp_path):
        from ecredit import db, migrate
        from ecredit.cli import app

        migrate.upgrade(db.get_engine())
        with db.session_scope() as session:
            make_platform(session, code="qilu")
        path = write_csv(tmp_path / "parcel_scans.csv", EARLY + HONEST + NEAR_AND_FAST)
        result = CliRunner().invoke(app, ["ingest", str(path), "--platform", "qilu"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        with db.session_scope(read_only=True) as session:
            rows = session.execute(select(RiskWarning.detector, RiskWarning.kind, RiskWarning.summary)).all()
        assert [(d, k) for d, k, _ in rows] == [("realtime_track", "impossible_track")]
        assert rows[0][2].startswith("parcel P-EARLY: 1 scan(s)")


def _scans(*rows: tuple[str, str, str, str, bool]) -> pa.Table:
    return pa.table(
        {
            "parcel_id": [r[0] for r in rows],
            "scan_at": pa.array(
                [dt.datetime.fromisoformat(r[1]) for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "status": [r[2] for r in rows],
            "region_code": [r[3] for r in rows],
            "is_new": [r[4] for r in rows],
        }
    )


def _violations(table: pa.Table) -> list[tuple[str, str, bool, bool]]:
    found = track_violations(table, max_speed_kmh=120.0, slack_km=100.0, before_pickup_s=600)
    return [(f["parcel_id"], f["status"], f["before_pickup"], f["too_fast"]) for f in found]


class TestTrackViolations:
    """The set-based rule itself, on hand-built columns."""

    def test_only_what_involves_a_new_scan_is_reported(self):
        table = _scans(
            ("A", "2024-01-02T02:00:00+00:00", "picked_up", "370102", False),
            (
                "A",
                "2024-01-02T03:00:00+00:00",
                "in_transit",
                "371002",
                False,
            ),  # old and too fast: reported before
            ("A", "2024-01-02T20:00:00+00:00", "signed", "371002", True),
            ("B", "2024-01-02T02:00:00+00:00", "picked_up", "370102", False),
            ("B", "2024-01-02T03:00:00+00:00", "signed", "371002", True),
        )
        assert _violations(table) == [("B", "signed", False, True)]

    def test_out_of_order_batches_unknown_regions_and_the_clock_slack(self):
        table = _scans(
            ("C", "2024-01-02T05:00:00+00:00", "signed", "110101", True),  # Beijing: no coordinates here
            ("C", "2024-01-02T04:55:00+00:00", "picked_up", "370102", True),
            ("D", "2024-01-02T01:55:00+00:00", "in_transit", "370102", True),  # 5 minutes early: a clock
            ("D", "2024-01-02T02:00:00+00:00", "picked_up", "370102", False),
            (
                "E",
                "2024-01-02T01:00:00+00:00",
                "in_transit",
                "370102",
                True,
            ),  # an hour before a later pick-up
            ("E", "2024-01-02T02:00:00+00:00", "picked_up", "370102", False),
        )
        assert _violations(table) == [("E", "in_transit", True, False)]

    def test_a_key_sent_twice_keeps_the_batch_version(self):
        table = _scans(
            ("F", "2024-01-02T02:00:00+00:00", "picked_up", "370102", False),
            ("F", "2024-01-02T03:00:00+00:00", "signed", "370102", False),
            ("F", "2024-01-02T03:00:00+00:00", "signed", "371002", True),  # corrected: Weihai, an hour later
        )
        assert _violations(table) == [("F", "signed", False, True)]
