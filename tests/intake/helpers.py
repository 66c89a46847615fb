"""Small hand-made records of every kind, and helpers to read what the lake holds."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

PHONES = ["13812345678", "15987654321"]
ID_NUMBERS = ["11010519491231002X", "370102199003071238"]
PAYER_REFS = ["6222021234567890123", "6288609251588479922"]


def order(n: int, shop: str = "S-1", **overrides: Any) -> dict[str, Any]:
    record = {
        "order_id": f"O-{n}",
        "shop_id": shop,
        "buyer_id": f"u{n % 7}",
        "listing_id": f"L-{n % 5}",
        "gtin": "6901234567892",
        "quantity": 1 + n % 3,
        "amount_cents": 1000 + n,
        "ordered_at": f"2024-01-{1 + n % 28:02d}T10:21:00+08:00",
        "paid_at": f"2024-01-{1 + n % 28:02d}T10:22:00+08:00",
        "status": "delivered",
        "ship_to_region": "370102",
    }
    return record | overrides


def account(n: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "account_id": f"A-{n}",
        "registered_at": "2020-05-01T08:00:00+08:00",
        "region_code": "370102",
        "phone": PHONES[n % 2],
        "id_number": ID_NUMBERS[n % 2],
        "device_id": f"dev{n}",
    }
    return record | overrides


def payment(n: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "payment_id": f"P-{n}",
        "order_id": f"O-{n}",
        "payer_ref": PAYER_REFS[n % 2],
        "method": "alipay",
        "amount_cents": 1000 + n,
        "paid_at": "2024-01-02T10:22:00+08:00",
        "refund_cents": None,
        "refunded_at": None,
    }
    return record | overrides


def review(n: int, shop: str = "S-1", **overrides: Any) -> dict[str, Any]:
    record = {
        "review_id": f"R-{n}",
        "order_id": f"O-{n}",
        "shop_id": shop,
        "buyer_id": f"u{n}",
        "rating": 5,
        "text": "很好，五星好评",
        "reviewed_at": "2024-01-05T20:47:32+08:00",
        "kind": "initial",
    }
    return record | overrides


def write_csv(path: Path, records: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    columns = columns or list(records[0])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({k: "" if r.get(k) is None else r.get(k) for k in columns})
    return path


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_rejects(path: Path) -> list[dict[str, str]]:
    rejects = path.with_name(path.name + ".rejects.csv")
    if not rejects.exists():
        return []
    with rejects.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
