"""The lists' handlers subscribed to their events, as the application wires them (``wiring.wire``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _wired():
    from ecredit import wiring

    wiring.wire()
