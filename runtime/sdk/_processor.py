"""What a processor author writes: a ``Processor`` subclass with a ``ProcessorSpec``.

A processor is one object per configured component. The engine calls, in
order: ``on_scheduled(context)`` once when the processor starts,
``on_trigger(context, session)`` as often as the scheduling allows, and
``on_stopped(context)`` once when it stops. Each may be a plain method or an
``async def`` coroutine.

``on_trigger`` works in a session the framework owns: when it returns, the
framework commits; when it raises ``ProcessingError`` the session is rolled
back and its input penalized; when it raises anything else the session is
rolled back, the processor yields (administrative yield) and a bulletin is
raised. A processor never commits by itself, except that a blocking
processor may call ``session.commit()`` to commit part of its work early.

A synchronous ``on_trigger`` runs in a worker thread (``blocking = True``, the
default: file and network I/O do not stall the flow); processors that only
compute may set ``blocking = False`` to run on the event loop.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from flowyard.runtime.sdk._properties import DynamicPropertySpec, PropertySpec, ValidationResult

if TYPE_CHECKING:
    from flowyard.runtime.sdk._context import ProcessContext
    from flowyard.runtime.sdk._session import ProcessSession

__all__ = [
    "DynamicRelationshipSpec",
    "InputRequirement",
    "Processor",
    "ProcessorSpec",
    "Relationship",
    "SchedulingDefaults",
]


@dataclass(frozen=True, slots=True)
class Relationship:
    """A named outlet of a processor (lowercase, like NiFi's: ``success``)."""

    name: str
    description: str = ""
    auto_terminate_default: bool = False

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise ValueError(f"relationship name {self.name!r} must be non-empty without surrounding whitespace")

    def __str__(self) -> str:
        return self.name

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description."""
        return {"name": self.name, "description": self.description}


@dataclass(frozen=True, slots=True)
class DynamicRelationshipSpec:
    """Declares that each dynamic property also defines a relationship of the same name."""

    description: str


class InputRequirement(enum.Enum):
    """Whether a processor needs, allows, or forbids incoming connections."""

    REQUIRED = "INPUT_REQUIRED"
    ALLOWED = "INPUT_ALLOWED"
    FORBIDDEN = "INPUT_FORBIDDEN"


@dataclass(frozen=True, slots=True)
class SchedulingDefaults:
    """Scheduling a new instance of the processor starts with."""

    strategy: str = "TIMER_DRIVEN"
    period: str = "0 sec"
    concurrent_tasks: int = 1
    penalty: str = "30 sec"
    yield_duration: str = "1 sec"
    run_duration: str = "0 ms"


@dataclass(frozen=True, slots=True)
class ProcessorSpec:
    """Everything the framework, the canvas and the docs know about a processor type.

    ``properties`` and ``relationships`` are in display order. ``stateful``
    says the processor keeps component state (shown in the docs).
    ``trigger_when_empty`` (NiFi's ``@TriggerWhenEmpty``) asks the engine to
    trigger the processor even while its incoming queues are empty, for
    processors that react to the absence of data (MonitorActivity).
    ``trigger_when_any_destination_available`` (NiFi's
    ``@TriggerWhenAnyDestinationAvailable``) lets the engine trigger it while
    at least one relationship has room, instead of only while none of its
    connections is full; the processor asks
    ``session.available_relationships()`` where to send (DistributeLoad).
    """

    description: str
    tags: tuple[str, ...] = ()
    properties: tuple[PropertySpec, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    dynamic_properties: DynamicPropertySpec | None = None
    dynamic_relationships: DynamicRelationshipSpec | None = None
    input_requirement: InputRequirement = InputRequirement.ALLOWED
    scheduling: SchedulingDefaults = field(default_factory=SchedulingDefaults)
    stateful: bool = False
    writes_attributes: tuple[tuple[str, str], ...] = ()
    reads_attributes: tuple[tuple[str, str], ...] = ()
    trigger_when_empty: bool = False
    trigger_when_any_destination_available: bool = False

    def __post_init__(self) -> None:
        for name in ("tags", "properties", "relationships", "writes_attributes", "reads_attributes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        keys = [p.key for p in self.properties]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate property keys in {keys}")
        names = [r.name for r in self.relationships]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate relationship names in {names}")

    def property(self, key: str) -> PropertySpec:
        """The spec with ``key``; raises ``KeyError`` naming the known keys."""
        for spec in self.properties:
            if spec.key == key:
                return spec
        raise KeyError(f"no property {key!r}; known: {', '.join(p.key for p in self.properties)}")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description for docs and the canvas."""
        return {
            "description": self.description,
            "tags": list(self.tags),
            "properties": [p.to_dict() for p in self.properties],
            "relationships": [r.to_dict() for r in self.relationships],
            "dynamic_properties": self.dynamic_properties.to_dict() if self.dynamic_properties else None,
            "dynamic_relationships": (
                {"description": self.dynamic_relationships.description}
                if self.dynamic_relationships
                else None
            ),
            "input_requirement": self.input_requirement.value,
            "stateful": self.stateful,
            "writes_attributes": [list(a) for a in self.writes_attributes],
            "reads_attributes": [list(a) for a in self.reads_attributes],
        }


class Processor:
    """Base class of every processor. Subclasses set ``spec`` and implement ``on_trigger``.

    The type name is the class name unless ``type_name`` is set. One instance
    serves all concurrent tasks of a component: keep per-trigger data local,
    or guard shared fields.
    """

    spec: ClassVar[ProcessorSpec]
    type_name: ClassVar[str] = ""
    #: A synchronous ``on_trigger`` runs in a worker thread when True.
    blocking: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type_name" not in cls.__dict__:
            cls.type_name = cls.__name__

    @classmethod
    def relationships_for(cls, dynamic_properties: Mapping[str, str], properties: Mapping[str, str | None]) -> (
        tuple[Relationship, ...]
    ):
        """The relationships a configured instance has. By default the spec's,
        plus one per dynamic property when the spec declares dynamic
        relationships. Override when relationships depend on other properties."""
        rels = tuple(cls.spec.relationships)
        if cls.spec.dynamic_relationships is not None:
            known = {r.name for r in rels}
            rels += tuple(
                Relationship(name, cls.spec.dynamic_relationships.description)
                for name in sorted(dynamic_properties)
                if name not in known
            )
        return rels

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Checks beyond single property values (override); empty means valid."""
        return ()

    def state_scope(self, context: ProcessContext) -> str:
        """Where this configured instance keeps its component state: ``"LOCAL"``
        (NiFi's ``Scope.LOCAL``, the default: each node its own state, in its
        repository) or ``"CLUSTER"`` (``Scope.CLUSTER``: one state for the whole
        cluster, so that a new primary node continues where the old one stopped).

        Override in processors whose state describes something every node sees
        alike (a remote directory, a database table); it may depend on the
        configuration (ListFile's Input Directory Location). Asked when the
        processor is configured, not per trigger. On a single node both scopes
        behave alike. In a cluster, cluster-scoped state is read before each
        trigger and written when the trigger's session commits, before the
        repository commit; if another node wrote it meanwhile, the session is
        rolled back and the processor yields. Such state is written with the
        trigger's own commit: set it after the last early ``session.commit()``.
        """
        return "LOCAL"

    def on_scheduled(self, context: ProcessContext) -> Any:
        """Called once before the first trigger; raise to refuse to start."""
        return None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> Any:
        """Do one unit of work in ``session``. See the module docstring."""
        raise NotImplementedError(f"{type(self).__name__} does not implement on_trigger")

    def on_stopped(self, context: ProcessContext) -> Any:
        """Called once after the last trigger has finished."""
        return None
