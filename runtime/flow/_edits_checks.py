"""The rules a flow and its components must satisfy beyond the file format,
shared by ``validate`` and ``check_flow`` (moved here from the service's
``_lookup.py``: the sensitive-parameter rule, connection ends).

Each check returns the problem as ``(where, message)`` or None; the caller
turns it into an ``EditRefused`` naming the edit.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from typing import Any

from flowyard.runtime.expression import parameter_references
from flowyard.runtime.flow._edits_model import SpecCatalog
from flowyard.runtime.flow._json import component_from_dict, component_to_dict
from flowyard.runtime.flow._model import (
    ConnectionDef,
    ControllerServiceDef,
    FlowDef,
    GroupDef,
    ParameterContextDef,
    ProcessorDef,
)
from flowyard.runtime.sdk._errors import FlowDefinitionError

__all__ = ["check_flow", "configured", "ends_problem", "parameters_used", "round_trip_problem",
           "sensitive_problem", "service_references"]

Problem = tuple[str, str]


def _names_of(specs: SpecCatalog, kind: str, type_name: str, wanted: str) -> frozenset[str] | None:
    """Every name (key, display name, aliases) of the properties of a type whose
    spec says ``wanted`` (``sensitive`` or ``service``); None for an unknown type."""
    found = specs.property_specs(kind, type_name)
    if found is None:
        return None
    return frozenset(n for spec in found
                     if (spec.sensitive if wanted == "sensitive" else spec.identifies_controller_service)
                     for n in (spec.key, spec.display_name, *spec.aliases))


def sensitive_problem(component: ProcessorDef | ControllerServiceDef, kind: str,
                      context: ParameterContextDef | None, specs: SpecCatalog) -> Problem | None:
    """NiFi's rule: a sensitive parameter (of ``context``, the one the
    component's group binds) may be referenced only by a sensitive property."""
    secret = context.sensitive_names() if context is not None else frozenset()
    if not secret:
        return None
    sensitive: frozenset[str] | None = None
    for key, value in component.properties.items():
        if value and "#{" in value:
            used = parameter_references(value) & secret
            if used:
                if sensitive is None:
                    sensitive = _names_of(specs, kind, component.type, "sensitive") or frozenset()
                if key not in sensitive:
                    return (f"properties.{key}",
                            f"references the sensitive parameter {sorted(used)[0]!r}: sensitive parameters can "
                            "only be used in sensitive properties")
    return None


def parameters_used(component: ProcessorDef | ControllerServiceDef) -> dict[str, str]:
    """Parameter name -> the first property key that references it."""
    used: dict[str, str] = {}
    for key, value in component.properties.items():
        if value and "#{" in value:
            for name in sorted(parameter_references(value)):
                used.setdefault(name, key)
    return used


def service_references(component: ProcessorDef | ControllerServiceDef, kind: str, specs: SpecCatalog,
                       services: Container[str]) -> Iterator[tuple[str, str]]:
    """(property key, service id) of the properties of ``component`` that
    name one of ``services``: properties whose spec identifies a controller
    service; for a type that is not installed, any property (as the service
    does: its spec is unknown)."""
    keys: frozenset[str] | None = None
    for key, value in component.properties.items():
        if value is not None and value in services:
            if keys is None:
                keys = _names_of(specs, kind, component.type, "service")
                if keys is None:
                    keys = frozenset(component.properties)
            if key in keys:
                yield key, value


def configured(old: ControllerServiceDef, new: ControllerServiceDef) -> bool:
    """Whether a change of a service changes its configuration (what needs it disabled)."""
    return (new.properties, new.name) != (old.properties, old.name)


def ends_problem(connection: ConnectionDef, group: GroupDef) -> Problem | None:
    """NiFi's rule for what a connection of ``group`` may join."""
    if connection.source not in group.connectable_sources():
        return ("source.id", f"{connection.source!r} is not a processor, funnel or input port of group "
                             f"{group.name!r}, or an output port of one of its child groups")
    if connection.destination not in group.connectable_destinations():
        return ("destination.id", f"{connection.destination!r} is not a processor, funnel or output port of "
                                  f"group {group.name!r}, or an input port of one of its child groups")
    return None


def round_trip_problem(kind: str, component: Any) -> Problem | None:
    """What the flow file's reader would refuse in ``component`` (its fields'
    values, limits, identifiers; for a group everything in it), or a field
    that would not read back the same. ``where`` is in the component's JSON form."""
    try:
        back = component_from_dict(kind, component_to_dict(kind, component))
    except FlowDefinitionError as exc:
        return exc.where.split(".", 1)[1] if "." in exc.where else exc.where, exc.reason
    except (AttributeError, TypeError, ValueError) as exc:
        return "", f"is not a valid {kind.replace('-', ' ')} ({exc})"
    if back != component:
        for name in type(component).__slots__:
            if getattr(back, name) != getattr(component, name):
                return name, f"{getattr(component, name)!r} would not read back the same"
    return None


def check_flow(flow: FlowDef, specs: SpecCatalog) -> list[Problem]:
    """What ``flow`` breaks of the rules beyond the file format that every flow
    an edit yields keeps: sensitive parameters only in sensitive properties.
    ``where`` names the component by identifier."""
    contexts: Mapping[str, ParameterContextDef] = {c.identifier: c for c in flow.parameter_contexts}
    problems = []
    for group in flow.walk():
        ctx = contexts.get(group.parameter_context or "")
        for kind, items in (("processor", group.processors), ("controller-service", group.controller_services)):
            for c in items:
                found = sensitive_problem(c, kind, ctx, specs)
                if found is not None:
                    problems.append((f"{c.identifier}.{found[0]}", found[1]))
    return problems
