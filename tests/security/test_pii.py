"""Stored personal fields: ``pii_values_many`` writes what ``pii_values`` writes, row by row."""

from __future__ import annotations

import pytest

from ecredit.security.context import get_vault
from ecredit.security.pii import pii_values, pii_values_many


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("shop", "phone", ["13912345678", None, "0531-86123456", "１３９１２３４５６７８"]),
        ("shop", "address", ["山东省济南市历下区泉城路1号", None, "某地"]),
        ("subject", "id_number", ["370102199003071238", "11010519491231002X", None]),
    ],
)
def test_many_equals_one_by_one(table, column, values):
    items = [(f"01ROW{i:021d}", value) for i, value in enumerate(values)]
    many = pii_values_many(table, column, items)
    assert len(many) == len(items)
    vault = get_vault()
    for (row_id, value), stored in zip(items, many, strict=True):
        one = pii_values(table, column, row_id, value)
        assert list(stored) == list(one)  # the same columns, in the same order
        enc = f"{column}_enc"
        assert {k: v for k, v in stored.items() if k != enc} == {k: v for k, v in one.items() if k != enc}
        if value is None:
            assert stored[enc] is None
        else:
            assert vault.decrypt(stored[enc], table=table, column=column, row_id=row_id) == value
            assert stored[enc] != one[enc]  # a fresh nonce each time


def test_many_of_nothing():
    assert pii_values_many("shop", "phone", []) == []
