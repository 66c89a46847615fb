"""Pure rules of credit records: a record's effect and class, the publicity rule that applies to it, its
window, and the withdrawal deadline. No database, no clock: everything comes in as arguments.

The numbers and the rule table are data (``policy/records.toml``); this module only reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecredit.errors import ConfigurationError
from ecredit.kit.clock import add_months
from ecredit.kit.policy import Policy
from ecredit.records.models import Effect, RecordKind, Severity

# Penalty types of 行政处罚法 (2021) Art. 9, as published in the 处罚类别 column (DOMAIN.md §4.1).
PENALTY_TYPES: Mapping[str, str] = {
    "警告": "warning",
    "通报批评": "public_criticism",
    "罚款": "fine",
    "没收违法所得": "confiscation",
    "没收非法财物": "confiscation",
    "没收违法所得、没收非法财物": "confiscation",
    "暂扣许可证件": "licence_suspension",
    "暂扣许可证": "licence_suspension",
    "降低资质等级": "qualification_downgrade",
    "吊销许可证件": "licence_revocation",
    "吊销许可证": "licence_revocation",
    "吊销营业执照": "licence_revocation",
    "吊销执照": "licence_revocation",
    "限制开展生产经营活动": "business_restriction",
    "责令停产停业": "suspension",
    "责令关闭": "closure",
    "限制从业": "profession_ban",
    "行政拘留": "detention",
    "其他": "other",
}
PENALTY_TYPE_CODES = frozenset(PENALTY_TYPES.values())

NEGATIVE_KINDS = frozenset(
    {
        RecordKind.administrative_penalty,
        RecordKind.commitment_breach,
        RecordKind.confirmed_warning,
        RecordKind.platform_penalty,
    }
)
POSITIVE_KINDS = frozenset({RecordKind.award, RecordKind.commitment_fulfilled})
NEUTRAL_KINDS = frozenset({RecordKind.administrative_licence, RecordKind.commitment})


@dataclass(frozen=True)
class Facts:
    """What the rules look at besides kind, class and dates."""

    penalty_types: frozenset[str] = frozenset()
    procedure: str = "ordinary"  # ordinary | simplified
    fine_cents: int | None = None
    ban_until: dt.date | None = None  # end of an activity or profession ban
    sector: str | None = None  # food | drug | special_equipment | ...
    specific_serious: bool = False  # 527号 特定严重
    valid_until: dt.date | None = None  # a licence's 有效期至
    given_until: dt.date | None = None  # list entries: the list's term
    list_colour: str | None = None  # list entries: red | black
    outcome: str | None = None  # complaint outcomes: upheld | rejected | settled


@dataclass(frozen=True)
class Rule:
    """One ``rule_*`` entry of the policy."""

    key: str
    kinds: frozenset[str]
    regime: str | None
    starts: dt.date | None
    ends: dt.date | None  # exclusive
    when: Mapping[str, Any]
    window: Mapping[str, Any]
    repairable: bool
    source: str
    confidence: str

    @property
    def published(self) -> bool:
        return bool(self.window.get("published", True))


@dataclass(frozen=True)
class Window:
    publicity_from: dt.date
    publicity_min_until: dt.date
    publicity_until: dt.date | None  # None: not published


@dataclass(frozen=True)
class Classification:
    effect: str
    severity: str | None
    reasons: list[str] = field(default_factory=list)


_loaded: dict[str, tuple[Rule, ...]] = {}


def rules_of(pol: Policy) -> tuple[Rule, ...]:
    """``load_rules`` once per policy version (policies are immutable once loaded)."""
    found = _loaded.get(pol.ref)
    if found is None:
        found = _loaded[pol.ref] = load_rules(pol)
    return found


def load_rules(pol: Policy) -> tuple[Rule, ...]:
    """The publicity rules of the policy, in file order."""
    rules = []
    for key, entry in pol.entries.items():
        if not key.startswith("rule_"):
            continue
        window = entry["value"]
        if not isinstance(window, dict):
            raise ConfigurationError(f"records policy: {key} value must be a table")
        kinds = frozenset(entry.get("kinds", ()))
        unknown = kinds - {k.value for k in RecordKind}
        if not kinds or unknown:
            raise ConfigurationError(f"records policy: {key} has no or unknown kinds {sorted(unknown)}")
        rules.append(
            Rule(
                key=key.removeprefix("rule_"),
                kinds=kinds,
                regime=entry.get("regime"),
                starts=entry.get("from"),
                ends=entry.get("until"),
                when=entry.get("when", {}),
                window=window,
                repairable=bool(entry.get("repairable", True)),
                source=entry["source"],
                confidence=entry.get("confidence", "M"),
            )
        )
    return tuple(rules)


def regime_of(source_department: str, markers: Sequence[str]) -> str:
    """``samr`` for a market-regulation department (by the configured name markers), else ``ndrc``."""
    return "samr" if any(m in source_department for m in markers) else "ndrc"


def classify(kind: str, facts: Facts, severity: str | None, pol: Policy) -> Classification:
    """Effect (negative/positive/neutral) and class of a record; a class given by the source wins."""
    if kind == RecordKind.list_entry:
        if facts.list_colour == "red":
            return Classification(Effect.positive, None, ["red list entry"])
        given = severity or pol.value("kind_default_severity")["list_entry"]
        return Classification(Effect.negative, given, ["black list entry"])
    if kind == RecordKind.complaint_outcome:
        if facts.outcome != "upheld":
            return Classification(Effect.neutral, None, [f"complaint outcome {facts.outcome or 'unknown'}"])
        return Classification(
            Effect.negative,
            severity or pol.value("kind_default_severity")["complaint_outcome"],
            ["complaint upheld against the subject"],
        )
    if kind in POSITIVE_KINDS:
        return Classification(Effect.positive, None, [f"{kind} is positive"])
    if kind in NEUTRAL_KINDS:
        return Classification(Effect.neutral, None, [f"{kind} is neutral"])
    if kind not in NEGATIVE_KINDS:
        raise ConfigurationError(f"no classification rule for kind {kind!r}")
    if severity is not None:
        return Classification(Effect.negative, severity, ["class given by the source"])
    if kind != RecordKind.administrative_penalty:
        return Classification(
            Effect.negative, pol.value("kind_default_severity")[kind], [f"default class of {kind}"]
        )
    return Classification(Effect.negative, *_penalty_class(facts, pol))


def _penalty_class(facts: Facts, pol: Policy) -> tuple[str, list[str]]:
    serious_types = facts.penalty_types & set(pol.value("serious_penalty_types"))
    if serious_types:
        return Severity.serious, [f"penalty types {', '.join(sorted(serious_types))} are serious"]
    serious_fine = int(pol.value("serious_fine_threshold")) * 100
    if facts.fine_cents is not None and facts.fine_cents >= serious_fine:
        return Severity.serious, [f"fine of at least {serious_fine // 100} yuan"]
    if facts.procedure == "simplified":
        return Severity.minor, ["decided under the simplified procedure"]
    if facts.penalty_types and facts.penalty_types <= {"warning", "public_criticism"}:
        return Severity.minor, ["a warning or public criticism only"]
    return Severity.general, ["other penalties are general"]


def _matches(rule: Rule, *, decided_on: dt.date, facts: Facts, severity: str | None, pol: Policy) -> bool:
    when = rule.when
    if "severity" in when and severity not in when["severity"]:
        return False
    if when.get("procedure") and facts.procedure != when["procedure"]:
        return False
    if "types_only" in when and not (facts.penalty_types and facts.penalty_types <= set(when["types_only"])):
        return False
    if "fine_at_most" in when and facts.fine_cents is not None:
        limit = int(pol.value(when["fine_at_most"])) * 100
        if facts.fine_cents > limit:
            return False
    if "ban_over_months" in when and (
        facts.ban_until is None or facts.ban_until <= add_months(decided_on, int(when["ban_over_months"]))
    ):
        return False
    if "sector_in" in when and facts.sector not in when["sector_in"]:
        return False
    return not ("specific_serious" in when and bool(when["specific_serious"]) != facts.specific_serious)


def choose_rule(
    rules: Sequence[Rule],
    *,
    regime: str,
    kind: str,
    decided_on: dt.date,
    severity: str | None,
    facts: Facts,
    pol: Policy,
) -> Rule | None:
    """The first rule for this regime, kind and decision date whose conditions hold, or None."""
    for rule in rules:
        if kind not in rule.kinds or (rule.regime is not None and rule.regime != regime):
            continue
        if rule.starts is not None and decided_on < rule.starts:
            continue
        if rule.ends is not None and decided_on >= rule.ends:
            continue
        if _matches(rule, decided_on=decided_on, facts=facts, severity=severity, pol=pol):
            return rule
    return None


def window(rule: Rule, decided_on: dt.date, facts: Facts) -> Window:
    """The publicity window the rule gives a record decided on ``decided_on`` (the period runs from the
    date of the document, NDRC Order 36)."""
    w = rule.window
    if not rule.published:
        return Window(decided_on, decided_on, None)
    if w.get("given"):
        if facts.given_until is None:
            raise ValueError(f"rule {rule.key} needs the window's end from the caller")
        return Window(decided_on, decided_on, facts.given_until)
    until = add_months(decided_on, int(w["max_months"]))
    if w.get("extend_to_ban") and facts.ban_until is not None and facts.ban_until > until:
        until = facts.ban_until
    if w.get("extend_to_validity") and facts.valid_until is not None:
        until = facts.valid_until
    min_until = min(add_months(decided_on, int(w.get("min_months", 0))), until)
    return Window(decided_on, min_until, until)


def withdrawal_deadline_entry(regime: str) -> str:
    """The policy entry holding the withdrawal deadline of a regime."""
    return "withdrawal_deadline_samr" if regime == "samr" else "withdrawal_deadline_ndrc"
