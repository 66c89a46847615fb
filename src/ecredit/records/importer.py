"""Import of administrative penalties and licences in the 双公示 field layout (DOMAIN.md §4.1).

Columns carry the Chinese headers as published (full-width brackets and spaces are normalised, and
``行政相对人代码_1（统一社会信用代码）`` and ``统一社会信用代码`` name the same column).
Fines are in 万元 (ten thousand yuan) and become fen exactly (Decimal: 万元 × 1,000,000).
A row maps to its subject by USCC
(natural persons: by the blind index of the ID number); a USCC the registry does not know is looked up in
the business register (``register_lookup``) and the subject registered from it, else the row is rejected
with "subject not registered". Each bad row comes back with its number and reason; the good rows load.
The document number (决定书文号 / 许可决定文书号), the authority and the kind identify a record, so a re-run
loads nothing twice.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from ecredit import identifiers
from ecredit.errors import EcreditError
from ecredit.kit import clock
from ecredit.kit.rows import RowRejected
from ecredit.kit.tabular import Row
from ecredit.records import repository as records_repo
from ecredit.records import rules
from ecredit.records import service as records_service
from ecredit.records.models import RecordKind
from ecredit.security.permissions import authorize
from ecredit.security.pii import blind_index
from ecredit.security.principals import Principal
from ecredit.subjects import repository as subjects_repo

KINDS = {
    "penalty": RecordKind.administrative_penalty.value,
    "licence": RecordKind.administrative_licence.value,
}
FEN_PER_WANYUAN = Decimal(1_000_000)

# canonical column -> accepted spellings (after ``_norm``)
SUBJECT_COLUMNS = {
    "行政相对人名称": ("行政相对人名称",),
    "行政相对人类别": ("行政相对人类别",),
    "统一社会信用代码": ("统一社会信用代码", "行政相对人代码_1", "行政相对人代码_1(统一社会信用代码)"),
    "证件类型": ("证件类型",),
    "证件号码": ("证件号码",),
    "法定代表人": ("法定代表人",),
}
PENALTY_COLUMNS = {
    **SUBJECT_COLUMNS,
    "行政处罚决定书文号": ("行政处罚决定书文号",),
    "违法行为类型": ("违法行为类型",),
    "违法事实": ("违法事实",),
    "处罚依据": ("处罚依据",),
    "处罚类别": ("处罚类别",),
    "处罚内容": ("处罚内容",),
    "罚款金额": ("罚款金额", "罚款金额(万元)"),
    "没收金额": (
        "没收违法所得、没收非法财物的金额",
        "没收违法所得、没收非法财物的金额(万元)",
        "没收违法所得/非法财物金额(万元)",
    ),
    "暂扣或吊销证照名称及编号": ("暂扣或吊销证照名称及编号",),
    "处罚决定日期": ("处罚决定日期",),
    "处罚有效期": ("处罚有效期",),
    "公示截止期": ("公示截止期",),
    "处罚机关": ("处罚机关",),
    "处罚机关统一社会信用代码": ("处罚机关统一社会信用代码",),
    "数据来源单位": ("数据来源单位",),
    "备注": ("备注",),
}
LICENCE_COLUMNS = {
    **SUBJECT_COLUMNS,
    "行政许可决定文书名称": ("行政许可决定文书名称",),
    "行政许可决定文书号": ("行政许可决定文书号",),
    "许可类别": ("许可类别",),
    "许可证书名称": ("许可证书名称",),
    "许可编号": ("许可编号",),
    "许可内容": ("许可内容",),
    "许可决定日期": ("许可决定日期",),
    "有效期自": ("有效期自",),
    "有效期至": ("有效期至",),
    "许可机关": ("许可机关",),
    "许可机关统一社会信用代码": ("许可机关统一社会信用代码",),
    "当前状态": ("当前状态",),
    "数据来源单位": ("数据来源单位",),
    "备注": ("备注",),
}
AUTHORITY = {"penalty": "处罚机关", "licence": "许可机关"}
PERSON_CLASSES = frozenset({"自然人"})
_SPLIT = re.compile(r"[;；,，、/\s]+")
_CN_DATE = re.compile(r"^(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?$")


def _norm(header: str) -> str:
    text = unicodedata.normalize("NFKC", str(header)).strip().replace(" ", "").replace("\u3000", "")
    return text.replace("（", "(").replace("）", ")")


def column_map(kind: str) -> dict[str, str]:
    """normalised header -> canonical column, for ``kind`` (penalty | licence)."""
    table = PENALTY_COLUMNS if kind == "penalty" else LICENCE_COLUMNS
    return {_norm(alias): canonical for canonical, aliases in table.items() for alias in aliases}


def canonical_row(values: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """The row under canonical column names (unknown columns, such as 序号, are left out)."""
    out: dict[str, Any] = {}
    for header, value in values.items():
        canonical = mapping.get(_norm(header))
        if canonical is not None:
            out[canonical] = value.strip() if isinstance(value, str) else value
    return out


def missing_columns(headers: Sequence[str], kind: str, *, authority_given: bool) -> list[str]:
    """Required columns the header lacks."""
    present = {column_map(kind).get(_norm(h)) for h in headers}
    required = ["行政相对人名称", "处罚决定日期" if kind == "penalty" else "许可决定日期"]
    required.append("行政处罚决定书文号" if kind == "penalty" else "行政许可决定文书号")
    if kind == "penalty":
        required += ["处罚类别", "处罚依据"]
    if not authority_given:
        required.append(AUTHORITY[kind])
    if "统一社会信用代码" not in present and "证件号码" not in present:
        required.append("统一社会信用代码")
    return [c for c in required if c not in present]


# ------------------------------------------------------------------------------------------- cells


def _text(
    row: Mapping[str, Any], column: str, *, required: bool = False, max_length: int = 200
) -> str | None:
    value = row.get(column)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowRejected(column, "required")
        return None
    value = str(value).strip()
    if "\x00" in value:
        raise RowRejected(column, "contains a NUL character")
    if len(value) > max_length:
        raise RowRejected(column, f"longer than {max_length} characters")
    return value


def _date(row: Mapping[str, Any], column: str, *, required: bool = False) -> dt.date | None:
    value = row.get(column)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(row, column, required=required, max_length=40)
    if text is None:
        return None
    if text in {"长期", "长期有效", "永久"}:
        return None
    match = _CN_DATE.match(text)
    try:
        if match:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        if re.fullmatch(r"\d{8}", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise RowRejected(column, f"not a date: {text!r}") from None


def wanyuan_to_fen(row: Mapping[str, Any], column: str) -> int | None:
    """An amount in 万元 as fen, exactly; ``RowRejected`` for anything that is not a plain number."""
    value = row.get(column)
    if isinstance(value, bool):
        raise RowRejected(column, "not a number")
    if isinstance(value, float):
        value = repr(value)
    text = _text(row, column, max_length=40)
    if text is None:
        return None
    text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowRejected(column, f"not a number (万元): {text!r}") from None
    if not amount.is_finite() or amount < 0:
        raise RowRejected(column, f"not a non-negative number (万元): {text!r}")
    fen = amount * FEN_PER_WANYUAN
    if fen != fen.to_integral_value():
        raise RowRejected(column, f"more precise than a fen (6 decimals of 万元): {text!r}")
    return int(fen)


def penalty_types(row: Mapping[str, Any]) -> frozenset[str]:
    text = _text(row, "处罚类别", required=True, max_length=200)
    assert text is not None
    found = set()
    for part in (p for p in _SPLIT.split(text) if p):
        code = rules.PENALTY_TYPES.get(part)
        if code is None:
            raise RowRejected("处罚类别", f"unknown penalty type {part!r}")
        found.add(code)
    return frozenset(found)


# ------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class ParsedRow:
    number: int
    uscc: str | None
    id_number: str | None
    subject_name: str
    new: records_service.NewRecord


def _subject_keys(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    subject_class = _text(row, "行政相对人类别", max_length=40)
    if subject_class in PERSON_CLASSES:
        value = _text(row, "证件号码", required=True, max_length=40)
        assert value is not None
        result = identifiers.check(value, "ric")
        if not result.valid:
            raise RowRejected("证件号码", "; ".join(f.message for f in result.errors))
        return None, result.normalized
    value = _text(row, "统一社会信用代码", required=True, max_length=40)
    assert value is not None
    result = identifiers.check(value, "uscc")
    if not result.valid:
        raise RowRejected("统一社会信用代码", "; ".join(f.message for f in result.errors))
    return result.normalized, None


def parse_row(number: int, row: Mapping[str, Any], kind: str, *, default_authority: str | None) -> ParsedRow:
    """One 双公示 row as a record to make (no database)."""
    uscc, id_number = _subject_keys(row)
    name = _text(row, "行政相对人名称", required=True)
    authority = _text(row, AUTHORITY[kind], required=default_authority is None) or default_authority
    assert name is not None and authority is not None
    source = {"import_row": number}
    if kind == "penalty":
        ref = _text(row, "行政处罚决定书文号", required=True, max_length=128)
        decided = _date(row, "处罚决定日期", required=True)
        types = penalty_types(row)
        fine = wanyuan_to_fen(row, "罚款金额")
        confiscated = wanyuan_to_fen(row, "没收金额")
        if "fine" in types and fine is None:
            raise RowRejected("罚款金额", "required when 处罚类别 includes 罚款")
        valid_until = _date(row, "处罚有效期")
        ban = valid_until if types & {"profession_ban", "business_restriction"} else None
        facts = rules.Facts(penalty_types=types, procedure="ordinary", fine_cents=fine, ban_until=ban)
        details = {
            "penalty_content": _text(row, "处罚内容", max_length=2000),
            "confiscated_cents": confiscated,
            "licence_affected": _text(row, "暂扣或吊销证照名称及编号"),
            "penalty_valid_until": valid_until and valid_until.isoformat(),
            "source_publicity_until": (d := _date(row, "公示截止期")) and d.isoformat(),
            "authority_uscc": _text(row, "处罚机关统一社会信用代码", max_length=40),
            "data_source": _text(row, "数据来源单位"),
            "note": _text(row, "备注", max_length=2000),
        }
        title = _text(row, "违法行为类型") or "行政处罚"
        summary = _text(row, "违法事实", max_length=4000) or ""
        legal_basis = _text(row, "处罚依据", required=True, max_length=2000) or ""
    else:
        ref = _text(row, "行政许可决定文书号", required=True, max_length=128)
        decided = _date(row, "许可决定日期", required=True)
        valid_until = _date(row, "有效期至")
        facts = rules.Facts(valid_until=valid_until)
        details = {
            "licence_document": _text(row, "行政许可决定文书名称"),
            "licence_category": _text(row, "许可类别", max_length=40),
            "certificate": _text(row, "许可证书名称"),
            "licence_number": _text(row, "许可编号", max_length=128),
            "valid_from": (d := _date(row, "有效期自")) and d.isoformat(),
            "current_state": _text(row, "当前状态", max_length=40),
            "authority_uscc": _text(row, "许可机关统一社会信用代码", max_length=40),
            "data_source": _text(row, "数据来源单位"),
            "note": _text(row, "备注", max_length=2000),
        }
        title = _text(row, "许可证书名称") or _text(row, "行政许可决定文书名称") or "行政许可"
        summary = _text(row, "许可内容", max_length=4000) or ""
        legal_basis = "双公示：行政许可"
    assert ref is not None and decided is not None
    new = records_service.NewRecord(
        subject_id="",
        kind=KINDS[kind],
        title=title,
        source_department=authority,
        decided_on=decided,
        legal_basis=legal_basis,
        summary=summary,
        source_ref=ref,
        facts=facts,
        evidence=source,
        details={k: v for k, v in details.items() if v is not None},
    )
    return ParsedRow(number=number, uscc=uscc, id_number=id_number, subject_name=name, new=new)


@dataclass
class BatchResult:
    loaded: int = 0
    unchanged: int = 0
    registered: int = 0  # subjects registered from the business register
    rejected: list[tuple[int, str]] = field(default_factory=list)


RegisterLookup = Callable[[Session, Principal, str], str | None]
"""(session, principal, USCC) -> the id of a subject registered from the business register, or None."""


def import_batch(
    session: Session,
    principal: Principal,
    batch: Sequence[Row],
    *,
    kind: str,
    file_name: str,
    default_authority: str | None = None,
    register_lookup: RegisterLookup | None = None,
    today: dt.date | None = None,
) -> BatchResult:
    """Validate and load one batch of 双公示 rows; bad rows come back with their number and reason."""
    authorize(principal, "records.import")
    today = today or clock.today()
    mapping = column_map(kind)
    result = BatchResult()
    parsed: list[ParsedRow] = []
    for row in batch:
        try:
            parsed.append(
                parse_row(
                    row.number, canonical_row(row.values, mapping), kind, default_authority=default_authority
                )
            )
        except RowRejected as exc:
            result.rejected.append((row.number, str(exc)))
    by_uscc = subjects_repo.subject_ids_by_usccs(session, {p.uscc for p in parsed if p.uscc})
    by_bidx = subjects_repo.subject_ids_by_id_number_bidx(
        session, {blind_index("id_number", p.id_number) for p in parsed if p.id_number}
    )
    existing = records_repo.by_sources(session, KINDS[kind], [p.new.source_ref or "" for p in parsed])
    for p in parsed:
        if p.uscc:
            subject_id = by_uscc.get(p.uscc)
            if subject_id is None and register_lookup is not None:
                subject_id = register_lookup(session, principal, p.uscc)
                if subject_id is not None:
                    by_uscc[p.uscc] = subject_id
                    result.registered += 1
        else:
            subject_id = by_bidx.get(blind_index("id_number", p.id_number or ""))
        if subject_id is None:
            column = "统一社会信用代码" if p.uscc else "证件号码"
            result.rejected.append((p.number, f"{column}: subject not registered"))
            continue
        p.new.subject_id = subject_id
        p.new.evidence = {"import_file": file_name, "import_row": p.number}
        key = (p.new.source_ref or "", p.new.source_department)
        try:
            known = existing.get(key)
            if known is not None and known.details.get("fingerprint") == records_service.fingerprint(
                records_service.resolved(p.new)
            ):
                result.unchanged += 1  # the same document with the same content: a re-run
                continue
            if known is not None:  # the same document with other content: DuplicateRecord names it
                _record, created = records_service.add_record(session, principal, p.new, today=today)
            else:
                record, created = records_service.add_record(
                    session, principal, p.new, today=today, check_existing=False
                )
                existing[key] = record
        except EcreditError as exc:
            result.rejected.append((p.number, _reason(exc)))
            continue
        if created:
            result.loaded += 1
        else:
            result.unchanged += 1
    session.flush()
    result.rejected.sort()
    return result


_COLUMN_OF_FIELD = {
    "decided_on": "处罚决定日期/许可决定日期",
    "legal_basis": "处罚依据",
    "source_ref": "决定书文号",
    "ban_until": "处罚有效期",
    "valid_until": "有效期至",
}


def _reason(exc: EcreditError) -> str:
    if exc.errors:
        return "; ".join(f"{_COLUMN_OF_FIELD.get(e.field, e.field)}: {e.message}" for e in exc.errors)
    return exc.detail
