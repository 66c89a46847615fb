"""The whole API against its own OpenAPI document, with schemathesis, in-process (RELIABILITY.md C1, C2, C5, C6).

This runs what ``st run --checks all --seed …`` runs — every phase (examples, coverage, fuzzing, stateful)
and every default check, including ``ignored_auth`` (ST401) and ``object_level_authorization`` (ST402) —
through schemathesis' engine on the ASGI app (``from_asgi``), with no server and no network.

Identities come from a Web Fuzzing Commons auth document with fixed ``Authorization: Bearer <API key>``
headers. Schemathesis tries the entries in document order per operation and moves on when an operation
refuses one (403/401), so the two platforms come first: every operation a platform may call runs as a
platform, and its objects are owned by a tenant. ``peers = [platform-a, platform-b]`` makes ST402 replay
every successful read of one platform's object as the other platform, which must not get it.

The store is fresh, migrated and really committed (like ``isolated_store``): the engine runs requests on
its own threads, so the per-test rolled-back transaction of the ``app`` fixture cannot be used.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Pinned: the same cases every run, on every machine (RELIABILITY.md C6).
SEED = 20261128
# Per operation and generating phase; a bound on the runtime, not on the checks.
MAX_EXAMPLES = 25
PEERS = ("platform-a", "platform-b")


def _seed_store() -> dict[str, str]:
    """Two platforms with a subject and a shop each; API keys for every identity. Committed."""
    from ecredit import db
    from ecredit.security import credentials
    from ecredit.security.principals import Role
    from tests.builders import make_platform, make_shop, make_subject

    tokens: dict[str, str] = {}
    with db.session_scope() as session:
        alpha = make_platform(session, code="alpha", name="阿尔法电商平台有限公司")
        beta = make_platform(session, code="beta", name="贝塔电商平台有限公司")
        for platform in (alpha, beta):
            operator = make_subject(session)
            make_shop(session, platform=platform, operator=operator)

        def key(role: Role, name: str, **scope: object) -> None:
            new = credentials.create_api_key(
                session, role=role, label=f"conformance {name}", created_by="test", **scope
            )
            tokens[name] = new.token

        key(Role.platform, "platform-a", platform_id=alpha.id)
        key(Role.platform, "platform-b", platform_id=beta.id)
        key(Role.admin, "admin")
        key(Role.regulator, "regulator", department="market")
    return tokens


def _wfc_document(tokens: dict[str, str], path: Path) -> Path:
    """Peers first: schemathesis tries the users in this order and keeps the first one an operation admits."""
    order = [*PEERS, "admin", "regulator"]
    document = {
        "schemaVersion": "0.2.0",
        "auth": [
            {
                "name": name,
                "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {tokens[name]}"}],
            }
            for name in order
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _config(wfc: Path):
    from schemathesis.config import SchemathesisConfig

    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # No state carried between runs: no cache of identities or crashes, no example database.
            "cache": {"enabled": False},
            "analysis": {"constants": {"enabled": False}},
            "generation": {"deterministic": True, "database": "none", "max-examples": MAX_EXAMPLES},
            # Every check is on by default; name the two auth checks so a default change cannot drop them.
            "checks": {"ignored_auth": {"enabled": True}, "object_level_authorization": {"enabled": True}},
            "auth": {"wfc": {"path": str(wfc), "peers": list(PEERS)}},
        }
    )


def _register_identifier_formats() -> None:
    """Generators for the identifier formats the document names (``uscc``, ``ric``, ``gb2260``).

    A check character or a table look-up is beyond JSON Schema, so the document names the format and
    schemathesis needs to be told how to make a valid one, as for any custom format.
    """
    import datetime as dt

    import schemathesis
    from hypothesis import strategies as st

    from ecredit.identifiers import ric_check_character, uscc_check_character
    from ecredit.identifiers.regions import region_table
    from ecredit.identifiers.uscc import ALPHABET

    region = st.sampled_from(sorted(code for code in region_table() if not code.startswith("9")))

    @st.composite
    def uscc(draw) -> str:
        body = draw(st.sampled_from(["11", "12", "51", "91", "92", "93"])) + draw(region)
        body += draw(st.text(ALPHABET, min_size=9, max_size=9))
        return body + uscc_check_character(body)

    @st.composite
    def ric(draw) -> str:
        born = draw(st.dates(dt.date(1940, 1, 1), dt.date(2005, 12, 31)))
        body = f"{draw(region)}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
        return body + ric_check_character(body)

    schemathesis.openapi.format("uscc", uscc())
    schemathesis.openapi.format("ric", ric())
    schemathesis.openapi.format("gb2260", region)


def _describe(check, case, interaction) -> str:
    failure = check.failure_info.failure
    who = f" as {case.auth_identity}" if case is not None and case.auth_identity else ""
    answer = ""
    if interaction is not None and interaction.response is not None:
        response = interaction.response
        answer = f"\n-> {response.status_code} {response.content[:300].decode('utf-8', 'replace')}"
    return (
        f"[{failure.code}] {failure.operation}{who}: {failure.title}\n"
        f"{failure.message}\n{check.failure_info.code_sample}{answer}\nDEBUG {case.meta!r}"
    )


def test_the_api_conforms_to_its_schema(isolated_store, monkeypatch, tmp_path):
    import schemathesis
    from schemathesis.engine import Status, events

    from ecredit import db, migrate
    from ecredit.config import get_settings

    migrate.upgrade(db.get_engine())
    settings = get_settings()
    # The limits are C7's business (tested there); here they would only turn requests into 429s.
    monkeypatch.setattr(settings, "rate_limit_public_per_minute", 10**6)
    monkeypatch.setattr(settings, "rate_limit_login_per_minute", 10**6)
    tokens = _seed_store()

    from ecredit.app import create_app

    app = create_app()
    _register_identifier_formats()
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=_config(_wfc_document(tokens, tmp_path / "wfc-auth.json"))
    )

    failures: dict[tuple[str, str, str], str] = {}
    errors: list[str] = []
    identities: Counter[str] = Counter()
    tested: set[str] = set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            recorder = event.recorder
            tested.add(recorder.label)
            for node in recorder.cases.values():
                identities[node.value.auth_identity or "<anonymous>"] += 1
            for case_id, checks in recorder.checks.items():
                node = recorder.cases.get(case_id)
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        key = (failure.code, failure.operation or recorder.label, failure.title)
                        failures.setdefault(
                            key,
                            _describe(
                                check, node.value if node else None, recorder.interactions.get(case_id)
                            ),
                        )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                failures.setdefault((failure.code, failure.operation or "-", failure.title), str(failure))

    report = "\n\n".join([*failures.values(), *errors])
    assert not failures and not errors, f"{len(failures)} failures, {len(errors)} errors\n\n{report}"
    # The wiring is live: both peers sent requests, so ST402 had objects of each tenant to replay.
    assert all(identities[peer] > 0 for peer in PEERS), identities
