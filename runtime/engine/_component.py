"""A processor together with its configuration: resolved properties, context,
relationships and validity. Shared by the engine and ``sdk.testing``. Pure."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping

from flowyard.runtime import expression
from flowyard.runtime.sdk._context import BulletinSink, ProcessContext
from flowyard.runtime.sdk._errors import ConfigurationError
from flowyard.runtime.sdk._processor import InputRequirement, Processor, Relationship
from flowyard.runtime.sdk._properties import (
    Evaluator,
    ExpressionScope,
    PropertySpec,
    ValidationResult,
    resolve_properties,
    validate_properties,
)
from flowyard.runtime.sdk._units import parse_duration

__all__ = ["ConfiguredProcessor", "is_async"]


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
    ) -> None:
        spec = processor_type.spec
        self.type = processor_type
        self.type_name = processor_type.type_name
        self.component_id = component_id
        self.name = name or self.type_name
        self.static, self.dynamic = resolve_properties(spec.properties, properties or {}, spec.dynamic_properties)
        self._unresolved: list[tuple[str, str, set[str]]] = []
        if parameters is not None:
            self._substitute_literal_parameters(spec.properties, parameters)
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
        )
        self.expression_enabled = evaluator is not None
        #: Names of the parameters the flow defines (None: not known, not checked).
        self.parameter_names = None if parameters is None else frozenset(parameters)

    def _substitute_literal_parameters(self, specs: tuple[PropertySpec, ...], parameters: Mapping[str, str]) -> None:
        """Properties without Expression Language still take ``#{parameter}`` values (as in NiFi)."""
        for s in specs:
            value = self.static.get(s.key)
            if s.expression_scope is ExpressionScope.NONE and value is not None and "#{" in value:
                missing = expression.parameter_references(value) - set(parameters)
                if missing:
                    self._unresolved.append((s.display_name, s.key, missing))
                self.static[s.key] = expression.substitute_parameters(value, parameters)

    def _expression_results(self) -> list[ValidationResult]:
        """Expressions that do not compile, with the position and what was expected."""
        spec = self.type.spec
        checks: list[tuple[str, str | None, str]] = [
            (s.display_name, self.static.get(s.key), s.key)
            for s in spec.properties if s.expression_scope is not ExpressionScope.NONE
        ]
        dynamic = spec.dynamic_properties
        if dynamic is not None and dynamic.expression_scope is not ExpressionScope.NONE:
            checks.extend((name, value, name) for name, value in sorted(self.dynamic.items()))
        results = [
            ValidationResult(subject, "it references the parameter(s) "
                             f"{', '.join(repr(m) for m in sorted(missing))}, which the flow does not define", key)
            for subject, key, missing in self._unresolved
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
            if self.parameter_names is not None:
                missing = sorted(expression.parameter_references(value) - self.parameter_names)
                if missing:
                    names = ", ".join(repr(m) for m in missing)
                    results.append(ValidationResult(
                        subject, f"it references the parameter(s) {names}, which the flow does not define", key))
        return results

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
        configured in isolation).
        """
        spec = self.type.spec
        results = validate_properties(
            spec.properties, self.static, self.dynamic, spec.dynamic_properties,
            expression_enabled=self.expression_enabled,
        )
        if self.expression_enabled:
            results.extend(self._expression_results())
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
