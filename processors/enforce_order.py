"""EnforceOrder: release FlowFiles of each group in the order of an attribute."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flowyard.runtime.sdk import (
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValueError,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["EnforceOrder"]

STARTED_AT = "EnforceOrder.startedAt"
EXPECTED_ORDER = "EnforceOrder.expectedOrder"
RESULT = "EnforceOrder.result"
DETAIL = "EnforceOrder.detail"

_TARGET = ".target"
_MAX = ".max"
_UPDATED_AT = ".updatedAt"
_JAVA_INT = re.compile(r"[+-]?[0-9]+")

SUCCESS = Relationship("success", "FlowFiles whose order is the one the group expects next.")
WAIT = Relationship(
    "wait", "FlowFiles whose preceding FlowFiles have not arrived yet; loop it back with a FIFO prioritizer."
)
OVERTOOK = Relationship(
    "overtook",
    "FlowFiles let past the missing ones before them once the Wait Timeout ran out.",
)
FAILURE = Relationship(
    "failure",
    "FlowFiles without a group or an integer order, whose Initial or Maximum Order cannot be computed, or whose "
    "order is above the Maximum Order.",
)
SKIPPED = Relationship(
    "skipped", "FlowFiles whose order is below the one expected: they arrived after the group moved past them."
)

GROUP_IDENTIFIER = PropertySpec(
    key="group-identifier",
    display_name="Group Identifier",
    description="Evaluated against each FlowFile: the ordering group it belongs to (empty: failure).",
    required=True,
    default="${filename}",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("group-id",),
)
ORDER_ATTRIBUTE = PropertySpec(
    key="order-attribute",
    display_name="Order Attribute",
    description="The attribute holding each FlowFile's order within its group, an integer.",
    required=True,
    validator=validators.NON_EMPTY,
)
INITIAL_ORDER = PropertySpec(
    key="initial-order",
    display_name="Initial Order",
    description="Evaluated against the first FlowFile of a group: the order expected first.",
    required=True,
    default="0",
    validator=validators.NON_NEGATIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
MAXIMUM_ORDER = PropertySpec(
    key="maximum-order",
    display_name="Maximum Order",
    description=(
        "Evaluated once per group: FlowFiles with a larger order go to failure, and the expected order stops "
        "growing at it."
    ),
    validator=validators.POSITIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
BATCH_COUNT = PropertySpec(
    key="batch-count",
    display_name="Batch Count",
    description="The most FlowFiles handled per trigger.",
    required=True,
    default="1000",
    validator=validators.POSITIVE_INTEGER,
)
WAIT_TIMEOUT = PropertySpec(
    key="wait-timeout",
    display_name="Wait Timeout",
    description="How long a FlowFile waits (from EnforceOrder.startedAt) before it overtakes the missing ones.",
    required=True,
    default="10 min",
    validator=validators.TIME_PERIOD,
)
INACTIVE_TIMEOUT = PropertySpec(
    key="inactive-timeout",
    display_name="Inactive Timeout",
    description=(
        "How long after its last update a group's state is dropped; must be longer than the Wait Timeout. A "
        "FlowFile arriving later starts the group anew."
    ),
    required=True,
    default="30 min",
    validator=validators.TIME_PERIOD,
)


def _java_int(text: str | None) -> int | None:
    """Java's ``Integer.parseInt``: None for anything it refuses."""
    if text is None or not _JAVA_INT.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**31) <= value < 2**31 else None


@dataclass(slots=True)
class _Run:
    """One trigger: the group states, the valid FlowFiles per group, and the time."""

    states: dict[str, str]
    now: int
    groups: dict[str, list[tuple[int, FlowFile]]] = field(default_factory=dict)


class EnforceOrder(Processor):
    """Releases the FlowFiles of each group (Group Identifier) in the order
    given by the Order Attribute, starting at the Initial Order: the one
    expected next goes to success, later ones to wait, earlier ones to
    skipped; a FlowFile that waited longer than the Wait Timeout goes to
    overtook and the group moves on past it.

    As NiFi's: each group's next expected order (``<group>.target``), its
    Maximum Order (``<group>.max``) and last update (``<group>.updatedAt``)
    live in the component state, so they survive triggers, stops and
    restarts; a group not updated for the Inactive Timeout is forgotten.
    FlowFiles of a batch are sorted by order within their group (groups in
    name order). Every FlowFile gets ``EnforceOrder.result``; valid ones get
    ``EnforceOrder.startedAt`` the first time; wait, overtook and skipped
    ones get ``EnforceOrder.expectedOrder``; failure and skipped ones get
    ``EnforceOrder.detail``. At the Maximum Order the expected order stops
    growing. Orders are Java ints (a value outside the range, or with spaces,
    is not an integer). Failures are logged as warnings.

    Released FlowFiles are queued downstream in the order they were
    released (lowest order first).

    Differences from NiFi: a Maximum Order that evaluates to a non-integer
    is not stored in the group's state (NiFi stores it, so every later
    FlowFile of the group fails too; its documentation says the maximum is
    left unknown, which flowyard does). Times come from the framework's
    clock (the mock clock in tests).
    """

    spec = ProcessorSpec(
        description=(
            "Puts the FlowFiles of each group in order by an order attribute: one that arrives early waits until those "
            "before it have passed, or until a timeout lets it overtake them."
        ),
        tags=("sort", "order", "enforce", "sequence", "group"),
        properties=(GROUP_IDENTIFIER, ORDER_ATTRIBUTE, INITIAL_ORDER, MAXIMUM_ORDER, BATCH_COUNT, WAIT_TIMEOUT,
                    INACTIVE_TIMEOUT),
        relationships=(SUCCESS, WAIT, OVERTOOK, FAILURE, SKIPPED),
        input_requirement=InputRequirement.REQUIRED,
        stateful=True,
        writes_attributes=(
            (STARTED_AT, "When the FlowFile first reached EnforceOrder (epoch ms); the Wait Timeout counts from it."),
            (RESULT, "The relationship the FlowFile was routed to."),
            (DETAIL, "Why a FlowFile went to failure or skipped."),
            (EXPECTED_ORDER, "The order the group expected when a FlowFile went to wait, overtook or skipped."),
        ),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """The Inactive Timeout must be longer than the Wait Timeout."""
        try:
            wait = context.property(WAIT_TIMEOUT).as_duration()
            inactive = context.property(INACTIVE_TIMEOUT).as_duration()
        except PropertyValueError:
            return []  # the validators report unparsable durations
        if wait >= inactive:
            return [ValidationResult(
                INACTIVE_TIMEOUT.display_name,
                f"{INACTIVE_TIMEOUT.display_name} should be longer than {WAIT_TIMEOUT.display_name}",
                INACTIVE_TIMEOUT.key,
            )]
        return []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Order one batch of FlowFiles and update the group states."""
        batch = session.get_batch(context.property(BATCH_COUNT).as_int())
        if not batch:
            return
        run = _Run(session.get_state(), context.now_ms())
        for ff in batch:
            self._admit(context, session, run, ff)
        wait_ms = int(context.property(WAIT_TIMEOUT).as_duration() * 1000)
        for group in sorted(run.groups):
            self._release(context, session, run, group, wait_ms)
        inactive_ms = int(context.property(INACTIVE_TIMEOUT).as_duration() * 1000)
        _forget_inactive(run, inactive_ms)
        session.set_state(run.states)

    def _admit(self, context: ProcessContext, session: ProcessSession, run: _Run, ff: FlowFile) -> None:
        """Check one FlowFile; a valid one joins its group."""
        attributes = ff.attributes
        try:
            group = context.property(GROUP_IDENTIFIER).evaluate(attributes).value or ""
        except ValueError as exc:
            _fail(context, session, ff, f"Failed to get Group Identifier: {exc}")
            return
        if not group.strip():
            _fail(context, session, ff, "Failed to get Group Identifier.")
            return
        order_name = context.property(ORDER_ATTRIBUTE).as_str()
        order = _java_int(attributes.get(order_name))
        if order is None:
            _fail(context, session, ff,
                  f"Failed to parse order attribute {order_name!r}: {attributes.get(order_name)!r} is not an integer")
            return
        if group + _TARGET not in run.states:
            initial = _evaluate(context, INITIAL_ORDER, attributes)
            if _java_int(initial) is None:
                _fail(context, session, ff, f"Failed to get Initial Order for Group [{group}]: {initial!r} is not an "
                                            "integer")
                return
            run.states[group + _TARGET] = str(initial)
            run.states[group + _UPDATED_AT] = str(run.now)
        if context.property(MAXIMUM_ORDER).is_set:
            maximum_text = run.states.get(group + _MAX)
            if maximum_text is None:
                maximum_text = _evaluate(context, MAXIMUM_ORDER, attributes)
            if not (maximum_text or "").strip():
                _fail(context, session, ff, f"{MAXIMUM_ORDER.display_name} was specified but result was empty.")
                return
            maximum = _java_int(maximum_text)
            if maximum is None:
                _fail(context, session, ff, f"Failed to get Maximum Order for group [{group}]: {maximum_text!r} is "
                                            "not an integer")
                return
            run.states[group + _MAX] = str(maximum)
            if order > maximum:
                _fail(context, session, ff,
                      f"Order ({order}) is greater than the Maximum Order ({maximum}) for Group [{group}]")
                return
        if not (attributes.get(STARTED_AT) or "").strip():
            ff = session.put_attribute(ff, STARTED_AT, str(run.now))
        run.groups.setdefault(group, []).append((order, ff))

    @staticmethod
    def _release(context: ProcessContext, session: ProcessSession, run: _Run, group: str, wait_ms: int) -> None:
        """Route one group's FlowFiles, lowest order first."""
        previous = int(run.states[group + _TARGET])
        target = previous
        maximum_text = run.states.get(group + _MAX)
        maximum = int(maximum_text) if maximum_text else None
        for order, ff in sorted(run.groups[group], key=lambda item: item[0]):
            at_maximum = order == maximum
            if order == target:
                _route(session, ff, SUCCESS, None, None)
                if not at_maximum:
                    target += 1
            elif order > target:
                started = _java_long(ff.attributes.get(STARTED_AT))
                if started is not None and run.now - started > wait_ms:
                    _route(session, ff, OVERTOOK, None, target)
                    target = order if at_maximum else order + 1
                else:
                    _route(session, ff, WAIT, None, target)
            else:
                detail = f"Skipped, FlowFile order was {order} but current target is {target}"
                context.logger.warning(f"{detail}. {ff!r}")
                _route(session, ff, SKIPPED, detail, target)
        if target != previous:
            run.states[group + _TARGET] = str(target)
            run.states[group + _UPDATED_AT] = str(run.now)


def _java_long(text: str | None) -> int | None:
    return int(text) if text is not None and _JAVA_INT.fullmatch(text) else None


def _evaluate(context: ProcessContext, spec: PropertySpec, attributes: Mapping[str, str]) -> str | None:
    try:
        return context.property(spec).evaluate(attributes).value
    except ValueError:
        return None


def _route(session: ProcessSession, ff: FlowFile, relationship: Relationship, detail: str | None,
           expected: int | None) -> None:
    ff = session.put_attribute(ff, RESULT, relationship.name)
    ff = session.put_attribute(ff, EXPECTED_ORDER, str(expected)) if expected is not None \
        else session.remove_attribute(ff, EXPECTED_ORDER)
    ff = session.put_attribute(ff, DETAIL, detail) if detail else session.remove_attribute(ff, DETAIL)
    session.transfer(ff, relationship)


def _fail(context: ProcessContext, session: ProcessSession, ff: FlowFile, message: str) -> None:
    context.logger.warning(f"{message} {ff!r}")
    _route(session, ff, FAILURE, message, None)


def _forget_inactive(run: _Run, inactive_ms: int) -> None:
    inactive = [
        key[: -len(_UPDATED_AT)] for key, value in run.states.items()
        if key.endswith(_UPDATED_AT) and (stamp := _java_long(value)) is not None and run.now - stamp > inactive_ms
    ]
    for group in inactive:
        for suffix in (_TARGET, _UPDATED_AT, _MAX):
            run.states.pop(group + suffix, None)
