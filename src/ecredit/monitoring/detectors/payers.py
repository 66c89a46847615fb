"""``shared_payer``: one payer reference behind many buyer accounts (代付 farms, bought identities,
ring organisers).

Payers are grouped by the vault's blind index of ``payer_ref`` (the clear reference is never read); a payer
that paid for at least ``shared_payer_min_accounts`` accounts is one finding with those accounts as members
and
its payments as evidence. Devices the accounts share are reported in the details.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

from ecredit.analytics.engine import Engine
from ecredit.monitoring.detectors.base import Detector, Progress, sql
from ecredit.monitoring.findings import Finding, Member, MemberRole, WarningKind


class SharedPayer(Detector):
    name: ClassVar[str] = "shared_payer"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[WarningKind] = WarningKind.shared_payer
    lake_kinds: ClassVar[tuple[str, ...]] = ("payments", "orders", "accounts")
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "payments": ("payment_id", "order_id", "payer_ref_bidx"),
        "orders": ("order_id", "shop_id", "buyer_id"),
        "accounts": ("account_id", "device_id"),
    }
    parameter_keys: ClassVar[tuple[str, ...]] = ("shared_payer_min_accounts",)

    def run(self, engine: Engine, progress: Progress | None = None) -> list[Finding]:
        minimum = int(self.value("shared_payer_min_accounts"))
        engine.run("shared_payers", sql("payers/shared.sql"), min_accounts=minimum)
        payers: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for batch in engine.batches("shared_payers"):
            for row in batch.to_pylist():
                payers[(row["platform"], row["payer_ref_bidx"])].append(row)
        if progress:
            progress(f"{len(payers)} payers behind {minimum}+ accounts")
        out = []
        for (platform, bidx), rows in sorted(payers.items()):
            accounts = sorted({r["buyer_id"] for r in rows})
            payments = sorted({r["payment_id"] for r in rows})
            devices = Counter(r["device_id"] for r in rows if r["device_id"])
            device_accounts: dict[str, set[str]] = defaultdict(set)
            for r in rows:
                if r["device_id"]:
                    device_accounts[r["device_id"]].add(r["buyer_id"])
            shared_devices = {d: len(a) for d, a in device_accounts.items() if len(a) > 1}
            members = [Member(MemberRole.account, platform, a) for a in accounts]
            members += [Member(MemberRole.object, platform, p, "payments") for p in payments]
            out.append(
                Finding(
                    kind=self.kind,
                    platform=platform,
                    score=float(len(accounts)),
                    confidence=round(min(0.99, 1.0 - (minimum - 1) / len(accounts) * 0.5), 3),
                    summary=(
                        f"one payer paid {len(payments)} payments for {len(accounts)} "
                        "different buyer accounts"
                        + (f"; {len(shared_devices)} devices are shared among them" if shared_devices else "")
                    ),
                    members=members,
                    details={
                        "payer_blind_index": bidx[:8] + "…",
                        "accounts": len(accounts),
                        "payments": len(payments),
                        "shops": int(rows[0]["shops"]),
                        "shared_devices": len(shared_devices),
                        "devices_seen": len(devices),
                    },
                )
            )
        return out
