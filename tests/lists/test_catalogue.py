"""The list-type and measures catalogue: the shipped file loads; a bad copy fails to load."""

from __future__ import annotations

import copy

import pytest

from ecredit.errors import ConfigurationError
from ecredit.kit.policy import Policy, policy
from ecredit.lists.catalogue import build, catalogue


def _edited(edit) -> Policy:
    shipped = policy("lists")
    entries = copy.deepcopy(shipped.entries)
    edit(entries)
    return Policy(name="lists", version="test", entries=entries)


class TestTheShippedCatalogue:
    def test_it_has_the_four_types_with_sources(self):
        c = catalogue()
        assert set(c.types) == {
            "samr_serious",
            "ecommerce_fake_trading",
            "abnormal_operation",
            "red_trustworthy",
        }
        for t in c.types.values():
            assert t.source and t.legal_basis and t.measures
            for m in c.measures_of(t.key):
                assert m.legal_basis and m.source
        assert c.version == f"lists@{policy('lists').version}"

    def test_the_procedure_limits_are_settings(self):
        assert catalogue().settings["withdrawal_within_workdays"] == 3


class TestABadCopyFailsToLoad:
    @pytest.mark.parametrize(
        ("edit", "message"),
        [
            (lambda e: e["type_samr_serious"]["value"].update(colour="grey"), "colour"),
            (lambda e: e["type_samr_serious"]["value"]["measures"].append("flogging"), "unknown measure"),
            (lambda e: e["type_samr_serious"]["value"].update(steps=["notify", "hearing"]), "steps"),
            (lambda e: e["type_abnormal_operation"]["value"].update(steps=["defence"]), "defence window"),
            (lambda e: e["type_red_trustworthy"]["value"]["measures"].append("no_honours"), "red list"),
            (lambda e: e["type_abnormal_operation"]["value"].update(escalates_to="nowhere"), "escalates_to"),
            (
                lambda e: e["measure_no_honours"]["value"].update(actions={"fly": "restricted"}),
                "check action",
            ),
            (lambda e: e["measure_no_honours"]["value"].update(target="cousins"), "target"),
            (lambda e: e["measure_platform_publish"]["value"].pop("order_deadline_workdays"), "deadline"),
            (lambda e: e["type_samr_serious"]["value"]["rule"].update(source="rumour"), "rule.source"),
            (lambda e: e["type_samr_serious"]["value"]["repair_conditions"].append("luck"), "repair_cond"),
        ],
    )
    def test_refused(self, edit, message):
        with pytest.raises(ConfigurationError, match=message):
            build(_edited(edit))

    def test_an_edited_copy_that_is_right_loads(self):
        c = build(_edited(lambda e: e["type_samr_serious"]["value"].update(defence_window_workdays=7)))
        assert c.list_type("samr_serious").defence_window_workdays == 7
        with pytest.raises(ConfigurationError, match="no list type"):
            c.list_type("nope")
