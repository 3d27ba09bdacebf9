"""UpdateAttribute: set attributes from dynamic properties and delete others by regex."""

from __future__ import annotations

import re

from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
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

__all__ = ["UpdateAttribute"]

_BATCH = 100

SUCCESS = Relationship("success", "Every FlowFile goes here once its attributes are updated.")

DELETE_ATTRIBUTES = PropertySpec(
    key="delete-attributes-expression",
    display_name="Delete Attributes Expression",
    description=(
        "A regular expression; every existing attribute whose whole name matches is removed, even one a "
        "dynamic property would set. uuid is never removed."
    ),
    validator=validators.REGEX,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
STORE_STATE = PropertySpec(
    key="store-state",
    display_name="Store State",
    description=(
        "Whether values are also kept in processor state. flowyard supports only 'Do not store state' "
        "for now (see the notes)."
    ),
    required=True,
    default="Do not store state",
    allowed_values=(AllowableValue("Do not store state"),),
)
STATEFUL_INITIAL_VALUE = PropertySpec(
    key="stateful-variables-initial-value",
    display_name="Stateful Variables Initial Value",
    description="Initial value of stateful variables. Accepted for compatibility; unused without state.",
)
CACHE_SIZE = PropertySpec(
    key="cache-value-lookup-cache-size",
    display_name="Cache Value Lookup Cache Size",
    description="Size of NiFi's cache of canonical attribute values. Accepted for compatibility; unused.",
    required=True,
    default="100",
    validator=validators.NON_NEGATIVE_INTEGER,
    aliases=("canonical-value-lookup-cache-size",),
)


class UpdateAttribute(Processor):
    """Sets each dynamic property as an attribute (name = property name, value =
    the evaluated property value) and removes the attributes matched by Delete
    Attributes Expression.

    Values are evaluated against the incoming attributes, before any change.
    A FlowFile whose values cannot be evaluated is penalized and returned to
    its queue (with an error logged); the rest of the batch continues.

    Differences from NiFi: only the basic mode exists (no Advanced rules), and
    Store State offers only 'Do not store state', so the 'set state fail'
    relationship never appears. NiFi always records ATTRIBUTES_MODIFIED;
    flowyard records it only when an attribute actually changed.
    """

    blocking = False
    spec = ProcessorSpec(
        description=(
            "Updates the attributes of FlowFiles with values from dynamic properties (Expression Language "
            "allowed) and deletes attributes whose names match a regular expression."
        ),
        tags=("attributes", "modification", "update", "delete", "Attribute Expression Language", "state"),
        properties=(DELETE_ATTRIBUTES, STORE_STATE, STATEFUL_INITIAL_VALUE, CACHE_SIZE),
        relationships=(SUCCESS,),
        dynamic_properties=DynamicPropertySpec(
            name_description="A FlowFile attribute to update",
            value_description="The value to set it to",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        scheduling=SchedulingDefaults(run_duration="25 millis"),
        writes_attributes=(("(dynamic)", "One attribute per dynamic property; matching attributes removed."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Update a batch of FlowFiles and send them to success."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        delete = context.property(DELETE_ATTRIBUTES)
        dynamic = sorted(context.dynamic_properties.items())
        for ff in batch:
            try:
                updates, removals = _changes(ff, delete, dynamic)
            except (ValueError, re.error) as exc:
                context.logger.error(
                    f"cannot evaluate the properties for {ff!r}: {exc}; penalizing it and returning it to its queue"
                )
                session.transfer(session.penalize(ff))
                continue
            if updates:
                ff = session.put_attributes(ff, updates)
            if removals:
                ff = session.remove_attributes(ff, removals)
            session.transfer(ff, SUCCESS)


def _changes(
    ff: FlowFile, delete: PropertyValue, dynamic: list[tuple[str, PropertyValue]]
) -> tuple[dict[str, str], list[str]]:
    """The attributes to set and to remove for ``ff``. Raises ``ValueError`` (or
    ``re.error``) when a value cannot be evaluated or the regex does not compile."""
    attributes = ff.attributes
    removals: list[str] = []
    if delete.is_set:
        pattern = delete.evaluate(attributes).as_regex()
        removals = [name for name in attributes if name != "uuid" and pattern.fullmatch(name)]
    removed = set(removals)
    updates = {
        name: value.evaluate(attributes).as_str() for name, value in dynamic if name not in removed
    }
    return updates, removals
