"""LookupAttribute: add attributes whose values come from a lookup service."""

from __future__ import annotations

from collections.abc import Iterable

from flowyard.processors._common import boolean_property
from flowyard.processors.lookup_services import STRING_LOOKUP_SERVICE, StringLookupService
from flowyard.runtime.sdk import (
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValue,
    Relationship,
    ValidationResult,
)

__all__ = ["LookupAttribute"]

_BATCH = 50

MATCHED = Relationship("matched", "FlowFiles for which at least one lookup gave a value (see Include Empty Values).")
UNMATCHED = Relationship("unmatched", "FlowFiles for which no lookup gave a value.")
FAILURE = Relationship(
    "failure", "FlowFiles whose lookup keys cannot be evaluated or whose lookups the service could not make."
)

LOOKUP_SERVICE = PropertySpec(
    key="lookup-service",
    display_name="Lookup Service",
    description="The lookup service to use; it must have exactly one required key.",
    required=True,
    identifies_controller_service=STRING_LOOKUP_SERVICE,
)
INCLUDE_EMPTY_VALUES = boolean_property(
    "include-empty-values",
    "Include Empty Values",
    "Whether a lookup that finds nothing (or a blank value) still sets its attribute: to the empty string "
    "for a blank value, to 'null' when nothing was found. Such lookups then count as matches.",
    "true",
)


class LookupAttribute(Processor):
    """For each dynamic property, evaluates its value against the FlowFile as
    a lookup key, asks the lookup service for that key and sets the attribute
    named like the property to the result.

    A FlowFile goes to matched when at least one lookup counted as a match,
    otherwise to unmatched. With Include Empty Values true (the default, as in
    NiFi) every lookup counts, so unmatched only receives FlowFiles when it is
    false. A key that cannot be evaluated, or a lookup the service cannot make,
    sends the FlowFile unchanged to failure (with an error logged).
    """

    spec = ProcessorSpec(
        description="Looks up attribute values in a lookup service, one lookup key per dynamic property.",
        tags=("lookup", "cache", "enrich", "join", "attributes", "Attribute Expression Language"),
        properties=(LOOKUP_SERVICE, INCLUDE_EMPTY_VALUES),
        relationships=(MATCHED, UNMATCHED, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of the attribute to add to the FlowFile",
            value_description="The key to look up in the lookup service",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("(dynamic)", "One attribute per dynamic property, set to the value looked up."),),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """At least one dynamic property, and a service with exactly one required key."""
        results: list[ValidationResult] = []
        if not context.dynamic_properties:
            results.append(ValidationResult(
                "User-Defined Properties", "at least one dynamic property (attribute name -> lookup key) is needed"))
        service = context.property(LOOKUP_SERVICE).as_controller_service(StringLookupService)
        if len(service.required_keys) != 1:
            results.append(ValidationResult(
                LOOKUP_SERVICE.display_name,
                "LookupAttribute needs a key-value lookup service with exactly one required key; "
                f"{type(service).__name__} requires {sorted(service.required_keys)}",
                LOOKUP_SERVICE.key,
            ))
        return results

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Look up the attributes of a batch of FlowFiles and route them."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        service = context.property(LOOKUP_SERVICE).as_controller_service(StringLookupService)
        include_empty = context.property(INCLUDE_EMPTY_VALUES).as_bool()
        (coordinate,) = service.required_keys
        lookups = sorted(context.dynamic_properties.items())
        for ff in batch:
            try:
                updates, matched = _look_up(ff, lookups, service, coordinate, include_empty)
            except (ProcessingError, ValueError) as exc:
                context.logger.error(f"lookup failed for {ff!r}: {exc}; routing it to failure")
                session.transfer(ff, FAILURE)
                continue
            if updates:
                ff = session.put_attributes(ff, updates)
            session.transfer(ff, MATCHED if matched else UNMATCHED)


def _look_up(
    ff: FlowFile,
    lookups: list[tuple[str, PropertyValue]],
    service: StringLookupService,
    coordinate: str,
    include_empty: bool,
) -> tuple[dict[str, str], bool]:
    """The attributes to set on ``ff`` and whether any lookup matched. Raises
    ``ValueError`` (evaluation) or ``ProcessingError`` (the service)."""
    attributes = ff.attributes
    updates: dict[str, str] = {}
    matched = False
    for name, key_value in lookups:
        key = key_value.evaluate(attributes).as_str()
        found = service.lookup({coordinate: key}, attributes)
        if found is not None and found.strip():
            updates[name] = found
            matched = True
        elif include_empty:
            # NiFi's spelling of "nothing found", kept for flows that test for it
            updates[name] = "" if found is not None else "null"
            matched = True
    return updates, matched
