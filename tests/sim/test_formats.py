"""Every file in the record formats v1: columns, required cells, types, timestamps, identifiers."""

from __future__ import annotations

import re

import pytest

from ecredit.identifiers import check_gtin, check_region, check_ric, check_uscc
from ecredit.subjects.importer import SHOP_COLUMNS
from ecredit.verification.register import COLUMNS as REGISTER_COLUMNS
from tests.sim.conftest import ts

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")
CJK = re.compile(r"[\u4e00-\u9fff]")

# column -> (required, type) per kind; type: id, ts, int, region, gtin, enum:<a|b>, text, phone, ric
SPEC = {
    "accounts": {
        "account_id": (True, "id"),
        "registered_at": (True, "ts"),
        "region_code": (True, "region"),
        "phone": (False, "phone"),
        "id_number": (False, "ric"),
        "device_id": (False, "id"),
    },
    "listings": {
        "listing_id": (True, "id"),
        "shop_id": (True, "id"),
        "gtin": (False, "gtin"),
        "title": (True, "text"),
        "category": (True, "text"),
        "price_cents": (True, "int"),
        "listed_at": (True, "ts"),
        "delisted_at": (False, "ts"),
    },
    "orders": {
        "order_id": (True, "id"),
        "shop_id": (True, "id"),
        "buyer_id": (True, "id"),
        "listing_id": (False, "id"),
        "gtin": (False, "gtin"),
        "quantity": (True, "int"),
        "amount_cents": (True, "int"),
        "ordered_at": (True, "ts"),
        "paid_at": (False, "ts"),
        "status": (True, "enum:created|paid|shipped|delivered|refunded|cancelled"),
        "ship_to_region": (True, "region"),
    },
    "payments": {
        "payment_id": (True, "id"),
        "order_id": (True, "id"),
        "payer_ref": (True, "id"),
        "method": (True, "enum:alipay|wechat_pay|unionpay|platform_wallet"),
        "amount_cents": (True, "int"),
        "paid_at": (True, "ts"),
        "refund_cents": (False, "int"),
        "refunded_at": (False, "ts"),
    },
    "parcels": {
        "parcel_id": (True, "id"),
        "order_id": (True, "id"),
        "carrier_uscc": (True, "uscc"),
        "weight_grams": (True, "int"),
        "ship_from_region": (True, "region"),
        "ship_to_region": (True, "region"),
        "created_at": (True, "ts"),
    },
    "parcel_scans": {
        "parcel_id": (True, "id"),
        "scan_at": (True, "ts"),
        "status": (True, "enum:picked_up|in_transit|out_for_delivery|signed|returned|exception"),
        "region_code": (True, "region"),
        "courier_id": (False, "id"),
    },
    "reviews": {
        "review_id": (True, "id"),
        "order_id": (True, "id"),
        "shop_id": (True, "id"),
        "buyer_id": (True, "id"),
        "rating": (True, "enum:1|2|3|4|5"),
        "text": (True, "text"),
        "reviewed_at": (True, "ts"),
        "kind": (True, "enum:initial|follow_up"),
    },
}
ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
PHONE = re.compile(r"1[3-9]\d{9}")
_checked: dict[tuple[str, str], bool] = {}


def _valid(kind: str, value: str) -> bool:
    if kind == "id":
        return bool(ID.fullmatch(value))
    if kind == "ts":
        return bool(TIMESTAMP.fullmatch(value)) and ts(value).utcoffset().total_seconds() == 8 * 3600
    if kind == "int":
        return value.isdigit()
    if kind == "text":
        return bool(value) and "\n" not in value
    if kind == "phone":
        return bool(PHONE.fullmatch(value))
    if kind.startswith("enum:"):
        return value in kind[5:].split("|")
    key = (kind, value)
    if key not in _checked:
        if kind == "region":
            result = check_region(value)
            _checked[key] = result.valid and not result.warnings and value.startswith("37")
        elif kind == "gtin":
            _checked[key] = check_gtin(value).valid and len(value) == 13 and 690 <= int(value[:3]) <= 699
        elif kind == "ric":
            _checked[key] = check_ric(value).valid and len(value) == 18
        elif kind == "uscc":
            _checked[key] = check_uscc(value).valid
        else:
            raise AssertionError(kind)
    return _checked[key]


@pytest.mark.parametrize("kind", list(SPEC))
def test_event_files_follow_the_record_format(province, kind):
    spec = SPEC[kind]
    for p in province.platforms:
        rel = f"{p}/{kind}.csv"
        assert province.header(rel) == list(spec), rel
        rows = province.rows(rel)
        assert rows, rel
        for i, row in enumerate(rows):
            for col, (required, typ) in spec.items():
                value = row[col]
                if not value:
                    assert not required, f"{rel} row {i + 1}: {col} is required"
                    continue
                assert _valid(typ, value), f"{rel} row {i + 1}: {col}={value!r} is not a valid {typ}"


def test_optional_columns_are_sometimes_empty_and_sometimes_not(province):
    for kind, col in [
        ("accounts", "phone"),
        ("accounts", "id_number"),
        ("accounts", "device_id"),
        ("listings", "gtin"),
        ("listings", "delisted_at"),
        ("orders", "gtin"),
        ("orders", "paid_at"),
        ("payments", "refund_cents"),
        ("parcel_scans", "courier_id"),
    ]:
        values = [r[col] for _, r in province.all(kind)]
        assert any(values) and not all(values), (kind, col)


def test_identifiers_are_unique(province):
    for kind, col in [
        ("accounts", "account_id"),
        ("listings", "listing_id"),
        ("orders", "order_id"),
        ("payments", "payment_id"),
        ("parcels", "parcel_id"),
        ("reviews", "review_id"),
    ]:
        values = [r[col] for _, r in province.all(kind)]
        assert len(values) == len(set(values)), (kind, col)
    for col in ("phone", "id_number"):
        values = [r[col] for _, r in province.all("accounts") if r[col]]
        assert len(values) == len(set(values)), col
    uscc = [r["uscc"] for r in province.rows("register.csv")]
    assert len(uscc) == len(set(uscc))


def test_register_and_shops_use_the_registry_import_formats(province):
    assert set(province.header("register.csv")) == set(REGISTER_COLUMNS)
    for row in province.rows("register.csv"):
        assert check_uscc(row["uscc"]).valid, row
        assert row["status"] in {"存续", "在业", "注销", "吊销"}
        assert row["region_code"] == row["uscc"][2:8]
        assert CJK.search(row["name"])
    for p in province.platforms:
        rel = f"{p}/shops.csv"
        assert set(province.header(rel)) == set(SHOP_COLUMNS)
        for row in province.rows(rel):
            assert ID.fullmatch(row["platform_shop_id"])
            kind = row["operator_type"]
            assert kind in {"organisation", "individual_business", "person"}
            if kind == "person":
                assert not row["operator_uscc"] and check_ric(row["operator_id_number"]).valid
            else:
                assert check_uscc(row["operator_uscc"]).valid
                assert check_ric(row["legal_rep_id_number"]).valid and row["legal_rep_name"]
            assert _valid("region", row["region_code"])
            assert PHONE.fullmatch(row["phone"])
    assert province.header("platforms.csv") == ["code", "name", "uscc"]
    assert province.header("carriers.csv")[:3] == ["code", "name", "uscc"]
    registered = {r["uscc"] for r in province.rows("register.csv")}
    for r in province.rows("platforms.csv") + province.rows("carriers.csv"):
        assert r["uscc"] in registered


def test_reviews_are_in_chinese(province):
    texts = [r["text"] for _, r in province.all("reviews")]
    assert all(CJK.search(t) for t in texts)
    assert len(set(texts)) > len(texts) / 4


def test_registry_files_load_through_the_real_import(province, isolated_store):
    """The register and every platform's shops file load with no rejects."""
    from ecredit import jobs, migrate
    from ecredit.db import get_engine, session_scope
    from ecredit.subjects import service as subjects_service
    from ecredit.subjects.schemas import PlatformCreate

    migrate.upgrade(get_engine())
    summary = jobs.import_file(province.root / "register.csv", kind="register", platform=None)
    assert summary["rejected"] == 0
    assert summary["loaded"] == len(province.rows("register.csv"))
    for row in province.rows("platforms.csv"):
        with session_scope() as session:
            subjects_service.register_platform(
                session,
                jobs.cli_principal(),
                PlatformCreate(code=row["code"], name=row["name"], uscc=row["uscc"]),
            )
        summary = jobs.import_file(
            province.root / row["code"] / "shops.csv", kind="shops", platform=row["code"]
        )
        assert summary["rejected"] == 0, row["code"]
        assert summary["loaded"] == len(province.rows(f"{row['code']}/shops.csv"))
