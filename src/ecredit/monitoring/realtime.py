"""Real-time checks at intake (DESIGN.md §5): rules run on each accepted batch and raise risk warnings.

Intake (floor 3) announces ``RecordsAccepted`` in the transaction that commits a batch's manifest rows;
``wiring.py`` subscribes ``handle`` to it. Each rule (a ``RealtimeCheck``) says which event and which
batches it reacts to, and returns findings; they are stored through the warning service
(``record_findings``: fingerprints, evidence, detector name and version, triage as for every warning),
in the same transaction, so a batch and its warnings commit together.

Rules are set-based over the batch's Arrow columns (pyarrow compute, or one DuckDB query over the batch
and the lake), never a Python loop over rows. A failing rule never refuses a batch: the failure is logged
(``ecredit.monitoring.realtime``) with the batch id, and the batch is accepted without that rule's
warnings. Another rule is one more class in ``CHECKS``: "a listed subject opening a shop" will react to
``subjects.events.ShopRegistered`` the same way once the lists land.

- ``realtime_track`` (``parcel_scans``): a scan before the parcel's pick-up, or a move between two scans
  faster than any road vehicle may go (``track_violations``, numpy over the columns; docs/monitoring.md). The
  parcel's earlier scans are read from the lake's committed ``parcel_scans`` files of the platform within
  ``realtime_track_window_days`` of the batch's dates, restricted to the batch's parcel ids.
- ``realtime_carrier`` (``parcels``): a courier company without a verified identity: its USCC is no
  registered logistics company, or the business register has no active entry for it.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from ecredit.analytics.lake import Lake
from ecredit.identifiers.geo import EARTH_RADIUS_KM, prefectures
from ecredit.intake.events import RecordsAccepted
from ecredit.intake.formats import SCAN_STATUSES
from ecredit.kit.events import DomainEvent
from ecredit.kit.policy import Policy, policy
from ecredit.monitoring import service
from ecredit.monitoring.findings import DetectorRun, Finding, Member, MemberRole, WarningKind
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects.models import SubjectKind
from ecredit.verification import repository as verification_repo

log = logging.getLogger("ecredit.monitoring.realtime")

ENGINE = "intake"  # the provenance "engine" of a real-time warning: it ran at intake, not in a monitor run
EXAMPLES = 5  # evidence entries kept in a warning's details


class RealtimeCheck:
    """A rule run on domain events as they are announced; subclasses set the class attributes."""

    name: ClassVar[str]  # the detector name of its warnings
    version: ClassVar[str]
    kind: ClassVar[WarningKind]
    event: ClassVar[type[DomainEvent]]
    parameter_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, rules: Policy | None = None) -> None:
        self.rules = rules or policy("monitoring")

    def applies(self, event: Any) -> bool:
        return True

    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: self.rules.value(k) for k in self.parameter_keys}
        out["policy"] = self.rules.ref
        return out

    def value(self, key: str) -> Any:
        return self.rules.value(key)

    def snapshot(self, event: Any) -> str:
        return getattr(event, "batch_id", "")

    def check(self, session: Session, event: Any) -> list[Finding]:
        raise NotImplementedError


def _local_dates(ts: pa.ChunkedArray | pa.Array, offset_hours: int) -> tuple[dt.date, dt.date]:
    shifted = pc.add(ts.cast(pa.timestamp("us", tz="UTC")), pa.scalar(dt.timedelta(hours=offset_hours)))
    bounds = pc.min_max(shifted)
    return bounds["min"].as_py().date(), bounds["max"].as_py().date()


_STATUSES = pa.array(SCAN_STATUSES, pa.string())
_local = threading.local()
_opened: list[Any] = []
_opened_lock = threading.Lock()


def _duckdb() -> Any:
    """This thread's DuckDB connection for reading earlier scans (opening one costs about 10 ms)."""
    con = getattr(_local, "con", None)
    if con is None:
        import duckdb

        con = duckdb.connect(config={"threads": 1})
        con.execute("SET TimeZone = 'UTC'")
        # Lake files never change once committed: their footers are read once per thread, not per batch.
        con.execute("SET parquet_metadata_cache = true")
        _local.con = con
        with _opened_lock:
            _opened.append(con)
    return con


@atexit.register
def _close_connections() -> None:
    """Close the threads' connections before the interpreter tears its threads down (DuckDB aborts the
    process when a connection is destroyed during that teardown)."""
    with _opened_lock:
        for con in _opened:
            with contextlib.suppress(Exception):
                con.close()
        _opened.clear()


@functools.cache
def _places() -> tuple[pa.Array, np.ndarray, np.ndarray]:
    rows = prefectures()
    codes = pa.array([p.code for p in rows], pa.string())
    return codes, np.radians([p.lat for p in rows]), np.radians([p.lon for p in rows])


def track_violations(
    scans: pa.Table, *, max_speed_kmh: float, slack_km: float, before_pickup_s: int
) -> list[dict[str, Any]]:
    """The offending scans among ``scans`` (parcel_id, scan_at, status, region_code, is_new), set-based.

    Scans are put in order per parcel (scan time, then status); a scan of the same key seen twice keeps
    the batch's version. A **leg** is two consecutive scans of a parcel: too fast when the straight-line
    distance between their prefectures' centroids, less ``slack_km``, needs more than ``max_speed_kmh``.
    A scan before pick-up: any other scan more than ``before_pickup_s`` earlier than the parcel's first
    pick-up. Only what involves a new scan (``is_new``) is returned, one dict per offending scan.
    """
    if not scans.num_rows:
        return []
    # Integer codes, sorted with numpy (a sort on the string columns cost ten times more).
    parcel_all = pc.dictionary_encode(scans["parcel_id"].combine_chunks()).indices.to_numpy(
        zero_copy_only=False
    )
    status_all = pc.index_in(scans["status"], value_set=_STATUSES).to_numpy(zero_copy_only=False)
    status_all = np.nan_to_num(status_all, nan=len(SCAN_STATUSES)).astype(np.int64)
    at_all = scans["scan_at"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    new_all = scans["is_new"].combine_chunks().to_numpy(zero_copy_only=False)
    order = np.lexsort((~new_all, status_all, at_all, parcel_all))  # the last key sorts first
    parcel, status_id, at, new = parcel_all[order], status_all[order], at_all[order], new_all[order]
    keep = np.ones(len(at), dtype=bool)  # one scan per (parcel, time, status): the first is the newest
    keep[1:] = ~((parcel[1:] == parcel[:-1]) & (at[1:] == at[:-1]) & (status_id[1:] == status_id[:-1]))
    if not keep.all():
        order, parcel, status_id, at, new = order[keep], parcel[keep], status_id[keep], at[keep], new[keep]
    n = len(at)
    same = np.zeros(n, dtype=bool)  # the scan before is of the same parcel
    same[1:] = parcel[1:] == parcel[:-1]
    group = np.cumsum(~same) - 1
    pickup = status_id == SCAN_STATUSES.index("picked_up")
    never = np.iinfo(np.int64).max
    picked_at = np.full(group[-1] + 1, never, dtype=np.int64)
    np.minimum.at(picked_at, group[pickup], at[pickup])
    pickup_new = np.zeros(group[-1] + 1, dtype=bool)
    np.logical_or.at(pickup_new, group[pickup], new[pickup])
    first_pickup = picked_at[group]
    early = ~pickup & (first_pickup != never) & (first_pickup - at > before_pickup_s * 1_000_000)
    early &= new | pickup_new[group]

    codes, lat, lon = _places()
    prefecture = pc.binary_join_element_wise(pc.utf8_slice_codeunits(scans["region_code"], 0, 4), "00", "")
    place_all = pc.index_in(prefecture, codes).to_numpy(zero_copy_only=False)  # NaN: not in the table
    place = place_all[order]
    known = ~np.isnan(place)
    idx = np.where(known, place, 0).astype(np.int64)
    la, lo = lat[idx], lon[idx]
    km = np.zeros(n)
    hours = np.zeros(n)
    leg = same.copy()
    leg[1:] &= known[1:] & known[:-1] & (new[1:] | new[:-1])
    if leg.any():
        dlat, dlon = la[1:] - la[:-1], lo[1:] - lo[:-1]
        h = np.sin(dlat / 2) ** 2 + np.cos(la[:-1]) * np.cos(la[1:]) * np.sin(dlon / 2) ** 2
        km[1:] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
        hours[1:] = (at[1:] - at[:-1]) / 3.6e9
    fast = leg & (km - slack_km > max_speed_kmh * hours)
    rows = np.flatnonzero(early | fast)
    if not len(rows):
        return []
    picked = scans.take(pa.array(order[rows])).to_pydict()  # offending scans only: column by column
    prev = scans.take(pa.array(order[np.maximum(rows - 1, 0)])).select(["scan_at", "region_code"]).to_pydict()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return [
        {
            "parcel_id": picked["parcel_id"][j],
            "scan_at": picked["scan_at"][j],
            "status": picked["status"][j],
            "region_code": picked["region_code"][j],
            "prev_at": prev["scan_at"][j],
            "prev_region": prev["region_code"][j],
            "picked_up_at": (
                epoch + dt.timedelta(microseconds=int(first_pickup[i])) if first_pickup[i] != never else None
            ),
            "km": float(km[i]),
            "hours": float(hours[i]),
            "before_pickup": bool(early[i]),
            "too_fast": bool(fast[i]),
        }
        for j, i in enumerate(rows.tolist())
    ]


class TrackCheck(RealtimeCheck):
    name: ClassVar[str] = "realtime_track"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[WarningKind] = WarningKind.impossible_track
    event: ClassVar[type[DomainEvent]] = RecordsAccepted
    parameter_keys: ClassVar[tuple[str, ...]] = (
        "realtime_max_speed_kmh",
        "realtime_region_slack_km",
        "realtime_track_window_days",
        "realtime_before_pickup_slack_minutes",
    )
    COLUMNS: ClassVar[tuple[str, ...]] = ("parcel_id", "scan_at", "status", "region_code")

    def applies(self, event: RecordsAccepted) -> bool:
        return event.kind == "parcel_scans" and event.records.num_rows > 0

    def earlier_files(self, session: Session, event: RecordsAccepted) -> list[str]:
        """The committed parcel_scans files of the platform within the window of the batch's dates."""
        first, last = _local_dates(event.records.column("scan_at"), int(self.value("local_utc_offset")))
        window = dt.timedelta(days=int(self.value("realtime_track_window_days")))
        dates = (first - window, last + window)
        return Lake(event.lake_root).committed_paths(
            session, "parcel_scans", event.platform, dates, except_batch=event.batch_id
        )

    def earlier_scans(self, session: Session, event: RecordsAccepted) -> pa.Table | None:
        """The lake's committed scans of the batch's parcels within the window (None: no file to read)."""
        paths = self.earlier_files(session, event)
        if not paths:
            return None
        con = _duckdb()
        batch = event.records.select(["parcel_id"])
        bounds = pc.min_max(batch["parcel_id"])
        con.register("ecredit_batch_parcels", batch)
        try:
            columns = ", ".join(self.COLUMNS)
            # The range lets DuckDB skip files by their min/max statistics of parcel_id (the record key).
            sql = (
                f"SELECT {columns} FROM {Lake.source_sql(paths, path_columns=False)} "  # noqa: S608 (see source_sql)
                "WHERE parcel_id BETWEEN $lo AND $hi "
                "AND parcel_id IN (SELECT parcel_id FROM ecredit_batch_parcels)"
            )
            params = {"lo": bounds["min"].as_py(), "hi": bounds["max"].as_py()}
            return con.sql(sql, params=params).to_arrow_table()
        finally:
            con.unregister("ecredit_batch_parcels")

    def legs(self, session: Session, event: RecordsAccepted) -> list[dict[str, Any]]:
        """The offending scans of the batch's parcels: a scan before pick-up or the end of a too-fast leg."""
        schema = pa.schema(
            [
                ("parcel_id", pa.string()),
                ("scan_at", pa.timestamp("us", tz="UTC")),
                ("status", pa.string()),
                ("region_code", pa.string()),
            ]
        )
        batch = event.records.select(list(self.COLUMNS)).cast(schema)
        earlier = self.earlier_scans(session, event)
        parts = [batch.append_column("is_new", pa.repeat(pa.scalar(True), batch.num_rows))]
        if earlier is not None and earlier.num_rows:
            earlier = earlier.cast(schema)
            parts.append(earlier.append_column("is_new", pa.repeat(pa.scalar(False), earlier.num_rows)))
        return track_violations(
            pa.concat_tables(parts),
            max_speed_kmh=float(self.value("realtime_max_speed_kmh")),
            slack_km=float(self.value("realtime_region_slack_km")),
            before_pickup_s=60 * int(self.value("realtime_before_pickup_slack_minutes")),
        )

    def check(self, session: Session, event: RecordsAccepted) -> list[Finding]:
        found = self.legs(session, event)
        if not found:
            return []
        max_kmh = float(self.value("realtime_max_speed_kmh"))
        by_parcel: dict[str, list[dict[str, Any]]] = {}
        for row in found:  # offending scans only: few, whatever the batch's size
            by_parcel.setdefault(row["parcel_id"], []).append(row)
        out = []
        for parcel_id, rows in sorted(by_parcel.items()):
            early = [r for r in rows if r["before_pickup"]]
            fast = [r for r in rows if r["too_fast"]]
            words = []
            if early:
                words.append(f"{len(early)} scan(s) more than the allowed minutes before its pick-up")
            if fast:
                worst = max(fast, key=lambda r: r["km"] / max(r["hours"], 1e-9))
                words.append(
                    f"a move of {worst['km']:.0f} km from {worst['prev_region']} to {worst['region_code']} "
                    f"in {worst['hours']:.2f} h"
                    + (f" ({len(fast)} such moves)" if len(fast) > 1 else "")
                    + f", where {max_kmh:.0f} km/h allows no more than "
                    f"{float(self.value('realtime_region_slack_km')):.0f} km + {max_kmh:.0f} km/h x the hours"
                )
            out.append(
                Finding(
                    kind=self.kind,
                    platform=event.platform,
                    score=float(len(early) + len(fast)),
                    confidence=0.9 if fast else 0.7,  # a scanner's clock can be wrong; a distance cannot
                    summary=f"parcel {parcel_id}: " + "; ".join(words),
                    members=[Member(MemberRole.object, event.platform, parcel_id, "parcels")],
                    details={
                        "parcel_id": parcel_id,
                        "batch_id": event.batch_id,
                        "scans_before_pickup": [
                            {
                                "status": r["status"],
                                "scan_at": r["scan_at"].isoformat(),
                                "region_code": r["region_code"],
                                "picked_up_at": r["picked_up_at"].isoformat(),
                            }
                            for r in early[:EXAMPLES]
                        ],
                        "impossible_moves": [
                            {
                                "from_region": r["prev_region"],
                                "to_region": r["region_code"],
                                "from_at": r["prev_at"].isoformat(),
                                "to_at": r["scan_at"].isoformat(),
                                "km": round(r["km"], 1),
                                "hours": round(r["hours"], 3),
                            }
                            for r in fast[:EXAMPLES]
                        ],
                    },
                )
            )
        return out


class CarrierCheck(RealtimeCheck):
    name: ClassVar[str] = "realtime_carrier"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[WarningKind] = WarningKind.unverified_carrier
    event: ClassVar[type[DomainEvent]] = RecordsAccepted

    def applies(self, event: RecordsAccepted) -> bool:
        return event.kind == "parcels" and event.records.num_rows > 0

    def parameters(self) -> dict[str, Any]:
        out = super().parameters()
        out["active_register_statuses"] = list(policy("verification").value("active_register_statuses"))
        out["verification_policy"] = policy("verification").ref
        return out

    def unverified(self, session: Session, usccs: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """USCC -> (why its identity is not verified, its register status) for those not verified."""
        active = frozenset(policy("verification").value("active_register_statuses"))
        subjects = subjects_repo.subjects_by_usccs(session, usccs)
        entries = verification_repo.register_entries_by_uscc(session, usccs)
        out: dict[str, tuple[str, str | None]] = {}
        for uscc in usccs:
            subject, entry = subjects.get(uscc), entries.get(uscc)
            status = entry.status if entry is not None else None
            if subject is None:
                out[uscc] = ("not_registered", status)
            elif subject.kind != SubjectKind.logistics_company:
                out[uscc] = ("not_a_logistics_company", status)
            elif entry is None:
                out[uscc] = ("no_register_entry", None)
            elif entry.status not in active:
                out[uscc] = ("register_inactive", status)
        return out

    def check(self, session: Session, event: RecordsAccepted) -> list[Finding]:
        carriers = event.records.column("carrier_uscc")
        counts = pc.value_counts(carriers).to_pylist()
        by_uscc = {c["values"]: c["counts"] for c in counts if c["values"] is not None}
        bad = self.unverified(session, sorted(by_uscc))
        if not bad:
            return []
        words = {
            "not_registered": "is not registered as a subject",
            "not_a_logistics_company": "is registered, but not as a logistics company",
            "no_register_entry": "has no entry in the business register",
            "register_inactive": "is not active in the business register",
        }
        out = []
        for uscc, (why, status) in sorted(bad.items()):
            mask = pc.equal(carriers, pa.scalar(uscc, pa.string()))
            examples = event.records.filter(mask).column("parcel_id").slice(0, EXAMPLES).to_pylist()
            n = by_uscc[uscc]
            out.append(
                Finding(
                    kind=self.kind,
                    platform=event.platform,
                    score=float(n),
                    confidence=0.9 if why in ("not_registered", "register_inactive") else 0.7,
                    summary=(
                        f"{n} parcel(s) of batch {event.batch_id} went to courier company {uscc}, which "
                        f"{words[why]}{f' (status {status})' if status else ''}: no verified identity"
                    ),
                    members=[Member(MemberRole.object, event.platform, uscc, "carriers")],
                    details={
                        "carrier_uscc": uscc,
                        "reason": why,
                        "register_status": status,
                        "batch_id": event.batch_id,
                        "parcels": n,
                        "example_parcels": examples,
                    },
                )
            )
        return out


CHECKS: tuple[type[RealtimeCheck], ...] = (TrackCheck, CarrierCheck)
EVENTS: tuple[type[DomainEvent], ...] = tuple(dict.fromkeys(c.event for c in CHECKS))


def handle(session: Session, event: DomainEvent) -> None:
    """Run the rules that apply to the event; store their findings as warnings, in the event's transaction."""
    for cls in CHECKS:
        if not isinstance(event, cls.event):
            continue
        rule = cls()
        if not rule.applies(event):
            continue
        try:
            findings = rule.check(session, event)
        except Exception:
            log.exception("real-time check %s failed on batch %s", cls.name, rule.snapshot(event))
            continue
        if not findings:
            continue
        run = DetectorRun(
            detector=cls.name,
            version=cls.version,
            engine=ENGINE,
            snapshot=rule.snapshot(event),
            parameters=rule.parameters(),
        )
        try:
            with session.begin_nested():  # a failure leaves the batch's own writes as they were
                service.record_findings(session, run, findings)
        except Exception:
            log.exception("real-time check %s could not record warnings of batch %s", cls.name, run.snapshot)
