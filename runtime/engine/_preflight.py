"""What the engine could not build, refused before a new flow is saved.

``validate`` (``flow.edits``) checks an edit against the flow alone; some rules
need the component classes the engine runs: a processor or controller service
type must be installed, and a connection may carry only relationships its
source has (which for some processors depend on their properties: one per
dynamic property of RouteOnAttribute, 'matched' only for one routing
strategy). ``preflight`` checks exactly the components that differ between
the engine's flow and the new one (unchanged groups are skipped by identity),
configures each changed processor and service on its own (what the engine
does first when it builds one: settings it cannot read are refused), and
raises ``FlowDefinitionError`` naming the place — so that a flow saved is
always a flow the engine can start from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._engine_core import resolve_type
from flowyard.runtime.engine._service_node import ConfiguredControllerService
from flowyard.runtime.flow import ConnectionDef, FlowDef, GroupDef, ProcessorDef
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.sdk._properties import resolve_properties

if TYPE_CHECKING:
    from flowyard.runtime.engine._engine import Engine

__all__ = ["preflight"]


def preflight(engine: Engine, new: FlowDef) -> None:
    """Raise ``FlowDefinitionError`` for a component of ``new`` that differs from
    ``engine.flow`` and that the engine could not build (see the module docstring)."""
    old_groups = {g.identifier: g for g in engine.flow.walk()}
    old_connections = {c.identifier: c for g in old_groups.values() for c in g.connections}
    for group, where in _changed_groups(engine.flow, new, "rootGroup"):
        before = old_groups.get(group.identifier)
        old_procs = {p.identifier: p for p in before.processors} if before is not None else {}
        changed_procs: dict[str, ProcessorDef] = {}
        for i, pdef in enumerate(group.processors):
            if old_procs.get(pdef.identifier) is not pdef:
                cls = resolve_type(engine.registry, pdef.type)
                if cls is None:
                    raise FlowDefinitionError(f"unknown processor type {pdef.type!r}", source="edit",
                                              where=f"{where}.processors[{i}].type")
                try:  # what the engine does first when it builds the node, on its own
                    ConfiguredProcessor(cls, component_id=pdef.identifier, name=pdef.name or None,
                                        properties=pdef.properties, concurrent_tasks=pdef.concurrent_tasks,
                                        penalty=pdef.penalty_duration, yield_duration=pdef.yield_duration)
                except FlowyardError as exc:
                    raise FlowDefinitionError(str(exc), source="edit", where=f"{where}.processors[{i}]") from None
                changed_procs[pdef.identifier] = pdef
        old_services = {s.identifier: s for s in before.controller_services} if before is not None else {}
        types = engine.controller_services.types
        for i, sdef in enumerate(group.controller_services):
            if old_services.get(sdef.identifier) is sdef:
                continue
            service_cls = types.get(sdef.type) or types.get(sdef.type.rsplit(".", 1)[-1])
            if service_cls is None:
                raise FlowDefinitionError(f"unknown controller service type {sdef.type!r}; known types: "
                                          f"{', '.join(sorted(types)) or 'none'}", source="edit",
                                          where=f"{where}.controllerServices[{i}].type")
            try:
                ConfiguredControllerService(service_cls, component_id=sdef.identifier, name=sdef.name or None,
                                            properties=sdef.properties)
            except FlowyardError as exc:
                raise FlowDefinitionError(str(exc), source="edit",
                                          where=f"{where}.controllerServices[{i}]") from None
        procs = {p.identifier: p for p in group.processors}
        for i, cdef in enumerate(group.connections):
            if old_connections.get(cdef.identifier) is cdef and cdef.source not in changed_procs:
                continue
            source = procs.get(cdef.source)
            if source is not None:
                _check_relationships(engine.registry, source, cdef, f"{where}.connections[{i}].selectedRelationships")


def _changed_groups(old: GroupDef | None, new: GroupDef, where: str) -> Iterator[tuple[GroupDef, str]]:
    """The groups of ``new`` (with their place) that are not the same object as in ``old``."""
    if old is new:
        return
    yield new, where
    children = {g.identifier: g for g in old.groups} if old is not None else {}
    for i, child in enumerate(new.groups):
        yield from _changed_groups(children.get(child.identifier), child, f"{where}.processGroups[{i}]")


def _check_relationships(registry: Mapping[str, type], source: ProcessorDef, cdef: ConnectionDef, where: str) -> None:
    cls = resolve_type(registry, source.type)
    if cls is None:
        return  # refused above, or an unchanged processor of a type no longer installed
    spec = cls.spec
    try:
        static, dynamic = resolve_properties(spec.properties, source.properties, spec.dynamic_properties)
        names = [r.name for r in cls.relationships_for(dynamic, static)]
    except (FlowyardError, ValueError):
        return  # the processor is invalid as configured; it says so itself
    unknown = [r for r in cdef.relationships if r not in names]
    if unknown or not cdef.relationships:
        raise FlowDefinitionError(
            f"{source.name or cls.type_name} has no relationship {unknown[0]!r}; it has: {', '.join(names)}"
            if unknown else "a connection must carry at least one relationship", source="edit", where=where)
