"""Lookup services: the ``LookupService`` / ``StringLookupService`` APIs and
``SimpleKeyValueLookupService``, a table of keys and values typed into the
service's dynamic properties.

A processor names a lookup service with a property declared as
``PropertySpec(..., identifies_controller_service=STRING_LOOKUP_SERVICE)``
and uses it through ``context.property(SPEC).as_controller_service(StringLookupService)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from flowyard.runtime.sdk import (
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    DynamicPropertySpec,
    ExpressionScope,
    ProcessingError,
)

__all__ = [
    "LOOKUP_SERVICE",
    "STRING_LOOKUP_SERVICE",
    "LookupFailureError",
    "LookupService",
    "SimpleKeyValueLookupService",
    "StringLookupService",
]

LOOKUP_SERVICE = "LookupService"
"""API name of services that map coordinates to a value (NiFi's ``LookupService``)."""
STRING_LOOKUP_SERVICE = "StringLookupService"
"""API name of lookup services whose values are text (NiFi's ``StringLookupService``)."""


class LookupFailureError(ProcessingError):
    """A lookup could not be made (bad coordinates, an unreachable source).
    Processors route the flowfile to ``failure``; "not found" is not a failure."""


class LookupService:
    """The ``LookupService`` API: find the value at some coordinates.

    Implementations must be safe to call from several threads at once.
    """

    @property
    def required_keys(self) -> frozenset[str]:
        """The coordinate names every lookup must supply."""
        raise NotImplementedError

    def lookup(self, coordinates: Mapping[str, str], attributes: Mapping[str, str] | None = None) -> object | None:
        """The value at ``coordinates``, or None when there is none. ``attributes``
        are the flowfile's, for services whose lookups depend on them. Raises
        ``LookupFailureError`` when the lookup cannot be made."""
        raise NotImplementedError


class StringLookupService(LookupService):
    """The ``StringLookupService`` API: a ``LookupService`` whose values are text."""

    def lookup(self, coordinates: Mapping[str, str], attributes: Mapping[str, str] | None = None) -> str | None:
        """The text at ``coordinates``, or None; see ``LookupService.lookup``."""
        raise NotImplementedError


KEY = "key"


class SimpleKeyValueLookupService(ControllerService, StringLookupService):
    """Each dynamic property is one entry: its name is the key, its value the
    value. Lookups take the coordinate ``key``.

    Values may use parameters and the environment's Expression Language; they
    are evaluated once, when the service is enabled. The table is replaced as
    a whole on enabling and never changed in place, so lookups need no lock.
    """

    spec = ControllerServiceSpec(
        description=(
            "Allows users to add key/value pairs as dynamic properties. Each property added can be looked up by "
            "its name; the lookup coordinates must contain the key 'key'."
        ),
        provides=(LOOKUP_SERVICE, STRING_LOOKUP_SERVICE),
        tags=("lookup", "enrich", "key", "value"),
        dynamic_properties=DynamicPropertySpec(
            name_description="A key to look up",
            value_description="The value that key maps to",
            expression_scope=ExpressionScope.ENVIRONMENT,
        ),
    )

    def __init__(self) -> None:
        self._values: Mapping[str, str] = MappingProxyType({})

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Evaluate and keep every dynamic property."""
        values = {name: value.evaluate().as_str() for name, value in context.dynamic_properties.items()}
        self._values = MappingProxyType(values)

    def on_disabled(self) -> None:
        """Forget the table."""
        self._values = MappingProxyType({})

    @property
    def required_keys(self) -> frozenset[str]:
        """Only ``key``."""
        return frozenset((KEY,))

    def lookup(self, coordinates: Mapping[str, str], attributes: Mapping[str, str] | None = None) -> str | None:
        """The value of the dynamic property named ``coordinates['key']``, or None.
        Raises ``LookupFailureError`` when the coordinates have no ``key``."""
        key = coordinates.get(KEY)
        if key is None:
            raise LookupFailureError(f"lookup coordinates must contain {KEY!r}; found {sorted(coordinates)}")
        return self._values.get(key)
