"""Builders: ``make_x(session, **overrides)``; a test states only what it cares about."""

from __future__ import annotations

import itertools
import random
from typing import Any

from sqlalchemy.orm import Session

from ecredit.demo import make_id_number, make_uscc
from ecredit.kit.tabular import Row
from ecredit.security.principals import system
from ecredit.subjects import service as subjects_service
from ecredit.subjects.models import Platform, Shop, Subject
from ecredit.subjects.schemas import PlatformCreate, RelationCreate, ShopCreate, SubjectCreate
from ecredit.verification import register

_rng = random.Random(20261128)
ADMIN = system("test")
_seq = itertools.count(1)


def uscc(region: str = "370102", category: str = "91") -> str:
    return make_uscc(_rng, region, category)


def id_number(region: str = "370102") -> str:
    return make_id_number(_rng, region)


def make_platform(session: Session, **overrides: Any) -> Platform:
    n = next(_seq)
    data = {"code": f"plat{n}", "name": f"测试平台{n}有限公司", "uscc": uscc()} | overrides
    platform, _ = subjects_service.register_platform(session, ADMIN, PlatformCreate(**data))
    return platform


def make_subject(session: Session, **overrides: Any) -> Subject:
    n = next(_seq)
    kind = overrides.get("kind", "organisation")
    data: dict[str, Any] = {"kind": kind, "name": f"济南测试{n}商贸有限公司"}
    if kind in {"organisation", "individual_business", "logistics_company", "platform"}:
        data["uscc"] = uscc(category="92" if kind == "individual_business" else "91")
    if kind in {"person", "courier"}:
        data["name"] = f"张{n}"
        data["id_number"] = id_number()
    subject, _ = subjects_service.create_subject(session, ADMIN, SubjectCreate(**(data | overrides)))
    return subject


def make_shop(session: Session, **overrides: Any) -> Shop:
    n = next(_seq)
    platform = overrides.pop("platform", None) or make_platform(session)
    operator = overrides.pop("operator", None) or make_subject(session)
    data = {
        "platform": platform.code,
        "platform_shop_id": f"S-{n}",
        "name": f"测试店铺{n}",
        "operator_id": operator.id,
    } | overrides
    return subjects_service.create_shop(session, ADMIN, ShopCreate(**data))


def make_legal_rep(session: Session, company: Subject, **overrides: Any) -> Subject:
    person = make_subject(session, kind="person", **overrides)
    subjects_service.add_relation(
        session, ADMIN, RelationCreate(kind="legal_representative", holder_id=person.id, object_id=company.id)
    )
    return person


def make_register_entry(session: Session, subject: Subject, **overrides: Any) -> None:
    values = {
        "name": subject.name,
        "uscc": subject.uscc,
        "legal_rep_name": None,
        "status": "存续",
        "address": "山东省济南市历下区泉城路1号",
    } | overrides
    result = register.import_batch(session, ADMIN, [Row(1, values)])
    assert not result.rejected, result.rejected


def make_record(session: Session, subject: Subject | None = None, **overrides: Any):
    """A credit record (an ordinary-procedure fine of 50,000 yuan by a commerce bureau unless told)."""
    import datetime as dt

    from ecredit.records import service as records_service
    from ecredit.records.schemas import RecordCreate

    subject = subject or make_subject(session)
    n = next(_seq)
    today = overrides.pop("today", None)
    data: dict[str, Any] = {
        "subject_id": subject.id,
        "kind": "administrative_penalty",
        "title": "虚构交易",
        "source_department": "济南市商务局",
        "source_ref": f"济商罚〔2026〕{n}号",
        "decided_on": dt.date(2026, 5, 1),
        "legal_basis": "《中华人民共和国电子商务法》第十七条、第八十五条",
        "penalty_types": ["fine"],
        "amount_cents": 5_000_000,
    } | overrides
    record, _ = records_service.create_record(session, ADMIN, RecordCreate(**data), today=today)
    return record
