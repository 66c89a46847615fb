"""Classified supervision (分级分类监管): random-inspection plans (双随机抽查) whose sampling rate per
risk class comes from ``policy/scoring.toml``, drawn from the latest full score run, reproducible from the
seed.

Drawing (``draw``, pure): the population (the run's evaluations in the region, each as the newest refresh
based on the run left it: ``repository.scores_of_run``) is put in a stable order
(risk class, then entity key); each class's target is its rate x its size; with ``size`` the targets are
scaled by one factor to add up to ``size`` (no class beyond its size: what a full class cannot take goes to
the others in proportion), rounded by largest remainder (ties to the riskier class); then a
``numpy.random.Generator`` seeded with ``seed`` draws each class's sample without replacement, classes A to
D in turn. Same run, region, size, seed and rates: the same plan. Every drawn entity carries its reason:
class, rate, the indicators it lost most points on, and the hard override if one applied.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from ecredit.errors import FieldError
from ecredit.identifiers.regions import is_known_region, region_name
from ecredit.kit.policy import policy
from ecredit.scoring import repository as repo
from ecredit.scoring import spec
from ecredit.scoring.errors import InvalidPlan, NoScoreRun
from ecredit.scoring.models import InspectionPlan, InspectionPlanItem
from ecredit.security.permissions import authorize
from ecredit.security.principals import Principal
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects.models import ORGANISATION_KINDS
from ecredit.subjects.repository import bulk_insert

_DEPARTMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HEADERS = (
    "序号",
    "抽取理由",
    "风险分类",
    "信用等级",
    "信用得分",
    "本类抽查比例",
    "评价对象",
    "主体名称",
    "统一社会信用代码",
    "平台",
    "店铺编号",
    "店铺名称",
    "所在地区",
)


@dataclass(frozen=True)
class Candidate:
    entity_key: str
    entity: str
    subject_id: str
    shop_id: str | None
    score: int
    grade: str
    risk_class: str
    override: str | None
    region_code: str | None
    run_id: str  # the run of this evaluation: the full run, or a refresh of the subject based on it


@dataclass(frozen=True)
class Drawn:
    candidate: Candidate
    rate: float  # the class's configured rate
    effective_rate: float  # the share of the class this plan drew


def rates_from_policy() -> tuple[dict[str, float], str]:
    rules = policy("scoring")
    return {c: float(rules.value(f"inspection_rate_{c}")) for c in spec.CLASSES}, rules.ref


def allocate(counts: dict[str, int], rates: dict[str, float], size: int | None) -> dict[str, int]:
    """How many to draw per class (see the module's docstring)."""
    targets = {c: rates[c] * counts.get(c, 0) for c in spec.CLASSES}
    if size is not None:
        size = min(size, sum(counts.values()))
        weights = targets if sum(targets.values()) > 0 else {c: float(counts.get(c, 0)) for c in spec.CLASSES}
        # Water-filling: the factor f with sum(min(count, f x weight)) = size (bisection; monotone in f).
        low, high = 0.0, 1.0
        while sum(min(counts.get(c, 0), high * weights[c]) for c in spec.CLASSES) < size and high < 1e12:
            high *= 2
        for _ in range(200):
            mid = (low + high) / 2
            if sum(min(counts.get(c, 0), mid * weights[c]) for c in spec.CLASSES) < size:
                low = mid
            else:
                high = mid
        targets = {c: min(counts.get(c, 0), high * weights[c]) for c in spec.CLASSES}
        wanted = size
    else:
        wanted = min(round(sum(targets.values())), sum(counts.values()))
    floors = {c: min(counts.get(c, 0), math.floor(targets[c] + 1e-9)) for c in spec.CLASSES}
    left = wanted - sum(floors.values())
    # Largest remainder; ties go to the riskier class.
    order = sorted(spec.CLASSES, key=lambda c: (-(targets[c] - floors[c]), -spec.CLASSES.index(c)))
    while left > 0:
        progressed = False
        for c in order:
            if left > 0 and floors[c] < counts.get(c, 0):
                floors[c] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return floors


def draw(
    candidates: Sequence[Candidate], *, rates: dict[str, float], size: int | None, seed: int
) -> list[Drawn]:
    """The plan's entities, in drawing order (pure; see the module's docstring)."""
    ordered = sorted(candidates, key=lambda c: (c.risk_class, c.entity_key))
    by_class: dict[str, list[Candidate]] = {c: [] for c in spec.CLASSES}
    for c in ordered:
        by_class[c.risk_class].append(c)
    counts = {c: len(v) for c, v in by_class.items()}
    quota = allocate(counts, rates, size)
    rng = np.random.default_rng(seed)
    out: list[Drawn] = []
    for klass in spec.CLASSES:
        members = by_class[klass]
        k = quota[klass]
        if not k:
            continue
        picked = np.sort(rng.choice(len(members), size=k, replace=False))
        effective = k / len(members)
        out.extend(Drawn(members[int(i)], rates[klass], effective) for i in picked)
    return out


def region_prefix(code: str) -> str:
    """The prefix of a GB/T 2260 code: 370000 -> 37, 370100 -> 3701, 370102 -> 370102."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def _reason(model: spec.Model, d: Drawn, lost: list[Any]) -> str:
    c = d.candidate
    band = model.class_band(c.risk_class)
    text = (
        f"风险分类 {c.risk_class} 类（{band.name_zh if band else ''}），本类抽查比例 {d.rate:.0%}"
        f"（本计划实际抽取 {d.effective_rate:.1%}）"
    )
    highlights = []
    for row in lost[:2]:
        indicator = model.indicator(row[1])
        if indicator is not None:
            highlights.append(f"{indicator.name_zh}失 {row[3]:.0f} 分")
    if highlights:
        text += "；主要失分项：" + "、".join(highlights)
    override = next((o for o in model.overrides if o.key == c.override), None)
    if override is not None:
        text += f"；{override.explain_zh}"
    return text


@dataclass
class PlanResult:
    plan: InspectionPlan
    rows: list[dict[str, Any]]  # one per drawn entity, keyed by HEADERS


def make_plan(
    session: Session,
    principal: Principal,
    *,
    department: str,
    region: str,
    size: int,
    seed: int,
) -> PlanResult:
    """Draw and store a random-inspection plan over the latest score run (a flush, no commit)."""
    grant = authorize(principal, "supervision.plan")
    errors = []
    if not _DEPARTMENT.match(department or ""):
        errors.append(FieldError("department", "1-64 letters, digits, '_', '.' or '-'"))
    if not re.fullmatch(r"[0-9]{6}", region or "") or not is_known_region(region):
        errors.append(FieldError("region", "a GB/T 2260 region code of 6 digits, e.g. 370100"))
    limit = int(policy("scoring").value("inspection_max_size"))
    if not 1 <= size <= limit:
        errors.append(FieldError("size", f"between 1 and {limit:,}"))
    if not 0 <= seed < 2**63:
        errors.append(FieldError("seed", "between 0 and 2^63 - 1"))
    if errors:
        raise InvalidPlan("invalid inspection plan", errors=errors)
    prefix = region_prefix(region)
    if not grant.covers_region(region) and not (grant.region_prefix or "").startswith(prefix):
        raise InvalidPlan("region outside your scope", errors=[FieldError("region", "outside your region")])
    if grant.region_prefix and len(grant.region_prefix) > len(prefix):
        prefix = grant.region_prefix  # a regulator draws only inside its own region
    run = repo.latest_run(session)
    if run is None:
        raise NoScoreRun("no finished score run: run `ecredit score run` first")
    model = spec.load(spec.DEFAULT_MODEL)
    candidates = [Candidate(*row) for row in repo.scores_of_run(session, run.id, region_prefix=prefix)]
    rates, policy_ref = rates_from_policy()
    drawn = draw(candidates, rates=rates, size=size, seed=seed)
    population = {c: sum(1 for x in candidates if x.risk_class == c) for c in spec.CLASSES}
    plan = InspectionPlan(
        department=department,
        region_code=region,
        size=size,
        seed=seed,
        run_id=run.id,
        policy_version=policy_ref,
        rates=rates,
        population=population,
        created_by=principal.actor,
    )
    session.add(plan)
    session.flush()
    lost = repo.weakest_contributions(session, {d.candidate.entity_key: d.candidate.run_id for d in drawn})
    subjects = {s.id: s for s in repo.subjects_by_ids(session, {d.candidate.subject_id for d in drawn})}
    shops = {
        d.candidate.shop_id: subjects_repo.get_shop(session, d.candidate.shop_id)
        for d in drawn
        if d.candidate.shop_id
    }
    codes = subjects_repo.platform_codes(session, {s.platform_id for s in shops.values() if s})
    items, rows = [], []
    for seq, d in enumerate(drawn, start=1):
        c = d.candidate
        reason = _reason(model, d, lost.get(c.entity_key, []))
        items.append(
            {
                "plan_id": plan.id,
                "seq": seq,
                "entity_key": c.entity_key,
                "subject_id": c.subject_id,
                "shop_id": c.shop_id,
                "risk_class": c.risk_class,
                "score": c.score,
                "rate": d.rate,
                "reason": reason,
            }
        )
        subject = subjects[c.subject_id]
        shop = shops.get(c.shop_id) if c.shop_id else None
        region_code = c.region_code or ""
        rows.append(
            dict(
                zip(
                    HEADERS,
                    (
                        seq,
                        reason,
                        c.risk_class,
                        c.grade,
                        c.score,
                        f"{d.rate:.0%}",
                        model.entities.get(c.entity, {}).get("name_zh", c.entity),
                        subject.name,
                        subject.uscc if subject.kind in ORGANISATION_KINDS and subject.uscc else "",
                        codes.get(shop.platform_id, "") if shop else "",
                        shop.platform_shop_id if shop else "",
                        shop.name if shop else "",
                        f"{region_code} {region_name(region_code) or ''}".strip() if region_code else "",
                    ),
                    strict=True,
                )
            )
        )
    bulk_insert(session, InspectionPlanItem, items)
    return PlanResult(plan=plan, rows=rows)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The plan as CSV with Chinese headers (write it as UTF-8 with a BOM so Excel reads the Chinese)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(HEADERS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_files(result: PlanResult, out: Path) -> tuple[Path, Path]:
    """``<out>.csv`` and ``<out>.xlsx`` (a header block naming the plan, then the table)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    csv_path, xlsx_path = out.with_suffix(".csv"), out.with_suffix(".xlsx")
    csv_path.write_text(to_csv(result.rows), encoding="utf-8-sig")
    plan = result.plan
    book = Workbook()
    sheet = book.active
    sheet.title = "抽查名单"
    sheet.append(["双随机抽查名单"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["计划编号", plan.id, "部门", plan.department, "地区", plan.region_code])
    sheet.append(["随机种子", str(plan.seed), "评价批次", plan.run_id, "抽查比例依据", plan.policy_version])
    sheet.append([])
    sheet.append(list(HEADERS))
    for cell in sheet[5]:
        cell.font = Font(bold=True)
    for row in result.rows:
        sheet.append([row[h] for h in HEADERS])
    sheet.column_dimensions["B"].width = 70
    sheet.freeze_panes = "A6"
    book.save(xlsx_path)
    return csv_path, xlsx_path
