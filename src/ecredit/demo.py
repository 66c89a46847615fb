"""The demo: a simulated province (``ecredit.sim``) loaded through the same paths as the CLI.

``ecredit demo`` simulates the files platforms and the register office would deliver, registers the
register, platforms and shops, verifies every shop (marks), ingests the platforms' events into the lake, runs
the monitoring detectors (risk warnings) and prints what to open. Also home of small synthetic-identifier
helpers used by tests and benchmarks.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ecredit.identifiers import ric_check_character, uscc_check_character

PREFECTURES = {
    "370102": "济南市历下区",
    "370202": "青岛市市南区",
    "370302": "淄博市淄川区",
    "370402": "枣庄市市中区",
    "370502": "东营市东营区",
    "370602": "烟台市芝罘区",
    "370702": "潍坊市潍城区",
    "370811": "济宁市任城区",
    "370902": "泰安市泰山区",
    "371002": "威海市环翠区",
    "371102": "日照市东港区",
    "371302": "临沂市兰山区",
    "371402": "德州市德城区",
    "371502": "聊城市东昌府区",
    "371602": "滨州市滨城区",
    "371702": "菏泽市牡丹区",
}
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉鹏飞海燕晓东春梅"
TRADE_WORDS = ["泉城", "齐鲁", "海岱", "蓬莱", "泰岳", "鲁源", "黄河", "沂蒙", "琅琊", "孔府", "半岛", "渤海"]
GOODS = {
    "食品": ["特产", "食品", "茶业", "果业"],
    "服装": ["服饰", "纺织", "鞋业"],
    "家居": ["家居", "日用品", "五金"],
    "数码": ["电子", "数码", "科技"],
    "美妆": ["日化", "美妆"],
}
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _org_code(rng: random.Random) -> str:
    """A GB 11714 organisation code (8 body characters + check)."""
    body = "MA" + "".join(rng.choice(_ORG_ALPHABET) for _ in range(6))
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng: random.Random, region: str, category: str = "91") -> str:
    """A synthetic USCC with valid embedded and final check characters."""
    body = category + region + _org_code(rng)
    return body + uscc_check_character(body)


def make_id_number(rng: random.Random, region: str) -> str:
    """A synthetic citizen ID number with a valid check character."""
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 42))
    body = f"{region}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric_check_character(body)


@dataclass
class DemoInfo:
    data_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    sample_shop_id: str | None = None
    sample_token: str | None = None
    sample_query: str | None = None
    admin_token: str | None = None


def build(*, seed: int, log: Callable[[str], None], scale: str = "small", monitor: bool = True) -> DemoInfo:
    """Simulate a province, register it, verify every shop, issue marks, ingest its events, run monitoring.

    Idempotent: the province is simulated once per scale and seed; loads that already happened load
    nothing twice.
    """
    import csv as csv_module
    import shutil

    from sqlalchemy import select

    from ecredit import jobs, migrate, sim, wiring
    from ecredit.analytics.lake import Lake
    from ecredit.config import get_settings
    from ecredit.db import get_engine, session_scope
    from ecredit.intake import loads as intake
    from ecredit.monitoring import runner as monitoring_runner
    from ecredit.security import credentials
    from ecredit.security.principals import Role
    from ecredit.subjects import repository as subjects_repo
    from ecredit.subjects import service as subjects_service
    from ecredit.subjects.models import Shop
    from ecredit.subjects.schemas import PlatformCreate, SubjectCreate
    from ecredit.verification.models import Mark

    settings = get_settings()
    migrate.upgrade(get_engine())
    wiring.wire()  # the real-time checks run on the parcels and scans ingested below
    info = DemoInfo(data_dir=settings.data_dir)
    principal = jobs.cli_principal()
    province = settings.data_dir / "demo" / f"province-{scale}-{seed}"
    if not (province / "manifest.json").exists():
        shutil.rmtree(province, ignore_errors=True)  # an interrupted simulation starts again
        result = sim.simulate(province, scale=scale, seed=seed, fmt="csv")
        log(f"simulated a {scale} province (seed {seed}) in {result.seconds:.1f} s: {province}")
    summary = jobs.import_file(province / "register.csv", kind="register", platform=None)
    log(f"business register: {summary['loaded']:,} entries")
    with (province / "platforms.csv").open(encoding="utf-8") as fh:
        platforms = list(csv_module.DictReader(fh))
    for row in platforms:
        with session_scope() as session:
            if subjects_repo.get_platform_by_code(session, row["code"]) is None:
                subjects_service.register_platform(
                    session, principal, PlatformCreate(code=row["code"], name=row["name"], uscc=row["uscc"])
                )
        summary = jobs.import_file(province / row["code"] / "shops.csv", kind="shops", platform=row["code"])
        log(f"platform {row['code']}: {summary['loaded']:,} shops registered, {summary['rejected']} rejected")
    # The courier companies, as logistics companies (the real-time carrier check wants them registered).
    with (province / "carriers.csv").open(encoding="utf-8") as fh, session_scope() as session:
        for row in csv_module.DictReader(fh):
            if subjects_repo.get_subject_by_uscc(session, row["uscc"]) is None:
                subjects_service.create_subject(
                    session,
                    principal,
                    SubjectCreate(
                        kind="logistics_company",
                        name=row["name"],
                        uscc=row["uscc"],
                        region_code=row["region_code"],
                    ),
                )
    counts = jobs.reverify(include_unverified=True)
    log(f"verification: {counts['verified']:,} verified, {counts['rejected']:,} rejected")
    for row in platforms:
        for kind in sim.EVENT_KINDS:
            path = province / row["code"] / f"{kind}.csv"
            if path.exists():
                loaded = intake.ingest_file(path, platform=row["code"], kind=kind, principal=principal)
                info.counts[f"{row['code']}/{kind}"] = loaded.loaded + loaded.skipped
    with session_scope(read_only=True) as session:
        stats = Lake().stats(session)
    log("event lake: " + ", ".join(f"{k} {v['records']:,}" for k, v in stats.items()))
    if monitor:
        monitored = monitoring_runner.run()  # a re-run refreshes the same warnings (fingerprints), adds none
        log(
            f"monitoring ({monitored.engine}, {monitored.seconds:.0f} s): "
            + ", ".join(f"{name} {len(r.findings):,}" for name, r in monitored.results.items())
            + " risk warnings"
        )
    with session_scope(read_only=True) as session:
        found = session.execute(
            select(Shop.id, Shop.name, Mark.token)
            .join(Mark, Mark.shop_id == Shop.id)
            .where(Mark.revoked_at.is_(None))
            .order_by(Shop.platform_shop_id)
            .limit(1)
        ).first()
        if found is not None:
            info.sample_shop_id, name, info.sample_token = found
            info.sample_query = name[:2]
    with session_scope() as session:
        new = credentials.create_api_key(session, role=Role.admin, label="demo", created_by=principal.actor)
        info.admin_token = new.token
    return info


def print_guide(info: DemoInfo, log: Callable[[str], None]) -> None:
    """Tell the user what to open."""
    from urllib.parse import quote

    from ecredit.config import get_settings

    base = f"http://{get_settings().host}:{get_settings().port}"
    log("")
    log(f"API docs:        {base}/docs")
    if info.sample_query:
        log(f"search subjects: curl '{base}/api/v1/subjects?q={quote(info.sample_query)}'")
    if info.admin_token:
        log(f"admin API key:   {info.admin_token}  (shown once; e.g.")
        auth = f"-H 'Authorization: Bearer {info.admin_token}'"
        log(f"                 curl {auth} '{base}/api/v1/shops?limit=5')")
        log(f"risk warnings:   curl {auth} '{base}/api/v1/warnings?limit=5'")
    if info.sample_token:
        tampered = info.sample_token[:-2] + ("AA" if not info.sample_token.endswith("AA") else "BB")
        log(f"a valid mark:    curl '{base}/api/v1/marks/{info.sample_token}'")
        log(f"a tampered one:  curl '{base}/api/v1/marks/{tampered}'")
