"""RouteOnAttribute: route FlowFiles by conditions on their attributes."""

from __future__ import annotations

from collections.abc import Mapping

from flowyard.processors._common import is_true
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    DynamicRelationshipSpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValue,
    Relationship,
    SchedulingDefaults,
    validators,
)

__all__ = ["ROUTE_ATTRIBUTE", "RouteOnAttribute"]

_BATCH = 100

ROUTE_ATTRIBUTE = "RouteOnAttribute.Route"
"""The attribute naming the relationship a FlowFile was routed to."""

# NiFi stores 'match' (a historical typo) while showing 'matched'; flows
# exported from NiFi carry the stored values, so they are kept.
ROUTE_TO_PROPERTY_NAME = "Route to Property name"
ROUTE_ALL_MATCH = "Route to 'match' if all match"
ROUTE_ANY_MATCHES = "Route to 'match' if any matches"

UNMATCHED = Relationship("unmatched", "FlowFiles that satisfy no condition (or not all, or not any, by strategy).")
MATCHED = Relationship(
    "matched",
    "FlowFiles whose conditions match as the Routing Strategy requires (only with the two 'matched' strategies).",
)

ROUTING_STRATEGY = PropertySpec(
    key="routing-strategy",
    display_name="Routing Strategy",
    description="How the results of the conditions (the dynamic properties) choose relationships.",
    required=True,
    default=ROUTE_TO_PROPERTY_NAME,
    allowed_values=(
        AllowableValue(
            ROUTE_TO_PROPERTY_NAME, "Route to Property name",
            "Each condition is a relationship; a FlowFile goes to every relationship whose condition is true "
            "(cloned when several are), or to unmatched.",
        ),
        AllowableValue(
            ROUTE_ALL_MATCH, "Route to 'matched' if all match",
            "A FlowFile goes to matched when every condition is true, otherwise to unmatched.",
        ),
        AllowableValue(
            ROUTE_ANY_MATCHES, "Route to 'matched' if any matches",
            "A FlowFile goes to matched when at least one condition is true, otherwise to unmatched.",
        ),
    ),
)


class RouteOnAttribute(Processor):
    """Evaluates every dynamic property against each FlowFile's attributes and
    routes by the results.

    Each condition must be exactly one Expression Language expression whose
    result type is boolean, as NiFi requires: ``${kind:equals('order')}`` is
    valid; ``${kind}``, ``${kind:toUpper()}``, an unclosed ``${``, text around
    the expression and a plain ``true`` are not (the processor is invalid, the
    message naming the property and the position). A condition is true when
    its evaluated value is ``true`` (any case).

    Each routed FlowFile gets the ``RouteOnAttribute.Route`` attribute and a
    ROUTE provenance event. With 'Route to Property name', a FlowFile matching
    several conditions is cloned, one copy per relationship. A FlowFile whose
    conditions cannot be evaluated is penalized and returned to its queue.
    Relationships: 'unmatched' plus one per dynamic property, or 'matched' and
    'unmatched', depending on the Routing Strategy.
    """

    blocking = False
    spec = ProcessorSpec(
        description="Routes FlowFiles by conditions on their attributes, written as Expression Language.",
        tags=(
            "attributes", "routing", "Attribute Expression Language", "regexp", "regex", "Regular Expression",
            "Expression Language", "find", "text", "string", "search", "filter", "detect",
        ),
        properties=(ROUTING_STRATEGY,),
        relationships=(UNMATCHED, MATCHED),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of a relationship",
            value_description="A condition: an expression that evaluates to true for FlowFiles this relationship gets",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
            validator=validators.BOOLEAN_EXPRESSION,
        ),
        dynamic_relationships=DynamicRelationshipSpec(
            "With 'Route to Property name': FlowFiles whose condition of the same name is true."
        ),
        input_requirement=InputRequirement.REQUIRED,
        scheduling=SchedulingDefaults(run_duration="25 millis"),
        writes_attributes=((ROUTE_ATTRIBUTE, "The relationship the FlowFile was routed to."),),
    )

    @classmethod
    def relationships_for(
        cls, dynamic_properties: Mapping[str, str], properties: Mapping[str, str | None]
    ) -> tuple[Relationship, ...]:
        """'unmatched' plus one relationship per dynamic property when routing to
        property names; otherwise 'matched' and 'unmatched'."""
        strategy = properties.get(ROUTING_STRATEGY.key) or ROUTE_TO_PROPERTY_NAME
        if strategy in (ROUTE_ALL_MATCH, ROUTE_ANY_MATCHES):
            return (MATCHED, UNMATCHED)
        description = cls.spec.dynamic_relationships.description if cls.spec.dynamic_relationships else ""
        dynamic = (Relationship(name, description) for name in sorted(dynamic_properties) if name != UNMATCHED.name)
        return (UNMATCHED, *dynamic)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Route a batch of FlowFiles."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        strategy = context.property(ROUTING_STRATEGY).as_str()
        conditions = sorted(context.dynamic_properties.items())
        for ff in batch:
            try:
                matched = _matching(ff, conditions)
            except ValueError as exc:
                context.logger.error(
                    f"cannot evaluate the conditions for {ff!r}: {exc}; penalizing it and returning it to its queue"
                )
                session.transfer(session.penalize(ff))
                continue
            if strategy == ROUTE_ALL_MATCH:
                destinations = [MATCHED.name] if len(matched) == len(conditions) else []
            elif strategy == ROUTE_ANY_MATCHES:
                destinations = [MATCHED.name] if matched else []
            else:
                destinations = matched
            _route(session, ff, destinations or [UNMATCHED.name])


def _matching(ff: FlowFile, conditions: list[tuple[str, PropertyValue]]) -> list[str]:
    """Names of the conditions that are true for ``ff``, in name order."""
    attributes = ff.attributes
    return [name for name, condition in conditions if is_true(condition.evaluate(attributes).value)]


def _route(session: ProcessSession, ff: FlowFile, destinations: list[str]) -> None:
    """Send ``ff`` to the first destination and a clone to each other one."""
    first, *others = destinations
    clones = [(name, session.clone(ff)) for name in others]
    for name, clone in clones:
        clone = session.put_attribute(clone, ROUTE_ATTRIBUTE, name)
        session.provenance.route(clone, name)
        session.transfer(clone, name)
    ff = session.put_attribute(ff, ROUTE_ATTRIBUTE, first)
    session.provenance.route(ff, first)
    session.transfer(ff, first)
