"""The indicator model: a versioned YAML file under ``scoring/models/`` (one file per version), loaded and
checked here into plain dataclasses. Pure: no database, no engine.

A model names the entity kinds it evaluates (shop, platform, logistics) with the SQL that lists them, its
dimensions (GB/T 23794) and their indicators (each an SQL file, a normaliser, a weight, a direction, a
neutral value for missing data, the entity kinds it applies to), hard overrides, the grade bands (GB/T 22116
symbols) and risk classes (A-D), and the credit-points rules.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from ecredit.errors import ConfigurationError

ENTITIES = ("shop", "platform", "logistics")
NORMALISERS = ("linear", "logistic")
DIRECTIONS = ("higher_better", "lower_better")
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
CLASSES = ("A", "B", "C", "D")
SCORE_MAX = 1000
DEFAULT_MODEL = "credit-2026.12"


@dataclass(frozen=True)
class Indicator:
    key: str
    dimension: str
    category: str
    name_zh: str
    name_en: str
    applies_to: tuple[str, ...]
    sql: str
    normaliser: dict[str, float | str]
    direction: str
    weight: float
    neutral: float
    min_count: int
    explain_zh: str
    explain_en: str
    params: dict[str, Any] = field(default_factory=dict)
    default_raw: float | None = None  # the raw value of an entity the SQL gives no row for (None: no data)

    @property
    def higher_better(self) -> bool:
        return self.direction == "higher_better"


@dataclass(frozen=True)
class Step:
    """A shared pass over the lake, materialised as table ``name`` before its entity kinds' indicators."""

    name: str
    sql: str
    entities: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Override:
    key: str
    sql: str
    score_max: int
    risk_class: str
    explain_zh: str
    explain_en: str


@dataclass(frozen=True)
class Band:
    symbol: str  # a grade (AAA...C) or a class (A...D)
    low: int  # inclusive
    high: int  # exclusive (the band above's low; SCORE_MAX + 1 for the top band)
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class PointLevel:
    low: int
    level: int
    name_zh: str
    icon: str


@dataclass(frozen=True)
class PointsRules:
    sql: str
    rating_points: dict[int, int]
    period_days: int
    pair_cap: int
    void_confirmed_brushing: bool
    void_detected_extortion: bool
    void_detected_fake_reviews: bool
    brushing_deduction: int  # points a shop loses per confirmed brushing-ring warning naming it
    source: str
    levels: tuple[PointLevel, ...]

    def level_of(self, points: int) -> PointLevel:
        """The highest level whose lower edge ``points`` reaches (the first level below every edge)."""
        found = self.levels[0]
        for level in self.levels:
            if points >= level.low:
                found = level
        return found


@dataclass(frozen=True)
class Model:
    name: str
    version: str
    description_zh: str
    sources: tuple[str, ...]
    entities: dict[str, dict[str, str]]
    steps: tuple[Step, ...]
    dimensions: dict[str, dict[str, str]]  # key -> name_zh, name_en
    indicators: tuple[Indicator, ...]
    record_weights: dict[str, float]
    warning_weights: dict[str, float]
    confirmed_factor: float
    overrides: tuple[Override, ...]
    grades: tuple[Band, ...]
    classes: tuple[Band, ...]
    points: PointsRules

    @property
    def ref(self) -> str:
        """``name@version``: stored with every score."""
        return f"{self.name}@{self.version}"

    def for_entity(self, entity: str) -> list[Indicator]:
        return [i for i in self.indicators if entity in i.applies_to]

    def indicator(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)

    def grade_of(self, score: int) -> Band:
        return next(b for b in self.grades if b.low <= score < b.high)

    def class_of(self, score: int) -> Band:
        return next(b for b in self.classes if b.low <= score < b.high)

    def grade_band(self, symbol: str) -> Band | None:
        return next((b for b in self.grades if b.symbol == symbol), None)

    def class_band(self, symbol: str) -> Band | None:
        return next((b for b in self.classes if b.symbol == symbol), None)


def _need(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise ConfigurationError(f"scoring model: {where} needs {key!r}")
    return data[key]


def _bands(rows: list[dict[str, Any]], key: str, symbols: tuple[str, ...], where: str) -> tuple[Band, ...]:
    if [r.get(key) for r in rows] != list(symbols):
        raise ConfigurationError(f"scoring model: {where} must list {', '.join(symbols)} in this order")
    lows = [int(_need(r, "min", f"{where} {r[key]}")) for r in rows]
    if lows[-1] != 0 or any(a <= b for a, b in itertools.pairwise(lows)) or lows[0] > SCORE_MAX:
        raise ConfigurationError(f"scoring model: {where} edges must fall from at most {SCORE_MAX} to 0")
    highs = [SCORE_MAX + 1, *lows[:-1]]
    return tuple(
        Band(r[key], low, high, str(r.get("name_zh", "")), str(r.get("name_en", "")))
        for r, low, high in zip(rows, lows, highs, strict=True)
    )


def parse(data: dict[str, Any]) -> Model:
    """Check a model's YAML document and build the model (``ConfigurationError`` naming what is wrong)."""
    version = str(_need(data, "version", "the model"))
    entities = _need(data, "entities", "the model")
    if set(entities) - set(ENTITIES):
        raise ConfigurationError(
            f"scoring model: unknown entity kinds {sorted(set(entities) - set(ENTITIES))}"
        )
    dimensions: dict[str, dict[str, str]] = {}
    indicators: list[Indicator] = []
    for dim in _need(data, "dimensions", "the model"):
        dkey = _need(dim, "key", "a dimension")
        dimensions[dkey] = {"name_zh": dim.get("name_zh", ""), "name_en": dim.get("name_en", "")}
        for raw in _need(dim, "indicators", f"dimension {dkey}"):
            key = _need(raw, "key", f"an indicator of {dkey}")
            where = f"indicator {key}"
            norm = dict(_need(raw, "normaliser", where))
            kind = norm.get("kind")
            if kind not in NORMALISERS:
                raise ConfigurationError(
                    f"scoring model: {where}: normaliser kind must be one of {NORMALISERS}"
                )
            if kind == "linear" and not float(norm["high"]) > float(norm["low"]):
                raise ConfigurationError(f"scoring model: {where}: linear needs high > low")
            if kind == "logistic" and not float(norm["scale"]) > 0:
                raise ConfigurationError(f"scoring model: {where}: logistic needs scale > 0")
            direction = _need(raw, "direction", where)
            if direction not in DIRECTIONS:
                raise ConfigurationError(f"scoring model: {where}: direction must be one of {DIRECTIONS}")
            applies = tuple(_need(raw, "applies_to", where))
            if not applies or set(applies) - set(entities):
                raise ConfigurationError(
                    f"scoring model: {where}: applies_to must name entity kinds of the model"
                )
            weight = float(_need(raw, "weight", where))
            neutral = float(raw.get("neutral", 0.5))
            if weight <= 0 or not 0.0 <= neutral <= 1.0:
                raise ConfigurationError(f"scoring model: {where}: weight > 0 and 0 <= neutral <= 1")
            if any(i.key == key for i in indicators):
                raise ConfigurationError(f"scoring model: indicator {key} is defined twice")
            indicators.append(
                Indicator(
                    key=key,
                    dimension=dkey,
                    category=str(raw.get("category", "")),
                    name_zh=_need(raw, "name_zh", where),
                    name_en=_need(raw, "name_en", where),
                    applies_to=applies,
                    sql=_need(raw, "sql", where),
                    normaliser=norm,
                    direction=direction,
                    weight=weight,
                    neutral=neutral,
                    min_count=int(raw.get("min_count", 1)),
                    explain_zh=_need(raw, "explain_zh", where),
                    explain_en=_need(raw, "explain_en", where),
                    params=dict(raw.get("params", {})),
                    default_raw=None if raw.get("default_raw") is None else float(raw["default_raw"]),
                )
            )
    for entity in entities:
        if not any(entity in i.applies_to for i in indicators):
            raise ConfigurationError(f"scoring model: no indicator applies to {entity}")
    overrides = []
    for raw in data.get("overrides", []):
        key = _need(raw, "key", "an override")
        risk_class = _need(raw, "risk_class", f"override {key}")
        if risk_class not in CLASSES:
            raise ConfigurationError(f"scoring model: override {key}: risk_class must be one of {CLASSES}")
        overrides.append(
            Override(
                key=key,
                sql=_need(raw, "sql", f"override {key}"),
                score_max=int(_need(raw, "score_max", f"override {key}")),
                risk_class=risk_class,
                explain_zh=_need(raw, "explain_zh", f"override {key}"),
                explain_en=_need(raw, "explain_en", f"override {key}"),
            )
        )
    steps = []
    for raw in data.get("steps", []):
        name = _need(raw, "name", "a step")
        if not name.isidentifier() or any(s.name == name for s in steps):
            raise ConfigurationError(f"scoring model: step {name!r} needs a unique plain identifier")
        kinds = tuple(_need(raw, "entities", f"step {name}"))
        if set(kinds) - set(entities):
            raise ConfigurationError(
                f"scoring model: step {name}: entities must be entity kinds of the model"
            )
        steps.append(Step(name, _need(raw, "sql", f"step {name}"), kinds, dict(raw.get("params", {}))))
    pts = _need(data, "points", "the model")
    levels = tuple(
        PointLevel(int(r["min"]), int(r["level"]), str(r["name_zh"]), str(r.get("icon", "")))
        for r in _need(pts, "levels", "points")
    )
    if [lv.low for lv in levels] != sorted({lv.low for lv in levels}):
        raise ConfigurationError("scoring model: points levels must rise")
    rating_points = {int(k): int(v) for k, v in _need(pts, "rating_points", "points").items()}
    if set(rating_points) != {1, 2, 3, 4, 5}:
        raise ConfigurationError("scoring model: points.rating_points needs ratings 1 to 5")
    deduction = int(pts.get("brushing_deduction", 0))
    if deduction < 0:
        raise ConfigurationError("scoring model: points.brushing_deduction must be 0 or more")
    points = PointsRules(
        sql=_need(pts, "sql", "points"),
        rating_points=rating_points,
        period_days=int(_need(pts, "period_days", "points")),
        pair_cap=int(_need(pts, "pair_cap", "points")),
        void_confirmed_brushing=bool(pts.get("void_confirmed_brushing", True)),
        void_detected_extortion=bool(pts.get("void_detected_extortion", False)),
        void_detected_fake_reviews=bool(pts.get("void_detected_fake_reviews", False)),
        brushing_deduction=deduction,
        source=_need(pts, "source", "points"),
        levels=levels,
    )
    weights = {k: float(v) for k, v in _need(data, "record_weights", "the model").items()}
    if set(weights) != {"minor", "general", "serious", "unclassified"}:
        raise ConfigurationError("scoring model: record_weights needs minor, general, serious, unclassified")
    return Model(
        name=str(_need(data, "name", "the model")),
        version=version,
        description_zh=str(data.get("description_zh", "")),
        sources=tuple(data.get("sources", ())),
        entities={k: dict(v) for k, v in entities.items()},
        steps=tuple(steps),
        dimensions=dimensions,
        indicators=tuple(indicators),
        record_weights=weights,
        warning_weights={k: float(v) for k, v in data.get("warning_weights", {}).items()},
        confirmed_factor=float(data.get("confirmed_factor", 1.0)),
        overrides=tuple(overrides),
        grades=_bands(_need(data, "grades", "the model"), "grade", GRADES, "grades"),
        classes=_bands(_need(data, "risk_classes", "the model"), "class", CLASSES, "risk_classes"),
        points=points,
    )


@functools.cache
def load(name: str = DEFAULT_MODEL) -> Model:
    """The model ``scoring/models/<name>.yaml``."""
    path = resources.files("ecredit.scoring") / "models" / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"no scoring model {name!r} (scoring/models/{name}.yaml)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"scoring model {name}: not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"scoring model {name}: expected a mapping")
    return parse(data)


def available() -> list[str]:
    """The model names shipped (file names without ``.yaml``)."""
    folder = resources.files("ecredit.scoring") / "models"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def by_ref(ref: str) -> Model | None:
    """The shipped model a stored score names (``name@version``); None when that version is not shipped."""
    name, _, version = ref.partition("@")
    for candidate in available():
        model = load(candidate)
        if model.name == name and model.version == version:
            return model
    return None
