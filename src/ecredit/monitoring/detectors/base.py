"""What every detector has: a name, a version, the lake tables it reads, its policy parameters and ``run``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ecredit.analytics.engine import Engine, load_sql, renamed
from ecredit.kit.policy import Policy, policy
from ecredit.monitoring.findings import Finding, WarningKind

Progress = Callable[[str], None]


def sql(path: str, **tables: str) -> str:
    """A SQL file of the monitoring package: ``sql("brushing/tensor.sql")``.

    ``tables`` renames tables for a loop step: ``sql("brushing/best.sql", brushing_best="brushing_best_3")``
    replaces the whole identifier ``brushing_best`` by ``brushing_best_3`` (the files stay valid SQL with
    their base names, so every file transpiles as it is). New names must be plain identifiers.
    """
    text = load_sql(f"ecredit.monitoring/sql/{path}")
    return renamed(text, **tables) if tables else text


class Detector:
    """Base class: subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str]
    version: ClassVar[str]  # bump when the algorithm or its SQL changes what it finds
    kind: ClassVar[WarningKind]
    lake_kinds: ClassVar[tuple[str, ...]]  # the lake tables the detector reads
    # The columns its SQL reads of each de-duplicated lake table (the runner materialises a table that
    # several detectors read once, with the union of their columns); a kind left out is read whole.
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    # Kinds it reads more than once: the runner makes them tables even when it is their only reader.
    lake_rereads: ClassVar[tuple[str, ...]] = ()
    store_tables: ClassVar[tuple[str, ...]] = ()  # store snapshots it reads (registered by the runner)
    parameter_keys: ClassVar[tuple[str, ...]] = ()  # its entries in policy/monitoring.toml

    def __init__(self, rules: Policy | None = None) -> None:
        self.rules = rules or policy("monitoring")

    def parameters(self) -> dict[str, Any]:
        """The thresholds this run uses, with the policy version (recorded with every warning)."""
        out: dict[str, Any] = {k: self.rules.value(k) for k in self.parameter_keys}
        out["policy"] = self.rules.ref
        return out

    def value(self, key: str) -> Any:
        return self.rules.value(key)

    @property
    def utc_offset_s(self) -> int:
        return int(self.rules.value("local_utc_offset")) * 3600

    def run(self, engine: Engine, progress: Progress | None = None) -> list[Finding]:
        raise NotImplementedError
