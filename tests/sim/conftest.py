"""A tiny synthetic province, generated once per test session (CSV, seed 7), and a reader for it."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecredit.sim import simulate

# ECREDIT_SIM_TEST_SEED runs the suite on another province (the patterns must hold for any seed).
SEED = int(os.environ.get("ECREDIT_SIM_TEST_SEED", "7"))


@dataclass(frozen=True)
class Province:
    """Read access to a generated directory: every CSV as a list of dicts (empty cells are '')."""

    root: Path

    @functools.cache  # noqa: B019 - one instance per session
    def rows(self, rel: str) -> list[dict[str, str]]:
        with (self.root / rel).open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    def header(self, rel: str) -> list[str]:
        with (self.root / rel).open(encoding="utf-8", newline="") as fh:
            return next(csv.reader(fh))

    @property
    def platforms(self) -> list[str]:
        return [r["code"] for r in self.rows("platforms.csv")]

    def all(self, kind: str) -> Iterator[tuple[str, dict[str, str]]]:
        for p in self.platforms:
            for row in self.rows(f"{p}/{kind}.csv"):
                yield p, row

    def truth(self, name: str) -> list[dict[str, str]]:
        return self.rows(f"truth/{name}.csv")


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Province:
    out = tmp_path_factory.mktemp("province") / "tiny"
    simulate(out, scale="tiny", seed=SEED)
    return Province(out)
