"""What a component sees of its configuration: ``ProcessContext`` for a
processor, ``ConfigurationContext`` for a controller service."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from flowyard.runtime.sdk._properties import Evaluator, ExpressionScope, PropertySpec, PropertyValue

if TYPE_CHECKING:
    from flowyard.runtime.sdk._service import ControllerServiceLookup

__all__ = ["ComponentLog", "ConfigurationContext", "ProcessContext"]

_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}
#: NiFi's level names that Python spells differently.
_ALIASES = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "ERROR", "CRITICAL": "ERROR"}

BulletinSink = Callable[[str, str], None]
"""Receives ``(level, message)`` for WARNING and ERROR messages."""


class ComponentLog:
    """A component's logger. Messages go to Python logging under
    ``flowyard.<kind>.<type>`` (``kind`` is ``processor`` or
    ``controller_service``); WARNING and ERROR also become bulletins on the
    component (shown on the canvas), as in NiFi."""

    __slots__ = ("_logger", "_prefix", "_sink")

    def __init__(
        self, component_type: str, component_id: str, name: str, sink: BulletinSink | None, *, kind: str = "processor"
    ) -> None:
        self._logger = logging.getLogger(f"flowyard.{kind}.{component_type}")
        self._prefix = f"{name}[{component_id}] "
        self._sink = sink

    @staticmethod
    def _level(level: str) -> str:
        name = level.upper()
        name = _ALIASES.get(name, name)
        if name not in _LEVELS:
            raise ValueError(
                f"unknown log level {level!r}: expected one of TRACE, DEBUG, INFO, WARN, WARNING, ERROR, "
                "FATAL, CRITICAL"
            )
        return name

    def is_enabled(self, level: str) -> bool:
        """Whether a message at ``level`` would be logged or become a bulletin."""
        name = self._level(level)
        return self._logger.isEnabledFor(_LEVELS[name]) or (self._sink is not None and name in ("WARNING", "ERROR"))

    def log(self, level: str, message: str) -> None:
        """Log ``message`` at ``level``: NiFi's names (TRACE, DEBUG, INFO, WARN, ERROR,
        FATAL) or Python's, any case. Raises ``ValueError`` for an unknown level."""
        level = self._level(level)
        self._logger.log(_LEVELS[level], "%s%s", self._prefix, message)
        if self._sink is not None:
            self._sink(level, message)  # the component's bulletin level decides what becomes a bulletin

    def debug(self, message: str) -> None:
        """Log at DEBUG."""
        self.log("DEBUG", message)

    def info(self, message: str) -> None:
        """Log at INFO."""
        self.log("INFO", message)

    def warning(self, message: str) -> None:
        """Log at WARNING and raise a bulletin."""
        self.log("WARNING", message)

    def error(self, message: str) -> None:
        """Log at ERROR and raise a bulletin."""
        self.log("ERROR", message)


class _ComponentContext:
    """Property access shared by both contexts."""

    def __init__(
        self,
        *,
        component_id: str,
        name: str,
        component_type: str,
        specs: tuple[PropertySpec, ...],
        properties: Mapping[str, str | None],
        dynamic: Mapping[str, str],
        evaluator: Evaluator | None,
        bulletins: BulletinSink | None,
        clock: Callable[[], int] | None,
        services: ControllerServiceLookup | None,
        kind: str,
    ) -> None:
        self.component_id = component_id
        self.name = name
        self.component_type = component_type
        self._specs = {s.key: s for s in specs}
        self._values = dict(properties)
        self._dynamic = dict(dynamic)
        self._evaluator = evaluator
        self._services = services
        self.logger = ComponentLog(component_type, component_id, name, bulletins, kind=kind)
        self._clock = clock

    def now_ms(self) -> int:
        """The framework's time in epoch milliseconds: the engine's clock, or the
        test runner's mock clock. Use it instead of ``time.time()`` for anything a
        test should control (file ages, time windows)."""
        return self._clock() if self._clock is not None else int(time.time() * 1000)

    @property
    def expression_language_enabled(self) -> bool:
        """Whether property values are evaluated as Expression Language (else literal)."""
        return self._evaluator is not None

    @property
    def properties(self) -> Mapping[str, str | None]:
        """Every declared property key with its resolved value (read-only)."""
        return MappingProxyType(self._values)

    @property
    def dynamic_properties(self) -> Mapping[str, PropertyValue]:
        """User-named properties, by name, as values."""
        return {
            name: PropertyValue(value, None, evaluator=self._evaluator, name=name)
            for name, value in self._dynamic.items()
        }

    def new_property_value(self, text: str | None, *, name: str | None = None) -> PropertyValue:
        """A value for ``text`` that is no configured property (NiFi's
        ``newPropertyValue``), such as a rule's condition: ``evaluate`` runs the
        component's Expression Language on it as on a property that may read
        flowfile attributes. ``name`` labels it in error messages."""
        return PropertyValue(text, None, evaluator=self._evaluator, name=name, services=self._services)

    def property(self, key: str | PropertySpec) -> PropertyValue:
        """The value of the property with ``key`` (or of ``spec``). For a
        property that identifies a controller service,
        ``.as_controller_service(API)`` gives the enabled service.

        Raises ``KeyError`` naming the known keys for a key the component does not declare.
        """
        k = key.key if isinstance(key, PropertySpec) else key
        spec = self._specs.get(k)
        if spec is None:
            raise KeyError(f"{self.component_type} has no property {k!r}; known: {', '.join(self._specs)}")
        evaluator = self._evaluator if spec.expression_scope is not ExpressionScope.NONE else None
        return PropertyValue(self._values.get(k), spec, evaluator=evaluator, services=self._services)


class ProcessContext(_ComponentContext):
    """The configuration of one processor component, as its processor reads it.

    Property values are already resolved (defaults applied) and validated
    before the processor is scheduled. ``property(key)`` returns a
    ``PropertyValue``; call ``.evaluate(flowfile.attributes)`` on it for
    properties that support the Expression Language, and
    ``.as_controller_service(API)`` on one that names a controller service.
    """

    def __init__(
        self,
        *,
        component_id: str,
        name: str,
        component_type: str,
        specs: tuple[PropertySpec, ...],
        properties: Mapping[str, str | None],
        dynamic: Mapping[str, str],
        evaluator: Evaluator | None = None,
        concurrent_tasks: int = 1,
        penalty_seconds: float = 30.0,
        yield_seconds: float = 1.0,
        bulletins: BulletinSink | None = None,
        clock: Callable[[], int] | None = None,
        services: ControllerServiceLookup | None = None,
    ) -> None:
        """``services`` is the lookup scoped to this processor (None: no
        controller service exists for it)."""
        super().__init__(
            component_id=component_id, name=name, component_type=component_type, specs=specs,
            properties=properties, dynamic=dynamic, evaluator=evaluator, bulletins=bulletins, clock=clock,
            services=services, kind="processor",
        )
        self.max_concurrent_tasks = concurrent_tasks
        self.penalty_seconds = penalty_seconds
        self.yield_seconds = yield_seconds
        self.yield_requested = False
        #: Whether the processor has an incoming connection (NiFi's
        #: ``hasIncomingConnection``): the framework keeps it current. A processor
        #: that may run as a source (InvokeHTTP) tells a trigger without input
        #: from one whose input another task took.
        self.has_incoming_connection = False
        #: Set by the framework while the processor runs: gives the relationships
        #: whose connections all have room now. None: every relationship has room.
        self.relationship_availability: Callable[[], frozenset[str]] | None = None

    def available_relationships(self) -> frozenset[str] | None:
        """The relationships none of whose connections is full (back pressure)
        right now, as NiFi's ``ProcessContext.getAvailableRelationships``;
        unconnected and auto-terminated ones always have room. Unlike
        ``session.available_relationships()`` it may be called outside a
        trigger and from any thread (a server thread deciding whether to take a
        request). None while the processor is not run by a framework."""
        availability = self.relationship_availability
        return availability() if availability is not None else None

    def yield_(self) -> None:
        """Ask not to be triggered again for the yield duration (no work to do now)."""
        self.yield_requested = True


class ConfigurationContext(_ComponentContext):
    """The configuration of one controller service, as its service reads it in
    ``validate`` and ``on_enabled`` (NiFi's ``ConfigurationContext``).

    Values are resolved (defaults applied) and validated before
    ``on_enabled``. A property with expression scope ``ENVIRONMENT`` evaluates
    against parameters and the environment only (attributes passed to
    ``evaluate`` are ignored); one with scope ``FLOWFILE_ATTRIBUTES`` is kept
    by the service and evaluated against the attributes of each flowfile the
    service works for (NiFi's ``evaluateAttributeExpressions(variables)``, as
    a record reader does with Schema Name). A property naming another service
    gives it through ``.as_controller_service(API)``.
    """

    def __init__(
        self,
        *,
        component_id: str,
        name: str,
        component_type: str,
        specs: tuple[PropertySpec, ...],
        properties: Mapping[str, str | None],
        dynamic: Mapping[str, str],
        evaluator: Evaluator | None = None,
        bulletins: BulletinSink | None = None,
        clock: Callable[[], int] | None = None,
        services: ControllerServiceLookup | None = None,
    ) -> None:
        """``services`` is the lookup scoped to this service (None: no other
        controller service exists for it)."""
        self._full_evaluator = evaluator
        environment_only: Evaluator | None = None
        if evaluator is not None:
            def environment_only(text: str, attributes: Mapping[str, str] | None) -> str:
                return evaluator(text, None)
        super().__init__(
            component_id=component_id, name=name, component_type=component_type, specs=specs,
            properties=properties, dynamic=dynamic, evaluator=environment_only, bulletins=bulletins,
            clock=clock, services=services, kind="controller_service",
        )

    def property(self, key: str | PropertySpec) -> PropertyValue:
        """As for processors; a ``FLOWFILE_ATTRIBUTES`` property evaluates against the attributes given."""
        value = super().property(key)
        spec = value.spec
        if spec is not None and spec.expression_scope is ExpressionScope.FLOWFILE_ATTRIBUTES:
            return PropertyValue(value.raw, spec, evaluator=self._full_evaluator, services=self._services)
        return value
