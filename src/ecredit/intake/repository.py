"""Queries of intake: which of a platform's shop ids are registered (the shop rule of the validators)."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ecredit.subjects.models import Shop


def registered_shop_ids(session: Session, platform_id: str, ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` that are registered shops of the platform.

    Ids only: building ORM rows cost a REST batch more than the rest of its look-ups. The ids travel as one
    parameter (an array on PostgreSQL, a JSON array on SQLite), like the registry's batch look-ups: a list
    of a thousand placeholders would be compiled, sent and parsed anew for every batch.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    column = Shop.platform_shop_id
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        among = column == any_(bindparam("ids", wanted, type_=ARRAY(String)))
    elif dialect == "sqlite":
        listed = select(literal_column("value")).select_from(
            func.json_each(bindparam("ids", orjson.dumps(wanted).decode(), type_=String))
        )
        among = column.in_(listed.scalar_subquery())
    else:
        among = column.in_(wanted)
    return set(session.scalars(select(column).where(Shop.platform_id == platform_id, among)))
