"""The module map of DESIGN.md §14: a module imports only modules on lower floors; services never commit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ecredit"

# floor of each top-level module or package (DESIGN.md §14)
# Floor 0 is ordered inside: errors < config < identifiers < db < kit.
FLOORS = {
    "errors": 0.0,
    "config": 0.1,
    "identifiers": 0.2,
    "db": 0.3,
    "kit": 0.4,
    "security": 1,
    "analytics": 1,
    "subjects": 2,
    "intake": 3,
    "records": 3,
    "verification": 3,
    "trace": 3,
    "logistics": 3,
    "monitoring": 4,
    "scoring": 4,
    "complaints": 4,
    "lists": 5,
    "disclosure": 6,
    "portal": 7,
    "wiring": 7,
    "jobs": 7.5,
    "all_models": 7.5,
    "migrate": 7.5,
    "sim": 7.5,
    "app": 8,
    "cli": 8.5,
    "demo": 8.2,
}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _top(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ecredit."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "ecredit":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("ecredit.")}
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_go_down(path: Path):
    here = _top(path)
    if here == "__init__":
        return
    assert here in FLOORS, f"{here} is not on the module map: add it to DESIGN.md §14 and FLOORS"
    for other in _imports(path) - {here, "__version__"}:
        assert other in FLOORS, f"{path.name} imports unknown module {other}"
        assert FLOORS[other] < FLOORS[here], (
            f"{here} (floor {FLOORS[here]}) imports {other} (floor {FLOORS[other]})"
        )


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in _modules()
        if p.name in {"service.py", "repository.py", "rules.py", "importer.py", "register.py"}
    ],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_services_never_commit(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"commit", "rollback"}:
            pytest.fail(
                f"{path.name}:{node.lineno} calls .{node.attr}(): only the request/command boundary commits"
            )
