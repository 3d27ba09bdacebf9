"""Writing a flow's JSON form (the inverse of the parsers in
``flowyard.runtime.flow._json``), and reading places out of that form
(``doc_group``, ``doc_components``) and sizes out of a group."""

from __future__ import annotations

from typing import Any

from flowyard.runtime.flow._model import COMPONENT_KINDS, FORMAT_VERSION, FlowDef, GroupDef, ParameterContextDef

__all__ = [
    "component_to_dict",
    "count_components",
    "doc_components",
    "doc_group",
    "flow_to_dict",
    "group_height",
    "group_to_dict",
    "parameter_context_to_dict",
]


def group_height(group: GroupDef) -> int:
    """How many levels of groups ``group`` holds below itself (0: no child groups)."""
    return 1 + max(map(group_height, group.groups)) if group.groups else 0


def count_components(group: GroupDef) -> int:
    """Components in ``group``, itself and its descendants included."""
    total = 0
    for g in group.walk():
        total += 1
        for kind, (attr, _) in COMPONENT_KINDS.items():
            if kind != "process-group":
                total += len(getattr(g, attr))
    return total


def _pos(p: tuple[float, float]) -> dict[str, float]:
    return {"x": p[0], "y": p[1]}


def component_to_dict(kind: str, c: Any) -> dict[str, Any]:
    """The JSON form of a component of ``kind`` (inverse of ``component_from_dict``)."""
    if kind == "processor":
        return {
            "identifier": c.identifier, "name": c.name, "type": c.type, "position": _pos(c.position),
            "properties": dict(c.properties), "schedulingStrategy": c.scheduling_strategy,
            "schedulingPeriod": c.scheduling_period,
            "concurrentlySchedulableTaskCount": c.concurrent_tasks, "runDuration": c.run_duration,
            "penaltyDuration": c.penalty_duration, "yieldDuration": c.yield_duration,
            "autoTerminatedRelationships": list(c.auto_terminated),
            "scheduledState": c.scheduled_state, "comments": c.comments, "bulletinLevel": c.bulletin_level,
            "executionNode": c.execution_node,
        }
    if kind == "connection":
        return {
            "identifier": c.identifier, "name": c.name,
            "source": {"id": c.source}, "destination": {"id": c.destination},
            "selectedRelationships": list(c.relationships),
            "backPressureObjectThreshold": c.back_pressure_object_threshold,
            "backPressureDataSizeThreshold": c.back_pressure_data_size_threshold,
            "flowFileExpiration": c.flowfile_expiration,
            "prioritizers": list(c.prioritizers),
            "bends": [_pos(b) for b in c.bends],
            "loadBalanceStrategy": c.load_balance_strategy,
            "partitioningAttribute": c.partitioning_attribute,
            "loadBalanceCompression": c.load_balance_compression,
        }
    if kind == "funnel":
        return {"identifier": c.identifier, "position": _pos(c.position)}
    if kind in ("input-port", "output-port"):
        return {"identifier": c.identifier, "name": c.name, "position": _pos(c.position),
                "scheduledState": c.scheduled_state, "comments": c.comments}
    if kind == "label":
        return {"identifier": c.identifier, "label": c.label, "position": _pos(c.position),
                "width": c.width, "height": c.height, "style": dict(c.style)}
    if kind == "controller-service":
        return {"identifier": c.identifier, "name": c.name, "type": c.type, "properties": dict(c.properties),
                "scheduledState": c.scheduled_state, "comments": c.comments}
    if kind == "process-group":
        return group_to_dict(c)
    raise ValueError(f"unknown component kind {kind!r}")


def group_to_dict(group: GroupDef) -> dict[str, Any]:
    """The JSON form of a group and everything in it."""
    doc: dict[str, Any] = {
        "identifier": group.identifier, "name": group.name, "position": _pos(group.position),
        "comments": group.comments, "executionEngine": group.execution_engine,
        "maxConcurrentTasks": group.max_concurrent_tasks, "statelessFlowTimeout": group.stateless_flow_timeout,
        "parameterContext": None if group.parameter_context is None else {"id": group.parameter_context},
    }
    for kind, (attr, key) in COMPONENT_KINDS.items():
        doc[key] = [component_to_dict(kind, c) for c in getattr(group, attr)]
    return doc


def parameter_context_to_dict(ctx: ParameterContextDef) -> dict[str, Any]:
    return {"identifier": ctx.identifier, "name": ctx.name, "description": ctx.description,
            "parameters": [{"name": p.name, "value": p.value, "sensitive": p.sensitive,
                            "description": p.description} for p in ctx.parameters]}


def flow_to_dict(flow: FlowDef) -> dict[str, Any]:
    """The JSON form of ``flow`` (inverse of ``flow_from_dict``); ``editSeq``
    only when the flow has one."""
    doc: dict[str, Any] = {
        "flowyardFlowVersion": FORMAT_VERSION,
        "parameterContexts": [parameter_context_to_dict(c) for c in flow.parameter_contexts],
        "rootGroup": group_to_dict(flow),
    }
    if flow.edit_seq:
        doc["editSeq"] = flow.edit_seq
    return doc


def doc_group(doc: dict[str, Any], identifier: str) -> dict[str, Any]:
    """The group ``identifier`` in a flow's JSON form (``flow_to_dict``). Raises ``KeyError``."""
    stack = [doc["rootGroup"]]
    while stack:
        group = stack.pop()
        if group["identifier"] == identifier:
            found: dict[str, Any] = group
            return found
        stack.extend(group["processGroups"])
    raise KeyError(identifier)


def doc_components(doc: dict[str, Any]) -> dict[str, tuple[list[Any], int]]:
    """Every component of a flow's JSON form by identifier: the list holding it
    and its index there (groups in their parent's ``processGroups``; the root
    group and parameter contexts are not included)."""
    found: dict[str, tuple[list[Any], int]] = {}
    stack = [doc["rootGroup"]]
    while stack:
        group = stack.pop()
        for _, key in COMPONENT_KINDS.values():
            items = group[key]
            for i, item in enumerate(items):
                found[item["identifier"]] = (items, i)
        stack.extend(group["processGroups"])
    return found
