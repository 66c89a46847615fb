"""docs/data-formats.md describes every field of every kind of record format v1."""

from __future__ import annotations

from pathlib import Path

from ecredit.intake.formats import KINDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-formats.md"


def test_every_field_of_every_kind_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for kind in KINDS.values():
        section = text.split(f"### `{kind.name}`", 1)
        assert len(section) == 2, f"no section for {kind.name}"
        body = section[1].split("\n#", 1)[0]
        for f in kind.fields:
            assert f"| `{f.name}` | {'yes' if f.required else 'no'} |" in body, (kind.name, f.name)


def test_the_registry_sections_are_kept():
    text = DOC.read_text(encoding="utf-8")
    assert "registry import --kind shops" in text and "registry import --kind register" in text
