"""A processor together with its configuration: resolved properties, context,
relationships and validity. Shared by the engine and ``sdk.testing``. Pure.

The parameter and Expression Language checks here are shared with controller
services (``_service_node``), which are configured the same way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping

from flowyard.runtime import expression
from flowyard.runtime.sdk._context import BulletinSink, ProcessContext
from flowyard.runtime.sdk._errors import ConfigurationError
from flowyard.runtime.sdk._processor import InputRequirement, Processor, Relationship
from flowyard.runtime.sdk._properties import (
    DynamicPropertySpec,
    Evaluator,
    ExpressionScope,
    PropertySpec,
    ValidationResult,
    resolve_properties,
    validate_properties,
)
from flowyard.runtime.sdk._service import ControllerServiceLookup, validate_service_references
from flowyard.runtime.sdk._units import parse_duration

__all__ = [
    "ConfiguredProcessor",
    "Unresolved",
    "expression_results",
    "is_async",
    "referenced_services",
    "substitute_literal_parameters",
]

Unresolved = tuple[str, str, set[str]]
"""A ``#{parameter}`` substitution that found no parameter: (display name, key, missing names)."""


def substitute_literal_parameters(
    specs: tuple[PropertySpec, ...], static: dict[str, str | None], parameters: Mapping[str, str]
) -> list[Unresolved]:
    """Replace ``#{parameter}`` in ``static`` values of properties without Expression
    Language (as NiFi does), in place; return the references that found no parameter."""
    unresolved: list[Unresolved] = []
    for s in specs:
        value = static.get(s.key)
        if s.expression_scope is ExpressionScope.NONE and value is not None and "#{" in value:
            missing = expression.parameter_references(value) - set(parameters)
            if missing:
                unresolved.append((s.display_name, s.key, missing))
            static[s.key] = expression.substitute_parameters(value, parameters)
    return unresolved


def expression_results(
    specs: tuple[PropertySpec, ...],
    dynamic_spec: DynamicPropertySpec | None,
    static: Mapping[str, str | None],
    dynamic: Mapping[str, str],
    unresolved: Iterable[Unresolved],
    parameter_names: frozenset[str] | None,
) -> list[ValidationResult]:
    """Expressions that do not compile (with the position and what was expected),
    and parameters that are referenced but not defined (``parameter_names`` None:
    not known, not checked)."""
    checks: list[tuple[str, str | None, str]] = [
        (s.display_name, static.get(s.key), s.key)
        for s in specs if s.expression_scope is not ExpressionScope.NONE
    ]
    if dynamic_spec is not None and dynamic_spec.expression_scope is not ExpressionScope.NONE:
        checks.extend((name, value, name) for name, value in sorted(dynamic.items()))
    results = [
        ValidationResult(subject, "it references the parameter(s) "
                         f"{', '.join(repr(m) for m in sorted(missing))}, which the flow does not define", key)
        for subject, key, missing in unresolved
    ]
    for subject, value, key in checks:
        if value is None or ("${" not in value and "#{" not in value):
            continue
        try:
            expression.compile(value)
        except expression.ExpressionError as exc:
            results.append(ValidationResult(
                subject, f"{value!r} is not a valid expression: {exc.reason} at position {exc.position}", key))
            continue
        if parameter_names is not None:
            missing_names = sorted(expression.parameter_references(value) - parameter_names)
            if missing_names:
                names = ", ".join(repr(m) for m in missing_names)
                results.append(ValidationResult(
                    subject, f"it references the parameter(s) {names}, which the flow does not define", key))
    return results


def referenced_services(specs: tuple[PropertySpec, ...], static: Mapping[str, str | None]) -> dict[str, str]:
    """Property key -> controller service id, for every set property that identifies a service."""
    return {
        s.key: value.strip()
        for s in specs
        if s.identifies_controller_service is not None and (value := static.get(s.key)) is not None
    }


def is_async(fn: Callable[..., object]) -> bool:
    """True if ``fn`` is an ``async def`` function (or bound method)."""
    return inspect.iscoroutinefunction(fn)


class ConfiguredProcessor:
    """One processor component's instance and configuration.

    Raises ``ConfigurationError`` for settings that cannot even be read (an
    unknown property on a processor without dynamic properties, a malformed
    duration); problems a user fixes in the form are ``validation_results``.
    """

    def __init__(
        self,
        processor_type: type[Processor],
        *,
        component_id: str,
        name: str | None = None,
        properties: Mapping[str, str | None] | None = None,
        evaluator: Evaluator | None = None,
        bulletins: BulletinSink | None = None,
        clock: Callable[[], int] | None = None,
        parameters: Mapping[str, str] | None = None,
        concurrent_tasks: int = 1,
        penalty: str | None = None,
        yield_duration: str | None = None,
        services: ControllerServiceLookup | None = None,
    ) -> None:
        """``services`` finds the controller services this processor may use (the
        engine passes a lookup scoped to the processor's process group and its
        ancestors); None means no service exists, so a property naming one is invalid."""
        spec = processor_type.spec
        self.type = processor_type
        self.type_name = processor_type.type_name
        self.component_id = component_id
        self.name = name or self.type_name
        self.static, self.dynamic = resolve_properties(spec.properties, properties or {}, spec.dynamic_properties)
        self.services = services
        self._unresolved: list[Unresolved] = []
        if parameters is not None:
            self._unresolved = substitute_literal_parameters(spec.properties, self.static, parameters)
        defaults = spec.scheduling
        try:
            self.penalty_seconds = parse_duration(penalty or defaults.penalty)
            self.yield_seconds = parse_duration(yield_duration or defaults.yield_duration)
        except ValueError as exc:
            raise ConfigurationError(f"{self.name}: {exc}") from None
        try:
            self.relationships: tuple[Relationship, ...] = processor_type.relationships_for(
                self.dynamic, self.static)
        except ValueError as exc:
            raise ConfigurationError(f"{self.name}: {exc}") from None
        self.processor = processor_type()
        self.context = ProcessContext(
            component_id=component_id,
            name=self.name,
            component_type=self.type_name,
            specs=spec.properties,
            properties=self.static,
            dynamic=self.dynamic,
            evaluator=evaluator,
            concurrent_tasks=concurrent_tasks,
            penalty_seconds=self.penalty_seconds,
            yield_seconds=self.yield_seconds,
            bulletins=bulletins,
            clock=clock,
            services=services,
        )
        self.expression_enabled = evaluator is not None
        #: Names of the parameters the flow defines (None: not known, not checked).
        self.parameter_names = None if parameters is None else frozenset(parameters)

    def _expression_results(self) -> list[ValidationResult]:
        spec = self.type.spec
        return expression_results(spec.properties, spec.dynamic_properties, self.static, self.dynamic,
                                  self._unresolved, self.parameter_names)

    def referenced_services(self) -> dict[str, str]:
        """Property key -> controller service id for every property naming a
        service (set, whatever its dependencies). The engine uses it to find the
        processors to revalidate (or stop first) when a service changes state."""
        return referenced_services(self.type.spec.properties, self.static)

    @property
    def relationship_names(self) -> tuple[str, ...]:
        """Names of the relationships this configured instance has."""
        return tuple(r.name for r in self.relationships)

    def validation_results(
        self, *, has_input: bool, routed: Iterable[str] | None = None
    ) -> list[ValidationResult]:
        """Everything that keeps the processor from starting.

        ``routed`` is the set of relationships that are connected or
        auto-terminated (None skips that check, as for a processor being
        configured in isolation). Controller service references are checked
        against ``services`` as they are now: call again after a referenced
        service is enabled or disabled.
        """
        spec = self.type.spec
        results = validate_properties(
            spec.properties, self.static, self.dynamic, spec.dynamic_properties,
            expression_enabled=self.expression_enabled,
        )
        if self.expression_enabled:
            results.extend(self._expression_results())
        results.extend(validate_service_references(
            spec.properties, self.static, self.services, skip={r.key for r in results if r.key is not None}))
        if spec.input_requirement is InputRequirement.REQUIRED and not has_input:
            results.append(ValidationResult("Upstream Connections", "the processor requires an upstream connection"))
        if spec.input_requirement is InputRequirement.FORBIDDEN and has_input:
            results.append(ValidationResult(
                "Upstream Connections", "the processor does not accept upstream connections"))
        if routed is not None:
            routed = set(routed)
            for rel in self.relationships:
                if rel.name not in routed:
                    results.append(ValidationResult(
                        "Relationships",
                        f"relationship '{rel.name}' is not connected to any component and is not auto-terminated",
                    ))
        if not results:
            try:
                results.extend(self.processor.validate(self.context))
            except ConfigurationError as exc:
                results.append(ValidationResult("Configuration", str(exc)))
        return results
