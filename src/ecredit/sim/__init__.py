"""The synthetic province: a seeded generator of platforms, shops, accounts, orders, payments, parcels,
scans and reviews, with injected misconduct and its ground truth (DESIGN.md §12, docs/simulation.md)."""

from ecredit.sim.params import SCALES, Knobs, Params, Scale
from ecredit.sim.run import EVENT_KINDS, FORMATS, Result, SimulationError, simulate

__all__ = [
    "EVENT_KINDS",
    "FORMATS",
    "SCALES",
    "Knobs",
    "Params",
    "Result",
    "Scale",
    "SimulationError",
    "simulate",
]
