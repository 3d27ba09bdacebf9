"""Property specs, configured values, and their validation.

A ``PropertySpec`` declares one property of a component: its stable ``key``
(what flowyard stores), its ``display_name`` (what users see, NiFi's name for
NiFi processors), and the rules a value must follow. One list of specs per
component drives validation, the canvas form and the docs.

The life of a configured value:

1. ``resolve_properties`` maps the configured names (keys; display names or
   legacy aliases from the test kit or API clients, ranked by
   ``match_properties``) onto spec keys, applies defaults and sets aside
   dynamic (user-named) properties. A saved flow holds keys only
   (``flowyard.runtime.flow.normalize``).
2. ``validate_properties`` applies NiFi's rules and returns every problem as
   a ``ValidationResult``; a component with results cannot start.
3. The processor reads each value through a ``PropertyValue``, whose
   ``as_*`` conversions raise ``PropertyValueError`` for a value they cannot
   convert.

Values of ``sensitive`` properties are never echoed in messages or reprs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar, cast, overload

from flowyard.runtime.sdk._errors import ConfigurationError
from flowyard.runtime.sdk._units import _show, parse_data_size, parse_duration
from flowyard.runtime.sdk.validators import (
    Validator,
    _parse_bool,
    _parse_float,
    _parse_int,
    _regex_problem,
)

if TYPE_CHECKING:
    from flowyard.runtime.sdk._service import ControllerService, ControllerServiceLookup

__all__ = [
    "AllowableValue",
    "DynamicPropertySpec",
    "Evaluator",
    "ExpressionScope",
    "PropertyDependency",
    "PropertyMatch",
    "PropertySpec",
    "PropertyValue",
    "PropertyValueError",
    "UnknownPropertyError",
    "ValidationResult",
    "match_properties",
    "resolve_properties",
    "validate_properties",
]

Evaluator = Callable[[str, Mapping[str, str] | None], str]
"""Evaluates the Expression Language in a value against flowfile attributes
(``None`` when there is no flowfile) and returns the resulting text."""


class _StatefulEvaluator(Protocol):
    def __call__(self, text: str, attributes: Mapping[str, str] | None, *,
                 state: Mapping[str, str] | None = None) -> str: ...

_T = TypeVar("_T")

_EXPRESSION_START = "${"
_PARAMETER_START = "#{"
_MASK = "********"


class PropertyValueError(ConfigurationError):
    """A property value cannot be converted to the type a processor asked for.

    ``property_name`` is the display name (or dynamic property name) and
    ``value`` the offending text, ``None`` when the property is unset. The
    message names both, unless the property is sensitive.
    """

    def __init__(self, property_name: str, value: str | None, explanation: str) -> None:
        self.property_name = property_name
        self.value = value
        super().__init__(str(ValidationResult(property_name, explanation)))


class UnknownPropertyError(ConfigurationError):
    """A configured property name matches no spec of a component that takes
    no dynamic properties. The message lists the valid display names."""

    def __init__(self, name: str, known_names: Iterable[str]) -> None:
        self.name = name
        self.known_names = tuple(known_names)
        listed = ", ".join(_show(n) for n in self.known_names) or "none"
        super().__init__(f"unknown property {_show(name)}; valid properties are: {listed}")


class ExpressionScope(enum.Enum):
    """Where Expression Language in a value may look (NiFi's ``ExpressionLanguageScope``)."""

    NONE = "NONE"
    """Expression Language is not evaluated; ``${`` is literal text."""
    ENVIRONMENT = "ENVIRONMENT"
    """Only variables of the environment and parameters; evaluated without a flowfile."""
    FLOWFILE_ATTRIBUTES = "FLOWFILE_ATTRIBUTES"
    """Also the attributes of the flowfile being processed."""


@dataclass(frozen=True, slots=True)
class AllowableValue:
    """One choice of a property limited to a fixed set.

    ``value`` is what is stored and compared; ``display_name`` (defaulting
    to ``value``) is what the canvas shows.
    """

    value: str
    display_name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.value)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description for docs and the canvas."""
        return {
            "value": self.value,
            "display_name": self.display_name,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class PropertyDependency:
    """A property is relevant only while another property has certain values.

    The dependency holds when the property with key ``key`` has a value (set
    or defaulted) that is one of ``values`` — or any value when ``values`` is
    empty — and that property's own dependencies hold.
    """

    key: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description for docs and the canvas."""
        return {"key": self.key, "values": list(self.values)}


def _validator_dict(validator: Validator | None) -> dict[str, str] | None:
    if validator is None:
        return None
    return {"name": validator.name, "description": validator.description}


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """The declaration of one component property.

    ``key`` is the stable identifier stored in flows (kebab-case, e.g.
    ``"routing-strategy"``); ``display_name`` is the label, for NiFi
    processors exactly NiFi 2's name. ``aliases`` are further names accepted
    when a flow is loaded (NiFi 1.x names, NiFi 2's name when it differs).

    ``identifies_controller_service`` names an API (e.g. ``"StringLookupService"``):
    the value is then the id of a controller service that must exist in the
    component's scope, provide that API and be enabled, or the component is
    invalid. Such a property takes no Expression Language (``#{parameter}``
    references still work) and no allowed values.

    Raises ``ValueError`` on construction when ``key`` or ``display_name`` is
    empty or has surrounding whitespace, when ``default`` is not one of
    ``allowed_values``, or when a controller service property has an
    expression scope or allowed values. Sequence fields given as lists are
    stored as tuples.
    """

    key: str
    display_name: str
    description: str = ""
    required: bool = False
    default: str | None = None
    allowed_values: tuple[AllowableValue, ...] = ()
    validator: Validator | None = None
    expression_scope: ExpressionScope = ExpressionScope.NONE
    sensitive: bool = False
    dependencies: tuple[PropertyDependency, ...] = ()
    aliases: tuple[str, ...] = ()
    identifies_controller_service: str | None = None

    def __post_init__(self) -> None:
        for field, text in (("key", self.key), ("display_name", self.display_name)):
            if not text or text != text.strip():
                raise ValueError(
                    f"property {field} {_show(text)} must be non-empty without surrounding "
                    "whitespace"
                )
        for field in ("allowed_values", "dependencies", "aliases"):
            object.__setattr__(self, field, tuple(getattr(self, field)))
        if (
            self.default is not None
            and self.allowed_values
            and self.default not in {a.value for a in self.allowed_values}
        ):
            raise ValueError(
                f"property {_show(self.key)}: default {_show(self.default)} is not one of its "
                "allowed values"
            )
        api = self.identifies_controller_service
        if api is not None:
            if not api or api != api.strip() or any(c.isspace() for c in api):
                raise ValueError(
                    f"property {_show(self.key)}: controller service API {_show(api)} must be non-empty "
                    "without whitespace"
                )
            if self.expression_scope is not ExpressionScope.NONE or self.allowed_values:
                raise ValueError(
                    f"property {_show(self.key)} identifies a controller service, so it takes neither "
                    "Expression Language nor allowed values"
                )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description for docs and the canvas; the validator
        appears as its name and description, and ``identifies_controller_service``
        only for properties that name a service."""
        described: dict[str, object] = {
            "key": self.key,
            "display_name": self.display_name,
            "description": self.description,
            "required": self.required,
            "default": self.default,
            "allowed_values": [a.to_dict() for a in self.allowed_values],
            "validator": _validator_dict(self.validator),
            "expression_scope": self.expression_scope.value,
            "sensitive": self.sensitive,
            "dependencies": [d.to_dict() for d in self.dependencies],
            "aliases": list(self.aliases),
        }
        if self.identifies_controller_service is not None:
            described["identifies_controller_service"] = self.identifies_controller_service
        return described


@dataclass(frozen=True, slots=True)
class DynamicPropertySpec:
    """Declares that a component accepts properties named by the user.

    ``name_description`` says what the chosen name means (e.g. "A FlowFile
    attribute to update"), ``value_description`` what the value means.
    ``sensitive`` says whether dynamic values may be marked sensitive.
    """

    name_description: str
    value_description: str
    expression_scope: ExpressionScope = ExpressionScope.NONE
    validator: Validator | None = None
    sensitive: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description for docs and the canvas."""
        return {
            "name_description": self.name_description,
            "value_description": self.value_description,
            "expression_scope": self.expression_scope.value,
            "validator": _validator_dict(self.validator),
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """One reason a component is invalid.

    ``subject`` is a property's display name, a dynamic property's name, or
    a component-level area such as ``"Relationships"``; ``key`` is the
    property key when the subject is a property (a dynamic property's key is
    its name). ``str()`` gives NiFi's phrasing.
    """

    subject: str
    explanation: str
    key: str | None = None

    def __str__(self) -> str:
        return f"'{self.subject}' is invalid because {self.explanation}"


class PropertyValue:
    """The configured value of one property, as a processor reads it.

    Immutable. ``raw`` is the text already resolved by the framework
    (configured value, or the default when unset): no defaulting happens
    here. The ``as_*`` conversions ignore surrounding whitespace (except
    ``as_str`` and ``as_regex``) and raise ``PropertyValueError`` naming the
    property and the value when the value is unset or cannot be converted.
    """

    __slots__ = ("_evaluator", "_literal", "_name", "_raw", "_services", "_spec")

    def __init__(
        self,
        raw: str | None,
        spec: PropertySpec | None = None,
        *,
        evaluator: Evaluator | None = None,
        name: str | None = None,
        services: ControllerServiceLookup | None = None,
    ) -> None:
        """``name`` labels the value in errors when there is no spec (dynamic
        properties); otherwise the spec's display name is used. ``services``
        resolves ``as_controller_service``."""
        self._raw = raw
        self._spec = spec
        self._evaluator = evaluator
        # Text without "$" or "#" holds no expression, escape or parameter: it evaluates to itself.
        self._literal = raw is not None and "$" not in raw and "#" not in raw
        self._name = name
        self._services = services

    @property
    def raw(self) -> str | None:
        """The configured text, or ``None`` when unset."""
        return self._raw

    @property
    def value(self) -> str | None:
        """The value's text; the same as ``raw``."""
        return self._raw

    @property
    def is_set(self) -> bool:
        """Whether there is a value (configured or defaulted)."""
        return self._raw is not None

    @property
    def spec(self) -> PropertySpec | None:
        """The spec of the property, if known."""
        return self._spec

    @property
    def is_literal(self) -> bool:
        """Whether the value is set and evaluates to itself whatever the attributes
        (no ``$`` or ``#``: no expression, escape or parameter), so a processor
        may read ``raw`` once instead of evaluating per FlowFile."""
        return self._literal

    @property
    def _label(self) -> str:
        if self._name is not None:
            return self._name
        return self._spec.display_name if self._spec is not None else "property"

    @property
    def _sensitive(self) -> bool:
        return self._spec is not None and self._spec.sensitive

    def evaluate(
        self, attributes: Mapping[str, str] | None = None, *, state: Mapping[str, str] | None = None
    ) -> PropertyValue:
        """The value with its Expression Language evaluated against ``attributes``.

        Returns a new PropertyValue holding ``evaluator(raw, attributes)``;
        it has no evaluator, so a result containing ``${`` is never evaluated
        twice. Returns ``self`` when there is no evaluator, no value, or the value
        cannot hold an expression (no ``$`` or ``#``: it evaluates to itself).
        ``state`` is the component state that ``getStateValue('key')`` reads
        (NiFi's ``evaluateAttributeExpressions(flowFile, null, null, stateValues)``);
        it is passed as the evaluator's ``state`` keyword, which the Expression
        Language's evaluator takes. Errors from the evaluator propagate unchanged.
        """
        if self._evaluator is None or self._raw is None or self._literal:
            return self
        if state is None:
            result = self._evaluator(self._raw, attributes)
        else:
            result = cast(_StatefulEvaluator, self._evaluator)(self._raw, attributes, state=state)
        return PropertyValue(result, self._spec, name=self._name, services=self._services)

    def _fail(self, explanation: str) -> PropertyValueError:
        return PropertyValueError(self._label, self._raw, explanation)

    def _text(self) -> str:
        if self._raw is None:
            raise self._fail("it has no value")
        return self._raw

    def _shown(self) -> str:
        return "the sensitive value" if self._sensitive else _show(self._text())

    def as_str(self) -> str:
        """The text itself. Raises ``PropertyValueError`` when unset."""
        return self._text()

    def as_int(self) -> int:
        """The value as an integer (ASCII digits, optional sign)."""
        number = _parse_int(self._text())
        if number is None:
            raise self._fail(f"{self._shown()} is not an integer")
        return number

    def as_float(self) -> float:
        """The value as a finite float (``nan`` and ``inf`` are refused)."""
        number = _parse_float(self._text())
        if number is None:
            raise self._fail(f"{self._shown()} is not a number")
        return number

    def as_bool(self) -> bool:
        """``True`` for ``"true"``, ``False`` for ``"false"``, in any case."""
        flag = _parse_bool(self._text())
        if flag is None:
            raise self._fail(f"{self._shown()} is not 'true' or 'false'")
        return flag

    def as_duration(self) -> float:
        """The value as a time period (e.g. ``"30 sec"``) in seconds."""
        try:
            return parse_duration(self._text())
        except ValueError as exc:
            raise self._fail(
                f"{self._shown()} is not a valid time period" if self._sensitive else str(exc)
            ) from None

    def as_data_size(self) -> int:
        """The value as a data size (e.g. ``"1 GB"``) in bytes."""
        try:
            return parse_data_size(self._text())
        except ValueError as exc:
            raise self._fail(
                f"{self._shown()} is not a valid data size" if self._sensitive else str(exc)
            ) from None

    def as_regex(self) -> re.Pattern[str]:
        """The value, a Java regular expression (not stripped), compiled to Python's
        equivalent (``flowyard.runtime.sdk.javaregex``)."""
        from flowyard.runtime.expression._javaregex import compile_java

        text = self._text()
        problem = _regex_problem(text)
        if problem is not None:
            raise self._fail(
                f"{self._shown()} is not a valid regular expression" if self._sensitive else problem
            )
        return compile_java(text).regex

    @overload
    def as_controller_service(self) -> ControllerService: ...

    @overload
    def as_controller_service(self, api: type[_T]) -> _T: ...

    def as_controller_service(self, api: type[object] | None = None) -> object:
        """The enabled controller service the value (a service id) names.

        Only for properties whose spec has ``identifies_controller_service``.
        ``api`` is the class the caller will use the service as (the API's
        base class); the service must be an instance of it, and the return
        type follows it. Raises ``PropertyValueError`` naming the property
        when the value is unset, when no such service is in scope, when it
        does not provide the spec's API or is not an ``api``, or when it is
        not enabled — all of which validation reports before a processor
        starts, so at run time they mean the configuration changed underneath.
        """
        wanted = self._spec.identifies_controller_service if self._spec is not None else None
        if wanted is None:
            raise self._fail("it does not identify a controller service")
        from flowyard.runtime.sdk._service import service_reference_problem

        service_id = self._text().strip()
        problem = service_reference_problem(self._services, service_id, wanted)
        service = self._services.get(service_id) if problem is None and self._services is not None else None
        if problem is None and service is None:
            problem = f"controller service {_show(service_id)} is not enabled"
        if problem is not None:
            raise self._fail(problem)
        if api is not None and not isinstance(service, api):
            raise self._fail(
                f"controller service {_show(service_id)} ({type(service).__name__}) is not a {api.__name__}"
            )
        return service

    def __repr__(self) -> str:
        shown = _MASK if self._sensitive and self._raw is not None else repr(self._raw)
        key = f", key={self._spec.key!r}" if self._spec is not None else ""
        return f"PropertyValue({shown}{key})"


@dataclass(frozen=True, slots=True)
class PropertyMatch:
    """The configured names that ``match_properties`` found for one spec.

    ``names`` are the names the property is configured under, most specific
    first (key, then display name, then aliases; aliases in configured
    order). ``source`` is the name whose value counts: the most
    specific one holding a set value, else the most specific one. ``value``
    is its value (``None``: unset under every name).
    """

    spec: PropertySpec
    names: tuple[str, ...]
    source: str
    value: str | None


def match_properties(
    specs: Sequence[PropertySpec], configured: Mapping[str, str | None]
) -> tuple[dict[str, PropertyMatch], dict[str, str | None]]:
    """Find which spec each configured name means: THE ranking of names.

    A name matches a spec when it equals (exactly, case-sensitively) its key,
    its display name or one of its aliases. When different specs claim the
    same name, a key beats a display name, which beats an alias; among specs
    claiming a name at the same rank, the first in spec order wins. When one
    property is configured under several of its names, the set value under
    the most specific name counts (``PropertyMatch.source``).

    Returns ``(matched, unmatched)``: ``matched`` maps spec key -> its
    ``PropertyMatch``, in the order the property first appears in
    ``configured``; ``unmatched`` holds the names matching no spec (dynamic
    properties) with their values, in configured order. ``resolve_properties``
    and the flow's key normalisation (``flowyard.runtime.flow.normalize``)
    both rank names with this function.
    """
    # rank 0 = key, 1 = display name, 2 = alias
    by_name: dict[str, tuple[PropertySpec, int]] = {}
    for spec in specs:
        by_name.setdefault(spec.key, (spec, 0))
    for spec in specs:
        by_name.setdefault(spec.display_name, (spec, 1))
    for spec in specs:
        for alias in spec.aliases:
            by_name.setdefault(alias, (spec, 2))

    found: dict[str, list[tuple[int, int, str]]] = {}
    unmatched: dict[str, str | None] = {}
    for order, name in enumerate(configured):
        hit = by_name.get(name)
        if hit is None:
            unmatched[name] = configured[name]
            continue
        spec, rank = hit
        found.setdefault(spec.key, []).append((rank, order, name))

    specs_by_key = {spec.key: spec for spec in specs}
    matched: dict[str, PropertyMatch] = {}
    for key, hits in found.items():
        names = tuple(name for _, _, name in sorted(hits))
        source = next((n for n in names if configured[n] is not None), names[0])
        matched[key] = PropertyMatch(specs_by_key[key], names, source, configured[source])
    return matched, unmatched


def resolve_properties(
    specs: Sequence[PropertySpec],
    configured: Mapping[str, str | None],
    dynamic: DynamicPropertySpec | None,
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Normalise a user's configured properties.

    Names in ``configured`` may be spec keys, display names or aliases,
    ranked by ``match_properties`` (a key beats a display name, which beats
    an alias, when different specs claim the same name; the set value under
    the most specific name wins when one property is configured under
    several). A saved flow holds keys only, but the test kit and API clients
    may still name properties by display name. A value of ``None`` means unset.

    Returns ``(static, dynamic_values)``: ``static`` has every spec key, in
    spec order, with the configured value or else the default (``None`` if
    there is none); ``dynamic_values`` has the names matching no spec, with
    their values (unset ones are dropped), when ``dynamic`` is given.

    A value matching the display name of one of a spec's allowed values is
    replaced by that allowed value.

    Raises ``UnknownPropertyError`` for the first name matching no spec when
    ``dynamic`` is ``None``.
    """
    matched, unmatched = match_properties(specs, configured)
    if unmatched and dynamic is None:
        raise UnknownPropertyError(next(iter(unmatched)), (s.display_name for s in specs))
    dynamic_values = {name: value for name, value in unmatched.items() if value is not None}

    static: dict[str, str | None] = {}
    for spec in specs:
        match = matched.get(spec.key)
        value = match.value if match is not None and match.value is not None else spec.default
        if value is not None and spec.allowed_values:
            # NiFi users often type an allowable value's display name: accept it.
            values = {a.value for a in spec.allowed_values}
            if value not in values:
                by_label = {a.display_name: a.value for a in spec.allowed_values}
                value = by_label.get(value, value)
        static[spec.key] = value
    return static, dynamic_values


def _dependencies_hold(
    spec: PropertySpec,
    specs_by_key: Mapping[str, PropertySpec],
    values: Mapping[str, str | None],
    visiting: frozenset[str] = frozenset(),
) -> bool:
    """NiFi's rule: every dependency holds, recursively up the chain.

    A dependency on an unknown key, or a cycle, counts as not holding.
    """
    for dependency in spec.dependencies:
        target = specs_by_key.get(dependency.key)
        if target is None or dependency.key in visiting:
            return False
        value = values.get(dependency.key)
        if value is None or (dependency.values and value not in dependency.values):
            return False
        if not _dependencies_hold(target, specs_by_key, values, visiting | {spec.key}):
            return False
    return True


def _check_value(
    value: str,
    validator: Validator | None,
    scope: ExpressionScope,
    sensitive: bool,
    expression_enabled: bool,
) -> str | None:
    if validator is None:
        return None
    if (
        expression_enabled
        and scope is not ExpressionScope.NONE
        and (_EXPRESSION_START in value or _PARAMETER_START in value)
        and not validator.checks_expressions
    ):
        return None  # only the evaluated value can be checked
    explanation = validator(value)
    if explanation is not None and sensitive:
        return (
            f"the sensitive value is not a valid {validator.name}: expected {validator.description}"
        )
    return explanation


def validate_properties(
    specs: Sequence[PropertySpec],
    static: Mapping[str, str | None],
    dynamic_values: Mapping[str, str],
    dynamic: DynamicPropertySpec | None,
    *,
    expression_enabled: bool = False,
) -> list[ValidationResult]:
    """Every problem with a component's property values, NiFi's way.

    ``static`` maps spec keys to values as returned by ``resolve_properties``
    (a missing key means the spec's default). For each spec, in order:

    - a property whose dependencies do not hold is not validated at all;
    - a required property must have a value;
    - with ``allowed_values``, the value must be one of their ``value``
      strings (the message lists their display names);
    - the ``validator`` runs on a set value.

    When ``expression_enabled`` (the runtime evaluates Expression Language)
    and a value contains ``${`` in a property whose ``expression_scope`` is
    not ``NONE``, the allowed-values check and the validator are skipped:
    only the evaluated value can be judged (a validator with
    ``checks_expressions``, which judges the expression text, still runs). Otherwise the value is checked
    literally. Dynamic values, in sorted name order, are checked with the
    dynamic spec's validator, or reported as unsupported when the component
    takes no dynamic properties. Sensitive values are never quoted.

    Returns at most one result per property; an empty list means valid.
    """
    specs_by_key = {spec.key: spec for spec in specs}
    values = {spec.key: static.get(spec.key, spec.default) for spec in specs}
    results: list[ValidationResult] = []
    for spec in specs:
        explanation = _explain_static(
            spec, values[spec.key], specs_by_key, values, expression_enabled
        )
        if explanation is not None:
            results.append(ValidationResult(spec.display_name, explanation, spec.key))
    for name in sorted(dynamic_values):
        explanation = _explain_dynamic(name, dynamic_values[name], dynamic, expression_enabled)
        if explanation is not None:
            results.append(ValidationResult(name, explanation, name))
    return results


def _explain_static(
    spec: PropertySpec,
    value: str | None,
    specs_by_key: Mapping[str, PropertySpec],
    values: Mapping[str, str | None],
    expression_enabled: bool,
) -> str | None:
    if not _dependencies_hold(spec, specs_by_key, values):
        return None
    if value is None:
        return f"{spec.display_name} is required" if spec.required else None
    deferred = (
        expression_enabled
        and spec.expression_scope is not ExpressionScope.NONE
        and (_EXPRESSION_START in value or _PARAMETER_START in value)
    )
    if spec.allowed_values and not deferred and value not in {a.value for a in spec.allowed_values}:
        shown = "the sensitive value" if spec.sensitive else _show(value)
        listed = ", ".join(_show(a.display_name) for a in spec.allowed_values)
        return f"{shown} is not one of the allowed values: {listed}"
    return _check_value(
        value, spec.validator, spec.expression_scope, spec.sensitive, expression_enabled
    )


def _explain_dynamic(
    name: str, value: str, dynamic: DynamicPropertySpec | None, expression_enabled: bool
) -> str | None:
    if dynamic is None:
        return f"{_show(name)} is not a supported property"
    if not name.strip():
        return "a dynamic property name must not be blank"
    return _check_value(
        value, dynamic.validator, dynamic.expression_scope, False, expression_enabled
    )
