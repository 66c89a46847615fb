"""The detectors: each reads the lake through the analytics engine and returns findings (DESIGN.md §5).

``DETECTORS`` maps a detector's name to its class; ``monitoring.runner`` runs them and hands the findings to
the
warning service.
"""

from __future__ import annotations

from ecredit.monitoring.detectors.base import Detector
from ecredit.monitoring.detectors.brushing import BrushingRing
from ecredit.monitoring.detectors.parcels import EmptyParcel
from ecredit.monitoring.detectors.payers import SharedPayer
from ecredit.monitoring.detectors.reopened import ReopenedShop
from ecredit.monitoring.detectors.reviews import ExtortionReviewer, FakeReview

# In running order: fake_review reads brushing_ring's evidence.
DETECTORS: dict[str, type[Detector]] = {
    d.name: d for d in (BrushingRing, FakeReview, ExtortionReviewer, EmptyParcel, SharedPayer, ReopenedShop)
}

__all__ = ["DETECTORS", "Detector"]
