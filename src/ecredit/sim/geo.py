"""Shandong's 16 prefectures: centroid coordinates, population, current county codes, road distances.

The county codes come from the project's GB/T 2260 table (``ecredit.identifiers``): every code the
simulator writes is a current Shandong division code. Region indices used inside the simulator point into
``Geo.codes``: first the 16 prefecture codes (used for sorting-hub scans), then the county codes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ecredit.identifiers.geo import haversine_km, prefectures
from ecredit.identifiers.regions import region_name, region_records

# Sorting hubs a long-haul parcel may pass through (Jinan, Linyi, Weifang).
HUB_PREFECTURES = ("370100", "371300", "370700")
# Beyond this straight-line road distance a parcel goes through a hub between origin and destination.
HUB_DISTANCE_KM = 220.0
# Road distance is longer than the great-circle distance between two centroids.
ROAD_FACTOR = 1.25
# Within one prefecture a parcel still travels (county to city and back).
SAME_PREFECTURE_KM = 35.0


@dataclass(frozen=True)
class Geo:
    """Prefectures, counties and the distance table, as arrays indexed by region index."""

    prefecture_codes: tuple[str, ...]
    prefecture_names: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray  # 10k people
    county_codes: tuple[str, ...]
    county_prefecture: np.ndarray  # prefecture index of each county
    distance_km: np.ndarray  # prefecture x prefecture road distance
    hub_of: np.ndarray  # prefecture x prefecture: index of the intermediate hub prefecture or -1

    @property
    def codes(self) -> tuple[str, ...]:
        """All region codes by region index: prefectures first, then counties."""
        return self.prefecture_codes + self.county_codes

    @property
    def n_prefectures(self) -> int:
        return len(self.prefecture_codes)

    def county_region_index(self, county: np.ndarray) -> np.ndarray:
        """Region index of county indices."""
        return county + self.n_prefectures

    def county_weights(self) -> np.ndarray:
        """Where people live: each prefecture's population spread evenly over its counties."""
        per = np.bincount(self.county_prefecture, minlength=self.n_prefectures)
        w = self.population[self.county_prefecture] / per[self.county_prefecture]
        return w / w.sum()

    def county_name(self, county: int) -> str:
        return region_name(self.county_codes[county]) or self.county_codes[county]


def _current_counties(prefecture: str) -> list[str]:
    from ecredit.identifiers.regions import region_table

    found = []
    for code in sorted(region_table()):
        if code[:4] != prefecture[:4] or code.endswith("00"):
            continue
        records = region_records(code)
        latest = max(records, key=lambda r: (r.end_year is None, r.end_year or 0, r.start_year or 0))
        if latest.current and latest.name != "市辖区":
            found.append(code)
    return found


@functools.cache
def load_geo() -> Geo:
    """The prefecture table (``ecredit.identifiers.geo``) and the current county codes."""
    rows = prefectures()
    codes = tuple(r.code for r in rows)
    lat = np.array([r.lat for r in rows])
    lon = np.array([r.lon for r in rows])
    counties: list[str] = []
    county_pref: list[int] = []
    for i, code in enumerate(codes):
        found = _current_counties(code)
        if not found:
            raise RuntimeError(f"no current county codes for prefecture {code}")
        counties.extend(found)
        county_pref.extend([i] * len(found))
    n = len(codes)
    dist = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                dist[i, j] = SAME_PREFECTURE_KM
            else:
                dist[i, j] = ROAD_FACTOR * haversine_km(lat[i], lon[i], lat[j], lon[j])
    hubs = [codes.index(h) for h in HUB_PREFECTURES]
    hub_of = np.full((n, n), -1, dtype=np.int64)
    for i in range(n):
        for j in range(n):
            if i == j or dist[i, j] <= HUB_DISTANCE_KM:
                continue
            candidates = [h for h in hubs if h not in (i, j)]
            best = min(candidates, key=lambda h: dist[i, h] + dist[h, j])
            # Only a hub that is roughly on the way.
            if dist[i, best] + dist[best, j] <= 1.35 * dist[i, j]:
                hub_of[i, j] = best
    return Geo(
        prefecture_codes=codes,
        prefecture_names=tuple(r.name for r in rows),
        lat=lat,
        lon=lon,
        population=np.array([r.population_10k for r in rows]),
        county_codes=tuple(counties),
        county_prefecture=np.array(county_pref, dtype=np.int64),
        distance_km=dist,
        hub_of=hub_of,
    )
