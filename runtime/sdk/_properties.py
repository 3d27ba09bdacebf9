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

This module holds the resolution and validation rules (steps 1 and 2); the
declarations live in ``_property_specs`` and ``PropertyValue`` in
``_property_value``, both re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flowyard.runtime.sdk._property_specs import (
    AllowableValue,
    DynamicPropertySpec,
    Evaluator,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    PropertyValueError,
    UnknownPropertyError,
    ValidationResult,
)
from flowyard.runtime.sdk._property_value import PropertyValue
from flowyard.runtime.sdk._units import _show
from flowyard.runtime.sdk.validators import Validator

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

_EXPRESSION_START = "${"
_PARAMETER_START = "#{"


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
