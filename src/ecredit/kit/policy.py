"""Law-bound parameters: versioned TOML files under ``ecredit/policy/``, each value with its legal source.

A policy file looks like::

    [meta]
    name = "verification"
    version = "2026-11-28"

    [reverification_interval]
    value = 6
    unit = "months"
    source = "..."   # the legal text the number comes from
    confidence = "S" # DOMAIN.md tag: V verified, S secondary, M unconfirmed

Code reads ``policy("verification").value("reverification_interval")`` and never hard-codes the number.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ecredit.errors import ConfigurationError


@dataclass(frozen=True)
class Policy:
    """One loaded policy file."""

    name: str
    version: str
    entries: dict[str, dict[str, Any]]

    def entry(self, key: str) -> dict[str, Any]:
        """The whole entry (value, unit, source, confidence)."""
        try:
            return self.entries[key]
        except KeyError:
            raise ConfigurationError(f"policy {self.name!r} has no entry {key!r}") from None

    def value(self, key: str) -> Any:
        """The entry's value."""
        return self.entry(key)["value"]

    def source(self, key: str) -> str:
        """The legal source the entry's value comes from."""
        return self.entry(key)["source"]

    @property
    def ref(self) -> str:
        """``name@version``, stored beside every decision taken under this policy."""
        return f"{self.name}@{self.version}"


@functools.cache
def policy(name: str) -> Policy:
    """Load and validate ``ecredit/policy/<name>.toml``."""
    path = resources.files("ecredit") / "policy" / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"no policy file {name}.toml") from None
    meta = data.pop("meta", {})
    if meta.get("name") != name or not meta.get("version"):
        raise ConfigurationError(f"policy {name}.toml needs [meta] name = {name!r} and a version")
    for key, entry in data.items():
        if not isinstance(entry, dict) or "value" not in entry or not entry.get("source"):
            raise ConfigurationError(f"policy {name}.toml entry {key!r} needs a value and a source")
    return Policy(name=name, version=str(meta["version"]), entries=data)
