"""The flow's JSON form: parsing with errors that name the place, and writing."""


from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from flowyard.runtime.flow._model import (
    _PARAMETER_NAME,
    BULLETIN_LEVELS,
    COMPONENT_KINDS,
    FORMAT_VERSION,
    PRIORITIZERS,
    SCHEDULED_STATES,
    SCHEDULING_STRATEGIES,
    SERVICE_STATES,
    ConnectionDef,
    ControllerServiceDef,
    FlowDef,
    FunnelDef,
    GroupDef,
    LabelDef,
    ParameterContextDef,
    ParameterDef,
    PortDef,
    ProcessorDef,
)
from flowyard.runtime.schedule import CronSchedule
from flowyard.runtime.sdk._errors import FlowDefinitionError
from flowyard.runtime.sdk._units import parse_data_size, parse_duration

__all__ = [
    "component_from_dict",
    "component_to_dict",
    "connection_from_dict",
    "flow_from_dict",
    "flow_to_dict",
    "group_from_dict",
    "group_to_dict",
    "parameter_context_from_dict",
    "parameter_context_to_dict",
    "processor_from_dict",
]

class _Reader:
    """Typed access to a JSON object with errors that name the place."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> FlowDefinitionError:
        return FlowDefinitionError(message, source=self.source, where=where)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, found {type(value).__name__}")
        return value

    def items(self, obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = obj.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", f"expected a list, found {type(value).__name__}")
        return value

    def text(self, obj: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = obj.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "is required")
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", f"expected a string, found {type(value).__name__}")
        return value

    def number(self, obj: Mapping[str, Any], key: str, where: str, default: int) -> int:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}.{key}", f"expected a whole number, found {value!r}")
        if value < 0:
            raise self.fail(f"{where}.{key}", f"must not be negative, found {value}")
        return value

    def position(self, obj: Mapping[str, Any], where: str) -> tuple[float, float]:
        pos = obj.get("position", {"x": 0, "y": 0})
        if not isinstance(pos, dict) or not all(
                isinstance(v := pos.get(k), int | float) and not isinstance(v, bool) and math.isfinite(v)
                for k in ("x", "y")):
            raise self.fail(f"{where}.position", 'expected {"x": number, "y": number} (finite numbers)')
        return (float(pos["x"]), float(pos["y"]))

    def duration(self, obj: Mapping[str, Any], key: str, where: str, default: str) -> str:
        text = self.text(obj, key, where, default)
        try:
            parse_duration(text)
        except ValueError as exc:
            raise self.fail(f"{where}.{key}", str(exc)) from None
        return text

    def data_size(self, obj: Mapping[str, Any], key: str, where: str, default: str) -> str:
        text = self.text(obj, key, where, default)
        try:
            parse_data_size(text)
        except ValueError as exc:
            raise self.fail(f"{where}.{key}", str(exc)) from None
        return text


def flow_from_dict(data: Any, *, source: str = "flow") -> FlowDef:
    """Build a FlowDef from parsed JSON. Raises ``FlowDefinitionError`` naming the place."""
    r = _Reader(source)
    top = r.obj(data, "")
    version = top.get("flowyardFlowVersion")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise r.fail("flowyardFlowVersion", f"expected {FORMAT_VERSION}, found {version!r}")
    raw_root = r.obj(top.get("rootGroup"), "rootGroup")
    seen: dict[str, str] = {}
    contexts = [_unique(r, seen, parameter_context_from_dict(c, source=source, where=f"parameterContexts[{i}]"),
                        f"parameterContexts[{i}]")
                for i, c in enumerate(r.items(top, "parameterContexts", ""))]
    names: dict[str, str] = {}
    for i, ctx in enumerate(contexts):
        if ctx.name in names:
            raise r.fail(f"parameterContexts[{i}].name", f"{ctx.name!r} is already the name of {names[ctx.name]}")
        names[ctx.name] = f"parameterContexts[{i}]"
    root = _group(r, raw_root, "rootGroup", seen, contexts={c.identifier for c in contexts}, default_name="Flow")
    flow = FlowDef(**{name: getattr(root, name) for name in GroupDef.__slots__}, parameter_contexts=contexts)
    legacy = raw_root.get("parameters")
    if legacy is not None:  # the shorthand of hand-written flows: a map bound to the root group
        params = r.obj(legacy, "rootGroup.parameters")
        for key, value in params.items():
            if not isinstance(value, str):
                raise r.fail(f"rootGroup.parameters.{key}", f"expected a string, found {value!r}")
        if flow.parameter_context is not None:
            raise r.fail("rootGroup.parameters", "give either parameters or a parameterContext, not both")
        ctx = ParameterContextDef(str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowyard:{flow.identifier}:parameters")),
                                  f"{flow.name} parameters",
                                  parameters=[ParameterDef(k, v) for k, v in params.items()])
        if ctx.name in names:
            raise r.fail("rootGroup.parameters", f"a parameter context is already named {ctx.name!r}")
        flow.parameter_contexts.append(ctx)
        flow.parameter_context = ctx.identifier
    return flow


def _unique(r: _Reader, seen: dict[str, str], component: Any, where: str) -> Any:
    ident = component.identifier
    if ident in seen:
        raise r.fail(f"{where}.identifier", f"{ident!r} is already used by {seen[ident]}")
    seen[ident] = where
    return component


def _group(r: _Reader, raw: Any, where: str, seen: dict[str, str], *, contexts: set[str] | None,
           default_name: str = "Process Group") -> GroupDef:
    """One group and everything in it; identifiers are checked against ``seen``
    (the whole flow's), context references against ``contexts`` when given."""
    g = r.obj(raw, where)
    group = GroupDef(
        identifier=r.text(g, "identifier", where, str(uuid.uuid4())),
        name=r.text(g, "name", where, default_name),
        position=r.position(g, where),
        comments=r.text(g, "comments", where, ""),
    )
    _unique(r, seen, group, where)
    ref = g.get("parameterContext")
    if ref is not None:
        ctx_id = r.text(r.obj(ref, f"{where}.parameterContext"), "id", f"{where}.parameterContext")
        if contexts is not None and ctx_id not in contexts:
            raise r.fail(f"{where}.parameterContext.id", f"no parameter context has identifier {ctx_id!r}")
        group.parameter_context = ctx_id
    parsers = {"processors": _processor, "funnels": _funnel, "inputPorts": _port, "outputPorts": _port,
               "labels": _label, "controllerServices": _service}
    for kind, (attr, key) in COMPONENT_KINDS.items():
        if kind in ("connection", "process-group"):
            continue
        target = getattr(group, attr)
        for i, item in enumerate(r.items(g, key, where)):
            place = f"{where}.{key}[{i}]"
            target.append(_unique(r, seen, parsers[key](r, item, place), place))
    for i, item in enumerate(r.items(g, "processGroups", where)):
        group.groups.append(_group(r, item, f"{where}.processGroups[{i}]", seen, contexts=contexts))
    sources, destinations = group.connectable_sources(), group.connectable_destinations()
    for i, item in enumerate(r.items(g, "connections", where)):
        place = f"{where}.connections[{i}]"
        group.connections.append(_unique(r, seen, _connection(r, item, place, (sources, destinations)), place))
    return group


def _processor(r: _Reader, raw: Any, where: str) -> ProcessorDef:
    """One processor (its identifier's uniqueness is the caller's to check)."""
    p = r.obj(raw, where)
    props = _properties(r, p, where)
    strategy = r.text(p, "schedulingStrategy", where, "TIMER_DRIVEN")
    if strategy not in SCHEDULING_STRATEGIES:
        raise r.fail(f"{where}.schedulingStrategy",
                     f"{strategy!r} is not one of {', '.join(SCHEDULING_STRATEGIES)}")
    state = r.text(p, "scheduledState", where, "RUNNING")
    if state not in SCHEDULED_STATES:
        raise r.fail(f"{where}.scheduledState", f"{state!r} is not one of {', '.join(SCHEDULED_STATES)}")
    period = r.text(p, "schedulingPeriod", where, "0 sec")
    if strategy == "TIMER_DRIVEN":
        r.duration(p, "schedulingPeriod", where, "0 sec")
    elif strategy == "CRON_DRIVEN":
        try:
            CronSchedule(period)
        except ValueError as exc:
            raise r.fail(f"{where}.schedulingPeriod", str(exc)) from None
    auto = r.items(p, "autoTerminatedRelationships", where)
    if not all(isinstance(a, str) for a in auto):
        raise r.fail(f"{where}.autoTerminatedRelationships", "expected a list of relationship names")
    tasks = r.number(p, "concurrentlySchedulableTaskCount", where, 1)
    if tasks < 1:
        raise r.fail(f"{where}.concurrentlySchedulableTaskCount", "must be at least 1")
    return ProcessorDef(
        identifier=r.text(p, "identifier", where),
        type=r.text(p, "type", where),
        name=r.text(p, "name", where, ""),
        position=r.position(p, where),
        properties=dict(props),
        scheduling_strategy=strategy,
        scheduling_period=period,
        concurrent_tasks=tasks,
        run_duration=r.duration(p, "runDuration", where, "0 ms"),
        penalty_duration=r.duration(p, "penaltyDuration", where, "30 sec"),
        bulletin_level=_bulletin_level(r, p, where),
        yield_duration=r.duration(p, "yieldDuration", where, "1 sec"),
        auto_terminated=list(auto),
        scheduled_state=state,
        comments=r.text(p, "comments", where, ""),
    )


def _bulletin_level(r: _Reader, p: Mapping[str, Any], where: str) -> str:
    level = r.text(p, "bulletinLevel", where, "WARN")
    if level not in BULLETIN_LEVELS:
        raise r.fail(f"{where}.bulletinLevel", f"{level!r} is not one of {', '.join(BULLETIN_LEVELS)}")
    return level


def _funnel(r: _Reader, raw: Any, where: str) -> FunnelDef:
    f = r.obj(raw, where)
    return FunnelDef(r.text(f, "identifier", where), r.position(f, where))


def _port(r: _Reader, raw: Any, where: str) -> PortDef:
    p = r.obj(raw, where)
    state = r.text(p, "scheduledState", where, "RUNNING")
    if state not in SCHEDULED_STATES:
        raise r.fail(f"{where}.scheduledState", f"{state!r} is not one of {', '.join(SCHEDULED_STATES)}")
    return PortDef(r.text(p, "identifier", where), r.text(p, "name", where, ""), r.position(p, where), state,
                   r.text(p, "comments", where, ""))


def _label(r: _Reader, raw: Any, where: str) -> LabelDef:
    lab = r.obj(raw, where)
    style = r.obj(lab.get("style", {}), f"{where}.style")
    for key, value in style.items():
        if not isinstance(value, str):
            raise r.fail(f"{where}.style.{key}", f"expected a string, found {value!r}")
    size = []
    for key, default in (("width", 150.0), ("height", 150.0)):
        value = lab.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise r.fail(f"{where}.{key}", f"expected a positive number, found {value!r}")
        size.append(float(value))
    return LabelDef(r.text(lab, "identifier", where), r.text(lab, "label", where, ""), r.position(lab, where),
                    size[0], size[1], dict(style))


def _properties(r: _Reader, obj: Mapping[str, Any], where: str) -> dict[str, str | None]:
    props = r.obj(obj.get("properties", {}), f"{where}.properties")
    for key, value in props.items():
        if value is not None and not isinstance(value, str):
            raise r.fail(f"{where}.properties.{key}", f"expected a string or null, found {value!r}")
    return dict(props)


def _service(r: _Reader, raw: Any, where: str) -> ControllerServiceDef:
    s = r.obj(raw, where)
    state = r.text(s, "scheduledState", where, "ENABLED")
    if state not in SERVICE_STATES:
        raise r.fail(f"{where}.scheduledState", f"{state!r} is not one of {', '.join(SERVICE_STATES)}")
    return ControllerServiceDef(r.text(s, "identifier", where), r.text(s, "type", where), r.text(s, "name", where, ""),
                                _properties(r, s, where), state, r.text(s, "comments", where, ""))


def parameter_context_from_dict(data: Any, *, source: str = "request",
                                where: str = "parameterContext") -> ParameterContextDef:
    """A parameter context from its JSON form; errors name the field."""
    r = _Reader(source)
    c = r.obj(data, where)
    ctx = ParameterContextDef(r.text(c, "identifier", where), r.text(c, "name", where),
                              r.text(c, "description", where, ""))
    for i, raw in enumerate(r.items(c, "parameters", where)):
        place = f"{where}.parameters[{i}]"
        p = r.obj(raw, place)
        name = r.text(p, "name", place)
        if not _PARAMETER_NAME.fullmatch(name):
            raise r.fail(f"{place}.name", f"{name!r} is not a valid parameter name: use letters, digits, "
                                          "spaces, '.', '_' and '-'")
        if any(q.name == name for q in ctx.parameters):
            raise r.fail(f"{place}.name", f"parameter {name!r} is defined twice")
        value = p.get("value")
        if value is not None and not isinstance(value, str):
            raise r.fail(f"{place}.value", f"expected a string or null, found {value!r}")
        sensitive = p.get("sensitive", False)
        if not isinstance(sensitive, bool):
            raise r.fail(f"{place}.sensitive", f"expected true or false, found {sensitive!r}")
        ctx.parameters.append(ParameterDef(name, value, sensitive, r.text(p, "description", place, "")))
    return ctx


def _connection(r: _Reader, raw: Any, where: str, ends: tuple[set[str], set[str]] | None) -> ConnectionDef:
    """One connection; its source and destination are checked against ``ends`` when given."""
    c = r.obj(raw, where)
    found = []
    for i, end in enumerate(("source", "destination")):
        ref = r.obj(c.get(end), f"{where}.{end}")
        ident = r.text(ref, "id", f"{where}.{end}")
        if ends is not None and ident not in ends[i]:
            what = ("a processor, funnel or input port of this group, or an output port of a child group"
                    if i == 0 else
                    "a processor, funnel or output port of this group, or an input port of a child group")
            raise r.fail(f"{where}.{end}.id", f"{ident!r} is not {what}")
        found.append(ident)
    rels = r.items(c, "selectedRelationships", where)
    if not all(isinstance(x, str) for x in rels):
        raise r.fail(f"{where}.selectedRelationships", "expected a list of relationship names")
    prios = r.items(c, "prioritizers", where)
    for j, name in enumerate(prios):
        if name not in PRIORITIZERS:
            raise r.fail(f"{where}.prioritizers[{j}]",
                         f"unknown prioritizer {name!r}; known: {', '.join(PRIORITIZERS)}")
    bends = []
    for j, b in enumerate(r.items(c, "bends", where)):
        bends.append(r.position({"position": b}, f"{where}.bends[{j}]"))
    return ConnectionDef(
        identifier=r.text(c, "identifier", where),
        source=found[0],
        destination=found[1],
        relationships=list(rels),
        name=r.text(c, "name", where, ""),
        back_pressure_object_threshold=r.number(c, "backPressureObjectThreshold", where, 10_000),
        back_pressure_data_size_threshold=r.data_size(c, "backPressureDataSizeThreshold", where, "1 GB"),
        flowfile_expiration=r.duration(c, "flowFileExpiration", where, "0 sec"),
        prioritizers=list(prios),
        bends=bends,
    )


def processor_from_dict(data: Any, *, source: str = "request") -> ProcessorDef:
    """One processor from its JSON form; errors name the field (``processor.schedulingPeriod``)."""
    return _processor(_Reader(source), data, "processor")


def connection_from_dict(data: Any, *, source: str = "request") -> ConnectionDef:
    """One connection from its JSON form (endpoints are not checked: the caller knows the graph)."""
    return _connection(_Reader(source), data, "connection", None)


def group_from_dict(data: Any, *, source: str = "request", where: str = "processGroup") -> GroupDef:
    """A process group with everything in it (for creating and importing groups).
    Identifiers must be unique within it; parameter context references are the caller's to check."""
    return _group(_Reader(source), data, where, {}, contexts=None)


def component_from_dict(kind: str, data: Any, *, source: str = "request") -> Any:
    """Any component of ``COMPONENT_KINDS`` from its JSON form; errors name ``kind``'s field."""
    r = _Reader(source)
    parsers: dict[str, Any] = {"processor": _processor, "funnel": _funnel, "input-port": _port,
                               "output-port": _port, "label": _label, "controller-service": _service}
    if kind == "connection":
        return _connection(r, data, kind, None)
    if kind == "process-group":
        return group_from_dict(data, source=source, where=kind)
    return parsers[kind](r, data, kind)


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
        "comments": group.comments,
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
    """The JSON form of ``flow`` (inverse of ``flow_from_dict``)."""
    return {
        "flowyardFlowVersion": FORMAT_VERSION,
        "parameterContexts": [parameter_context_to_dict(c) for c in flow.parameter_contexts],
        "rootGroup": group_to_dict(flow),
    }
