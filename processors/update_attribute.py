"""UpdateAttribute: set attributes from dynamic properties and Advanced rules, delete others by
regex, optionally keeping the values in component state."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from flowyard.processors import _update_attribute_rules as rules_form
from flowyard.processors._common import is_true
from flowyard.processors._update_attribute_rules import USE_ORIGINAL, Criteria, Rule
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
    ValidationResult,
    validators,
)

__all__ = ["MATCHED_RULE", "UpdateAttribute"]

_BATCH = 100
#: Flowfiles whose state could not be saved, remembered so they go to 'set state fail' (bounded).
_MAX_REMEMBERED = 10_000

MATCHED_RULE = "UpdateAttribute.matchedRule"
"""The attribute naming the (last) Advanced rule that matched."""

DO_NOT_STORE_STATE = "Do not store state"
STORE_STATE_LOCALLY = "Store state locally"
#: The action attribute that deletes instead of setting (NiFi's name for it).
DELETE_ACTION = "Delete Attributes Expression"

SUCCESS = Relationship("success", "Every FlowFile goes here once its attributes are updated (and its clones).")
SET_STATE_FAIL = Relationship(
    "set state fail",
    "With Store State 'Store state locally': a FlowFile whose processing updated the state but whose state "
    "could not be saved (it changed concurrently) goes here, with its attributes updated; its clones are dropped.",
)

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
        "Whether the values set are also kept in the processor's state, where the next FlowFiles read them "
        "with ${getStateValue('name')} (counters, sums, maxima across FlowFiles)."
    ),
    required=True,
    default=DO_NOT_STORE_STATE,
    allowed_values=(
        AllowableValue(DO_NOT_STORE_STATE, description="Only the FlowFiles' attributes are updated."),
        AllowableValue(STORE_STATE_LOCALLY, description=(
            "Each value set is also stored in state under the attribute's name, and getStateValue reads it.")),
    ),
)
STATEFUL_INITIAL_VALUE = PropertySpec(
    key="stateful-variables-initial-value",
    display_name="Stateful Variables Initial Value",
    description=(
        "The starting value of every stateful variable (one per dynamic property and rule action) that the state does "
        "not hold yet. It must be given, possibly empty, when Store State is 'Store state locally'."
    ),
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


def _check_rules(value: str) -> str | None:
    try:
        criteria = rules_form.parse_criteria(value)
    except ValueError as exc:
        return str(exc)
    found = rules_form.problems(criteria)
    for rule in criteria.rules:
        for condition in rule.conditions:
            problem = validators.EXPRESSION(condition.strip()) or validators.BOOLEAN_EXPRESSION(condition.strip())
            if problem is not None:
                found.append(f"Condition for rule '{rule.name}': {problem}")
        for attribute, action_value in rule.actions:
            problem = validators.EXPRESSION(action_value)
            if problem is not None:
                found.append(f"Action {attribute!r} of rule '{rule.name}': {problem}")
    return "; ".join(found) or None


RULES = PropertySpec(
    key="advanced-rules",
    display_name="Advanced Rules",
    description=(
        "NiFi's Advanced settings: rules whose conditions (boolean expressions, all must be true) select "
        "actions (attribute = value) and the FlowFile Policy. Edited in the configure panel's rules editor; "
        "stored as JSON (see the notes), and NiFi's annotation data (<criteria> XML) is accepted as it is."
    ),
    validator=validators.Validator(
        "update rules", "the rules as JSON, or NiFi's <criteria> XML", _check_rules, checks_expressions=True),
)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What to do with one incoming FlowFile, computed before touching the session."""

    #: One (updates, removals) per FlowFile to send: the first for the original, the others for clones.
    flowfiles: list[tuple[dict[str, str], list[str]]]
    #: The state after this FlowFile (None when stateless).
    state: dict[str, str] | None


class UpdateAttribute(Processor):
    """Sets each dynamic property as an attribute (name = property name, value =
    the evaluated property value) and removes the attributes matched by Delete
    Attributes Expression, as NiFi's UpdateAttribute.

    **Advanced rules** (NiFi's Advanced UI; the ``Advanced Rules`` property,
    edited with the configure panel's rules editor): each rule has conditions
    (boolean expressions that must all be true for the incoming FlowFile) and
    actions (attribute = Expression Language value; the attribute ``Delete
    Attributes Expression`` deletes by regex instead). A matching rule's action
    beats the dynamic property of the same attribute. With FlowFile Policy
    ``USE_CLONE`` each matching rule produces its own FlowFile (the first the
    original, the others clones) with the default actions plus that rule's;
    with ``USE_ORIGINAL`` all matching rules apply to the original in order, a
    later rule winning. When rules matched, ``UpdateAttribute.matchedRule`` names
    the last. No rule matching means the dynamic properties alone apply.

    Stored as JSON: ``{"flowFilePolicy": "USE_CLONE" | "USE_ORIGINAL", "rules":
    [{"name": ..., "conditions": ["${...}", ...], "actions": [{"attribute": ...,
    "value": ...}, ...]}]}``. NiFi's annotation data (the ``<criteria>`` XML of
    a NiFi flow) is accepted in the property unchanged.

    **State** (Store State = 'Store state locally'): every value set (by a
    dynamic property or a rule's action, even for an attribute then deleted)
    is also stored in component state under the attribute's name, and the next
    FlowFile's expressions read it with ``${getStateValue('name')}`` (all the
    values of one FlowFile see the state as it was before it). Variables
    missing from state start as Stateful Variables Initial Value (required in
    that mode, may be empty). So ``count`` = ``${getStateValue('count'):plus(1)}``
    counts FlowFiles across runs and restarts. The state is saved with the
    session; if it changed concurrently (several tasks) the session is rolled
    back and those FlowFiles, when next taken, go to 'set state fail' with their
    attributes updated (their clones dropped) without touching the state.

    Values are evaluated against the incoming attributes, before any change.
    A FlowFile whose values or conditions cannot be evaluated is penalized and
    returned to its queue (with an error logged); the rest of the batch continues.

    Differences from NiFi: NiFi rolls the session back on such an evaluation
    error (flowyard keeps the other FlowFiles of the batch going); NiFi always
    records ATTRIBUTES_MODIFIED, flowyard only when an attribute changed; the
    rules live in a property (``Advanced Rules``) rather than beside the
    properties as annotation data; a FlowFile whose state could not be saved
    goes to 'set state fail' when it is next taken rather than at once.
    """

    blocking = False
    spec = ProcessorSpec(
        description=(
            "Sets FlowFile attributes from dynamic properties and Advanced rules (with Expression Language), removes "
            "those whose names match a regular expression, and can remember the values in state from one FlowFile to "
            "the next."
        ),
        tags=("attributes", "modification", "update", "delete", "Attribute Expression Language", "state",
              "rules", "advanced"),
        properties=(DELETE_ATTRIBUTES, STORE_STATE, STATEFUL_INITIAL_VALUE, CACHE_SIZE, RULES),
        relationships=(SUCCESS, SET_STATE_FAIL),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of an attribute to set",
            value_description="Its new value",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        scheduling=SchedulingDefaults(run_duration="25 millis"),
        stateful=True,
        writes_attributes=(
            ("(dynamic)", "One attribute per dynamic property and matching rule action; matching attributes "
                          "removed."),
            (MATCHED_RULE, "The name of the last Advanced rule that matched (only when one did)."),
        ),
    )

    def __init__(self) -> None:
        self._criteria = Criteria(rules_form.USE_CLONE, ())
        #: FlowFiles whose commit with new state was rolled back -> the state that commit read.
        self._state_failed: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def relationships_for(
        cls, dynamic_properties: Mapping[str, str], properties: Mapping[str, str | None]
    ) -> tuple[Relationship, ...]:
        """'set state fail' exists only when state is stored (as in NiFi)."""
        stateful = (properties.get(STORE_STATE.key) or DO_NOT_STORE_STATE) == STORE_STATE_LOCALLY
        return (SUCCESS, SET_STATE_FAIL) if stateful else (SUCCESS,)

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """NiFi: an initial value is required when storing state."""
        if (context.property(STORE_STATE).as_str() == STORE_STATE_LOCALLY
                and not context.property(STATEFUL_INITIAL_VALUE).is_set):
            return [ValidationResult(STATEFUL_INITIAL_VALUE.display_name, "initial state value must be set if the "
                                     "processor is configured to store state", STATEFUL_INITIAL_VALUE.key)]
        return []

    def on_scheduled(self, context: ProcessContext) -> None:
        rules = context.property(RULES)
        self._criteria = rules_form.parse_criteria(rules.as_str()) if rules.is_set else Criteria(
            rules_form.USE_CLONE, ())
        self._stateful = context.property(STORE_STATE).as_str() == STORE_STATE_LOCALLY
        initial = context.property(STATEFUL_INITIAL_VALUE)
        self._initial = initial.as_str() if initial.is_set else ""
        # The variables NiFi initializes: every dynamic property and every rule action's attribute.
        names = dict.fromkeys(context.dynamic_properties)
        for rule in self._criteria.rules:
            names.update(dict.fromkeys(attribute for attribute, _ in rule.actions))
        self._variables = list(names)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Update a batch of FlowFiles and send them on."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        delete = context.property(DELETE_ATTRIBUTES)
        defaults: dict[str, PropertyValue] = dict(sorted(context.dynamic_properties.items()))
        if not self._stateful and not self._criteria.rules and not delete.is_set:
            self._set_attributes(context, session, batch, defaults)
            return
        if delete.is_set:
            defaults[DELETE_ACTION] = delete
        state: dict[str, str] | None = None
        read: dict[str, str] = {}
        if self._stateful:
            read = session.get_state()
            state = dict(read)
            for name in self._variables:
                state.setdefault(name, self._initial)
        saved = dict(state) if state is not None else None
        taken: list[str] = []
        for ff in batch:
            try:
                outcome = self._outcome(context, ff, defaults, state)
            except (ValueError, re.error) as exc:
                context.logger.error(
                    f"cannot evaluate the properties or rules for {ff!r}: {exc}; penalizing it and returning it "
                    "to its queue"
                )
                session.transfer(session.penalize(ff))
                continue
            uuid = ff.attributes.get("uuid", "")
            if self._stateful and self._state_changed_since_failure(uuid, read):
                updates, removals = outcome.flowfiles[0]
                session.transfer(_apply(session, ff, updates, removals), SET_STATE_FAIL)
                continue
            state = outcome.state
            taken.append(uuid)
            _send(session, ff, outcome.flowfiles)
        if state is not None and state != saved:
            session.set_state(state)
            session.commit_async(on_failure=lambda error: self._remember_failed(taken, read))

    @staticmethod
    def _set_attributes(context: ProcessContext, session: ProcessSession, batch: list[FlowFile],
                        properties: dict[str, PropertyValue]) -> None:
        """The common case (no state, no rules, nothing deleted): each FlowFile gets the dynamic
        properties as attributes, the literal ones read once for the whole batch."""
        literal = {name: value.raw for name, value in properties.items() if value.is_literal and value.raw is not None}
        expressions = [(name, value) for name, value in properties.items() if name not in literal]
        for ff in batch:
            updates = dict(literal)
            try:
                for name, value in expressions:
                    updates[name] = value.evaluate(ff.attributes).as_str()
            except ValueError as exc:
                context.logger.error(f"cannot evaluate the properties for {ff!r}: {exc}; penalizing it and "
                                     "returning it to its queue")
                session.transfer(session.penalize(ff))
                continue
            session.transfer(session.put_attributes(ff, updates) if updates else ff, SUCCESS)

    def _outcome(
        self, context: ProcessContext, ff: FlowFile, defaults: dict[str, PropertyValue],
        state: dict[str, str] | None,
    ) -> _Outcome:
        """Evaluate conditions and actions for ``ff`` (raises ``ValueError``/``re.error``)."""
        attributes = ff.attributes
        matched = [rule for rule in self._criteria.rules if self._matches(context, rule, attributes, state)]
        if not matched:
            groups: list[list[Rule]] = [[]]
        elif self._criteria.policy == USE_ORIGINAL:
            groups = [matched]
        else:
            groups = [[rule] for rule in matched]
        working = dict(state) if state is not None else None
        flowfiles = []
        for group in groups:
            actions: dict[str, PropertyValue] = dict(defaults)
            for rule in group:
                for attribute, text in rule.actions:
                    actions[attribute] = context.new_property_value(
                        text, name=f"action {attribute!r} of rule '{rule.name}'")
            updates, removals = _evaluate(actions, attributes, state, working)
            if group:
                updates[MATCHED_RULE] = group[-1].name
            flowfiles.append((updates, removals))
        return _Outcome(flowfiles, working)

    @staticmethod
    def _matches(context: ProcessContext, rule: Rule, attributes: Mapping[str, str],
                 state: Mapping[str, str] | None) -> bool:
        for condition in rule.conditions:
            value = context.new_property_value(condition.strip(), name=f"condition of rule '{rule.name}'")
            if not is_true(value.evaluate(attributes, state=state).value):
                return False
        return True

    # -- 'set state fail' -------------------------------------------------------------------------

    def _remember_failed(self, uuids: list[str], read: dict[str, str]) -> None:
        """After a rolled-back commit that carried new state, remember what state these
        FlowFiles were computed from."""
        with self._lock:
            if len(self._state_failed) + len(uuids) <= _MAX_REMEMBERED:
                self._state_failed.update(dict.fromkeys(uuids, read))

    def _state_changed_since_failure(self, uuid: str, current: Mapping[str, str]) -> bool:
        """Whether ``uuid``'s last attempt could not save its state because the state changed
        underneath (it differs now from what that attempt read): then it goes to 'set state
        fail'. A rollback for another reason (the state unchanged) just retries it."""
        if not self._state_failed:
            return False
        with self._lock:
            read = self._state_failed.pop(uuid, None)
        return read is not None and read != current


def _evaluate(
    actions: Mapping[str, PropertyValue], attributes: Mapping[str, str], state: Mapping[str, str] | None,
    working: dict[str, str] | None,
) -> tuple[dict[str, str], list[str]]:
    """The attributes to set and to remove; with state, every value set is also written to
    ``working`` (even for an attribute that is then deleted, as NiFi does)."""
    removals: list[str] = []
    delete = actions.get(DELETE_ACTION)
    if delete is not None and delete.is_set:
        pattern = delete.evaluate(attributes).as_regex()
        removals = [name for name in attributes if name != "uuid" and pattern.fullmatch(name)]
    removed = set(removals)
    updates: dict[str, str] = {}
    for name, value in actions.items():
        if name == DELETE_ACTION:
            continue
        if name in removed and working is None:
            continue
        result = value.evaluate(attributes, state=state).as_str() if state is not None else (
            value.evaluate(attributes).as_str())
        if working is not None:
            working[name] = result
        if name not in removed:
            updates[name] = result
    return updates, removals


def _apply(session: ProcessSession, ff: FlowFile, updates: dict[str, str], removals: list[str]) -> FlowFile:
    if updates:
        ff = session.put_attributes(ff, updates)
    if removals:
        ff = session.remove_attributes(ff, removals)
    return ff


def _send(session: ProcessSession, ff: FlowFile, flowfiles: list[tuple[dict[str, str], list[str]]]) -> None:
    """The original with the first changes, a clone of it (as it came in) with each other's."""
    first, *others = flowfiles
    clones = [(session.clone(ff), changes) for changes in others]
    session.transfer(_apply(session, ff, *first), SUCCESS)
    for clone, (updates, removals) in clones:
        session.transfer(_apply(session, clone, updates, removals), SUCCESS)
