"""Every publicity rule of DOMAIN.md §2.5 as data: which rule a record gets, its window, and that it
appears, stays for its window and leaves the public outputs at its maximum by itself."""

from __future__ import annotations

import datetime as dt

import pytest

from ecredit.kit.clock import add_months
from ecredit.records import rules, service
from ecredit.records.errors import NoPublicityRule
from tests.builders import make_record, make_subject

SAMR = "济南市市场监督管理局"
NDRC = "济南市商务局"
D25 = dt.date(2025, 5, 6)  # before NDRC Order 36 (527号 applies on 信用中国)
D26 = dt.date(2026, 5, 6)  # under NDRC Order 36
LATER = dt.date(2030, 1, 1)  # "today" for creating: every decision date lies behind it

# (case, record fields, expected rule, min months, max months (None: not published))
CASES = [
    # SAMR Order 45 (market regulation)
    (
        "simplified procedure",
        {"source_department": SAMR, "procedure": "simplified", "amount_cents": 50_000},
        "samr45_simplified",
        0,
        None,
    ),
    (
        "warning alone",
        {"source_department": SAMR, "penalty_types": ["warning"], "amount_cents": None},
        "samr45_warning_only",
        0,
        None,
    ),
    (
        "ban of 5 years",
        {
            "source_department": SAMR,
            "penalty_types": ["profession_ban", "fine"],
            "ban_until": add_months(D25, 60),
        },
        "samr45_ban_over_3_years",
        6,
        60,
    ),
    (
        "ban of exactly 3 years",
        {
            "source_department": SAMR,
            "penalty_types": ["profession_ban"],
            "amount_cents": None,
            "ban_until": add_months(D25, 36),
        },
        "samr45_other",
        6,
        36,
    ),
    (
        "public criticism",
        {"source_department": SAMR, "penalty_types": ["public_criticism"], "amount_cents": None},
        "samr45_criticism_or_lower_fine",
        3,
        3,
    ),
    (
        "lower fine, at the threshold",
        {"source_department": SAMR, "amount_cents": 1_000_000},
        "samr45_criticism_or_lower_fine",
        3,
        3,
    ),
    (
        "warning and lower fine",
        {"source_department": SAMR, "penalty_types": ["warning", "fine"], "amount_cents": 200_000},
        "samr45_criticism_or_lower_fine",
        3,
        3,
    ),
    (
        "fine above the threshold",
        {"source_department": SAMR, "amount_cents": 1_000_100},
        "samr45_other",
        6,
        36,
    ),
    ("food sector", {"source_department": SAMR, "sector": "food"}, "samr45_food_drug_equipment", 12, 36),
    (
        "confiscation",
        {"source_department": SAMR, "penalty_types": ["confiscation"], "amount_cents": None},
        "samr45_other",
        6,
        36,
    ),
    # 信用中国 before 2026-04-01 (527号)
    ("527 minor", {"penalty_types": ["warning"], "amount_cents": None}, "ndrc527_minor", 0, None),
    ("527 general", {"amount_cents": 2_000_000}, "ndrc527_general", 3, 12),
    ("527 serious by fine", {"amount_cents": 100_000_000}, "ndrc527_serious", 6, 36),
    (
        "527 specific serious",
        {"penalty_types": ["licence_revocation"], "amount_cents": None, "specific_serious": True},
        "ndrc527_specific_serious",
        36,
        36,
    ),
    ("527 on 2026-03-31", {"decided_on": dt.date(2026, 3, 31)}, "ndrc527_general", 3, 12),
    # 信用中国 under NDRC Order 36
    ("36 on 2026-04-01", {"decided_on": dt.date(2026, 4, 1)}, "ndrc36_general", 3, 12),
    ("36 minor (simplified)", {"decided_on": D26, "procedure": "simplified"}, "ndrc36_minor", 0, None),
    ("36 general", {"decided_on": D26}, "ndrc36_general", 3, 12),
    (
        "36 serious by type",
        {"decided_on": D26, "penalty_types": ["licence_revocation"], "amount_cents": None},
        "ndrc36_serious",
        12,
        36,
    ),
    ("36 class given by the source", {"decided_on": D26, "severity": "serious"}, "ndrc36_serious", 12, 36),
    # records that are not dishonesty information
    (
        "licence with an end",
        {
            "kind": "administrative_licence",
            "penalty_types": [],
            "amount_cents": None,
            "valid_until": dt.date(2027, 2, 1),
        },
        "licence",
        0,
        "2027-02-01",
    ),
    (
        "licence without an end",
        {"kind": "administrative_licence", "penalty_types": [], "amount_cents": None},
        "licence",
        0,
        36,
    ),
    ("award", {"kind": "award", "penalty_types": [], "amount_cents": None}, "positive", 0, 36),
    (
        "list entry",
        {
            "kind": "list_entry",
            "penalty_types": [],
            "amount_cents": None,
            "list_colour": "black",
            "publicity_until": dt.date(2028, 5, 6),
        },
        "list_entry",
        0,
        "2028-05-06",
    ),
]


def _expected_until(decided: dt.date, maximum) -> dt.date | None:
    if maximum is None:
        return None
    if isinstance(maximum, str):
        return dt.date.fromisoformat(maximum)
    return add_months(decided, maximum)


@pytest.mark.parametrize(
    ("case", "fields", "rule", "min_months", "max_months"), CASES, ids=[c[0] for c in CASES]
)
def test_a_record_appears_stays_for_its_window_and_leaves_at_its_maximum(
    session, case, fields, rule, min_months, max_months
):
    fields = {"decided_on": D25} | fields
    record = make_record(session, today=LATER, **fields)
    decided = fields["decided_on"]
    assert record.rule == rule
    assert record.policy_version == service.records_policy().version
    assert record.details["rule_source"]
    until = _expected_until(decided, max_months)
    assert record.publicity_until == until
    assert record.publicity_min_until == min(add_months(decided, min_months), until or decided)

    def public_on(day):
        return [r.id for r in service.public_records(session, subject_id=record.subject_id, today=day)]

    if until is None:  # not published as a rule: never public, never expired, still in the archive
        for day in (decided, add_months(decided, 1), add_months(decided, 40)):
            assert public_on(day) == []
            assert record.status_on(day) == "active"
        return
    assert public_on(decided - dt.timedelta(days=1)) == []
    assert public_on(decided) == [record.id]
    assert public_on(until - dt.timedelta(days=1)) == [record.id]
    assert public_on(until) == [record.id]
    assert record.status_on(until) == "active"
    # The day after its maximum it is gone by itself, and its derived status says why.
    assert public_on(until + dt.timedelta(days=1)) == []
    assert record.status_on(until + dt.timedelta(days=1)) == "expired"
    assert record.id in [r.id for r in service.scoring_records(session, as_of=until + dt.timedelta(days=1))]


def test_every_rule_of_the_policy_is_shown_by_a_case():
    keys = {r.key for r in rules.load_rules(service.records_policy())}
    shown = {c[2] for c in CASES}
    # The non-penalty negative kinds use the NDRC rules too: tests/records/test_service.py shows them.
    assert keys - shown == set()


def test_each_rule_carries_its_source_and_confidence():
    for rule in rules.load_rules(service.records_policy()):
        assert rule.source and rule.confidence in {"V", "S", "M"}, rule.key


def test_the_lower_fine_threshold_is_configurable_and_marked_unconfirmed():
    entry = service.records_policy().entry("lower_fine_threshold")
    assert entry["confidence"] == "M" and "province" in entry["source"]


class TestNoRule:
    def test_a_decision_before_every_rule_set_is_refused(self, session):
        with pytest.raises(NoPublicityRule) as exc:
            make_record(session, today=LATER, decided_on=dt.date(2019, 1, 2))
        assert exc.value.errors[0].field == "decided_on"


class TestClassification:
    def test_a_class_given_by_the_source_wins(self, session):
        record = make_record(session, today=LATER, decided_on=D26, severity="minor", amount_cents=900_000_000)
        assert record.severity == "minor" and record.rule == "ndrc36_minor"

    @pytest.mark.parametrize(
        ("types", "fine", "procedure", "expected"),
        [
            (["fine"], 100_000_000, "ordinary", "serious"),
            (["fine"], 99_999_999, "ordinary", "general"),
            (["licence_revocation"], None, "ordinary", "serious"),
            (["warning"], None, "ordinary", "minor"),
            (["warning", "public_criticism"], None, "ordinary", "minor"),
            (["fine"], 10_000, "simplified", "minor"),
        ],
    )
    def test_default_class_of_a_penalty(self, types, fine, procedure, expected):
        facts = rules.Facts(penalty_types=frozenset(types), fine_cents=fine, procedure=procedure)
        result = rules.classify("administrative_penalty", facts, None, service.records_policy())
        assert (result.effect, result.severity) == ("negative", expected)
        assert result.reasons

    @pytest.mark.parametrize(
        ("kind", "facts", "effect"),
        [
            ("award", rules.Facts(), "positive"),
            ("commitment_fulfilled", rules.Facts(), "positive"),
            ("administrative_licence", rules.Facts(), "neutral"),
            ("commitment", rules.Facts(), "neutral"),
            ("list_entry", rules.Facts(list_colour="red"), "positive"),
            ("list_entry", rules.Facts(list_colour="black"), "negative"),
            ("complaint_outcome", rules.Facts(outcome="upheld"), "negative"),
            ("complaint_outcome", rules.Facts(outcome="rejected"), "neutral"),
            ("confirmed_warning", rules.Facts(), "negative"),
        ],
    )
    def test_effect_by_kind(self, kind, facts, effect):
        assert rules.classify(kind, facts, None, service.records_policy()).effect == effect


def test_samr_penalties_carry_their_publication_deadline(session):
    record = make_record(session, today=LATER, source_department=SAMR, decided_on=dt.date(2026, 9, 1))
    # 20 working days after 2026-09-01 (the National Day week 10-01..10-07 is not counted)
    assert record.details["publish_by"] == "2026-09-29"
    late = make_record(session, today=LATER, source_department=SAMR, decided_on=dt.date(2026, 12, 20))
    assert late.details["publish_by"] is None and "2027" in late.details["publish_by_unknown"]


def test_the_subject_and_its_other_records_do_not_matter(session):
    subject = make_subject(session)
    a = make_record(session, subject, today=LATER, decided_on=D26)
    b = make_record(session, subject, today=LATER, decided_on=D26, amount_cents=200_000_000)
    assert (a.rule, b.rule) == ("ndrc36_general", "ndrc36_serious")
