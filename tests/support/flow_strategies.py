"""Hypothesis strategies for flows and for edits of them (issue 14).

Stable API (other tests build on it):

* ``flows(max_depth=2)`` — random *valid* ``FlowDef``s: nested process groups
  holding processors of real types (GenerateFlowFile, UpdateAttribute,
  LogAttribute, InvokeHTTP), funnels, ports (not in the root group), labels,
  controller services (StandardSSLContextService,
  StandardProxyConfigurationService), connections obeying NiFi's rule
  (``GroupDef.connectable_sources``/``connectable_destinations``) and parameter
  contexts (sensitive parameters used only in sensitive properties; service
  references only to services in scope). Every flow round-trips through
  ``flow_to_dict``/``flow_from_dict``.
* ``edits(flow)`` — one random edit against ``flow`` (mostly valid, some
  refused on purpose: unknown ids, clashing ids, values out of range, wrong
  ``expect``, moves breaking connections...).
* ``moves(flow)`` — one random ``MoveComponents`` (a selection, often closed
  under its connections, to a child or the parent group).
* ``SPECS`` — a ``SpecCatalog`` knowing the property specs of the types above
  (from the real processor and service classes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

import flowyard.runtime.engine  # noqa: F401  (registers the cron check, as every program that reads flows does)
from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    EXECUTION_NODES,
    LOAD_BALANCE_COMPRESSIONS,
    LOAD_BALANCE_STRATEGIES,
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
from flowyard.runtime.flow.edits import (
    Batch,
    BindParameterContext,
    CreateComponent,
    CreateParameterContext,
    DeleteComponent,
    DeleteParameterContext,
    Edit,
    ImportGroup,
    MoveComponents,
    SetRunState,
    SetServiceState,
    TypeCatalog,
    UpdateComponent,
    UpdateParameterContext,
)

__all__ = ["PROCESSOR_TYPES", "SERVICE_TYPES", "SPECS", "edits", "flows", "moves"]

PROCESSOR_TYPES = ("GenerateFlowFile", "UpdateAttribute", "LogAttribute", "InvokeHTTP")
SERVICE_TYPES = ("StandardSSLContextService", "StandardProxyConfigurationService")
#: Relationship names some processor has or lacks: what an update may set (refused when the source lacks them).
_RELATIONSHIPS = ("success", "failure", "original", "Response", "Retry")
_PARAMETERS = ("host", "port", "secret", "token")
#: Property keys that are not sensitive, per processor type (values: text or #{plain parameter}).
_PLAIN_KEYS = {"GenerateFlowFile": ("file-size", "custom-text"), "UpdateAttribute": ("store-state", "color"),
               "LogAttribute": ("log-level", "log-prefix"), "InvokeHTTP": ("http-url", "http-method")}
#: Sensitive property keys (may reference sensitive parameters).
_SECRET_KEYS = {"InvokeHTTP": ("request-password",), "StandardSSLContextService": ("keystore-password",),
                "StandardProxyConfigurationService": ("proxy-user-password",)}
_SERVICE_PLAIN = {"StandardSSLContextService": ("keystore-type", "keystore-filename"),
                  "StandardProxyConfigurationService": ("proxy-server-host", "proxy-type")}


def _catalog() -> tuple[TypeCatalog, dict[str, Any]]:
    from flowyard.runtime.registry import discover_controller_services, discover_processors
    processors, services = discover_processors(), discover_controller_services()
    classes = {n: processors[n] for n in PROCESSOR_TYPES}
    return TypeCatalog(classes, {n: services[n] for n in SERVICE_TYPES}), classes


SPECS, _PROCESSOR_CLASSES = _catalog()


def _relationships(type_name: str, properties: Mapping[str, str | None]) -> tuple[str, ...]:
    """The relationships a processor of ``type_name`` configured with ``properties``
    has (UpdateAttribute's 'set state fail' only when it stores state)."""
    return tuple(r.name for r in _PROCESSOR_CLASSES[type_name].relationships_for({}, properties))

_names = st.text(alphabet="abcdefgh XYZ-", min_size=1, max_size=8).filter(lambda s: bool(s.strip()))
_coord = st.integers(-2000, 2000).map(float)
_positions = st.tuples(_coord, _coord)


class _Ids:
    """Identifiers unique within one flow (and fresh against ``taken``)."""

    def __init__(self, prefix: str, taken: set[str] | None = None) -> None:
        self.prefix, self.taken, self.n = prefix, set(taken or ()), 0

    def __call__(self, kind: str) -> str:
        while True:
            self.n += 1
            ident = f"{self.prefix}{kind}-{self.n}"
            if ident not in self.taken:
                self.taken.add(ident)
                return ident


def _value(draw: Any, ctx: ParameterContextDef | None, *, secret: bool) -> str | None:
    """A property value: text, null, or a reference to a parameter of ``ctx``
    (a sensitive one only when ``secret``)."""
    usable = [p.name for p in (ctx.parameters if ctx else ()) if secret or not p.sensitive]
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return None
    if choice == 1 and usable:
        return "#{" + str(draw(st.sampled_from(usable))) + "}"
    return str(draw(st.text(alphabet="abc123 ./", max_size=6)))


def _properties(draw: Any, type_name: str, ctx: ParameterContextDef | None,
                services: list[str]) -> dict[str, str | None]:
    props: dict[str, str | None] = {}
    for key in draw(st.lists(st.sampled_from(_PLAIN_KEYS.get(type_name) or _SERVICE_PLAIN[type_name]),
                             max_size=2, unique=True)):
        props[key] = _value(draw, ctx, secret=False)
    for key in draw(st.lists(st.sampled_from(_SECRET_KEYS.get(type_name, ("none",))), max_size=1)):
        if key != "none":
            props[key] = _value(draw, ctx, secret=True)
    if type_name == "InvokeHTTP" and services and draw(st.booleans()):
        props["ssl-context-service"] = draw(st.sampled_from(services))
    return props


def _processor(draw: Any, ident: str, ctx: ParameterContextDef | None, services: list[str]) -> ProcessorDef:
    type_name = draw(st.sampled_from(PROCESSOR_TYPES))
    name, position, properties = draw(st.one_of(st.just(""), _names)), draw(_positions), \
        _properties(draw, type_name, ctx, services)
    return ProcessorDef(
        ident, type_name, name, position, properties,
        scheduling_period=draw(st.sampled_from(("0 sec", "1 sec", "5 min"))),
        concurrent_tasks=draw(st.integers(1, 4)),
        auto_terminated=tuple(draw(st.lists(st.sampled_from(_relationships(type_name, properties)), max_size=2,
                                            unique=True))),
        scheduled_state=draw(st.sampled_from(("RUNNING", "STOPPED", "DISABLED"))),
        comments=draw(st.sampled_from(("", "note"))),
        execution_node=draw(st.sampled_from(EXECUTION_NODES)))


def _service(draw: Any, ident: str, ctx: ParameterContextDef | None, services: list[str]) -> ControllerServiceDef:
    type_name = draw(st.sampled_from(SERVICE_TYPES))
    return ControllerServiceDef(ident, type_name, draw(st.one_of(st.just(""), _names)),
                                _properties(draw, type_name, ctx, services),
                                draw(st.sampled_from(("ENABLED", "DISABLED"))))


def _group(draw: Any, ids: _Ids, contexts: Sequence[ParameterContextDef], *, depth: int, max_depth: int,
           scope: list[str], root: bool = False, name: str = "") -> GroupDef:
    ctx = draw(st.sampled_from([None, *contexts])) if contexts else None
    ident, name, position = ids("pg"), name or draw(_names), draw(_positions)
    services: list[ControllerServiceDef] = []
    for _ in range(draw(st.integers(0, 2))):
        services.append(_service(draw, ids("cs"), ctx, scope + [s.identifier for s in services]))
    visible = scope + [s.identifier for s in services]
    processors = tuple(_processor(draw, ids("proc"), ctx, visible) for _ in range(draw(st.integers(0, 3))))
    funnels = tuple(FunnelDef(ids("funnel"), draw(_positions)) for _ in range(draw(st.integers(0, 1))))
    ports: dict[str, tuple[PortDef, ...]] = {"in": (), "out": ()}
    if not root:
        for prefix in ports:
            ports[prefix] = tuple(PortDef(ids(prefix), f"{prefix} {i}", draw(_positions),
                                          draw(st.sampled_from(("RUNNING", "STOPPED"))))
                                  for i in range(draw(st.integers(0, 2))))
    labels = tuple(LabelDef(ids("label"), draw(_names), draw(_positions),
                            style=draw(st.sampled_from(({}, {"font-size": "14px"}))))
                   for _ in range(1 if draw(st.integers(0, 3)) == 0 else 0))
    children = tuple(_group(draw, ids, contexts, depth=depth + 1, max_depth=max_depth, scope=visible)
                     for _ in range(draw(st.integers(0, 2)) if depth < max_depth else 0))
    group = GroupDef(identifier=ident, name=name, position=position,
                     parameter_context=None if ctx is None else ctx.identifier, processors=processors,
                     funnels=funnels, input_ports=ports["in"], output_ports=ports["out"], labels=labels,
                     controller_services=tuple(services), groups=children)
    sources, destinations = sorted(group.connectable_sources()), sorted(group.connectable_destinations())
    if sources and destinations:
        relationships = _relationships_of(processors)
        group = dataclasses.replace(group, connections=tuple(
            _connection(draw, ids("conn"), sources, destinations, relationships)
            for _ in range(draw(st.integers(0, 4)))))
    return group


def _relationships_of(processors: Iterable[ProcessorDef]) -> dict[str, tuple[str, ...]]:
    """Processor identifier -> the relationships it has."""
    return {p.identifier: _relationships(p.type, p.properties) for p in processors}


def _connection(draw: Any, ident: str, sources: list[str], destinations: list[str],
                relationships: Mapping[str, tuple[str, ...]]) -> ConnectionDef:
    """A connection from one of ``sources`` to one of ``destinations``: from a
    processor it selects one or two of the processor's relationships
    (``relationships``: by processor identifier); from a funnel or port, none
    (they have none)."""
    strategy = draw(st.sampled_from(LOAD_BALANCE_STRATEGIES))
    attribute = draw(st.sampled_from(("kafka.partition", "customer") if strategy == "PARTITION_BY_ATTRIBUTE"
                                     else ("", "customer")))
    source = draw(st.sampled_from(sources))
    names = relationships.get(source, ())
    selected = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))) if names else ()
    return ConnectionDef(ident, source, draw(st.sampled_from(destinations)), selected,
                         name=draw(st.sampled_from(("", "queue"))),
                         back_pressure_object_threshold=draw(st.sampled_from((10_000, 5))),
                         bends=tuple(draw(st.lists(_positions, max_size=1))),
                         load_balance_strategy=strategy, partitioning_attribute=attribute,
                         load_balance_compression=draw(st.sampled_from(LOAD_BALANCE_COMPRESSIONS)))


def _context(draw: Any, ident: str, name: str) -> ParameterContextDef:
    params = tuple(ParameterDef(n, draw(st.one_of(st.none(), st.sampled_from(("a", "b", "1")))),
                                n in ("secret", "token") and draw(st.booleans()))
                   for n in draw(st.lists(st.sampled_from(_PARAMETERS), max_size=4, unique=True)))
    return ParameterContextDef(ident, name, parameters=params)


@st.composite
def flows(draw: Any, max_depth: int = 2) -> FlowDef:
    """A random valid flow, groups nested at most ``max_depth`` levels below the root."""
    ids = _Ids("")
    contexts = [_context(draw, ids("ctx"), f"Context {i}") for i in range(draw(st.integers(0, 2)))]
    root = _group(draw, ids, contexts, depth=0, max_depth=max_depth, scope=[], root=True, name="Flow")
    return FlowDef(**{name: getattr(root, name) for name in GroupDef.__slots__}, parameter_contexts=tuple(contexts))


# -- edits -------------------------------------------------------------------------------


def _components(flow: FlowDef) -> Iterator[tuple[GroupDef, str, Any]]:
    """(group, kind, component) of every component of ``flow`` (groups but the root included)."""
    for g in flow.walk():
        for kind, (attr, _) in COMPONENT_KINDS.items():
            for c in getattr(g, attr):
                yield g, kind, c


def _all_ids(flow: FlowDef) -> set[str]:
    ids = {c.identifier for _, _, c in _components(flow)} | {flow.identifier}
    return ids | {c.identifier for c in flow.parameter_contexts}


def _pick(draw: Any, items: list[Any], bogus: Any) -> Any:
    """Mostly one of ``items``; sometimes (or when there are none) ``bogus``."""
    if not items or draw(st.integers(0, 9)) == 0:
        return bogus
    return draw(st.sampled_from(items))


@st.composite
def _create(draw: Any, flow: FlowDef) -> Edit:
    groups = list(flow.walk())
    group = _pick(draw, groups, GroupDef("no-such-group"))
    ids = _Ids("x", _all_ids(flow))
    kind = draw(st.sampled_from(list(COMPONENT_KINDS)))
    ctx = flow.context(group.parameter_context)
    scope = [s.identifier for g in groups for s in g.controller_services]
    ident = ids(kind) if draw(st.integers(0, 9)) else _pick(draw, sorted(_all_ids(flow)), "bad/id")
    component: Any
    if kind == "processor":
        component = _processor(draw, ident, ctx, scope)
    elif kind == "controller-service":
        component = _service(draw, ident, ctx, scope)
    elif kind == "connection":
        sources = sorted(group.connectable_sources()) or ["nowhere"]
        destinations = sorted(group.connectable_destinations()) or ["nowhere"]
        if draw(st.integers(0, 5)) == 0:
            sources = sorted(_all_ids(flow))
        component = _connection(draw, ident, sources, destinations,
                                _relationships_of(p for g in groups for p in g.processors))
    elif kind == "funnel":
        component = FunnelDef(ident, draw(_positions))
    elif kind in ("input-port", "output-port"):
        component = PortDef(ident, draw(_names), draw(_positions))
    elif kind == "label":
        component = LabelDef(ident, draw(_names), draw(_positions))
    else:
        sub = _group(draw, ids, flow.parameter_contexts, depth=0, max_depth=1, scope=scope)
        component = dataclasses.replace(sub, identifier=ident)
    size = len(getattr(group, COMPONENT_KINDS[kind][0]))
    index = draw(st.one_of(st.none(), st.integers(0, size)))
    return CreateComponent(kind, group.identifier, component, index)


@st.composite
def _delete(draw: Any, flow: FlowDef) -> Edit:
    found = [(kind, c.identifier) for _, kind, c in _components(flow)]
    kind, ident = _pick(draw, found, ("processor", "no-such-id"))
    if draw(st.integers(0, 19)) == 0:
        kind = "funnel"  # the wrong kind for most
    return DeleteComponent(kind, ident, draw(st.booleans()))


_FIELD_VALUES: dict[str, Any] = {
    "name": st.one_of(_names, st.just(" ")),
    "position": _positions,
    "comments": st.sampled_from(("", "changed")),
    "scheduling_period": st.sampled_from(("1 sec", "10 sec", "not a duration")),
    "scheduling_strategy": st.sampled_from(("TIMER_DRIVEN", "CRON_DRIVEN", "SOMETIMES")),
    "concurrent_tasks": st.sampled_from((1, 2, 0, 1000)),
    "auto_terminated": st.lists(st.sampled_from(_RELATIONSHIPS), max_size=2, unique=True).map(tuple),
    "bulletin_level": st.sampled_from(("INFO", "ERROR", "LOUD")),
    "relationships": st.lists(st.sampled_from(_RELATIONSHIPS), max_size=2, unique=True).map(tuple),
    "back_pressure_object_threshold": st.sampled_from((1, 20_000, -1)),
    "flowfile_expiration": st.sampled_from(("0 sec", "1 hour")),
    "bends": st.lists(_positions, max_size=2).map(tuple),
    "label": st.sampled_from(("note", "")),
    "width": st.sampled_from((100.0, 300.0, -1.0)),
    "scheduled_state": st.sampled_from(("RUNNING", "STOPPED", "DISABLED", "ENABLED")),
    "type": st.sampled_from(("UpdateAttribute", "LogAttribute")),
    "execution_node": st.sampled_from((*EXECUTION_NODES, "SOMEWHERE")),
    # PARTITION_BY_ATTRIBUTE without an attribute, and an attribute emptied under it, are refused
    "load_balance_strategy": st.sampled_from((*LOAD_BALANCE_STRATEGIES, "EVERYWHERE")),
    "partitioning_attribute": st.sampled_from(("", "customer")),
    "load_balance_compression": st.sampled_from((*LOAD_BALANCE_COMPRESSIONS, "ZIP")),
}
_FIELDS = {"processor": ("name", "position", "comments", "scheduling_period", "scheduling_strategy",
                         "concurrent_tasks", "auto_terminated", "bulletin_level", "type", "execution_node"),
           "connection": ("name", "relationships", "back_pressure_object_threshold", "flowfile_expiration", "bends",
                          "load_balance_strategy", "partitioning_attribute", "load_balance_compression"),
           "funnel": ("position",), "input-port": ("name", "position", "comments"),
           "output-port": ("name", "position", "comments"), "label": ("label", "position", "width"),
           "controller-service": ("name", "comments", "scheduled_state", "type"),
           "process-group": ("name", "position", "comments")}


@st.composite
def _update(draw: Any, flow: FlowDef) -> Edit:
    found = [(g, kind, c) for g, kind, c in _components(flow)]
    if not found or draw(st.integers(0, 19)) == 0:
        return UpdateComponent("no-such-id", {"name": "x"})
    group, kind, c = draw(st.sampled_from(found))
    fields = draw(st.lists(st.sampled_from(_FIELDS[kind]), max_size=2, unique=True))
    changes = {f: draw(_FIELD_VALUES[f]) for f in fields}
    # relationships: mostly the component's own (the source's for a connection); else the common list
    owner = c if kind == "processor" else next(
        (p for g in flow.walk() for p in g.processors if p.identifier == getattr(c, "source", None)), None)
    for f in ("relationships", "auto_terminated"):
        if f in changes and owner is not None and draw(st.integers(0, 4)):
            names = _relationships(owner.type, owner.properties) if owner.type in _PROCESSOR_CLASSES \
                else _RELATIONSHIPS
            changes[f] = tuple(draw(st.lists(st.sampled_from(names), min_size=f == "relationships", max_size=2,
                                             unique=True)))
    properties: dict[str, str | None] = {}
    if kind in ("processor", "controller-service") and draw(st.booleans()):
        ctx = flow.context(group.parameter_context)
        key = draw(st.sampled_from([*(_PLAIN_KEYS.get(c.type) or _SERVICE_PLAIN.get(c.type) or ("x",)),
                                    *_SECRET_KEYS.get(c.type, ()), *c.properties]))
        # sometimes a sensitive parameter in a plain property (refused)
        properties[key] = _value(draw, ctx, secret=draw(st.integers(0, 4)) == 0 or key in _SECRET_KEYS.get(c.type, ()))
    expect: dict[str, Any] = {}
    if fields and draw(st.booleans()):
        f = fields[0]
        current = getattr(c, f)
        expect[f] = current
        if draw(st.integers(0, 4)) == 0:
            expect[f] = "something else"
    return UpdateComponent(c.identifier, changes, properties, expect)


def _connected(group: GroupDef, chosen: set[str]) -> set[str]:
    """``chosen`` and everything of ``group`` its connections reach, either way
    (a child group stands for its ports): a selection that can move whole."""
    owner = {p.identifier: g.identifier for g in group.groups for p in (*g.input_ports, *g.output_ports)}
    found = set(chosen)
    while True:
        more = {owner.get(end, end) for c in group.connections
                if {owner.get(c.source, c.source), owner.get(c.destination, c.destination)} & found
                for end in (c.source, c.destination)} - found
        if not more:
            return found
        found |= more


@st.composite
def _move(draw: Any, flow: FlowDef) -> Edit:
    groups = list(flow.walk())
    parents = {ch.identifier: g for g in groups for ch in g.groups}
    sources = [g for g in groups if (g.groups or g.identifier in parents)
               and any(getattr(g, attr) for kind, (attr, _) in COMPONENT_KINDS.items() if kind != "connection")]
    if not sources:
        return MoveComponents(("no-such-id",), flow.identifier)
    source = draw(st.sampled_from(sources))
    parent = parents.get(source.identifier)
    targets = [*source.groups, *([parent] if parent is not None else [])]
    movable = [c.identifier for kind, (attr, _) in COMPONENT_KINDS.items() if kind != "connection"
               for c in getattr(source, attr)]
    chosen = draw(st.lists(st.sampled_from(movable), min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 2)):
        chosen = sorted(_connected(source, set(chosen)))
    if source.connections and draw(st.integers(0, 4)) == 0:
        chosen.append(draw(st.sampled_from(source.connections)).identifier)
    target = _pick(draw, [t for t in targets if t.identifier not in chosen], draw(st.sampled_from(groups)))
    positions = {i: draw(_positions) for i in chosen if draw(st.integers(0, 2)) == 0}
    return MoveComponents(tuple(dict.fromkeys(chosen)), target.identifier, positions)


@st.composite
def _run_state(draw: Any, flow: FlowDef) -> Edit:
    ids = [c.identifier for _, kind, c in _components(flow) if kind in ("processor", "input-port", "output-port")]
    chosen = draw(st.lists(st.sampled_from(ids or ["no-such-id"]), min_size=1, max_size=3, unique=True))
    return SetRunState({i: draw(st.sampled_from(("RUNNING", "STOPPED", "DISABLED"))) for i in chosen})


@st.composite
def _service_state(draw: Any, flow: FlowDef) -> Edit:
    ids = [c.identifier for _, kind, c in _components(flow) if kind == "controller-service"]
    chosen = draw(st.lists(st.sampled_from(ids or ["no-such-id"]), min_size=1, max_size=2, unique=True))
    return SetServiceState({i: draw(st.sampled_from(("ENABLED", "DISABLED"))) for i in chosen}, draw(st.booleans()))


@st.composite
def _bind(draw: Any, flow: FlowDef) -> Edit:
    group = draw(st.sampled_from(list(flow.walk())))
    ctx = _pick(draw, [None, *(c.identifier for c in flow.parameter_contexts)], "no-such-context")
    return BindParameterContext(group.identifier, ctx)


@st.composite
def _contexts(draw: Any, flow: FlowDef) -> Edit:
    existing = flow.parameter_contexts
    choice = draw(st.integers(0, 2))
    if choice == 0 or not existing:
        ident = _Ids("x", _all_ids(flow))("ctx")
        name = draw(st.sampled_from([f"New {ident}", *(c.name for c in existing)]))
        return CreateParameterContext(_context(draw, ident, name),
                                      draw(st.one_of(st.none(), st.integers(0, len(existing)))))
    ctx = draw(st.sampled_from(existing))
    if choice == 1:
        return DeleteParameterContext(ctx.identifier)
    new = [ParameterDef(n, draw(st.sampled_from(("v", None))), draw(st.booleans()))
           for n in draw(st.lists(st.sampled_from(_PARAMETERS), max_size=2, unique=True))]
    removed = draw(st.lists(st.sampled_from([p.name for p in ctx.parameters] or ["zzz"]), max_size=1))
    new = [p for p in new if p.name not in removed]
    name = draw(st.one_of(st.none(), st.sampled_from([ctx.name, f"Renamed {ctx.identifier}", ""])))
    return UpdateParameterContext(ctx.identifier, name, draw(st.one_of(st.none(), st.just("described"))),
                                  tuple(new), tuple(removed))


@st.composite
def _import(draw: Any, flow: FlowDef) -> Edit:
    ids = _Ids("imp", _all_ids(flow))
    parent = draw(st.sampled_from(list(flow.walk())))
    new_contexts = tuple(_context(draw, ids("ctx"), f"Imported {i} {ids.n}") for i in range(draw(st.integers(0, 1))))
    scope = [s.identifier for g in flow.walk() for s in g.controller_services]
    group = _group(draw, ids, [*flow.parameter_contexts, *new_contexts], depth=0, max_depth=1, scope=scope)
    return ImportGroup(parent.identifier, group, new_contexts)


def _single(flow: FlowDef) -> st.SearchStrategy[Edit]:
    return st.one_of(_create(flow), _delete(flow), _update(flow), _move(flow), _run_state(flow),
                     _service_state(flow), _bind(flow), _contexts(flow), _import(flow))


@st.composite
def edits(draw: Any, flow: FlowDef) -> Edit:
    """One random edit of ``flow``: mostly valid, some refused on purpose; now and then a ``Batch``."""
    if draw(st.integers(0, 9)) == 0:
        return Batch(tuple(draw(st.lists(_single(flow), min_size=1, max_size=3))), "batch")
    edit: Edit = draw(_single(flow))
    return edit


def moves(flow: FlowDef) -> st.SearchStrategy[Edit]:
    """One random ``MoveComponents`` of ``flow``."""
    return _move(flow)
