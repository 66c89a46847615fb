"""Record formats v1: the kinds of records platforms send, their fields, and the lake tables they become.

One declaration serves the validators, the OpenAPI request schemas, the lake schema and the documentation
test (``docs/data-formats.md`` must describe every field listed here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ecredit.analytics import lake
from ecredit.kit.schemas import NO_NUL
from ecredit.kit.schemas import TEXT as TEXT_PATTERN

FORMAT_VERSION = 1

# Field types
ID = "id"  # the platform's identifier of something: visible ASCII, no spaces, at most 64 characters
TEXT = "text"  # free text, up to max_length characters, no U+0000
INT = "int"  # a JSON integer / decimal digits
TIMESTAMP = "timestamp"  # ISO 8601 with offset
REGION = "region"  # GB/T 2260 division code
ENUM = "enum"
GTIN = "gtin"  # GS1 GTIN-8/12/13/14 with a valid check digit
USCC = "uscc"  # GB 32100 unified social credit code
PHONE = "phone"  # personal: mainland mobile or landline with area code
ID_NUMBER = "id_number"  # personal: GB 11643 citizen ID number
REFERENCE = "reference"  # personal: an opaque reference (a payer's card or account)

PERSONAL = frozenset({PHONE, ID_NUMBER, REFERENCE})
STRING_TYPES = frozenset({ID, TEXT, TIMESTAMP, REGION, ENUM, GTIN, USCC, PHONE, ID_NUMBER, REFERENCE})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str
    example: Any
    required: bool = True
    max_length: int = 64
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    unit: str | None = None
    few_values: bool = False  # few distinct values: dictionary-encoded in lake files (enums, codes: always)

    @property
    def personal(self) -> bool:
        return self.type in PERSONAL


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    fields: tuple[Field, ...]
    timestamp: str  # the main timestamp: its local date (Asia/Shanghai) is the lake partition
    shop_column: str | None = None  # a platform shop id that must be registered for the platform

    @property
    def key(self) -> tuple[str, ...]:
        return lake.KEYS[self.name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


MAX_FEN = 10**12  # 10 billion yuan: far above any single order or payment
ORDER_STATUSES = ("created", "paid", "shipped", "delivered", "refunded", "cancelled")
SCAN_STATUSES = ("picked_up", "in_transit", "out_for_delivery", "signed", "returned", "exception")


def _id(name: str, description: str, example: str, *, required: bool = True) -> Field:
    return Field(name, ID, description, example, required=required)


def _ts(name: str, description: str, example: str, *, required: bool = True) -> Field:
    return Field(name, TIMESTAMP, description, example, required=required, max_length=40)


def _region(name: str, description: str, example: str) -> Field:
    return Field(name, REGION, description, example, max_length=12)


def _fen(name: str, description: str, example: int, *, required: bool = True) -> Field:
    return Field(
        name, INT, description, example, required=required, minimum=0, maximum=MAX_FEN, unit="fen (0.01 yuan)"
    )


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "accounts",
            "Buyer accounts of the platform.",
            (
                _id("account_id", "The platform's account id.", "u2036ae4785"),
                _ts("registered_at", "When the account was registered.", "2018-02-13T11:32:01+08:00"),
                _region("region_code", "Division of the account's registered address.", "370613"),
                Field(
                    "phone",
                    PHONE,
                    "Real-name phone. Personal: stored encrypted with a blind index.",
                    "13800138000",
                    required=False,
                    max_length=20,
                ),
                Field(
                    "id_number",
                    ID_NUMBER,
                    "Real-name citizen ID number (18 characters; 15 digits are converted). Personal.",
                    "11010519491231002X",
                    required=False,
                    max_length=40,
                ),
                _id("device_id", "The device the account registered from.", "dv5be1cdfb5272", required=False),
            ),
            timestamp="registered_at",
        ),
        Kind(
            "listings",
            "Product listings of the platform's shops.",
            (
                _id("listing_id", "The platform's listing id.", "QL-L-00000000"),
                _id("shop_id", "The platform's shop id, registered for the platform.", "QILU-000000"),
                Field(
                    "gtin", GTIN, "GS1 GTIN of the product.", "6960237378195", required=False, max_length=14
                ),
                Field("title", TEXT, "Listing title.", "齐鲁家用日照绿茶 小号", max_length=200),
                Field("category", TEXT, "The platform's category.", "食品", max_length=100, few_values=True),
                _fen("price_cents", "Listed price.", 7390),
                _ts("listed_at", "When the listing went online.", "2018-12-15T00:00:00+08:00"),
                _ts("delisted_at", "When it went offline; not before listed_at.", "", required=False),
            ),
            timestamp="listed_at",
            shop_column="shop_id",
        ),
        Kind(
            "orders",
            "Orders placed in the platform's shops.",
            (
                _id("order_id", "The platform's order id.", "QL-O-0000000000"),
                _id("shop_id", "The platform's shop id, registered for the platform.", "QILU-000009"),
                _id("buyer_id", "The buyer's account id.", "u37b27b38e0"),
                _id("listing_id", "The listing ordered.", "QL-L-00000043", required=False),
                Field(
                    "gtin", GTIN, "GS1 GTIN of the product.", "6928448303337", required=False, max_length=14
                ),
                Field(
                    "quantity",
                    INT,
                    "Items ordered.",
                    1,
                    minimum=1,
                    maximum=1_000_000,
                    unit="items",
                    few_values=True,
                ),
                _fen("amount_cents", "Amount of the order.", 3090),
                _ts("ordered_at", "When the order was placed.", "2024-01-01T10:21:00+08:00"),
                _ts(
                    "paid_at",
                    "When it was paid; not before ordered_at.",
                    "2024-01-01T10:21:06+08:00",
                    required=False,
                ),
                Field("status", ENUM, "Current status.", "delivered", max_length=16, choices=ORDER_STATUSES),
                _region("ship_to_region", "Division of the delivery address.", "371602"),
            ),
            timestamp="ordered_at",
            shop_column="shop_id",
        ),
        Kind(
            "payments",
            "Payments of orders.",
            (
                _id("payment_id", "The platform's payment id.", "QL-P-0000000000"),
                _id("order_id", "The order paid.", "QL-O-0000000000"),
                Field(
                    "payer_ref",
                    REFERENCE,
                    "The payer's card or payment account. Personal: stored encrypted with a blind index.",
                    "6222020200000000000",
                ),
                Field(
                    "method",
                    TEXT,
                    "Payment method (alipay, wechat, unionpay, ...).",
                    "unionpay",
                    max_length=32,
                    few_values=True,
                ),
                _fen("amount_cents", "Amount paid.", 3090),
                _ts("paid_at", "When it was paid.", "2024-01-01T10:21:06+08:00"),
                _fen("refund_cents", "Amount refunded; at most amount_cents.", 0, required=False),
                _ts("refunded_at", "When it was refunded; given with refund_cents.", "", required=False),
            ),
            timestamp="paid_at",
        ),
        Kind(
            "parcels",
            "Parcels shipped for orders.",
            (
                _id("parcel_id", "The waybill number.", "TS100000000000"),
                _id("order_id", "The order shipped.", "QL-O-0000000000"),
                Field(
                    "carrier_uscc", USCC, "USCC of the courier company.", "91370902MA6E3PEJXM", max_length=40
                ),
                Field("weight_grams", INT, "Declared weight.", 440, minimum=0, maximum=10**8, unit="grams"),
                _region("ship_from_region", "Division shipped from.", "370406"),
                _region("ship_to_region", "Division shipped to.", "371602"),
                _ts("created_at", "When the waybill was created.", "2024-01-02T09:25:41+08:00"),
            ),
            timestamp="created_at",
        ),
        Kind(
            "parcel_scans",
            "Scans of parcels along their way (key: parcel_id + scan_at + status).",
            (
                _id("parcel_id", "The waybill number.", "TS100000000000"),
                _ts("scan_at", "When the scan happened.", "2024-01-02T10:06:41+08:00"),
                Field(
                    "status",
                    ENUM,
                    "What the scan records.",
                    "picked_up",
                    max_length=20,
                    choices=SCAN_STATUSES,
                ),
                _region("region_code", "Where the scan happened.", "370406"),
                _id("courier_id", "The courier who scanned.", "TS3704-0103", required=False),
            ),
            timestamp="scan_at",
        ),
        Kind(
            "reviews",
            "Reviews of orders.",
            (
                _id("review_id", "The platform's review id.", "QL-R-00000000041"),
                _id("order_id", "The order reviewed.", "QL-O-0000000004"),
                _id("shop_id", "The platform's shop id, registered for the platform.", "QILU-000009"),
                _id("buyer_id", "The reviewer's account id.", "ua58af1da88"),
                Field("rating", INT, "Stars.", 5, minimum=1, maximum=5, unit="stars", few_values=True),
                Field(
                    "text",
                    TEXT,
                    "Review text (may be empty).",
                    "客服很耐心，五星好评",
                    required=False,
                    max_length=2000,
                ),
                _ts("reviewed_at", "When the review was posted.", "2024-01-05T20:47:32+08:00"),
                Field(
                    "kind",
                    ENUM,
                    "First review or follow-up.",
                    "initial",
                    max_length=16,
                    choices=("initial", "follow_up"),
                ),
            ),
            timestamp="reviewed_at",
            shop_column="shop_id",
        ),
    )
}
assert set(KINDS) == set(lake.KINDS)


def kind_from_name(file_name: str) -> str | None:
    """The kind a file name announces (``orders.csv``, ``qilu-orders.parquet``, ``parcel_scans.jsonl``)."""
    stem = file_name.lower().split(".", 1)[0]
    # Longest names first: "parcel_scans" must win over "parcels".
    for name in sorted(KINDS, key=len, reverse=True):
        if stem == name or stem.endswith(("-" + name, "_" + name)) or stem.startswith(name + "-"):
            return name
    return None


# ---------------------------------------------------------------- lake schema


def lake_schema(kind: Kind) -> pa.Schema:
    """The columns of a kind's lake files (partition columns live in the path)."""
    columns: list[pa.Field] = []
    for f in kind.fields:
        if f.personal:
            columns.append(pa.field(f"{f.name}_enc", pa.binary()))
            columns.append(pa.field(f"{f.name}_bidx", pa.string()))
        elif f.type == INT:
            columns.append(pa.field(f.name, pa.int64()))
        elif f.type == TIMESTAMP:
            columns.append(pa.field(f.name, pa.timestamp("us", tz="UTC")))
        else:
            columns.append(pa.field(f.name, pa.string()))
    columns += [
        pa.field(lake.BATCH_COLUMN, pa.string()),
        pa.field(lake.ROW_COLUMN, pa.int64()),
        pa.field(lake.INGESTED_COLUMN, pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(columns)


def lake_statistics(kind: Kind) -> tuple[str, ...]:
    """The lake columns with min/max statistics in Parquet: those readers prune files on (keys, the shop,
    instants, numbers). Statistics of the other text columns cost time (a tenth of the Parquet encoding)
    and prune nothing: their values are spread over every file."""
    keep = [
        f.name
        for f in kind.fields
        if f.name in kind.key or f.name == kind.shop_column or f.type in (TIMESTAMP, INT)
    ]
    return (*keep, lake.ROW_COLUMN, lake.INGESTED_COLUMN)


def lake_dictionary(kind: Kind) -> tuple[str, ...]:
    """The lake columns with few distinct values, dictionary-encoded in Parquet (the others are plain:
    trying a dictionary on ids and instants costs time and gains nothing)."""
    few = [
        f.name
        for f in kind.fields
        if f.few_values or f.type in (ENUM, REGION, GTIN, USCC) or f.name == kind.shop_column
    ]
    return (*few, lake.BATCH_COLUMN, lake.INGESTED_COLUMN)


# ---------------------------------------------------------------- OpenAPI


ID_PATTERN = r"^[!-~]{1,64}$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)


def field_json_schema(f: Field) -> dict[str, Any]:
    base: dict[str, Any]
    if f.type == INT:
        base = {"type": "integer"}
        if f.minimum is not None:
            base["minimum"] = f.minimum
        if f.maximum is not None:
            base["maximum"] = f.maximum
    elif f.type == ENUM:
        base = {"type": "string", "enum": list(f.choices)}
    elif f.type == ID:
        base = {"type": "string", "pattern": ID_PATTERN, "maxLength": 64}
    elif f.type == TIMESTAMP:
        base = {"type": "string", "format": "date-time", "maxLength": f.max_length}
    elif f.type == REGION:
        base = {"type": "string", "format": "gb2260"}
    elif f.type == USCC:
        base = {"type": "string", "format": "uscc"}
    elif f.type == ID_NUMBER:
        base = {"type": "string", "format": "ric"}
    elif f.type == PHONE:
        base = {"type": "string", "pattern": r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"}
    elif f.type == GTIN:
        base = {"type": "string", "pattern": r"^([0-9]{8}|[0-9]{12,14})$"}
    else:  # TEXT, REFERENCE
        base = {"type": "string", "maxLength": f.max_length, "pattern": NO_NUL}
        if f.required:
            base["minLength"] = 1
            base["pattern"] = TEXT_PATTERN
    description = f.description + (f" Unit: {f.unit}." if f.unit else "")
    schema = {**base, "description": description}
    if f.example not in (None, ""):
        schema["examples"] = [f.example]
    if not f.required:
        return {"anyOf": [schema, {"type": "null"}], "description": description}
    return schema


def record_json_schema(kind: Kind) -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"{kind.name} record v{FORMAT_VERSION}",
        "description": kind.description,
        "properties": {f.name: field_json_schema(f) for f in kind.fields},
        "required": list(kind.required),
        "additionalProperties": False,
    }
