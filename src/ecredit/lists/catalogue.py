"""The list types and the measures catalogue, read from ``policy/lists.toml`` and checked on load.

Pure: no database, no clock. A list type or a measure is added by editing the policy file (a new version),
never by changing code; ``catalogue()`` refuses a file whose types name unknown measures, steps or actions,
so a typo fails at start-up instead of silently dropping a measure.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecredit.errors import ConfigurationError
from ecredit.kit.policy import Policy, policy

OPTIONAL_STEPS = ("notify", "defence", "review", "higher_approval")
TARGETS = ("subject", "legal_representative", "officers", "shops")
ANSWERS = ("restricted", "rewarded")
ORDER_KINDS = ("publish", "revoke_mark", "downgrade", "shield_shop", "close_shop", "freeze_account")
RULE_SOURCES = ("records", "scores")
REPAIR_CONDITIONS = ("minimum_period", "duties_fulfilled", "commitment", "no_repeat")  # DOMAIN.md §2.6


@dataclass(frozen=True)
class Measure:
    key: str
    name_zh: str
    name_en: str
    effect: str  # punish | reward
    target: str  # subject | legal_representative | officers | shops
    actions: Mapping[str, str]  # check action -> restricted | rewarded
    legal_basis: str
    source: str  # the policy entry's source (why this measure exists)
    platform_order: str | None = None
    order_deadline_workdays: int | None = None


@dataclass(frozen=True)
class ListType:
    key: str
    name_zh: str
    name_en: str
    colour: str  # red | black
    issuing_body: str
    department: str
    legal_basis: str
    criteria: str
    source: str
    steps: tuple[str, ...]
    defence_window_workdays: int
    duration_months: int
    early_removal_after_months: int | None
    repairable: bool
    repair_conditions: tuple[str, ...]
    measures: tuple[str, ...]
    rule: Mapping[str, Any] | None = None
    hearing: bool = False  # the notice offers a hearing (听证) besides the statement and defence
    escalates_to: str | None = None
    escalate_after_months: int | None = None

    def requires(self, step: str) -> bool:
        """True when this type's procedure includes the optional ``step``."""
        return step in self.steps


@dataclass(frozen=True)
class Catalogue:
    version: str  # ``lists@<version>``, stored with every decision
    types: Mapping[str, ListType]
    measures: Mapping[str, Measure]
    actions: Mapping[str, str]  # check action -> description
    settings: Mapping[str, Any] = field(default_factory=dict)  # the procedure limits (value only)

    def list_type(self, key: str) -> ListType:
        try:
            return self.types[key]
        except KeyError:
            raise ConfigurationError(f"no list type {key!r} in policy/lists.toml") from None

    def measures_of(self, list_type: str) -> tuple[Measure, ...]:
        return tuple(self.measures[m] for m in self.list_type(list_type).measures)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _measure(key: str, entry: Mapping[str, Any], actions: Mapping[str, str]) -> Measure:
    v = entry["value"]
    where = f"policy/lists.toml measure_{key}"
    if v.get("effect") not in ("punish", "reward"):
        raise ConfigurationError(f"{where}: effect must be punish or reward")
    if v.get("target") not in TARGETS:
        raise ConfigurationError(f"{where}: target must be one of {', '.join(TARGETS)}")
    for action, answer in v.get("actions", {}).items():
        if action not in actions:
            raise ConfigurationError(f"{where}: unknown check action {action!r} (see check_actions)")
        if answer not in ANSWERS:
            raise ConfigurationError(f"{where}: action {action!r} must be restricted or rewarded")
    order = v.get("platform_order")
    if order is not None and order not in ORDER_KINDS:
        raise ConfigurationError(f"{where}: platform_order must be one of {', '.join(ORDER_KINDS)}")
    if order is not None and v.get("order_deadline_workdays") is None:
        raise ConfigurationError(f"{where}: a platform order needs order_deadline_workdays")
    return Measure(
        key=key,
        name_zh=v["name_zh"],
        name_en=v["name_en"],
        effect=v["effect"],
        target=v["target"],
        actions=dict(v.get("actions", {})),
        legal_basis=v["legal_basis"],
        source=entry["source"],
        platform_order=order,
        order_deadline_workdays=_int_or_none(v.get("order_deadline_workdays")),
    )


def _list_type(key: str, entry: Mapping[str, Any], measures: Mapping[str, Measure]) -> ListType:
    v = entry["value"]
    where = f"policy/lists.toml type_{key}"
    if v.get("colour") not in ("red", "black"):
        raise ConfigurationError(f"{where}: colour must be red or black")
    steps = tuple(v.get("steps", ()))
    if any(s not in OPTIONAL_STEPS for s in steps):
        raise ConfigurationError(f"{where}: steps must be among {', '.join(OPTIONAL_STEPS)}")
    if "defence" in steps and "notify" not in steps:
        raise ConfigurationError(f"{where}: a defence window needs the notify step")
    for m in v.get("measures", ()):
        if m not in measures:
            raise ConfigurationError(f"{where}: unknown measure {m!r}")
        want = "punish" if v["colour"] == "black" else "reward"
        if measures[m].effect != want:
            raise ConfigurationError(f"{where}: a {v['colour']} list carries {want} measures only, not {m!r}")
    bad = [c for c in v.get("repair_conditions", ()) if c not in REPAIR_CONDITIONS]
    if bad:
        raise ConfigurationError(f"{where}: repair_conditions must be among {', '.join(REPAIR_CONDITIONS)}")
    rule = v.get("rule")
    if rule is not None and rule.get("source") not in RULE_SOURCES:
        raise ConfigurationError(f"{where}: rule.source must be one of {', '.join(RULE_SOURCES)}")
    return ListType(
        key=key,
        name_zh=v["name_zh"],
        name_en=v["name_en"],
        colour=v["colour"],
        issuing_body=v["issuing_body"],
        department=v["department"],
        legal_basis=v["legal_basis"],
        criteria=v["criteria"],
        source=entry["source"],
        steps=steps,
        defence_window_workdays=int(v.get("defence_window_workdays", 0)),
        duration_months=int(v["duration_months"]),
        early_removal_after_months=_int_or_none(v.get("early_removal_after_months")),
        repairable=bool(v.get("repairable", True)),
        repair_conditions=tuple(v.get("repair_conditions", ())),
        measures=tuple(v.get("measures", ())),
        rule=dict(rule) if rule is not None else None,
        hearing=bool(v.get("hearing", False)),
        escalates_to=v.get("escalates_to"),
        escalate_after_months=_int_or_none(v.get("escalate_after_months")),
    )


def build(pol: Policy) -> Catalogue:
    """The catalogue of one loaded policy file (tests build variants from edited copies)."""
    actions = dict(pol.value("check_actions"))
    measures = {
        key.removeprefix("measure_"): _measure(key.removeprefix("measure_"), entry, actions)
        for key, entry in pol.entries.items()
        if key.startswith("measure_")
    }
    types = {
        key.removeprefix("type_"): _list_type(key.removeprefix("type_"), entry, measures)
        for key, entry in pol.entries.items()
        if key.startswith("type_")
    }
    for t in types.values():
        if t.escalates_to is not None and t.escalates_to not in types:
            raise ConfigurationError(f"policy/lists.toml type_{t.key}: escalates_to names no list type")
    settings = {
        key: entry["value"] for key, entry in pol.entries.items() if not key.startswith(("measure_", "type_"))
    }
    return Catalogue(version=pol.ref, types=types, measures=measures, actions=actions, settings=settings)


@functools.cache
def catalogue() -> Catalogue:
    """The shipped catalogue (``policy/lists.toml``)."""
    return build(policy("lists"))
