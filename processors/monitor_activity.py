"""MonitorActivity: report when the flow through it stops, and when it starts again."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from flowyard.processors._common import boolean_property
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["STATE_KEY", "MonitorActivity"]

_BATCH = 50
STATE_KEY = "LocalFlowActivityInfo.lastSuccessfulTransfer"
"""The state key NiFi keeps the start of an inactivity under (only while inactive)."""

INACTIVITY_START = "inactivityStartMillis"
INACTIVITY_DURATION = "inactivityDurationMillis"

SUCCESS = Relationship("success", "Every incoming FlowFile.")
INACTIVE = Relationship(
    "inactive", "The FlowFile announcing that nothing has passed for the Threshold Duration."
)
ACTIVITY_RESTORED = Relationship(
    "activity.restored", "The FlowFile announcing that FlowFiles are passing again after a quiet spell."
)

THRESHOLD = PropertySpec(
    key="threshold-duration",
    display_name="Threshold Duration",
    description="How long without any FlowFile before the flow counts as inactive.",
    required=True,
    default="5 min",
    validator=validators.TIME_PERIOD,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
CONTINUALLY_SEND_MESSAGES = boolean_property(
    "continually-send-messages",
    "Continually Send Messages",
    "true: send an inactivity indicator every Threshold Duration until activity is restored; false: only when the "
    "flow first becomes inactive.",
    "false",
)
INACTIVITY_MESSAGE = PropertySpec(
    key="inactivity-message",
    display_name="Inactivity Message",
    description=(
        "The content of the FlowFiles sent to 'inactive'; may use the inactivityStartMillis and "
        "inactivityDurationMillis attributes."
    ),
    required=True,
    default=(
        "Lacking activity as of time: ${now():format('yyyy/MM/dd HH:mm:ss')}; flow has been inactive for "
        "${inactivityDurationMillis:toNumber():divide(60000)} minutes"
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
ACTIVITY_RESTORED_MESSAGE = PropertySpec(
    key="activity-restored-message",
    display_name="Activity Restored Message",
    description=(
        "The content of the FlowFiles sent to 'activity.restored'; may use the inactivityStartMillis and "
        "inactivityDurationMillis attributes."
    ),
    required=True,
    default=(
        "Activity restored at time: ${now():format('yyyy/MM/dd HH:mm:ss')} after being inactive for "
        "${inactivityDurationMillis:toNumber():divide(60000)} minutes"
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
WAIT_FOR_ACTIVITY = boolean_property(
    "wait-for-activity",
    "Wait for Activity",
    "true: after a start, report inactivity only once there has been activity; false: report it even if nothing "
    "ever arrived.",
    "false",
)
RESET_STATE_ON_RESTART = boolean_property(
    "reset-state-on-restart",
    "Reset State on Restart",
    "true: a start always begins in the active state; false: an inactivity reported before the stop carries on "
    "(no second indicator, and restored activity is reported).",
    "true",
)
COPY_ATTRIBUTES = boolean_property(
    "copy-attributes",
    "Copy Attributes",
    "Whether the activity restored indicator gets the attributes of the FlowFile that restored the activity.",
    "false",
)
SCOPE_NODE = "node"
SCOPE_CLUSTER = "cluster"
MONITORING_SCOPE = PropertySpec(
    key="monitoring-scope",
    display_name="Monitoring Scope",
    description=(
        "node: each node watches its own activity. cluster: the flow is active while any node is (not "
        "supported yet: flowyard logs a warning and watches the node, as NiFi does when standalone)."
    ),
    required=True,
    default=SCOPE_NODE,
    allowed_values=(AllowableValue(SCOPE_NODE), AllowableValue(SCOPE_CLUSTER)),
)
REPORTING_NODE = PropertySpec(
    key="reporting-node",
    display_name="Reporting Node",
    description="With cluster scope: whether every node or only the primary node sends the indicators.",
    required=True,
    default="all",
    allowed_values=(AllowableValue("all"), AllowableValue("primary")),
    dependencies=(PropertyDependency(MONITORING_SCOPE.key, (SCOPE_CLUSTER,)),),
)


class _Activity:
    """What MonitorActivity knows of the flow; times are epoch ms, 0 for none."""

    __slots__ = ("copy_attributes", "last_attributes", "last_transfer", "startup", "threshold_ms")

    def __init__(self, startup: int, threshold_ms: int, copy_attributes: bool, last_transfer: int = 0) -> None:
        self.startup = startup
        self.threshold_ms = threshold_ms
        self.copy_attributes = copy_attributes
        self.last_transfer = last_transfer
        self.last_attributes: dict[str, str] = {}

    @property
    def has_transfer(self) -> bool:
        return self.last_transfer != 0

    @property
    def last_activity(self) -> int:
        return self.last_transfer if self.has_transfer else self.startup

    def is_active(self, now: int) -> bool:
        return now < self.last_activity + self.threshold_ms

    def update(self, now: int, attributes: Mapping[str, str]) -> None:
        self.last_transfer = now
        if self.copy_attributes:
            self.last_attributes = {k: v for k, v in attributes.items() if k != "uuid"}


class MonitorActivity(Processor):
    """Passes every FlowFile to success and watches the flow: when no
    FlowFile passed for the Threshold Duration it creates an indicator on
    'inactive' (once, or every Threshold Duration with Continually Send
    Messages), and when FlowFiles pass again it creates one on
    'activity.restored'. Indicators carry ``inactivityStartMillis`` and
    ``inactivityDurationMillis``, and the evaluated message as content; with
    Copy Attributes the restored indicator also gets the attributes of the
    FlowFile that restored activity (not its uuid).

    As NiFi: the processor runs while its queue is empty; after a start the
    flow counts as active (inactivity is measured from the start, or only
    after a first FlowFile with Wait for Activity); while inactive the start
    of the inactivity is kept in the component state, so with Reset State on
    Restart false a restart neither reports the inactivity again nor forgets
    to report restored activity. Times come from the framework's clock (the
    mock clock in tests). A message whose Expression Language fails is
    written unevaluated, with an error logged.

    Differences from NiFi: only the 'node' Monitoring Scope; 'cluster' logs
    a warning and watches this node, as NiFi does when not clustered
    (Reporting Node is then ignored).
    """

    spec = ProcessorSpec(
        description=(
            "Watches the FlowFiles passing through and sends an indicator FlowFile when none has come for the "
            "Threshold Duration, and another when they start coming again."
        ),
        tags=("monitor", "flow", "active", "inactive", "activity", "detection"),
        properties=(THRESHOLD, CONTINUALLY_SEND_MESSAGES, INACTIVITY_MESSAGE, ACTIVITY_RESTORED_MESSAGE,
                    WAIT_FOR_ACTIVITY, RESET_STATE_ON_RESTART, COPY_ATTRIBUTES, MONITORING_SCOPE, REPORTING_NODE),
        relationships=(SUCCESS, INACTIVE, ACTIVITY_RESTORED),
        input_requirement=InputRequirement.REQUIRED,
        stateful=True,
        trigger_when_empty=True,
        writes_attributes=(
            (INACTIVITY_START, "When the inactivity began (epoch ms)."),
            (INACTIVITY_DURATION, "How long the inactivity lasted, in ms."),
        ),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._activity: _Activity | None = None
        self._load_state = False
        self._was_active = True
        self._inactivity_start = 0
        self._last_inactive_message = 0

    def on_scheduled(self, context: ProcessContext) -> None:
        """Begin active; with Reset State on Restart false, the first trigger
        picks up an inactivity stored before the stop."""
        if context.property(MONITORING_SCOPE).as_str() == SCOPE_CLUSTER:
            context.logger.warning(
                "the 'cluster' Monitoring Scope is not supported yet; watching this node ('node' scope)"
            )
        with self._lock:
            self._initialise(context, context.now_ms())

    def _initialise(self, context: ProcessContext, now: int) -> None:
        self._activity = _Activity(now, self._threshold_ms(context), context.property(COPY_ATTRIBUTES).as_bool())
        self._was_active = True
        self._inactivity_start = now
        self._load_state = not context.property(RESET_STATE_ON_RESTART).as_bool()

    @staticmethod
    def _threshold_ms(context: ProcessContext) -> int:
        return int(context.property(THRESHOLD).evaluate().as_duration() * 1000)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Pass FlowFiles on and send an indicator when the activity changed."""
        with self._lock:  # NiFi runs it serially (@TriggerSerially)
            self._trigger(context, session)

    def _trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        now = context.now_ms()
        if self._activity is None:
            self._initialise(context, now)
        activity = self._activity
        assert activity is not None
        if self._load_state:
            self._load_state = False
            stored = session.get_state().get(STATE_KEY)
            if stored is not None and stored.lstrip("-").isdigit():
                activity.last_transfer = int(stored)
                self._was_active = activity.is_active(now)
                self._inactivity_start = activity.last_activity
        batch = session.get_batch(_BATCH)
        if batch:
            activity.update(now, batch[0].attributes)
            session.transfer_all(batch, SUCCESS)
        else:
            context.yield_()
        threshold_ms = activity.threshold_ms
        is_active = activity.is_active(now) or bool(batch)
        last_activity = activity.last_activity
        if context.property(WAIT_FOR_ACTIVITY).as_bool() and not activity.has_transfer:
            return
        if is_active:
            if not self._was_active:
                attributes = dict(activity.last_attributes)
                self._indicator(context, session, ACTIVITY_RESTORED, ACTIVITY_RESTORED_MESSAGE, attributes,
                                self._inactivity_start, now)
                session.set_state({})
        elif self._was_active or (
            context.property(CONTINUALLY_SEND_MESSAGES).as_bool() and self._last_inactive_message + threshold_ms <= now
        ):
            self._indicator(context, session, INACTIVE, INACTIVITY_MESSAGE, {}, last_activity, now)
            self._last_inactive_message = now
            session.set_state({STATE_KEY: str(last_activity)})
        self._was_active = is_active
        self._inactivity_start = last_activity

    @staticmethod
    def _indicator(context: ProcessContext, session: ProcessSession, relationship: Relationship,
                   message: PropertySpec, attributes: dict[str, str], inactivity_start: int, now: int) -> None:
        ff = session.create()
        attributes.update({INACTIVITY_START: str(inactivity_start), INACTIVITY_DURATION: str(now - inactivity_start)})
        ff = session.put_attributes(ff, attributes)
        value = context.property(message)
        try:
            text = value.evaluate(ff.attributes).as_str()
        except ValueError as exc:
            context.logger.error(f"cannot evaluate the {message.display_name}: {exc}; writing it unevaluated")
            text = value.as_str()
        ff = session.write(ff, text.encode("utf-8"))
        session.transfer(ff, relationship)
