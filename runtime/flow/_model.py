"""The flow's records: process groups and everything in them, parameter contexts,
and the constants of the format. Pure data, no I/O.

The records are frozen: a flow is never changed in place. An edit makes a new
flow (``flow.edits.apply``, copying the path from the changed component to the
``FlowDef`` and sharing the rest), ``map_group`` rebuilds a group bottom-up, and
``dataclasses.replace`` changes one record. What a record holds several of
(``processors``, ``connections``, ``auto_terminated``, ``bends``...) is a
tuple, so nothing reachable from a flow can change in place but the two maps
(a component's ``properties``, a label's ``style``), which no code changes
once the record is built (``apply`` copies them; the tests check it). A flow
can therefore be shared freely: by the engine, the service, an undo history."""


from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from flowyard.runtime.flow._index import FlowIndex

__all__ = [
    "BULLETIN_LEVELS",
    "COMPONENT_KINDS",
    "EXECUTION_ENGINES",
    "EXECUTION_NODES",
    "FORMAT_VERSION",
    "LOAD_BALANCE_COMPRESSIONS",
    "LOAD_BALANCE_STRATEGIES",
    "PRIORITIZERS",
    "SCHEDULED_STATES",
    "SCHEDULING_STRATEGIES",
    "SERVICE_STATES",
    "ConnectionDef",
    "ControllerServiceDef",
    "FlowDef",
    "FunnelDef",
    "GroupDef",
    "LabelDef",
    "ParameterContextDef",
    "ParameterDef",
    "PortDef",
    "ProcessorDef",
    "map_group",
]


FORMAT_VERSION = 1
SCHEDULING_STRATEGIES = ("TIMER_DRIVEN", "CRON_DRIVEN", "EVENT_DRIVEN")
SCHEDULED_STATES = ("RUNNING", "STOPPED", "DISABLED")
SERVICE_STATES = ("ENABLED", "DISABLED")
BULLETIN_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "NONE")
#: NiFi's prioritizer names, applied in list order.
PRIORITIZERS = (
    "FirstInFirstOutPrioritizer",
    "OldestFlowFileFirstPrioritizer",
    "NewestFlowFileFirstPrioritizer",
    "PriorityAttributePrioritizer",
)
#: How a connection spreads its flowfiles over a cluster's nodes (NiFi's names);
#: on a single node every strategy is DO_NOT_LOAD_BALANCE.
LOAD_BALANCE_STRATEGIES = ("DO_NOT_LOAD_BALANCE", "ROUND_ROBIN", "PARTITION_BY_ATTRIBUTE", "SINGLE_NODE")
#: What of a flowfile a load-balanced transfer compresses (NiFi's names).
LOAD_BALANCE_COMPRESSIONS = ("DO_NOT_COMPRESS", "COMPRESS_ATTRIBUTES_ONLY", "COMPRESS_ATTRIBUTES_AND_CONTENT")
#: Where in a cluster a processor runs: on every node, or on the primary node only.
EXECUTION_NODES = ("ALL", "PRIMARY")
#: How a process group runs (NiFi 2's Execution Engine): the traditional engine, the
#: stateless one (each invocation runs to completion in memory and commits once), or
#: whatever its parent group uses (the root group's INHERITED is STANDARD).
EXECUTION_ENGINES = ("INHERITED", "STANDARD", "STATELESS")
#: NiFi's rule for parameter names.
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9 ._-]+")

@dataclass(frozen=True, slots=True)
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
    auto_terminated: tuple[str, ...] = ()
    scheduled_state: str = "RUNNING"
    comments: str = ""
    #: The lowest level of log message that becomes a bulletin (NiFi's setting).
    bulletin_level: str = "WARN"
    #: In a cluster: ``ALL`` nodes trigger it, or only the ``PRIMARY`` node (``EXECUTION_NODES``).
    execution_node: str = "ALL"


@dataclass(frozen=True, slots=True)
class ConnectionDef:
    """One connection (a queue) between two components of a group."""

    identifier: str
    source: str
    destination: str
    relationships: tuple[str, ...] = ()
    name: str = ""
    back_pressure_object_threshold: int = 10_000
    back_pressure_data_size_threshold: str = "1 GB"
    flowfile_expiration: str = "0 sec"
    prioritizers: tuple[str, ...] = ()
    bends: tuple[tuple[float, float], ...] = ()
    #: In a cluster, how the queue's flowfiles spread over the nodes (``LOAD_BALANCE_STRATEGIES``).
    load_balance_strategy: str = "DO_NOT_LOAD_BALANCE"
    #: The attribute whose value picks the node, for ``PARTITION_BY_ATTRIBUTE`` (required there).
    partitioning_attribute: str = ""
    #: What a transfer to another node compresses (``LOAD_BALANCE_COMPRESSIONS``).
    load_balance_compression: str = "DO_NOT_COMPRESS"


@dataclass(frozen=True, slots=True)
class FunnelDef:
    """A funnel: merges connections into one, routes everything to its outgoing connections."""

    identifier: str
    position: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True, slots=True)
class PortDef:
    """An input or output port: how flowfiles enter or leave a process group.
    Like a funnel it passes everything on; unlike a funnel it can be stopped."""

    identifier: str
    name: str = ""
    position: tuple[float, float] = (0.0, 0.0)
    scheduled_state: str = "RUNNING"
    comments: str = ""


@dataclass(frozen=True, slots=True)
class LabelDef:
    """A note on the canvas (no effect on the data)."""

    identifier: str
    label: str = ""
    position: tuple[float, float] = (0.0, 0.0)
    width: float = 150.0
    height: float = 150.0
    #: CSS-like style, as NiFi's ``background-color`` and ``font-size``.
    style: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ControllerServiceDef:
    """A controller service shared by the processors of its group and descendants."""

    identifier: str
    type: str
    name: str = ""
    properties: dict[str, str | None] = field(default_factory=dict)
    scheduled_state: str = "ENABLED"
    comments: str = ""


@dataclass(frozen=True, slots=True)
class ParameterDef:
    """One parameter of a context; a sensitive one is encrypted at rest and never shown."""

    name: str
    value: str | None = None
    sensitive: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class ParameterContextDef:
    """Named parameters that process groups bind to (``#{name}`` in property values)."""

    identifier: str
    name: str
    description: str = ""
    parameters: tuple[ParameterDef, ...] = ()

    def values(self) -> dict[str, str]:
        """Name -> value of the parameters that have a value."""
        return {p.name: p.value for p in self.parameters if p.value is not None}

    def sensitive_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parameters if p.sensitive)


@dataclass(frozen=True, slots=True)
class GroupDef:
    """A process group: components, connections between them, and child groups."""

    identifier: str = field(default_factory=lambda: str(uuid.uuid4()))
    name: str = "Flow"
    position: tuple[float, float] = (0.0, 0.0)
    comments: str = ""
    #: Identifier of the parameter context the group is bound to (None: no parameters).
    parameter_context: str | None = None
    #: ``EXECUTION_ENGINES``: how the group runs (see docs/stateless.md).
    execution_engine: str = "INHERITED"
    #: Stateless engine: how many invocations of the group may run at once.
    max_concurrent_tasks: int = 1
    #: Stateless engine: an invocation still running after this long is rolled back.
    stateless_flow_timeout: str = "1 min"
    processors: tuple[ProcessorDef, ...] = ()
    connections: tuple[ConnectionDef, ...] = ()
    funnels: tuple[FunnelDef, ...] = ()
    input_ports: tuple[PortDef, ...] = ()
    output_ports: tuple[PortDef, ...] = ()
    labels: tuple[LabelDef, ...] = ()
    controller_services: tuple[ControllerServiceDef, ...] = ()
    groups: tuple[GroupDef, ...] = ()

    def component_ids(self) -> set[str]:
        """Identifiers of this group's processors, funnels and ports (what connections join)."""
        ids = {p.identifier for p in self.processors} | {f.identifier for f in self.funnels}
        return ids | {p.identifier for p in (*self.input_ports, *self.output_ports)}

    def connectable_sources(self) -> set[str]:
        """What a connection of this group may start at (NiFi's rule)."""
        ids = {p.identifier for p in self.processors} | {f.identifier for f in self.funnels}
        ids |= {p.identifier for p in self.input_ports}
        return ids | {p.identifier for g in self.groups for p in g.output_ports}

    def connectable_destinations(self) -> set[str]:
        """What a connection of this group may end at."""
        ids = {p.identifier for p in self.processors} | {f.identifier for f in self.funnels}
        ids |= {p.identifier for p in self.output_ports}
        return ids | {p.identifier for g in self.groups for p in g.input_ports}

    def walk(self) -> Iterator[GroupDef]:
        """This group and every group below it, parents before children."""
        yield self
        for child in self.groups:
            yield from child.walk()


#: The component lists of a group, by API kind: kind -> (attribute, JSON key).
COMPONENT_KINDS: dict[str, tuple[str, str]] = {
    "processor": ("processors", "processors"),
    "connection": ("connections", "connections"),
    "funnel": ("funnels", "funnels"),
    "input-port": ("input_ports", "inputPorts"),
    "output-port": ("output_ports", "outputPorts"),
    "label": ("labels", "labels"),
    "controller-service": ("controller_services", "controllerServices"),
    "process-group": ("groups", "processGroups"),
}


@dataclass(frozen=True, slots=True)
class FlowDef(GroupDef):
    """A whole flow: the root process group and the parameter contexts groups bind to."""

    parameter_contexts: tuple[ParameterContextDef, ...] = ()
    #: The number of the last entry of the edit log (``flow-edits.jsonl``) this
    #: flow contains (0: none). Bookkeeping of the file, not part of what the
    #: flow is: equality ignores it.
    edit_seq: int = field(default=0, compare=False)

    def context(self, identifier: str | None) -> ParameterContextDef | None:
        for ctx in self.parameter_contexts:
            if ctx.identifier == identifier:
                return ctx
        return None

    def parameters_for(self, group: GroupDef) -> dict[str, str]:
        """The parameters ``group``'s processors see (empty without a context)."""
        ctx = self.context(group.parameter_context)
        return ctx.values() if ctx is not None else {}

    def owner(self, identifier: str) -> tuple[GroupDef, str] | None:
        """The group holding the component ``identifier`` and its kind, or None
        (the root group is no component). Answered by the flow's ``FlowIndex``
        (built on first use, then remembered for this flow)."""
        index = _index_of(self)
        place = index.location.get(identifier)
        return None if place is None else (index.groups[place[0]], place[1])

    def group(self, identifier: str) -> GroupDef | None:
        """The process group ``identifier`` (the root included), or None; by the flow's ``FlowIndex``."""
        return _index_of(self).groups.get(identifier)

    def all_processors(self) -> Iterator[tuple[GroupDef, ProcessorDef]]:
        for g in self.walk():
            for p in g.processors:
                yield g, p


def _index_of(flow: FlowDef) -> FlowIndex:
    from flowyard.runtime.flow._index import FlowIndex  # built on this module: imported when first asked

    return FlowIndex.of(flow)


_G = TypeVar("_G", bound=GroupDef)


def map_group(group: _G, component: Callable[[str, Any], Any],
              group_fn: Callable[[GroupDef], GroupDef] | None = None) -> _G:
    """``group`` rebuilt bottom-up, never changed in place (the flow's records
    are immutable): every component of every kind but process groups passed
    through ``component(kind, c)``, every group (its contents done first)
    through ``group_fn``. What the functions return unchanged is shared: a
    group whose parts all come back as they were is itself returned."""
    changes: dict[str, Any] = {}
    for kind, (attr, _) in COMPONENT_KINDS.items():
        items = getattr(group, attr)
        new = tuple(map_group(c, component, group_fn) for c in items) if kind == "process-group" \
            else tuple(component(kind, c) for c in items)
        if any(a is not b for a, b in zip(new, items, strict=True)):
            changes[attr] = new
    result = dataclasses.replace(group, **changes) if changes else group
    return group_fn(result) if group_fn is not None else result  # type: ignore[return-value]
