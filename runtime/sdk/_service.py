"""Controller services: configured objects that processors share by reference.

A controller service is one configured component (a lookup table, a cache, a
connection pool) that any number of processors — and other services — refer
to by the service's id. A processor declares such a reference with
``PropertySpec(..., identifies_controller_service="StringLookupService")``:
the property's value is a service id, and the processor is valid only while
that id names a service that exists in its scope, provides the named API and
is enabled. At run time ``context.property(SPEC).as_controller_service(API)``
returns the service instance.

Lifecycle (driven by the framework, never by the service itself)::

    DISABLED ──enable: validate, on_enabled(context)──▶ ENABLED
       ▲                                                  │
       └──────────── disable: on_disabled() ◀─────────────┘

- Properties change only while the service is disabled.
- ``on_enabled`` runs once per enabling, before any processor can obtain the
  instance; if it raises, the service stays disabled.
- ``on_disabled`` runs only after every component that references the
  service has stopped, so no call from a processor is in flight.

**Thread safety.** One instance serves every processor that references it and
every concurrent task of each, on the event loop and in worker threads at
once. Every method a processor may call must therefore be safe to call
concurrently: keep configuration in fields that ``on_enabled`` assigns once
(plain reads of them need no lock) and guard mutable state with a
``threading.Lock``. Methods must not call trio (they may run in a worker
thread) and should return quickly or document that they block, since a
processor with ``blocking = False`` calls them on the event loop.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from flowyard.runtime.sdk._properties import (
    DynamicPropertySpec,
    ExpressionScope,
    PropertySpec,
    ValidationResult,
    _dependencies_hold,
)
from flowyard.runtime.sdk._units import _show

if TYPE_CHECKING:
    from flowyard.runtime.sdk._context import ConfigurationContext

__all__ = [
    "ControllerService",
    "ControllerServiceLookup",
    "ControllerServiceSpec",
    "service_reference_problem",
    "validate_service_references",
]


def _check_api_name(api: str, where: str) -> None:
    if not api or api != api.strip() or any(c.isspace() for c in api):
        raise ValueError(f"{where}: API name {_show(api)} must be non-empty without whitespace")


@dataclass(frozen=True, slots=True)
class ControllerServiceSpec:
    """Everything the framework, the canvas and the docs know about a service type.

    ``provides`` names the APIs the service implements (at least one, e.g.
    ``("LookupService", "StringLookupService")``): a property with
    ``identifies_controller_service="StringLookupService"`` accepts exactly
    the services whose spec lists that name. Properties are evaluated without
    a flowfile, so their ``expression_scope`` must be ``NONE`` or
    ``ENVIRONMENT`` (parameters and environment variables only).

    Raises ``ValueError`` on construction for an empty ``provides``, a blank
    API name, duplicate property keys, or a property (or dynamic property)
    that asks for flowfile attributes.
    """

    description: str
    provides: tuple[str, ...]
    tags: tuple[str, ...] = ()
    properties: tuple[PropertySpec, ...] = ()
    dynamic_properties: DynamicPropertySpec | None = None

    def __post_init__(self) -> None:
        for name in ("provides", "tags", "properties"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.provides:
            raise ValueError("a controller service must provide at least one API")
        for api in self.provides:
            _check_api_name(api, "provides")
        keys = [p.key for p in self.properties]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate property keys in {keys}")
        if (self.dynamic_properties is not None
                and self.dynamic_properties.expression_scope is ExpressionScope.FLOWFILE_ATTRIBUTES):
            raise ValueError("property '(dynamic properties)': a controller service has no flowfile of its own, "
                             "so its dynamic properties' expression scope must be NONE or ENVIRONMENT")

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
            "provides": list(self.provides),
            "tags": list(self.tags),
            "properties": [p.to_dict() for p in self.properties],
            "dynamic_properties": self.dynamic_properties.to_dict() if self.dynamic_properties else None,
        }


class ControllerService:
    """Base class of every controller service. Subclasses set ``spec`` and
    implement the methods of the APIs their spec ``provides``.

    The type name is the class name unless ``type_name`` is set. The
    framework creates one instance per configured service and keeps it while
    the configuration stays the same; ``on_enabled`` and ``on_disabled`` may
    run several times on it. Read the module docstring for thread safety:
    the instance is shared by every referencing processor and thread.

    ``on_enabled`` and ``on_disabled`` are plain methods (``async def`` is
    refused when the class is defined): they run while nothing else uses the
    service, possibly in a worker thread.
    """

    spec: ClassVar[ControllerServiceSpec]
    type_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type_name" not in cls.__dict__:
            cls.type_name = cls.__name__
        for hook in ("on_enabled", "on_disabled", "validate"):
            if inspect.iscoroutinefunction(cls.__dict__.get(hook)):
                raise TypeError(f"{cls.__name__}.{hook} must be a plain method, not async def")

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Checks beyond single property values (override); empty means valid.
        Runs only when every property value is valid on its own."""
        return ()

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration and prepare (NiFi's ``@OnEnabled``). Raise to
        refuse: the service stays disabled and the error is reported."""
        return None

    def on_disabled(self) -> None:
        """Release what ``on_enabled`` acquired (NiFi's ``@OnDisabled``). No
        referencing processor is running when this is called."""
        return None


class ControllerServiceLookup(Protocol):
    """How a component finds the services its properties name.

    The framework hands each component a lookup restricted to the services it
    may use (in NiFi: those of its own process group and its ancestors), so a
    service outside that scope is, to the component, unknown. Implementations
    must be safe to call from several threads.
    """

    def get(self, service_id: str) -> ControllerService | None:
        """The instance of the enabled service ``service_id``; None when the
        service is unknown (or out of scope) or not enabled."""

    def describe(self, service_id: str) -> str | None:
        """How messages name the service, e.g. ``"'Cache' (LocalMapCacheService)"``;
        None when no service with this id is in scope."""

    def is_enabled(self, service_id: str) -> bool:
        """Whether the service exists in scope and is enabled."""

    def provides(self, service_id: str, api: str) -> bool:
        """Whether the service exists in scope and its spec lists ``api``."""


def service_reference_problem(lookup: ControllerServiceLookup | None, service_id: str, api: str) -> str | None:
    """Why ``service_id`` cannot serve as a ``api`` service now, or None when it can.

    Checked in this order: the service exists in scope, it provides ``api``,
    it is enabled. The explanation completes "'Property' is invalid because ...".
    """
    label = lookup.describe(service_id) if lookup is not None else None
    if lookup is None or label is None:
        return f"no controller service with id {_show(service_id)} exists in this component's scope"
    if not lookup.provides(service_id, api):
        return f"controller service {label} does not provide the {api} API"
    if not lookup.is_enabled(service_id):
        return f"controller service {label} is not enabled"
    return None


def validate_service_references(
    specs: Sequence[PropertySpec],
    static: Mapping[str, str | None],
    lookup: ControllerServiceLookup | None,
    *,
    skip: Iterable[str] = (),
) -> list[ValidationResult]:
    """A result for every property that names a controller service it cannot use.

    Looks at specs with ``identifies_controller_service`` whose dependencies
    hold and whose value (``static``, keyed by spec key) is set; keys in
    ``skip`` (properties already reported invalid) are left out. Without a
    ``lookup`` no service exists. The result's subject is the property's
    display name and its key the property key.
    """
    skipped = set(skip)
    specs_by_key = {spec.key: spec for spec in specs}
    values = {spec.key: static.get(spec.key, spec.default) for spec in specs}
    results: list[ValidationResult] = []
    for spec in specs:
        api = spec.identifies_controller_service
        value = values[spec.key]
        if api is None or value is None or spec.key in skipped:
            continue
        if not _dependencies_hold(spec, specs_by_key, values):
            continue
        problem = service_reference_problem(lookup, value.strip(), api)
        if problem is not None:
            results.append(ValidationResult(spec.display_name, problem, spec.key))
    return results
