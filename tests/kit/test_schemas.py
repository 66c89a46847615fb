"""Input models: unknown fields are refused; integers refuse booleans, strings and fractions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ecredit.kit.schemas import InputSchema, Int


class Sample(InputSchema):
    count: Int


class TestInt:
    @pytest.mark.parametrize("value", [3, 3.0, -7, 0])
    def test_accepts_integral_json_numbers(self, value):
        assert Sample.model_validate({"count": value}).count == int(value)

    @pytest.mark.parametrize("value", [True, False, "3", 3.5, None, [3]])
    def test_refuses_booleans_strings_fractions(self, value):
        with pytest.raises(ValidationError) as info:
            Sample.model_validate({"count": value})
        assert info.value.errors()[0]["loc"] == ("count",)

    def test_unknown_fields_are_refused(self):
        with pytest.raises(ValidationError) as info:
            Sample.model_validate({"count": 1, "extra": 2})
        assert info.value.errors()[0]["type"] == "extra_forbidden"
