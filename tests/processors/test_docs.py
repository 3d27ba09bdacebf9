"""docs/processors.md documents every processor exactly as its spec says."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.processors._docs import render_processors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "processors.md"
REGENERATE = "regenerate it with: python -m flowyard.processors._docs > docs/processors.md"


@pytest.fixture(scope="module")
def docs() -> str:
    return DOCS.read_text(encoding="utf-8")


def _section(docs: str, type_name: str) -> str:
    start = docs.index(f"\n## {type_name}\n")
    end = docs.find("\n## ", start + 1)
    return docs[start:] if end < 0 else docs[start:end]


@pytest.mark.parametrize("type_name", sorted(PROCESSORS))
def test_every_property_and_relationship_is_documented(docs: str, type_name: str) -> None:
    assert f"\n## {type_name}\n" in docs, f"{type_name} is missing; {REGENERATE}"
    section = _section(docs, type_name)
    spec = PROCESSORS[type_name].spec
    missing = [
        p.display_name for p in spec.properties
        if f"| {p.display_name} |" not in section and f"| **{p.display_name}** |" not in section
    ]
    missing += [f"relationship {r.name}" for r in spec.relationships if f"| `{r.name}` |" not in section]
    assert not missing, f"{type_name}: {missing} not in docs/processors.md; {REGENERATE}"


@pytest.mark.parametrize("type_name", sorted(CONTROLLER_SERVICES))
def test_every_controller_service_is_documented(docs: str, type_name: str) -> None:
    assert f"\n## {type_name}\n" in docs, f"{type_name} is missing; {REGENERATE}"
    section = _section(docs, type_name)
    spec = CONTROLLER_SERVICES[type_name].spec
    assert f"- Provides: {', '.join(spec.provides)}" in section
    missing = [p.display_name for p in spec.properties
               if f"| {p.display_name} |" not in section and f"| **{p.display_name}** |" not in section]
    assert not missing, f"{type_name}: {missing} not in docs/processors.md; {REGENERATE}"


def test_docs_are_generated_from_the_current_specs(docs: str) -> None:
    expected = render_processors(PROCESSORS, CONTROLLER_SERVICES)
    assert docs == expected, f"docs/processors.md is out of date; {REGENERATE}"
