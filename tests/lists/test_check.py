"""The check service and ``POST /api/v1/check``: answers with their entries, measures, legal basis and data
version (C16); legal-representative effects; red-list rewards; what is not in force; unknown subjects; batch
limits and bad items; ID numbers never in clear; set-based batches."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from ecredit.errors import Forbidden, ValidationFailed
from ecredit.kit.clock import frozen_today
from ecredit.lists import check as check_service
from ecredit.lists.catalogue import catalogue
from ecredit.lists.check_schemas import CheckItem, CheckResponse
from ecredit.security.audit import AuditEntry
from ecredit.security.pii import reveal
from ecredit.security.principals import Principal, Role
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects import service as subjects_service
from ecredit.subjects.schemas import RelationCreate
from tests.builders import ADMIN, make_legal_rep, make_platform, make_shop, make_subject, uscc
from tests.lists.check_support import TODAY, make_list_entry

BANK = Principal(actor="key:bank", role=Role.bank)


def _check(session, items, action, principal=BANK, today=TODAY):
    return check_service.check(session, principal, [CheckItem(**i) for i in items], action, today)


def _id_number(person) -> str:
    return reveal(person, "id_number")


class TestAnswers:
    def test_a_black_listed_company_is_restricted_with_entries_measures_basis_and_version(self, session):
        company = make_subject(session)
        entry = make_list_entry(session, company, list_type="ecommerce_fake_trading")
        result = _check(session, [{"uscc": company.uscc}], "loan")
        [a] = result.results
        assert a.answer == "restricted" and a.subject_id == company.id and a.name == company.name
        assert [(e.id, e.colour, e.published_on, e.effective_until) for e in a.entries] == [
            (entry.id, "black", entry.published_on, entry.effective_until)
        ]
        lt = catalogue().list_type("ecommerce_fake_trading")
        assert a.entries[0].legal_basis == lt.legal_basis and a.entries[0].list_name_zh == lt.name_zh
        [m] = a.measures
        measure = catalogue().measures["financial_disclosure"]
        assert (m.measure, m.answer, m.entry_id) == ("financial_disclosure", "restricted", entry.id)
        assert m.legal_basis == measure.legal_basis and m.list_legal_basis == lt.legal_basis
        assert "financial_disclosure" in a.explanation
        v = result.data_version
        assert v.catalogue == catalogue().version and v.as_of == TODAY
        assert v.lists_data != "empty" and v.catalogue in v.stamp and TODAY.isoformat() in v.stamp
        assert result.counts == {"allowed": 0, "restricted": 1, "rewarded": 0, "unknown": 0}

    def test_an_action_no_measure_names_is_allowed_with_the_entry_shown(self, session):
        company = make_subject(session)
        make_list_entry(session, company, list_type="samr_serious")
        [a] = _check(session, [{"subject_id": company.id}], "simplified_procedure").results
        assert a.answer == "allowed" and len(a.entries) == 1 and not a.measures

    def test_the_legal_representative_of_a_listed_company_is_restricted_through_it(self, session):
        company = make_subject(session)
        person = make_legal_rep(session, company)
        entry = make_list_entry(session, company, list_type="samr_serious")
        [a] = _check(session, [{"id_number": _id_number(person)}], "legal_representative").results
        assert a.answer == "restricted" and a.subject_id == person.id
        assert a.name is None and a.ref == person.id_number_masked  # never a person's name or clear number
        [m] = a.measures
        assert (m.measure, m.via_subject_id, m.relation, m.target) == (
            "legal_representative_ban",
            company.id,
            "legal_representative",
            "legal_representative",
        )
        [r] = a.related
        assert (r.subject_id, r.name, r.uscc, r.entry_ids) == (
            company.id,
            company.name,
            company.uscc,
            (entry.id,),
        )
        assert a.entries[0].relation == "legal_representative" and a.entries[0].subject_id == company.id
        # The company itself is not barred from serving as legal representative by its rep's measure
        [own] = _check(session, [{"subject_id": company.id}], "legal_representative").results
        assert own.answer == "allowed"

    def test_an_ended_relation_no_longer_restricts(self, session):
        company = make_subject(session)
        person = make_legal_rep(session, company)
        make_list_entry(session, company)
        relation = subjects_repo.get_relation(session, "legal_representative", person.id, company.id)
        relation.ended_date = dt.date(2026, 1, 1)
        session.flush()
        [a] = _check(session, [{"subject_id": person.id}], "legal_representative").results
        assert a.answer == "allowed" and not a.related and not a.entries

    def test_a_red_list_subject_is_rewarded(self, session):
        company = make_subject(session)
        entry = make_list_entry(session, company, list_type="red_trustworthy")
        [a] = _check(session, [{"uscc": company.uscc}], "loan").results
        assert a.answer == "rewarded" and a.entries[0].colour == "red"
        assert [(m.measure, m.answer, m.effect, m.entry_id) for m in a.measures] == [
            ("credit_loan_referral", "rewarded", "reward", entry.id)
        ]

    def test_restricted_wins_over_rewarded(self, session):
        company = make_subject(session)
        make_list_entry(session, company, list_type="red_trustworthy")
        make_list_entry(session, company, list_type="ecommerce_fake_trading")
        [a] = _check(session, [{"uscc": company.uscc}], "loan").results
        assert a.answer == "restricted"
        assert {m.answer for m in a.measures} == {"restricted", "rewarded"}  # both shown, restricted decides

    @pytest.mark.parametrize(
        "overrides",
        [
            {"effective_until": TODAY - dt.timedelta(days=1)},  # term over (expiry job not yet run)
            {"state": "expired"},
            {"state": "repaired"},
            {"state": "withdrawn"},
            {"state": "decided"},  # not yet published
        ],
        ids=["term-over", "expired", "repaired", "withdrawn", "not-published"],
    )
    def test_an_entry_not_in_force_gives_allowed(self, session, overrides):
        company = make_subject(session)
        make_list_entry(session, company, list_type="ecommerce_fake_trading", **overrides)
        [a] = _check(session, [{"uscc": company.uscc}], "loan").results
        assert a.answer == "allowed" and not a.entries and not a.measures

    def test_unknown_subjects_are_answered_unknown_not_allowed(self, session):
        from tests.builders import id_number

        result = _check(
            session,
            [{"uscc": uscc()}, {"id_number": id_number()}, {"subject_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}],
            "loan",
        )
        assert [a.answer for a in result.results] == ["unknown"] * 3
        assert result.counts["unknown"] == 3 and all(a.subject_id is None for a in result.results)

    def test_a_batch_keeps_the_order_and_the_index_of_each_subject(self, session):
        listed, clean = make_subject(session), make_subject(session)
        make_list_entry(session, listed, list_type="ecommerce_fake_trading")
        result = _check(session, [{"uscc": clean.uscc}, {"uscc": listed.uscc}, {"uscc": clean.uscc}], "loan")
        assert [(a.index, a.answer) for a in result.results] == [
            (0, "allowed"),
            (1, "restricted"),
            (2, "allowed"),
        ]

    def test_the_data_version_moves_when_an_entry_changes(self, session):
        company = make_subject(session)
        entry = make_list_entry(session, company, list_type="ecommerce_fake_trading")
        first = _check(session, [{"uscc": company.uscc}], "loan").data_version
        entry.state = "withdrawn"
        entry.updated_at = entry.updated_at + dt.timedelta(seconds=1)
        session.flush()
        second = _check(session, [{"uscc": company.uscc}], "loan")
        assert second.results[0].answer == "allowed" and second.data_version.stamp != first.stamp


class TestRules:
    def test_unknown_action_empty_and_oversized_batches_are_refused(self, session):
        company = make_subject(session)
        with pytest.raises(ValidationFailed) as exc:
            _check(session, [{"uscc": company.uscc}], "fly")
        assert exc.value.errors[0].field == "action"
        with pytest.raises(ValidationFailed) as exc:
            check_service.check(session, BANK, [], "loan", TODAY)
        assert exc.value.errors[0].field == "subjects"
        limit = check_service.check_limit()
        items = [CheckItem(uscc=company.uscc)] * (limit + 1)
        with pytest.raises(ValidationFailed) as exc:
            check_service.check(session, BANK, items, "loan", TODAY)
        assert exc.value.errors[0].field == "subjects" and str(limit) in exc.value.errors[0].message

    def test_the_public_may_not_check(self, session):
        from ecredit.errors import Unauthorized

        with pytest.raises(Unauthorized):
            _check(
                session, [{"uscc": uscc()}], "loan", principal=Principal(actor="anonymous", role=Role.public)
            )

    def test_one_audit_entry_per_call_with_the_counts_and_no_identifier(self, session):
        company, person = make_subject(session), make_subject(session, kind="person")
        make_list_entry(session, company, list_type="ecommerce_fake_trading")
        number = _id_number(person)
        before = session.scalars(select(AuditEntry).where(AuditEntry.action == "lists.check")).all()
        _check(session, [{"uscc": company.uscc}, {"id_number": number}, {"uscc": uscc()}], "loan")
        after = session.scalars(select(AuditEntry).where(AuditEntry.action == "lists.check")).all()
        [entry] = [e for e in after if e not in before]
        assert entry.actor == "key:bank" and entry.details["action"] == "loan"
        assert entry.details["subjects"] == 3
        assert (entry.details["restricted"], entry.details["allowed"], entry.details["unknown"]) == (1, 1, 1)
        text = str(entry.details)
        assert number not in text and company.uscc not in text and person.id not in text

    def test_a_batch_costs_the_same_statements_as_one_subject(self, session, engine):
        companies = [make_subject(session) for _ in range(30)]
        people = [make_legal_rep(session, c) for c in companies[:10]]
        for c in companies[::3]:
            make_list_entry(session, c, list_type="ecommerce_fake_trading")

        def statements(items) -> int:
            count = 0

            def bump(*_args, **_kw):
                nonlocal count
                count += 1

            connection = session.connection()
            event.listen(connection, "before_cursor_execute", bump)
            try:
                _check(session, items, "legal_representative")
            finally:
                event.remove(connection, "before_cursor_execute", bump)
            return count

        one = statements([{"uscc": companies[0].uscc}, {"subject_id": people[0].id}])
        many = statements(
            [{"uscc": c.uscc} for c in companies] + [{"id_number": _id_number(p)} for p in people]
        )
        assert many <= one + 1  # the id-number look-up is one more statement, never one per subject


class TestApi:
    def test_a_bank_checks_a_batch_and_gets_the_explanations(self, client_as, session):
        company = make_subject(session)
        person = make_legal_rep(session, company)
        make_list_entry(session, company, list_type="ecommerce_fake_trading")
        number = _id_number(person)
        with frozen_today(TODAY):
            r = client_as("bank").post(
                "/api/v1/check",
                json={"action": "loan", "subjects": [{"uscc": company.uscc}, {"id_number": number}]},
            )
        assert r.status_code == 200, r.text
        body = CheckResponse.model_validate(r.json())
        assert [a.answer for a in body.results] == ["restricted", "restricted"]
        assert body.data_version.catalogue == catalogue().version and body.data_version.as_of == TODAY
        assert all(a.entries and a.measures for a in body.results)
        assert number not in r.text and body.results[1].ref == person.id_number_masked
        assert person.name not in r.text

    def test_a_platform_may_check_any_subject(self, client_as, session):
        company = make_subject(session)
        make_list_entry(session, company, list_type="ecommerce_fake_trading")
        client = client_as("platform", platform=make_platform(session))
        with frozen_today(TODAY):
            r = client.post(
                "/api/v1/check", json={"action": "open_shop", "subjects": [{"uscc": company.uscc}]}
            )
        assert r.status_code == 200 and r.json()["results"][0]["answer"] == "restricted"

    def test_bad_items_are_named_by_index_field_and_reason(self, client_as, session):
        company = make_subject(session)
        bad_uscc = company.uscc[:-1] + ("0" if company.uscc[-1] != "0" else "1")
        r = client_as("bank").post(
            "/api/v1/check",
            json={
                "action": "loan",
                "subjects": [
                    {"uscc": company.uscc},
                    {"uscc": bad_uscc},
                    {"id_number": "370102199001011230"},
                    {"uscc": company.uscc, "subject_id": company.id},
                    {"subject_id": "not-an-id"},
                ],
            },
        )
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        fields = {e["field"] for e in r.json()["errors"]}
        assert {"subjects.1.uscc", "subjects.2.id_number", "subjects.3", "subjects.4.subject_id"} <= fields
        assert "370102199001011230" not in r.text and "19900101" not in r.text

    def test_an_unknown_action_and_an_oversized_batch_are_422(self, client_as, session):
        client = client_as("department")
        r = client.post("/api/v1/check", json={"action": "fly", "subjects": [{"uscc": uscc()}]})
        assert r.status_code == 422 and "loan" in r.text
        limit = check_service.check_limit()
        r = client.post(
            "/api/v1/check", json={"action": "loan", "subjects": [{"uscc": uscc()}] * (limit + 1)}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subjects"

    def test_anonymous_callers_are_refused(self, anon):
        r = anon.post("/api/v1/check", json={"action": "loan", "subjects": [{"uscc": uscc()}]})
        assert r.status_code == 401


class TestIncentives:
    def test_a_platform_sees_its_own_red_list_merchants_with_their_incentives(self, client_as, session):
        mine, other = make_platform(session), make_platform(session)
        ours, theirs = make_subject(session), make_subject(session)
        make_shop(session, platform=mine, operator=ours)
        make_shop(session, platform=other, operator=theirs)
        entry = make_list_entry(session, ours, list_type="red_trustworthy")
        make_list_entry(session, theirs, list_type="red_trustworthy")
        make_list_entry(session, ours, list_type="ecommerce_fake_trading")  # black: not an incentive
        with frozen_today(TODAY):
            r = client_as("platform", platform=mine).get("/api/v1/lists/incentives")
            everyone = client_as("bank").get("/api/v1/lists/incentives")
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert item["entry_id"] == entry.id and item["subject_id"] == ours.id
        assert {m["measure"] for m in item["measures"]} == set(
            catalogue().list_type("red_trustworthy").measures
        )
        assert r.json()["data_version"]["catalogue"] == catalogue().version
        assert everyone.status_code == 200 and len(everyone.json()["items"]) >= 2

    def test_the_public_may_not_list_incentives(self, anon):
        assert anon.get("/api/v1/lists/incentives").status_code == 401


def test_a_second_company_of_the_same_person_is_reached_too(session):
    first, second = make_subject(session), make_subject(session)
    person = make_legal_rep(session, first)
    subjects_service.add_relation(
        session, ADMIN, RelationCreate(kind="legal_representative", holder_id=person.id, object_id=second.id)
    )
    make_list_entry(session, second, list_type="samr_serious")
    [a] = _check(session, [{"subject_id": person.id}], "legal_representative").results
    assert a.answer == "restricted" and [r.subject_id for r in a.related] == [second.id]


def test_forbidden_is_not_raised_for_granted_roles(session):
    for role in (Role.bank, Role.department, Role.agency, Role.regulator, Role.admin):
        try:
            _check(session, [{"uscc": uscc()}], "loan", principal=Principal(actor=f"key:{role}", role=role))
        except Forbidden:  # pragma: no cover - the failure message names the role
            pytest.fail(f"{role} may not check")
