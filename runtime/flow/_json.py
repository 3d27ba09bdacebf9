"""The flow's JSON form: parsing with errors that name the place, and writing.

The parsers (``*_from_dict``) are here, built on ``_json_reader``; the writers
(``*_to_dict``) and the helpers on the written form are in ``_json_write`` and
re-exported here."""


from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flowyard.runtime.flow._json_reader import _kind, _Reader, _shown
from flowyard.runtime.flow._json_write import (
    component_to_dict,
    count_components,
    doc_components,
    doc_group,
    flow_to_dict,
    group_height,
    group_to_dict,
    parameter_context_to_dict,
)
from flowyard.runtime.flow._limits import (
    MAX_COMPONENTS,
    MAX_CONCURRENT_TASKS,
    MAX_COORDINATE,
    MAX_GROUP_DEPTH,
    MAX_IDENTIFIER,
    MAX_NAME,
    MAX_OBJECT_THRESHOLD,
    MAX_PROPERTIES,
    MAX_RUN_DURATION_SECONDS,
    MAX_TEXT,
)
from flowyard.runtime.flow._model import (
    _PARAMETER_NAME,
    BULLETIN_LEVELS,
    COMPONENT_KINDS,
    EXECUTION_ENGINES,
    EXECUTION_NODES,
    FORMAT_VERSION,
    LOAD_BALANCE_COMPRESSIONS,
    LOAD_BALANCE_STRATEGIES,
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

__all__ = [
    "LABEL_STYLES",
    "component_from_dict",
    "component_to_dict",
    "connection_from_dict",
    "count_components",
    "doc_components",
    "doc_group",
    "flow_from_dict",
    "flow_to_dict",
    "group_from_dict",
    "group_height",
    "group_to_dict",
    "parameter_context_from_dict",
    "parameter_context_to_dict",
    "position_from_dict",
    "processor_from_dict",
    "register_period_check",
]

#: Label style keys (NiFi's) and what their values may be: colours and sizes, nothing a browser fetches.
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})|[a-zA-Z]{1,30}"
                     r"|(?:rgb|rgba|hsl|hsla)\(\s*[0-9.%]+(?:\s*[,/ ]\s*[0-9.%]+){2,3}\s*\)")
_SIZE = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,3})?(?:px|pt|em|rem|%)")
LABEL_STYLES = {"background-color": ("a colour such as #fff7d6 or lightyellow", _COLOUR),
                "color": ("a colour such as #333333 or black", _COLOUR),
                "font-size": ("a size such as 14px", _SIZE)}


#: How a processor's scheduling period is checked, by scheduling strategy (beyond TIMER_DRIVEN's
#: duration, which the reader knows). The flow model knows no cron syntax: the engine, which runs the
#: schedules, registers the CRON_DRIVEN check when it is imported (``register_period_check``).
_PERIOD_CHECKS: dict[str, Callable[[str], object]] = {}


def register_period_check(strategy: str, check: Callable[[str], object]) -> None:
    """Let the reader check the scheduling period of a ``strategy`` processor
    with ``check``, which raises ``ValueError`` with a message naming the
    problem; the reader reports that message at the field
    (``processors[0].schedulingPeriod``) wherever a processor is read: a flow
    file, an API component, an edit's changed field, ``validate``'s read-back.
    Registering again replaces the check."""
    if strategy not in SCHEDULING_STRATEGIES or strategy == "TIMER_DRIVEN":
        raise ValueError(f"{strategy!r} is not a scheduling strategy whose period can be checked: "
                         f"{', '.join(s for s in SCHEDULING_STRATEGIES if s != 'TIMER_DRIVEN')}")
    _PERIOD_CHECKS[strategy] = check


def flow_from_dict(data: Any, *, source: str = "flow") -> FlowDef:
    """Build a FlowDef from parsed JSON. Raises ``FlowDefinitionError`` naming the
    place of the first problem (``problems`` lists all of them)."""
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
        r.count(f"parameterContexts[{i}]")
        if ctx.name in names:
            r.problem(f"parameterContexts[{i}].name", f"{ctx.name!r} is already the name of {names[ctx.name]}")
        names[ctx.name] = f"parameterContexts[{i}]"
    root = _group(r, raw_root, "rootGroup", seen, contexts={c.identifier for c in contexts}, default_name="Flow")
    flow = FlowDef(**{name: getattr(root, name) for name in GroupDef.__slots__}, parameter_contexts=tuple(contexts),
                   edit_seq=r.number(top, "editSeq", "", 0, maximum=2**53))
    legacy = raw_root.get("parameters")
    if legacy is not None:  # the shorthand of hand-written flows: a map bound to the root group
        params = r.obj(legacy, "rootGroup.parameters")
        for key, value in params.items():
            if not isinstance(value, str):
                r.problem(f"rootGroup.parameters.{key}", f"must be text, found {_kind(value)}")
        if flow.parameter_context is not None:
            r.problem("rootGroup.parameters", "give either parameters or a parameterContext, not both")
        ctx = ParameterContextDef(str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowyard:{flow.identifier}:parameters")),
                                  f"{flow.name} parameters",
                                  parameters=tuple(ParameterDef(k, v) for k, v in params.items()))
        if ctx.name in names:
            r.problem("rootGroup.parameters", f"a parameter context is already named {ctx.name!r}")
        flow = dataclasses.replace(flow, parameter_contexts=(*flow.parameter_contexts, ctx),
                                   parameter_context=ctx.identifier)
    r.finish()
    return flow


def _unique(r: _Reader, seen: dict[str, str], component: Any, where: str) -> Any:
    ident = component.identifier
    if ident in seen:
        r.problem(f"{where}.identifier", f"{ident!r} is already used by {seen[ident]}")
    seen[ident] = where
    return component


def _group(r: _Reader, raw: Any, where: str, seen: dict[str, str], *, contexts: set[str] | None,
           default_name: str = "Process Group", depth: int = 0) -> GroupDef:
    """One group and everything in it; identifiers are checked against ``seen``
    (the whole flow's), context references against ``contexts`` when given.
    ``depth``: how far below the top of what is read this group is."""
    g = r.obj(raw, where)
    r.count(where)
    group = GroupDef(
        identifier=r.identifier(g, where, str(uuid.uuid4())),
        name=r.name(g, where, default_name),
        position=r.position(g, where),
        comments=r.text(g, "comments", where, ""),
        execution_engine=r.choice(g, "executionEngine", where, "INHERITED", EXECUTION_ENGINES),
        max_concurrent_tasks=r.number(g, "maxConcurrentTasks", where, 1, minimum=1, maximum=MAX_CONCURRENT_TASKS),
        stateless_flow_timeout=r.duration(g, "statelessFlowTimeout", where, "1 min"),
    )
    _unique(r, seen, group, where)
    ref = g.get("parameterContext")
    if ref is not None:
        ctx_id = r.text(r.obj(ref, f"{where}.parameterContext"), "id", f"{where}.parameterContext",
                        limit=MAX_IDENTIFIER)
        if contexts is not None and ctx_id not in contexts:
            r.problem(f"{where}.parameterContext.id", f"no parameter context has identifier {ctx_id!r}")
        group = dataclasses.replace(group, parameter_context=ctx_id)
    parsers = {"processors": _processor, "funnels": _funnel, "inputPorts": _port, "outputPorts": _port,
               "labels": _label, "controllerServices": _service}
    parts: dict[str, Any] = {}
    for kind, (attr, key) in COMPONENT_KINDS.items():
        if kind in ("connection", "process-group"):
            continue
        found = []
        for i, item in enumerate(r.items(g, key, where, MAX_COMPONENTS)):
            place = f"{where}.{key}[{i}]"
            r.count(place)
            found.append(_unique(r, seen, parsers[key](r, item, place), place))
        parts[attr] = tuple(found)
    children = r.items(g, "processGroups", where, MAX_COMPONENTS)
    if children and depth >= MAX_GROUP_DEPTH:
        raise r.fail(f"{where}.processGroups", f"process groups nest at most {MAX_GROUP_DEPTH} levels deep")
    parts["groups"] = tuple(_group(r, item, f"{where}.processGroups[{i}]", seen, contexts=contexts, depth=depth + 1)
                            for i, item in enumerate(children))
    group = dataclasses.replace(group, **parts)
    sources, destinations = group.connectable_sources(), group.connectable_destinations()
    connections = []
    for i, item in enumerate(r.items(g, "connections", where, MAX_COMPONENTS)):
        place = f"{where}.connections[{i}]"
        r.count(place)
        connections.append(_unique(r, seen, _connection(r, item, place, (sources, destinations)), place))
    return dataclasses.replace(group, connections=tuple(connections))


def _processor(r: _Reader, raw: Any, where: str) -> ProcessorDef:
    """One processor (its identifier's uniqueness is the caller's to check)."""
    p = r.obj(raw, where)
    props = _properties(r, p, where)
    annotation = p.get("annotationData")
    if (isinstance(annotation, str) and annotation.strip() and str(p.get("type", "")).endswith("UpdateAttribute")
            and not {"advanced-rules", "Advanced Rules"} & props.keys()):
        # NiFi keeps UpdateAttribute's advanced rules (its <criteria> XML) in the annotation data;
        # flowyard keeps them in the Advanced Rules property, which reads that XML as it is.
        if len(annotation) > MAX_TEXT:
            r.problem(f"{where}.annotationData", f"is {len(annotation):,} characters long; at most {MAX_TEXT:,} "
                                                 "are allowed")
        else:
            props["advanced-rules"] = annotation
    strategy = r.choice(p, "schedulingStrategy", where, "TIMER_DRIVEN", SCHEDULING_STRATEGIES)
    state = r.choice(p, "scheduledState", where, "RUNNING", SCHEDULED_STATES)
    period = r.text(p, "schedulingPeriod", where, "0 sec", limit=MAX_NAME)
    if strategy == "TIMER_DRIVEN":
        period = r.duration(p, "schedulingPeriod", where, "0 sec")
    elif strategy in _PERIOD_CHECKS:
        try:
            _PERIOD_CHECKS[strategy](period)
        except ValueError as exc:
            r.problem(f"{where}.schedulingPeriod", str(exc))
    auto = r.names(p, "autoTerminatedRelationships", where, "relationship names")
    return ProcessorDef(
        identifier=r.identifier(p, where),
        type=r.text(p, "type", where, limit=MAX_NAME),
        name=r.name(p, where, ""),
        position=r.position(p, where),
        properties=props,
        scheduling_strategy=strategy,
        scheduling_period=period,
        concurrent_tasks=r.number(p, "concurrentlySchedulableTaskCount", where, 1, minimum=1,
                                  maximum=MAX_CONCURRENT_TASKS),
        run_duration=r.duration(p, "runDuration", where, "0 ms", maximum=MAX_RUN_DURATION_SECONDS),
        penalty_duration=r.duration(p, "penaltyDuration", where, "30 sec"),
        bulletin_level=r.choice(p, "bulletinLevel", where, "WARN", BULLETIN_LEVELS),
        execution_node=r.choice(p, "executionNode", where, "ALL", EXECUTION_NODES),
        yield_duration=r.duration(p, "yieldDuration", where, "1 sec"),
        auto_terminated=tuple(auto),
        scheduled_state=state,
        comments=r.text(p, "comments", where, ""),
    )


def _funnel(r: _Reader, raw: Any, where: str) -> FunnelDef:
    f = r.obj(raw, where)
    return FunnelDef(r.identifier(f, where), r.position(f, where))


def _port(r: _Reader, raw: Any, where: str) -> PortDef:
    p = r.obj(raw, where)
    state = r.choice(p, "scheduledState", where, "RUNNING", SCHEDULED_STATES)
    return PortDef(r.identifier(p, where), r.name(p, where, ""), r.position(p, where), state,
                   r.text(p, "comments", where, ""))


def _label(r: _Reader, raw: Any, where: str) -> LabelDef:
    lab = r.obj(raw, where)
    style = r.obj(lab.get("style", {}), f"{where}.style")
    kept: dict[str, str] = {}
    for key, value in style.items():
        rule = LABEL_STYLES.get(key)
        if rule is None:
            r.problem(f"{where}.style", f"unknown style {key[:40]!r}; a label's style may set "
                                        f"{', '.join(LABEL_STYLES)}")
        elif not isinstance(value, str) or not rule[1].fullmatch(value.strip()):
            r.problem(f"{where}.style.{key}", f"must be {rule[0]}, found {_shown(value)}")
        else:
            kept[key] = value.strip()
    size = []
    for key, default in (("width", 150.0), ("height", 150.0)):
        value = lab.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_COORDINATE:
            r.problem(f"{where}.{key}", f"must be a positive number up to {MAX_COORDINATE:g}, found {_shown(value)}")
            value = default
        size.append(float(value))
    return LabelDef(r.identifier(lab, where), r.text(lab, "label", where, ""), r.position(lab, where),
                    size[0], size[1], kept)


def _properties(r: _Reader, obj: Mapping[str, Any], where: str) -> dict[str, str | None]:
    props = r.obj(obj.get("properties", {}), f"{where}.properties")
    if len(props) > MAX_PROPERTIES:
        raise r.fail(f"{where}.properties", f"holds {len(props):,} properties; at most {MAX_PROPERTIES:,} "
                                            "are allowed")
    kept: dict[str, str | None] = {}
    for key, value in props.items():
        if len(key) > MAX_NAME or not key.strip():
            r.problem(f"{where}.properties", f"a property name must be 1 to {MAX_NAME:,} characters")
        elif value is not None and not isinstance(value, str):
            r.problem(f"{where}.properties.{key}", f"must be text or null, found {_kind(value)}")
        elif value is not None and len(value) > MAX_TEXT:
            r.problem(f"{where}.properties.{key}", f"is {len(value):,} characters long; at most {MAX_TEXT:,} "
                                                   "are allowed")
        else:
            kept[key] = value
    return kept


def _service(r: _Reader, raw: Any, where: str) -> ControllerServiceDef:
    s = r.obj(raw, where)
    state = r.choice(s, "scheduledState", where, "ENABLED", SERVICE_STATES)
    return ControllerServiceDef(r.identifier(s, where), r.text(s, "type", where, limit=MAX_NAME),
                                r.name(s, where, ""), _properties(r, s, where), state,
                                r.text(s, "comments", where, ""))


def parameter_context_from_dict(data: Any, *, source: str = "request",
                                where: str = "parameterContext") -> ParameterContextDef:
    """A parameter context from its JSON form; errors name the field (every wrong one)."""
    r = _Reader(source, require_names=True)
    c = r.obj(data, where)
    ctx = ParameterContextDef(r.identifier(c, where), r.name(c, where, None),
                              r.text(c, "description", where, ""))
    parameters: list[ParameterDef] = []
    for i, raw in enumerate(r.items(c, "parameters", where)):
        place = f"{where}.parameters[{i}]"
        p = r.obj(raw, place)
        name = r.text(p, "name", place, limit=MAX_NAME)
        if not _PARAMETER_NAME.fullmatch(name):
            r.problem(f"{place}.name", f"{name!r} is not a valid parameter name: use letters, digits, "
                                       "spaces, '.', '_' and '-'")
        if any(q.name == name for q in parameters):
            r.problem(f"{place}.name", f"parameter {name!r} is defined twice")
        value = p.get("value")
        if value is not None and not isinstance(value, str):
            r.problem(f"{place}.value", f"must be text or null, found {_kind(value)}")
            value = None
        elif value is not None and len(value) > MAX_TEXT:
            r.problem(f"{place}.value", f"is {len(value):,} characters long; at most {MAX_TEXT:,} are allowed")
            value = None
        sensitive = p.get("sensitive", False)
        if not isinstance(sensitive, bool):
            r.problem(f"{place}.sensitive", f"must be true or false, found {_shown(sensitive)}")
            sensitive = False
        parameters.append(ParameterDef(name, value, sensitive, r.text(p, "description", place, "")))
    r.finish()
    return dataclasses.replace(ctx, parameters=tuple(parameters))


def _connection(r: _Reader, raw: Any, where: str, ends: tuple[set[str], set[str]] | None) -> ConnectionDef:
    """One connection; its source and destination are checked against ``ends`` when given."""
    c = r.obj(raw, where)
    found = []
    for i, end in enumerate(("source", "destination")):
        ref = r.obj(c.get(end), f"{where}.{end}")
        ident = r.text(ref, "id", f"{where}.{end}", limit=MAX_IDENTIFIER)
        if ends is not None and ident not in ends[i]:
            what = ("a processor, funnel or input port of this group, or an output port of a child group"
                    if i == 0 else
                    "a processor, funnel or output port of this group, or an input port of a child group")
            r.problem(f"{where}.{end}.id", f"{ident!r} is not {what}")
        found.append(ident)
    rels = r.names(c, "selectedRelationships", where, "relationship names")
    prios = r.items(c, "prioritizers", where)
    for j, name in enumerate(prios):
        if name not in PRIORITIZERS:
            r.problem(f"{where}.prioritizers[{j}]", f"unknown prioritizer {_shown(name)}; known: "
                                                    f"{', '.join(PRIORITIZERS)}")
    bends = [r.coordinate_pair(b, f"{where}.bends[{j}]") for j, b in enumerate(r.items(c, "bends", where, 1000))]
    identifier = r.identifier(c, where)
    strategy = r.choice(c, "loadBalanceStrategy", where, "DO_NOT_LOAD_BALANCE", LOAD_BALANCE_STRATEGIES)
    # NiFi writes null for "no attribute"
    attribute = r.text(c, "partitioningAttribute", where, "", limit=MAX_NAME) \
        if c.get("partitioningAttribute") is not None else ""
    if strategy == "PARTITION_BY_ATTRIBUTE" and not attribute.strip():
        r.problem(f"{where}.partitioningAttribute",
                  f"connection {c.get('name') or identifier!r} is load balanced PARTITION_BY_ATTRIBUTE: name the "
                  "attribute whose value picks the node")
    return ConnectionDef(
        identifier=identifier,
        source=found[0],
        destination=found[1],
        relationships=tuple(rels),
        name=r.text(c, "name", where, "", limit=MAX_NAME),
        back_pressure_object_threshold=r.number(c, "backPressureObjectThreshold", where, 10_000,
                                                maximum=MAX_OBJECT_THRESHOLD),
        back_pressure_data_size_threshold=r.data_size(c, "backPressureDataSizeThreshold", where, "1 GB"),
        flowfile_expiration=r.duration(c, "flowFileExpiration", where, "0 sec"),
        prioritizers=tuple(p for p in prios if p in PRIORITIZERS),
        bends=tuple(bends),
        load_balance_strategy=strategy,
        partitioning_attribute=attribute,
        load_balance_compression=r.choice(c, "loadBalanceCompression", where, "DO_NOT_COMPRESS",
                                          LOAD_BALANCE_COMPRESSIONS),
    )


def processor_from_dict(data: Any, *, source: str = "request") -> ProcessorDef:
    """One processor from its JSON form; errors name the field (``processor.schedulingPeriod``)."""
    r = _Reader(source)
    p = _processor(r, data, "processor")
    r.finish()
    return p


def connection_from_dict(data: Any, *, source: str = "request") -> ConnectionDef:
    """One connection from its JSON form (endpoints are not checked: the caller knows the graph)."""
    r = _Reader(source)
    c = _connection(r, data, "connection", None)
    r.finish()
    return c


def group_from_dict(data: Any, *, source: str = "request", where: str = "processGroup",
                    require_names: bool = False) -> GroupDef:
    """A process group with everything in it (for creating and importing groups).
    Identifiers must be unique within it; parameter context references are the caller's to check.
    Its depth (``group_height``) and size against the flow it joins are the caller's to check too.
    ``require_names``: a name given blank is refused (the API asks this of edits)."""
    r = _Reader(source, require_names=require_names)
    g = _group(r, data, where, {}, contexts=None)
    r.finish()
    return g


def component_from_dict(kind: str, data: Any, *, source: str = "request", require_names: bool = False) -> Any:
    """Any component of ``COMPONENT_KINDS`` from its JSON form. Raises
    ``FlowDefinitionError`` listing every wrong field (``problems``), each named
    ``kind.field``; with ``require_names`` a name given blank is one of them."""
    r = _Reader(source, require_names=require_names)
    parsers: dict[str, Any] = {"processor": _processor, "funnel": _funnel, "input-port": _port,
                               "output-port": _port, "label": _label, "controller-service": _service}
    component: Any
    if kind == "connection":
        component = _connection(r, data, kind, None)
    elif kind == "process-group":
        component = _group(r, data, kind, {}, contexts=None)
    else:
        component = parsers[kind](r, data, kind)
    r.finish()
    return component


def position_from_dict(value: Any, *, source: str = "request", where: str = "position") -> tuple[float, float]:
    """A canvas position ``{"x": number, "y": number}`` within the limits."""
    r = _Reader(source)
    position = r.coordinate_pair(value, where)
    r.finish()
    return position
