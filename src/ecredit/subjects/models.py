"""Subjects (organisations, individual businesses, persons, platforms, logistics companies, couriers),
platforms, shops and the relations between subjects.

Personal fields are stored only as vault ciphertexts (``*_enc``), a keyed blind index for equality look-up
(``*_bidx``) and the masked form shown by default (``*_masked``).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class SubjectKind(enum.StrEnum):
    organisation = "organisation"
    individual_business = "individual_business"
    person = "person"
    platform = "platform"
    logistics_company = "logistics_company"
    courier = "courier"


ORGANISATION_KINDS = frozenset(
    {
        SubjectKind.organisation,
        SubjectKind.individual_business,
        SubjectKind.platform,
        SubjectKind.logistics_company,
    }
)
PERSON_KINDS = frozenset({SubjectKind.person, SubjectKind.courier})


class RelationKind(enum.StrEnum):
    legal_representative = "legal_representative"
    officer = "officer"
    courier_employer = "courier_employer"


class Subject(Base):
    __tablename__ = "subject"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[str | None] = mapped_column(String(32), unique=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_masked: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)


class Platform(Base):
    __tablename__ = "platform"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Shop(Base):
    __tablename__ = "shop"
    __table_args__ = (UniqueConstraint("platform_id", "platform_shop_id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platform.id"))
    platform_shop_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str | None] = mapped_column(String(100))
    operator_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_masked: Mapped[str | None] = mapped_column(String(200))
    opened_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    verification_status: Mapped[str] = mapped_column(String(16), default="unverified")
    verified_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)


class Relation(Base):
    """A relation from a holder (usually a person) to an object subject (usually an organisation)."""

    __tablename__ = "relation"
    __table_args__ = (
        UniqueConstraint("kind", "holder_id", "object_id"),
        Index("ix_relation_object_id", "object_id"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    holder_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    object_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    started_date: Mapped[dt.date | None] = mapped_column(Date)
    ended_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SubjectLink(Base):
    """A platform's link to a subject: it registered the subject, or runs a shop the subject operates, or
    the subject is the legal representative of one of its operators. A platform sees only linked subjects."""

    __tablename__ = "subject_link"
    __table_args__ = (Index("ix_subject_link_subject_id", "subject_id"),)

    platform_id: Mapped[str] = mapped_column(ForeignKey("platform.id"), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
