"""Prefecture coordinates (data/prefectures.csv) and great-circle distances between division codes.

Coordinates are known for Shandong's 16 prefectures only. A county code is placed at its prefecture
(first four digits + ``00``); a code outside the table has no place, and its distances are unknown (None).
"""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass
from importlib import resources

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Prefecture:
    code: str
    name: str
    seat: str
    lat: float
    lon: float
    population_10k: float


@functools.cache
def prefectures() -> tuple[Prefecture, ...]:
    """The prefecture table, in file order."""
    text = resources.files("ecredit.identifiers").joinpath("data/prefectures.csv").read_text(encoding="utf-8")
    return tuple(
        Prefecture(
            code=r["code"],
            name=r["name"],
            seat=r["seat"],
            lat=float(r["lat"]),
            lon=float(r["lon"]),
            population_10k=float(r["population_10k"]),
        )
        for r in csv.DictReader(io.StringIO(text))
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points (degrees), in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def prefecture_of(code: str) -> str:
    """The prefecture code a division code lies in (``370102`` -> ``370100``)."""
    return code[:4] + "00"


def distance_km(a: str, b: str) -> float | None:
    """Straight-line distance between the prefectures of two division codes, or None if one is unknown."""
    by_code = {p.code: p for p in prefectures()}
    pa, pb = by_code.get(prefecture_of(a)), by_code.get(prefecture_of(b))
    if pa is None or pb is None:
        return None
    return haversine_km(pa.lat, pa.lon, pb.lat, pb.lon)
