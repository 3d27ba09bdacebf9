"""Keys at the boundary: a flow stores property keys, never display names or aliases.

A property of a processor or controller service has one stable ``key``
(``PropertySpec.key``, what a flow stores) and further names a user may know
it by: its ``display_name`` (NiFi's label) and legacy ``aliases`` (NiFi 1.x
names). Flows saved by older flowyard versions, hand-written flows and API
clients may use any of them; ``normalize_flow`` rewrites a whole flow and
``normalize_properties`` one component's properties so that every name that
means a spec is stored under its key.

Which spec a name means, and which value counts when one property is
configured under several names, is ``match_properties``'s ranking, the same
one the runtime applies when it configures a component
(``resolve_properties``): a key beats a display name, which beats an alias;
the set value under the most specific name wins and the others are dropped
(reported). So normalising never changes what a running flow does. Names that
match no spec (dynamic properties) are kept as they are, and so are all names
of a component whose type is not installed (reported: its specs are unknown).

The types come from a ``SpecCatalog``, the one validation of edits uses
(``flowyard.runtime.flow.edits``; ``TypeCatalog(processors, services)`` over
the registries of ``flowyard.runtime.registry.discover()``).

Pure: imports only the flow model, the SDK and the standard library; never
mutates its input.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from flowyard.runtime.flow._edits_context import SpecCatalog
from flowyard.runtime.flow._model import ControllerServiceDef, FlowDef, GroupDef, ProcessorDef
from flowyard.runtime.sdk._properties import PropertySpec, match_properties

__all__ = [
    "Outcome",
    "Renamed",
    "normalize_flow",
    "normalize_properties",
]

PROCESSOR = "processor"
CONTROLLER_SERVICE = "controller-service"

_D = TypeVar("_D", ProcessorDef, ControllerServiceDef)
_G = TypeVar("_G", bound=GroupDef)


class Outcome(enum.Enum):
    """What normalising did to one configured name."""

    RENAMED = "renamed"
    """A display name or alias; its value is now stored under the key."""
    DROPPED = "dropped"
    """A further name of a property also configured under a name that counts
    (``PropertyMatch.source``, e.g. the key); its value is gone."""
    NOT_INSTALLED = "not installed"
    """The component's type is not installed: its names were kept unchecked
    (one entry per component, ``name`` empty)."""


@dataclass(frozen=True, slots=True)
class Renamed:
    """One change (or one unchecked component) reported by normalising.

    ``key`` is the spec key the name means (``None`` for ``NOT_INSTALLED``).
    ``str()`` is a sentence for a log line; values never appear (they may be
    sensitive).
    """

    component_id: str
    type_name: str
    name: str
    key: str | None
    outcome: Outcome

    def __str__(self) -> str:
        where = f"{self.component_id or 'component'} ({self.type_name})"
        if self.outcome is Outcome.RENAMED:
            return f"{where}: property {self.name!r} stored as its key {self.key!r}"
        if self.outcome is Outcome.DROPPED:
            return f"{where}: property {self.name!r} dropped, {self.key!r} is set under a more specific name"
        return f"{where}: type not installed, property names kept as they are"


def normalize_properties(
    type_name: str,
    properties: Mapping[str, str | None],
    specs: Sequence[PropertySpec] | None,
    *,
    component_id: str = "",
) -> tuple[dict[str, str | None], list[Renamed]]:
    """One component's ``properties`` with every name that means a spec stored under its key.

    ``specs`` are the property specs of the component's type ``type_name``,
    ``None`` when the type is not installed: then the names are returned
    unchanged and reported once (``Outcome.NOT_INSTALLED``). Otherwise the
    result holds, in the order the names first appear, each matched property
    under its key with the value that counts (``match_properties``; ``None``
    when unset under every name), and each name matching no spec (a dynamic
    property) with its value. Every display name or alias moved to its key is
    reported ``RENAMED``; every further name whose value was discarded because
    a more specific one counts is reported ``DROPPED``. ``component_id`` only
    labels the report. Returns a new dict; ``properties`` is not modified.
    """
    if specs is None:
        return dict(properties), [Renamed(component_id, type_name, "", None, Outcome.NOT_INSTALLED)]
    matched, _ = match_properties(specs, properties)
    meaning = {name: key for key, match in matched.items() for name in match.names}
    result: dict[str, str | None] = {}
    report: list[Renamed] = []
    for name, value in properties.items():
        key = meaning.get(name)
        if key is None:
            result[name] = value
            continue
        match = matched[key]
        if key not in result:
            result[key] = match.value
        if name == key:
            continue
        outcome = Outcome.RENAMED if name == match.source else Outcome.DROPPED
        report.append(Renamed(component_id, type_name, name, key, outcome))
    return result, report


def _normalized(kind: str, defs: Sequence[_D], catalog: SpecCatalog,
                report: list[Renamed]) -> list[_D] | None:
    """New list of ``defs`` with normalised properties, or ``None`` when none changed."""
    out: list[_D] = []
    changed = False
    for d in defs:
        props, found = normalize_properties(
            d.type, d.properties, catalog.property_specs(kind, d.type), component_id=d.identifier)
        report.extend(found)
        if any(r.outcome is not Outcome.NOT_INSTALLED for r in found):
            out.append(replace(d, properties=props))
            changed = True
        else:
            out.append(d)
    return out if changed else None


def _normalized_group(group: _G, catalog: SpecCatalog, report: list[Renamed]) -> _G | None:
    """A copy of ``group`` with normalised components and child groups, or ``None`` when none changed."""
    processors = _normalized(PROCESSOR, group.processors, catalog, report)
    services = _normalized(CONTROLLER_SERVICE, group.controller_services, catalog, report)
    children = [_normalized_group(child, catalog, report) for child in group.groups]
    if processors is None and services is None and all(c is None for c in children):
        return None
    return replace(
        group,
        processors=tuple(processors) if processors is not None else group.processors,
        controller_services=tuple(services) if services is not None else group.controller_services,
        groups=tuple(new if new is not None else old for new, old in zip(children, group.groups, strict=True)),
    )


def normalize_flow(flow: FlowDef, catalog: SpecCatalog) -> tuple[FlowDef, list[Renamed]]:
    """``flow`` with the properties of every processor and controller service,
    in every process group, stored under keys (``normalize_properties``).

    Returns ``(new_flow, report)``: the report lists every renamed and dropped
    name and every component whose type ``catalog`` does not know (its names
    kept), in flow order (groups parents first; per group processors, then
    services). Only ``RENAMED``/``DROPPED`` entries mean the flow changed: a
    caller saves the flow back when there is one.

    ``flow`` is never mutated. When nothing changes, ``new_flow is flow``;
    otherwise only the changed components and the groups holding them (up to
    the root) are new objects with new lists; everything else is shared with
    ``flow`` (path copying, as the immutable model will).
    """
    report: list[Renamed] = []
    new = _normalized_group(flow, catalog, report)
    return (flow if new is None else new), report
