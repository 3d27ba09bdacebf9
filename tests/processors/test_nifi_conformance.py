"""Every standard processor and controller service that NiFi also has carries
NiFi's names: property display names (in NiFi's order), required flags,
defaults, allowable values, sensitivity, relationships and legacy property
names, as read from NiFi's source (``data/nifi_specs.json``).

A deliberate difference is listed in ``DIFFERENCES`` with its reason, and is
also written in the processor's docstring (docs/processors.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.sdk import resolve_properties

NIFI: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "nifi_specs.json").read_text(encoding="utf-8"))

#: Components NiFi does not have (flowyard's own); each needs a reason.
FLOWYARD_ONLY: dict[str, str] = {
    "LocalMapCacheService": "the map cache in the flowyard process; NiFi's cache server and client are two services",
    "SimpleKeyValueLookupService": "NiFi's SimpleKeyValueLookupService lives in a bundle not in the reference",
    "PublishNATS": "NiFi has no NATS processors; core NATS publish",
    "ConsumeNATS": "NiFi has no NATS processors; core NATS subscribe (at most once)",
    "PublishJetStream": "NiFi has no NATS processors; JetStream publish, success on the stream's acknowledgement",
    "ConsumeJetStream": "NiFi has no NATS processors; durable JetStream consumer, acked after the commit",
}

#: (type, property display name or "relationship NAME", what) → why flowyard differs. ``what`` is one of
#: "absent" (NiFi has it, flowyard does not), "extra" (flowyard only), "default", "allowable", "required",
#: "order".
_LISTFILE_TRACKING = "ListFile tracks what it listed by timestamps only (no entity tracking, no record output yet)"
DIFFERENCES: dict[tuple[str, str, str], str] = {
    **{("ListFile", name, "absent"): _LISTFILE_TRACKING for name in (
        "Listing Strategy", "Record Writer", "Target System Timestamp Precision",
        "Entity Tracking State Cache", "Entity Tracking Time Window", "Entity Tracking Initial Listing Target",
        "Entity Tracking Node Identifier", "Track Performance", "Maximum Number of Files to Track",
        "Max Disk Operation Time", "Max Directory Listing Time")},
    ("LogAttribute", "Character Set", "default"): "NiFi's default is the JVM's charset; flowyard's is UTF-8",
    ("UnpackContent", "Filename Character Set", "default"): "NiFi's default is the JVM's charset; flowyard's is UTF-8",
    ("ListenHTTP", "Listening Address", "extra"): "NiFi listens on every interface; flowyard on 127.0.0.1 unless "
                                                  "this says otherwise",
    ("UpdateAttribute", "Advanced Rules", "extra"): "NiFi keeps the advanced rules in the processor's annotation "
                                                    "data; flowyard in this property (NiFi's annotation data loads)",
    ("StandardSSLContextService", "Keystore Type", "allowable"): "PEM files as well (Python's ssl reads them)",
    ("StandardSSLContextService", "Truststore Type", "allowable"): "PEM files as well (Python's ssl reads them)",
}


#: NiFi components missing from the reference specs: their names were taken from NiFi's source by hand.
UNLISTED: dict[str, str] = {
    "CSVRecordLookupService": "nifi-lookup-services; not in the reference specs",
    "DatabaseRecordLookupService": "nifi-lookup-services (nifi-dbcp-base); not in the reference specs",
    "CryptographicHashAttribute": "nifi-standard-processors; not in the reference specs",
    "StandardJsonSchemaRegistry": "nifi-standard-services; not in the reference specs",
    "StandardProxyConfigurationService": "nifi-standard-services; not in the reference specs",
}


def _components() -> list[tuple[str, type[Any], dict[str, Any]]]:
    out = []
    for kind, registry in (("processors", PROCESSORS), ("services", CONTROLLER_SERVICES)):
        for name, cls in sorted(registry.items()):
            if name not in FLOWYARD_ONLY and name not in UNLISTED:
                out.append((name, cls, NIFI[kind].get(name, {})))
    return out


COMPONENTS = _components()
IDS = [name for name, _, _ in COMPONENTS]


def test_every_component_is_nifis_or_says_why_not() -> None:
    unknown = [name for name, _, nifi in COMPONENTS if not nifi]
    assert not unknown, f"not NiFi components (add them to FLOWYARD_ONLY with a reason): {unknown}"
    for registry in (PROCESSORS, CONTROLLER_SERVICES):
        for name, cls in registry.items():
            assert cls.type_name == name == cls.__name__


def _differs(type_name: str, item: str, what: str) -> bool:
    return (type_name, item, what) in DIFFERENCES


@pytest.mark.parametrize(("type_name", "cls", "nifi"), COMPONENTS, ids=IDS)
def test_properties_are_nifis(type_name: str, cls: type[Any], nifi: dict[str, Any]) -> None:
    ours = {p.display_name: p for p in cls.spec.properties}
    theirs = {p["name"]: p for p in nifi["properties"]}
    problems = [f"{name}: NiFi has it, flowyard does not" for name in theirs
                if name not in ours and not _differs(type_name, name, "absent")]
    problems += [f"{name}: not a NiFi property" for name in ours
                 if name not in theirs and not _differs(type_name, name, "extra")]
    common_theirs = [n for n in theirs if n in ours]
    common_ours = [n for n in ours if n in theirs]
    if common_ours != common_theirs and not _differs(type_name, "*", "order"):
        problems.append(f"order {common_ours} differs from NiFi's {common_theirs}")
    for name in common_theirs:
        mine, nifis = ours[name], theirs[name]
        if mine.required != nifis["required"] and not _differs(type_name, name, "required"):
            problems.append(f"{name}: required {mine.required}, NiFi {nifis['required']}")
        if mine.default != nifis.get("default") and not _differs(type_name, name, "default"):
            problems.append(f"{name}: default {mine.default!r}, NiFi {nifis.get('default')!r}")
        allowed = {a.value for a in mine.allowed_values}
        nifi_allowed = {v for v, _ in nifis.get("allowable_values", ())}
        if allowed != nifi_allowed and not _differs(type_name, name, "allowable"):
            problems.append(f"{name}: allowable values {sorted(allowed)}, NiFi {sorted(nifi_allowed)}")
        if mine.sensitive != bool(nifis.get("sensitive")):
            problems.append(f"{name}: sensitive {mine.sensitive}, NiFi {bool(nifis.get('sensitive'))}")
    assert not problems, f"{type_name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(("type_name", "cls", "nifi"), [c for c in COMPONENTS if "relationships" in c[2]],
                         ids=[c[0] for c in COMPONENTS if "relationships" in c[2]])
def test_relationships_are_nifis(type_name: str, cls: type[Any], nifi: dict[str, Any]) -> None:
    ours = [r.name for r in cls.spec.relationships]
    missing = [r for r in nifi["relationships"] if r not in ours
               and not _differs(type_name, f"relationship {r}", "absent")]
    extra = [r for r in ours if r not in nifi["relationships"]
             and not _differs(type_name, f"relationship {r}", "extra")]
    assert not missing and not extra, f"{type_name}: missing {missing}, not NiFi's {extra}"


LEGACY = [(name, cls, old, new) for name, cls, nifi in COMPONENTS
          for old, new in nifi.get("legacy_property_names", {}).items()]


@pytest.mark.parametrize(("type_name", "cls", "legacy", "display_name"), LEGACY,
                         ids=[f"{n}:{old}" for n, _, old, _ in LEGACY])
def test_nifis_legacy_property_names_load(type_name: str, cls: type[Any], legacy: str, display_name: str) -> None:
    spec = {p.display_name: p for p in cls.spec.properties}.get(display_name)
    if spec is None:
        pytest.skip(f"{display_name} is listed as absent in DIFFERENCES")
    static, dynamic = resolve_properties(cls.spec.properties, {legacy: "value"}, cls.spec.dynamic_properties)
    assert static.get(spec.key) == "value", f"{type_name}: the NiFi name {legacy!r} does not set {display_name!r}"
    assert dynamic == {}
