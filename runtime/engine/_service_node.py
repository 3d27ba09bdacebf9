"""Controller services in the framework: one configured service
(``ConfiguredControllerService``) and the set of them that components look
services up in (``ControllerServiceRegistry``). Shared by the engine and
``sdk.testing``. Pure: no trio; callers decide which thread runs the hooks.

A service is configured like a processor — the same property resolution,
``#{parameter}`` substitution, Expression Language checks and validators — and
then enabled (validate → ``on_enabled``) or disabled (``on_disabled``). The
registry answers the SDK's ``ControllerServiceLookup`` questions and hands out
views restricted to the services a component may see (``scoped``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping

from flowyard.runtime.engine._component import (
    Unresolved,
    expression_results,
    referenced_services,
    substitute_literal_parameters,
)
from flowyard.runtime.sdk._context import BulletinSink, ConfigurationContext
from flowyard.runtime.sdk._errors import ConfigurationError, FlowyardError, InvalidComponentError
from flowyard.runtime.sdk._properties import Evaluator, ValidationResult, resolve_properties, validate_properties
from flowyard.runtime.sdk._service import ControllerService, ControllerServiceLookup, validate_service_references

__all__ = ["DISABLED", "ENABLED", "ConfiguredControllerService", "ControllerServiceRegistry", "ScopedServiceLookup"]

ENABLED = "ENABLED"
"""State of a service whose ``on_enabled`` succeeded: components may use it."""
DISABLED = "DISABLED"
"""State of a service that components cannot use (the initial state)."""


class ConfiguredControllerService:
    """One controller service component: its instance, configuration and state.

    ``service`` is a ``ControllerService`` class (instantiated here) or an
    instance (used as is, as tests do). Raises ``ConfigurationError`` for
    settings that cannot even be read (an unknown property on a service
    without dynamic properties); problems a user fixes in the form are
    ``validation_results``. A new configuration means a new object: the
    engine replaces the node while the service is disabled.
    """

    def __init__(
        self,
        service: type[ControllerService] | ControllerService,
        *,
        component_id: str,
        name: str | None = None,
        properties: Mapping[str, str | None] | None = None,
        evaluator: Evaluator | None = None,
        parameters: Mapping[str, str] | None = None,
        bulletins: BulletinSink | None = None,
        clock: Callable[[], int] | None = None,
        services: ControllerServiceLookup | None = None,
    ) -> None:
        """``services`` finds the services this one's properties may name (a
        lookup scoped to its process group and ancestors); ``evaluator`` and
        ``parameters`` are those of the service's process group."""
        service_type = service if isinstance(service, type) else type(service)
        spec = service_type.spec
        self.type = service_type
        self.type_name = service_type.type_name
        self.component_id = component_id
        self.name = name or self.type_name
        self.static, self.dynamic = resolve_properties(spec.properties, properties or {}, spec.dynamic_properties)
        self.services = services
        self._unresolved: list[Unresolved] = []
        if parameters is not None:
            self._unresolved = substitute_literal_parameters(spec.properties, self.static, parameters)
        self.expression_enabled = evaluator is not None
        self.parameter_names = None if parameters is None else frozenset(parameters)
        self.service = service if isinstance(service, ControllerService) else service_type()
        self.context = ConfigurationContext(
            component_id=component_id,
            name=self.name,
            component_type=self.type_name,
            specs=spec.properties,
            properties=self.static,
            dynamic=self.dynamic,
            evaluator=evaluator,
            bulletins=bulletins,
            clock=clock,
            services=services,
        )
        self.state = DISABLED
        # enable/disable may come from different threads (API calls, start-up).
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        """How messages name the service: ``'name' (Type)``."""
        return f"{self.name!r} ({self.type_name})"

    @property
    def enabled(self) -> bool:
        """Whether components may use the service now."""
        return self.state == ENABLED

    @property
    def provides(self) -> tuple[str, ...]:
        """The APIs the service's spec lists."""
        return self.type.spec.provides

    def referenced_services(self) -> dict[str, str]:
        """Property key -> id of each other controller service this one names."""
        return referenced_services(self.type.spec.properties, self.static)

    def validation_results(self) -> list[ValidationResult]:
        """Everything that keeps the service from being enabled: property values,
        expressions and parameters, the services it names (checked as they are
        now), and, when all those are fine, the service's own ``validate``."""
        spec = self.type.spec
        results = validate_properties(
            spec.properties, self.static, self.dynamic, spec.dynamic_properties,
            expression_enabled=self.expression_enabled,
        )
        if self.expression_enabled:
            results.extend(expression_results(spec.properties, spec.dynamic_properties, self.static, self.dynamic,
                                              self._unresolved, self.parameter_names))
        results.extend(validate_service_references(
            spec.properties, self.static, self.services, skip={r.key for r in results if r.key is not None}))
        if not results:
            try:
                results.extend(self.service.validate(self.context))
            except ConfigurationError as exc:
                results.append(ValidationResult("Configuration", str(exc)))
        return results

    def enable(self) -> None:
        """Validate, then call ``on_enabled``; the service is ENABLED when it returns.

        Does nothing when already enabled. Raises ``InvalidComponentError``
        (its message names each invalid property) when the configuration is
        invalid, and ``FlowyardError`` (chained to the cause) when
        ``on_enabled`` raises; in both cases the service stays DISABLED, and
        enabling may be tried again (NiFi keeps retrying; the engine decides).
        """
        with self._lock:
            if self.state == ENABLED:
                return
            results = self.validation_results()
            if results:
                raise InvalidComponentError(f"controller service {self.label}", results)
            try:
                self.service.on_enabled(self.context)
            except FlowyardError as exc:
                raise FlowyardError(f"controller service {self.label} could not be enabled: {exc}") from exc
            except Exception as exc:  # a service may raise anything while connecting or loading
                raise FlowyardError(
                    f"controller service {self.label} could not be enabled: {type(exc).__name__}: {exc}"
                ) from exc
            self.state = ENABLED

    def disable(self) -> None:
        """Make the service unusable, then call ``on_disabled``.

        Does nothing when already disabled. The caller makes sure no component
        that references the service is running. The state is DISABLED even
        when ``on_disabled`` raises; its error is then raised as
        ``FlowyardError`` (chained to the cause) so it can be reported.
        """
        with self._lock:
            if self.state != ENABLED:
                return
            self.state = DISABLED
            try:
                self.service.on_disabled()
            except Exception as exc:  # report whatever the service raised; it is disabled anyway
                raise FlowyardError(
                    f"controller service {self.label} failed while disabling: {type(exc).__name__}: {exc}"
                ) from exc

    def __repr__(self) -> str:
        return f"ConfiguredControllerService({self.component_id!r}, {self.type_name}, {self.state})"


class ControllerServiceRegistry:
    """Every controller service of an engine (or a test runner), by id.

    It is a ``ControllerServiceLookup`` over all of them; ``scoped(ids)``
    gives the view one component may use. Lookups are safe from any thread
    (they read one dict entry and one state field); adding and removing
    services is the caller's to serialize.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, ConfiguredControllerService] = {}

    # -- the set ----------------------------------------------------------------

    def add(self, node: ConfiguredControllerService) -> None:
        """Add ``node``, or replace the node with the same id (a reconfiguration).

        Raises ``ConfigurationError`` when the node it would replace is enabled:
        properties change only while a service is disabled.
        """
        current = self._nodes.get(node.component_id)
        if current is not None and current is not node and current.enabled:
            raise ConfigurationError(
                f"controller service {current.label} is enabled; disable it before changing its configuration")
        self._nodes[node.component_id] = node

    def remove(self, service_id: str) -> ConfiguredControllerService:
        """Remove and return the service. Raises ``KeyError`` for an unknown id and
        ``ConfigurationError`` while it is enabled."""
        node = self._nodes[service_id]
        if node.enabled:
            raise ConfigurationError(f"controller service {node.label} is enabled; disable it before removing it")
        del self._nodes[service_id]
        return node

    def node(self, service_id: str) -> ConfiguredControllerService:
        """The service node; raises ``KeyError`` naming the known ids."""
        try:
            return self._nodes[service_id]
        except KeyError:
            raise KeyError(f"no controller service {service_id!r}; known: {', '.join(self._nodes) or 'none'}") from None

    def __contains__(self, service_id: object) -> bool:
        return service_id in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._nodes))

    def __len__(self) -> int:
        return len(self._nodes)

    def referencing(self, service_id: str) -> list[str]:
        """Ids of the services whose properties name ``service_id``, in id order."""
        return sorted(sid for sid, n in self._nodes.items() if service_id in n.referenced_services().values())

    # -- ControllerServiceLookup ----------------------------------------------------

    def get(self, service_id: str) -> ControllerService | None:
        """The enabled service's instance, else None."""
        node = self._nodes.get(service_id)
        return node.service if node is not None and node.enabled else None

    def describe(self, service_id: str) -> str | None:
        """``'name' (Type)``, or None for an unknown id."""
        node = self._nodes.get(service_id)
        return node.label if node is not None else None

    def is_enabled(self, service_id: str) -> bool:
        """Whether the service exists and is enabled."""
        node = self._nodes.get(service_id)
        return node is not None and node.enabled

    def provides(self, service_id: str, api: str) -> bool:
        """Whether the service exists and its spec lists ``api``."""
        node = self._nodes.get(service_id)
        return node is not None and api in node.provides

    def scoped(self, visible: Iterable[str]) -> ScopedServiceLookup:
        """A lookup that sees only the services in ``visible`` (ids; unknown ids are
        fine — they are simply not found). For a component of a process group,
        pass the ids of the services of that group and of its ancestors."""
        return ScopedServiceLookup(self, visible)

    # -- lifecycle ----------------------------------------------------------------

    def enable(self, service_id: str) -> None:
        """Enable one service (see ``ConfiguredControllerService.enable``). A
        service it names must already be enabled, or validation fails."""
        self.node(service_id).enable()

    def disable(self, service_id: str) -> None:
        """Disable one service. Raises ``ConfigurationError`` naming the enabled
        services that reference it (disable those first); the caller also stops
        the processors that reference it first (see ``ConfiguredProcessor.referenced_services``)."""
        node = self.node(service_id)
        dependents = [self._nodes[sid].label for sid in self.referencing(service_id) if self._nodes[sid].enabled]
        if node.enabled and dependents:
            raise ConfigurationError(
                f"controller service {node.label} is referenced by enabled controller service(s) "
                f"{', '.join(dependents)}; disable them first")
        node.disable()

    def enable_all(self, service_ids: Iterable[str] | None = None) -> dict[str, FlowyardError]:
        """Enable ``service_ids`` (default: every service), each after the services
        it names, and return the errors of those that could not be enabled, by
        id; the others are enabled. A service naming one that failed fails too,
        with a validation result saying the named service is not enabled.
        Raises ``KeyError`` for an id that is not in the registry."""
        pending = list(self._nodes if service_ids is None else service_ids)
        errors: dict[str, FlowyardError] = {}
        while pending:
            ready = [sid for sid in pending if not any(
                ref in self._nodes and not self._nodes[ref].enabled and ref in pending and ref != sid
                for ref in self.node(sid).referenced_services().values())]
            # a reference cycle never becomes ready: try the rest anyway, for their errors
            batch = ready or pending
            for sid in batch:
                try:
                    self.node(sid).enable()
                except FlowyardError as exc:
                    errors[sid] = exc
            pending = [sid for sid in pending if sid not in batch]
        return errors

    def disable_all(self) -> dict[str, FlowyardError]:
        """Disable every enabled service, each before the services it names; return
        the errors ``on_disabled`` raised, by id (those services are disabled too)."""
        errors: dict[str, FlowyardError] = {}
        pending = [sid for sid, n in self._nodes.items() if n.enabled]
        while pending:
            ready = [sid for sid in pending if not any(
                self._nodes[other].enabled for other in self.referencing(sid) if other in pending and other != sid)]
            batch = ready or pending
            for sid in batch:
                try:
                    self._nodes[sid].disable()
                except FlowyardError as exc:
                    errors[sid] = exc
            pending = [sid for sid in pending if sid not in batch]
        return errors


class ScopedServiceLookup:
    """A ``ControllerServiceLookup`` that sees only some of a registry's services."""

    __slots__ = ("_registry", "_visible")

    def __init__(self, registry: ControllerServiceLookup, visible: Iterable[str]) -> None:
        self._registry = registry
        self._visible = frozenset(visible)

    @property
    def visible(self) -> frozenset[str]:
        """The ids this view may see."""
        return self._visible

    def get(self, service_id: str) -> ControllerService | None:
        """The enabled, visible service's instance, else None."""
        return self._registry.get(service_id) if service_id in self._visible else None

    def describe(self, service_id: str) -> str | None:
        """The registry's label for a visible service, else None."""
        return self._registry.describe(service_id) if service_id in self._visible else None

    def is_enabled(self, service_id: str) -> bool:
        """Whether the service is visible and enabled."""
        return service_id in self._visible and self._registry.is_enabled(service_id)

    def provides(self, service_id: str, api: str) -> bool:
        """Whether the service is visible and provides ``api``."""
        return service_id in self._visible and self._registry.provides(service_id, api)
