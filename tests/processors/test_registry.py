"""The standard library as a whole: spec hygiene, legacy names, imports (NiFi names: test_nifi_conformance)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from flowyard.processors import PROCESSORS
from flowyard.processors.testing import TEST_PROCESSORS
from flowyard.runtime.sdk import Processor, resolve_properties

PROCESSORS_DIR = Path(__file__).resolve().parents[2] / "processors"
KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_NIFI = json.loads((Path(__file__).parent / "data" / "nifi_specs.json").read_text(encoding="utf-8"))["processors"]
NIFI_RELATIONSHIPS: dict[str, list[str]] = {name: spec.get("relationships", []) for name, spec in _NIFI.items()}
#: Property keys NiFi itself uses for a processor (its names and legacy names): kept as NiFi spells them.
NIFI_KEYS: dict[str, set[str]] = {
    name: {p["name"] for p in spec.get("properties", [])} | set(spec.get("legacy_property_names", {}))
    for name, spec in _NIFI.items()}
ALL = sorted([*PROCESSORS.values(), *TEST_PROCESSORS.values()], key=lambda c: c.type_name)

# Names flows exported from NiFi 1.x use (and NiFi 2.0 spellings that later changed).
LEGACY_NAMES = [
    ("GenerateFlowFile", "generate-ff-custom-text", "custom-text"),
    ("GenerateFlowFile", "character-set", "character-set"),
    ("GenerateFlowFile", "mime-type", "mime-type"),
    ("LogAttribute", "Log prefix", "log-prefix"),
    ("LogAttribute", "attributes-to-log-regex", "attributes-to-log-regex"),
    ("LogAttribute", "attributes-to-ignore-regex", "attributes-to-ignore-regex"),
    ("LogAttribute", "character-set", "character-set"),
    ("LogMessage", "log-level", "log-level"),
    ("LogMessage", "log-prefix", "log-prefix"),
    ("LogMessage", "log-message", "log-message"),
    ("LogMessage", "Log prefix", "log-prefix"),
    ("LogMessage", "Log message", "log-message"),
    ("UpdateAttribute", "canonical-value-lookup-cache-size", "cache-value-lookup-cache-size"),
    ("PutDistributedMapCache", "Cache update strategy", "cache-update-strategy"),
    ("PutDistributedMapCache", "Max cache entry size", "max-cache-entry-size"),
]


@pytest.mark.parametrize(("type_name", "legacy", "key"), LEGACY_NAMES)
def test_legacy_names_resolve(type_name: str, legacy: str, key: str) -> None:
    cls = PROCESSORS[type_name]
    static, dynamic = resolve_properties(cls.spec.properties, {legacy: "value"}, cls.spec.dynamic_properties)
    assert static[key] == "value"
    assert dynamic == {}


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.type_name)
def test_spec_hygiene(cls: type[Processor]) -> None:
    spec = cls.spec
    assert cls.__doc__ and cls.__doc__.strip()
    assert spec.description and spec.tags
    for prop in spec.properties:
        assert KEBAB.fullmatch(prop.key) or prop.key in NIFI_KEYS.get(cls.type_name, ()), prop.key
        assert prop.description, prop.key
    names = [p.display_name for p in spec.properties]
    assert len(names) == len(set(names))
    nifi_names = set(NIFI_RELATIONSHIPS.get(cls.type_name, ()))
    for rel in spec.relationships:  # lowercase, unless NiFi spells it otherwise (InvokeHTTP's "Original")
        assert rel.description and (rel.name == rel.name.lower() or rel.name in nifi_names), rel.name


@pytest.mark.parametrize(
    ("type_name", "blocking"),
    [("UpdateAttribute", False), ("RouteOnAttribute", False), ("LogMessage", False), ("LogAttribute", True),
     ("GenerateFlowFile", True), ("PutFile", True), ("GetFile", True), ("ListFile", True), ("FetchFile", True)],
)
def test_blocking_flags(type_name: str, blocking: bool) -> None:
    assert PROCESSORS[type_name].blocking is blocking


@pytest.mark.parametrize("module", sorted(p.name for p in PROCESSORS_DIR.glob("*.py")))
def test_processors_import_only_the_sdk_and_each_other(module: str) -> None:
    tree = ast.parse((PROCESSORS_DIR / module).read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    flowyard = [name for name in imported if name.startswith("flowyard")]
    def allowed(name: str) -> bool:
        if name == "flowyard.runtime.sdk" or name.startswith("flowyard.processors"):
            return True
        # the SDK's public modules (javaregex, javatime, validators), not its private ones or the test kit
        sub = name.removeprefix("flowyard.runtime.sdk.")
        return sub != name and "." not in sub and not sub.startswith("_") and sub != "testing"

    assert all(allowed(name) for name in flowyard), flowyard
