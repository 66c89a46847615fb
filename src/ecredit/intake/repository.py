"""Queries of intake: which of a platform's shop ids are registered (for the shop rule of the validators)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecredit.subjects.models import Shop


def registered_shop_ids(session: Session, platform_id: str, ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` that are registered shops of the platform (ids only: no ORM rows are built,
    which cost a REST batch more than the rest of its look-ups)."""
    wanted = list(set(ids))
    if not wanted:
        return set()
    stmt = select(Shop.platform_shop_id).where(
        Shop.platform_id == platform_id, Shop.platform_shop_id.in_(wanted)
    )
    return set(session.scalars(stmt))
