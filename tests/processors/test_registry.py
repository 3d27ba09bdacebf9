"""The standard library as a whole: registry, spec hygiene, NiFi names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flowyard.processors import PROCESSORS
from flowyard.processors.testing import TEST_PROCESSORS
from flowyard.runtime.sdk import Processor, resolve_properties

PROCESSORS_DIR = Path(__file__).resolve().parents[2] / "processors"
KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
ALL = sorted([*PROCESSORS.values(), *TEST_PROCESSORS.values()], key=lambda c: c.type_name)

# NiFi 2's display names and relationships, in NiFi's property order.
NIFI = {
    "GenerateFlowFile": (
        ["File Size", "Batch Size", "Data Format", "Unique FlowFiles", "Custom Text", "Character Set", "Mime Type"],
        ["success"],
    ),
    "UpdateAttribute": (
        ["Delete Attributes Expression", "Store State", "Stateful Variables Initial Value",
         "Cache Value Lookup Cache Size"],
        ["success"],
    ),
    "RouteOnAttribute": (["Routing Strategy"], ["unmatched", "matched"]),
    "LogAttribute": (
        ["Log Level", "Log Payload", "Attributes to Log", "Attributes to Log Regular Expression",
         "Attributes to Ignore", "Attributes to Ignore Regular Expression", "Log FlowFile Properties",
         "Output Format", "Log Prefix", "Character Set"],
        ["success"],
    ),
    "LogMessage": (["Log Level", "Log Prefix", "Log Message"], ["success"]),
    "PutFile": (
        ["Directory", "Conflict Resolution Strategy", "Create Missing Directories", "Maximum File Count",
         "Last Modified Time", "Permissions", "Owner", "Group"],
        ["success", "failure"],
    ),
    "GetFile": (
        ["Input Directory", "File Filter", "Path Filter", "Batch Size", "Keep Source File",
         "Recurse Subdirectories", "Polling Interval", "Ignore Hidden Files", "Minimum File Age",
         "Maximum File Age", "Minimum File Size", "Maximum File Size"],
        ["success"],
    ),
    "ListFile": (
        ["Input Directory", "Recurse Subdirectories", "File Filter", "Path Filter", "Include File Attributes",
         "Minimum File Age", "Maximum File Age", "Minimum File Size", "Maximum File Size", "Ignore Hidden Files"],
        ["success"],
    ),
    "FetchFile": (
        ["File to Fetch", "Completion Strategy", "Move Destination Directory", "Move Conflict Strategy",
         "Log level when file not found", "Log level when permission denied"],
        ["success", "not.found", "permission.denied", "failure"],
    ),
    "LookupAttribute": (["Lookup Service", "Include Empty Values"], ["matched", "unmatched", "failure"]),
    "ControlRate": (
        ["Rate Control Criteria", "Time Duration", "Maximum Rate", "Maximum Data Rate", "Maximum FlowFile Rate",
         "Rate Exceeded Strategy", "Rate Controlled Attribute", "Grouping Attribute"],
        ["success", "failure", "rate exceeded"],
    ),
    "RetryFlowFile": (
        ["Retry Attribute", "Maximum Retries", "Penalize Retries", "Fail on Nonnumerical Overwrite", "Reuse Mode"],
        ["retry", "retries_exceeded", "failure"],
    ),
    "DetectDuplicate": (
        ["Cache Entry Identifier", "FlowFile Description", "Age Off Duration", "Distributed Cache Service",
         "Cache The Entry Identifier"],
        ["duplicate", "non-duplicate", "failure"],
    ),
    "PutDistributedMapCache": (
        ["Cache Entry Identifier", "Distributed Cache Service", "Cache Update Strategy", "Max Cache Size"],
        ["success", "failure"],
    ),
    "FetchDistributedMapCache": (
        ["Cache Entry Identifier", "Distributed Cache Service", "Put Cache Value In Attribute",
         "Max Length To Put In Attribute", "Character Set"],
        ["success", "failure", "not-found"],
    ),
}

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


def test_registry_maps_type_names_to_classes() -> None:
    assert sorted(PROCESSORS) == sorted(NIFI)
    for name, cls in PROCESSORS.items():
        assert cls.type_name == name == cls.__name__


@pytest.mark.parametrize("type_name", sorted(NIFI))
def test_nifi_display_names_and_relationships(type_name: str) -> None:
    spec = PROCESSORS[type_name].spec
    properties, relationships = NIFI[type_name]
    assert [p.display_name for p in spec.properties] == properties
    assert [r.name for r in spec.relationships] == relationships


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
        assert KEBAB.fullmatch(prop.key), prop.key
        assert prop.description, prop.key
    names = [p.display_name for p in spec.properties]
    assert len(names) == len(set(names))
    for rel in spec.relationships:
        assert rel.description and rel.name == rel.name.lower()


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
    assert all(
        name == "flowyard.runtime.sdk" or name.startswith("flowyard.processors") for name in flowyard
    ), flowyard
