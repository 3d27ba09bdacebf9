"""What validating an edit knows beyond the flow (``EditContext`` and the
catalogue of component types in it: ``SpecCatalog``, ``TypeCatalog``) and what
it raises (``EditRefused``).

Apart from the edit commands (``_edits_model``; both are re-exported there and
by ``flow.edits``) so that a service can be opened, its flow normalized with a
``TypeCatalog`` and refusals caught without building the command classes:
those load with the first edit (``flow.edits`` loads them on first use).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from flowyard.runtime.flow._limits import MAX_COMPONENTS, MAX_GROUP_DEPTH
from flowyard.runtime.sdk._errors import FlowDefinitionError
from flowyard.runtime.sdk._properties import PropertySpec

__all__ = ["NO_SPECS", "EditContext", "EditRefused", "SpecCatalog", "TypeCatalog"]


class SpecCatalog(Protocol):
    """What validation knows of component types: the property specs of a
    processor (``kind`` "processor") or controller service
    ("controller-service") type, or None for a type that is not installed."""

    def property_specs(self, kind: str, type_name: str) -> Sequence[PropertySpec] | None: ...


@dataclass(frozen=True)
class TypeCatalog:
    """A ``SpecCatalog`` over classes with a ``spec.properties`` (processor and
    service registries); a type is found by its name or its last dotted part."""

    processors: Mapping[str, Any] = field(default_factory=dict)
    services: Mapping[str, Any] = field(default_factory=dict)

    def property_specs(self, kind: str, type_name: str) -> Sequence[PropertySpec] | None:
        types = self.processors if kind == "processor" else self.services
        cls = types.get(type_name) or types.get(type_name.rsplit(".", 1)[-1])
        return None if cls is None else tuple(cls.spec.properties)


#: A catalog that knows no type (every property may be anything).
NO_SPECS = TypeCatalog()


@dataclass(frozen=True)
class EditContext:
    """What ``validate`` needs beyond the flow (no engine, no registry)."""

    specs: SpecCatalog = NO_SPECS
    max_components: int = MAX_COMPONENTS
    max_depth: int = MAX_GROUP_DEPTH


class EditRefused(FlowDefinitionError):
    """An edit that cannot be applied to the flow: the message names the edit
    (``edit``: "create processor 'x'") and ``where`` the place in it
    (``component.properties.password``, ``edits[2].componentIds``)."""

    def __init__(self, edit: str, message: str, *, where: str = "", invariant: bool = False) -> None:
        super().__init__(message, source=edit, where=where)
        self.edit = edit
        #: True when the edit would break what every flow must satisfy (what the
        #: loader or ``check_flow`` refuses: a clash of identifiers, a dangling
        #: connection...); False for a rule about the change itself (``expect``,
        #: an enabled service, NiFi's rules for moves...).
        self.invariant = invariant
