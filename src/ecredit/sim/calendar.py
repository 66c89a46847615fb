"""When people buy: seasonal day weights (11.11, 6.18, 12.12, Spring Festival) and the diurnal curve."""

from __future__ import annotations

import datetime as dt

import numpy as np

# Relative orders per hour of the local day (0-23): quiet at night, peaks late morning and 20-22 h.
DIURNAL = np.array(
    [0.9, 0.5, 0.3, 0.2, 0.15, 0.2, 0.4, 0.8, 1.2, 1.6, 1.9, 1.8,
     1.5, 1.6, 1.8, 1.8, 1.7, 1.5, 1.5, 1.8, 2.3, 2.6, 2.2, 1.5]
)  # fmt: skip
# On shopping-festival days the first hour after midnight is a rush (pre-sales open).
PEAK_DIURNAL = DIURNAL.copy()
PEAK_DIURNAL[0] = 6.0
PEAK_DIURNAL[1] = 2.5
PEAK_DIURNAL[20:22] *= 1.4

# (month, day) -> factor on festival days; ranges before them ramp up.
FESTIVALS = {(11, 11): 5.0, (6, 18): 3.0, (12, 12): 2.2}
# Lunar new year's day by year (the Spring Festival dip follows it).
SPRING_FESTIVAL = {
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
}


def day_factor(day: dt.date) -> float:
    """Relative order volume of one day."""
    f = 1.0
    wd = day.weekday()
    f *= {4: 1.05, 5: 1.12, 6: 1.12}.get(wd, 1.0)
    md = (day.month, day.day)
    if md in FESTIVALS:
        return f * FESTIVALS[md]
    if day.month == 11 and day.day < 11:
        f *= 1.3  # pre-sales before 11.11
    elif md == (11, 12):
        f *= 1.6
    elif day.month == 6 and 1 <= day.day < 18:
        f *= 1.2
    sf = SPRING_FESTIVAL.get(day.year)
    if sf is not None:
        delta = (day - sf).days
        if -21 <= delta < -7:
            f *= 1.15  # buying for the new year (年货)
        elif -7 <= delta <= 7:
            f *= 0.55  # couriers and shops on holiday
    return f


def is_peak(day: dt.date) -> bool:
    return (day.month, day.day) in FESTIVALS


def day_weights(start: dt.date, days: int) -> np.ndarray:
    """Relative order volume of each day, with a gentle growth trend over the period."""
    w = np.array([day_factor(start + dt.timedelta(days=i)) for i in range(days)])
    return w * np.linspace(1.0, 1.15, days)


def peak_days(start: dt.date, days: int) -> np.ndarray:
    return np.array([is_peak(start + dt.timedelta(days=i)) for i in range(days)])


def hour_cdfs() -> tuple[np.ndarray, np.ndarray]:
    """Cumulative distributions of the hour of day on normal and on festival days."""
    normal = np.cumsum(DIURNAL) / DIURNAL.sum()
    peak = np.cumsum(PEAK_DIURNAL) / PEAK_DIURNAL.sum()
    return normal, peak
