"""Property declarations: what a component says about each of its properties.

``PropertySpec`` (one property: key, display name, rules), ``AllowableValue``,
``PropertyDependency``, ``DynamicPropertySpec`` (user-named properties),
``ExpressionScope``, the ``ValidationResult`` that validation reports, and the
errors a configured value can raise. How configured values are resolved and
validated against these specs is in ``flowyard.runtime.sdk._properties``;
how a processor reads one is ``flowyard.runtime.sdk._property_value``.
``_properties`` re-exports every public name here (its ``__all__`` lists them).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from flowyard.runtime.sdk._errors import ConfigurationError
from flowyard.runtime.sdk._units import _show
from flowyard.runtime.sdk.validators import Validator

Evaluator = Callable[[str, Mapping[str, str] | None], str]
"""Evaluates the Expression Language in a value against flowfile attributes
(``None`` when there is no flowfile) and returns the resulting text."""


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
