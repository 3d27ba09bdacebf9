"""The flow definition: what runs, read from and written to a JSON file.

The format (documented in docs/flow-format.md) follows the shape and names of
NiFi's versioned flow JSON where NiFi has the same concept, so NiFi users
recognise it::

    {"flowyardFlowVersion": 1,
     "rootGroup": {"identifier": "...", "name": "...",
                   "processors": [...], "connections": [...], "funnels": [...]}}

``load_flow`` checks the structure and reports the first problem as a
``FlowDefinitionError`` naming the file and the place (``rootGroup.processors[2].type``).
``save_flow`` writes atomically: temporary file, fsync, rename, fsync of the
directory — a crash leaves the old or the new flow, never half of one.
Pure: no engine, no I/O besides the file itself.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowyard.runtime.schedule import CronSchedule
from flowyard.runtime.sdk._errors import FlowDefinitionError
from flowyard.runtime.sdk._units import parse_data_size, parse_duration

__all__ = [
    "FORMAT_VERSION",
    "PRIORITIZERS",
    "SCHEDULED_STATES",
    "SCHEDULING_STRATEGIES",
    "ConnectionDef",
    "FlowDef",
    "FunnelDef",
    "ProcessorDef",
    "connection_from_dict",
    "flow_from_dict",
    "flow_to_dict",
    "load_flow",
    "processor_from_dict",
    "save_flow",
]

FORMAT_VERSION = 1
SCHEDULING_STRATEGIES = ("TIMER_DRIVEN", "CRON_DRIVEN", "EVENT_DRIVEN")
SCHEDULED_STATES = ("RUNNING", "STOPPED", "DISABLED")
#: NiFi's prioritizer names, applied in list order.
PRIORITIZERS = (
    "FirstInFirstOutPrioritizer",
    "OldestFlowFileFirstPrioritizer",
    "NewestFlowFileFirstPrioritizer",
    "PriorityAttributePrioritizer",
)


@dataclass(slots=True)
class ProcessorDef:
    """One processor component."""

    identifier: str
    type: str
    name: str = ""
    position: tuple[float, float] = (0.0, 0.0)
    properties: dict[str, str | None] = field(default_factory=dict)
    scheduling_strategy: str = "TIMER_DRIVEN"
    scheduling_period: str = "0 sec"
    concurrent_tasks: int = 1
    run_duration: str = "0 ms"
    penalty_duration: str = "30 sec"
    yield_duration: str = "1 sec"
    auto_terminated: list[str] = field(default_factory=list)
    scheduled_state: str = "RUNNING"
    comments: str = ""


@dataclass(slots=True)
class ConnectionDef:
    """One connection (a queue) between two components."""

    identifier: str
    source: str
    destination: str
    relationships: list[str] = field(default_factory=list)
    name: str = ""
    back_pressure_object_threshold: int = 10_000
    back_pressure_data_size_threshold: str = "1 GB"
    flowfile_expiration: str = "0 sec"
    prioritizers: list[str] = field(default_factory=list)
    bends: list[tuple[float, float]] = field(default_factory=list)


@dataclass(slots=True)
class FunnelDef:
    """A funnel: merges connections into one, routes everything to its outgoing connections."""

    identifier: str
    position: tuple[float, float] = (0.0, 0.0)


@dataclass(slots=True)
class FlowDef:
    """A whole flow (the root process group)."""

    identifier: str = field(default_factory=lambda: str(uuid.uuid4()))
    name: str = "Flow"
    processors: list[ProcessorDef] = field(default_factory=list)
    connections: list[ConnectionDef] = field(default_factory=list)
    funnels: list[FunnelDef] = field(default_factory=list)
    #: The root group's parameters, referenced as ``#{name}`` in property values.
    parameters: dict[str, str] = field(default_factory=dict)

    def component_ids(self) -> set[str]:
        """Identifiers of processors and funnels."""
        return {p.identifier for p in self.processors} | {f.identifier for f in self.funnels}


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
        if not isinstance(pos, dict) or not all(isinstance(pos.get(k), int | float) for k in ("x", "y")):
            raise self.fail(f"{where}.position", 'expected {"x": number, "y": number}')
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
    group = r.obj(top.get("rootGroup"), "rootGroup")
    flow = FlowDef(
        identifier=r.text(group, "identifier", "rootGroup", str(uuid.uuid4())),
        name=r.text(group, "name", "rootGroup", "Flow"),
    )
    params = r.obj(group.get("parameters", {}), "rootGroup.parameters")
    for key, value in params.items():
        if not isinstance(value, str):
            raise r.fail(f"rootGroup.parameters.{key}", f"expected a string, found {value!r}")
    flow.parameters = dict(params)
    seen: dict[str, str] = {}

    def unique(ident: str, where: str) -> str:
        if ident in seen:
            raise r.fail(f"{where}.identifier", f"{ident!r} is already used by {seen[ident]}")
        seen[ident] = where
        return ident

    for i, raw in enumerate(r.items(group, "processors", "rootGroup")):
        where = f"rootGroup.processors[{i}]"
        pdef = _processor(r, raw, where)
        unique(pdef.identifier, where)
        flow.processors.append(pdef)
    for i, raw in enumerate(r.items(group, "funnels", "rootGroup")):
        where = f"rootGroup.funnels[{i}]"
        f = r.obj(raw, where)
        flow.funnels.append(FunnelDef(unique(r.text(f, "identifier", where), where), r.position(f, where)))
    components = flow.component_ids()
    for i, raw in enumerate(r.items(group, "connections", "rootGroup")):
        where = f"rootGroup.connections[{i}]"
        cdef = _connection(r, raw, where, components)
        unique(cdef.identifier, where)
        flow.connections.append(cdef)
    return flow


def _processor(r: _Reader, raw: Any, where: str) -> ProcessorDef:
    """One processor (its identifier's uniqueness is the caller's to check)."""
    p = r.obj(raw, where)
    props = r.obj(p.get("properties", {}), f"{where}.properties")
    for key, value in props.items():
        if value is not None and not isinstance(value, str):
            raise r.fail(f"{where}.properties.{key}", f"expected a string or null, found {value!r}")
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
        yield_duration=r.duration(p, "yieldDuration", where, "1 sec"),
        auto_terminated=list(auto),
        scheduled_state=state,
        comments=r.text(p, "comments", where, ""),
    )


def _connection(r: _Reader, raw: Any, where: str, components: set[str] | None) -> ConnectionDef:
    """One connection; endpoints are checked against ``components`` when given."""
    c = r.obj(raw, where)
    ends = []
    for end in ("source", "destination"):
        ref = r.obj(c.get(end), f"{where}.{end}")
        ident = r.text(ref, "id", f"{where}.{end}")
        if components is not None and ident not in components:
            raise r.fail(f"{where}.{end}.id", f"no processor or funnel has identifier {ident!r}")
        ends.append(ident)
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
        source=ends[0],
        destination=ends[1],
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


def flow_to_dict(flow: FlowDef) -> dict[str, Any]:
    """The JSON form of ``flow`` (inverse of ``flow_from_dict``)."""
    def pos(p: tuple[float, float]) -> dict[str, float]:
        return {"x": p[0], "y": p[1]}

    return {
        "flowyardFlowVersion": FORMAT_VERSION,
        "rootGroup": {
            "identifier": flow.identifier,
            "name": flow.name,
            "parameters": dict(flow.parameters),
            "processors": [{
                "identifier": p.identifier, "name": p.name, "type": p.type, "position": pos(p.position),
                "properties": dict(p.properties), "schedulingStrategy": p.scheduling_strategy,
                "schedulingPeriod": p.scheduling_period,
                "concurrentlySchedulableTaskCount": p.concurrent_tasks, "runDuration": p.run_duration,
                "penaltyDuration": p.penalty_duration, "yieldDuration": p.yield_duration,
                "autoTerminatedRelationships": list(p.auto_terminated),
                "scheduledState": p.scheduled_state, "comments": p.comments,
            } for p in flow.processors],
            "funnels": [{"identifier": f.identifier, "position": pos(f.position)} for f in flow.funnels],
            "connections": [{
                "identifier": c.identifier, "name": c.name,
                "source": {"id": c.source}, "destination": {"id": c.destination},
                "selectedRelationships": list(c.relationships),
                "backPressureObjectThreshold": c.back_pressure_object_threshold,
                "backPressureDataSizeThreshold": c.back_pressure_data_size_threshold,
                "flowFileExpiration": c.flowfile_expiration,
                "prioritizers": list(c.prioritizers),
                "bends": [pos(b) for b in c.bends],
            } for c in flow.connections],
        },
    }


def load_flow(path: str | os.PathLike[str]) -> FlowDef:
    """Read a flow file. Raises ``FlowDefinitionError`` naming the file and the place."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowDefinitionError(f"cannot read the flow file: {exc.strerror}", source=source) from None
    except UnicodeDecodeError as exc:
        raise FlowDefinitionError("not UTF-8 text", source=source, where=f"byte {exc.start}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FlowDefinitionError(f"not valid JSON: {exc.msg}", source=source,
                                  where=f"line {exc.lineno} column {exc.colno}") from None
    return flow_from_dict(data, source=source)


def save_flow(flow: FlowDef, path: str | os.PathLike[str]) -> None:
    """Write ``flow`` to ``path`` atomically (temporary file, fsync, rename, fsync directory)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(flow_to_dict(flow), indent=2, sort_keys=False).encode() + b"\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
