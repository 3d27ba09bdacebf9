"""ConsumeMQTT: subscribe to an MQTT topic filter; each message becomes a FlowFile."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from flowyard.processors import _mqtt_common as common
from flowyard.processors._common import boolean_property
from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["ConsumeMQTT"]

MESSAGE = Relationship("Message", "The messages received, one FlowFile each (or demarcated together).")
PARSE_FAILURE = Relationship("parse.failure", "Messages the Record Reader cannot parse (record mode only).",
                             auto_terminate_default=True)

GROUP_ID = PropertySpec(
    key="group-id",
    display_name="Group ID",
    description=(
        "When set, the subscription is shared ($share/<group>/<filter>): the broker hands each message to one of "
        "the clients of the group."
    ),
    validator=validators.NON_EMPTY,
)
TOPIC_FILTER = PropertySpec(
    key="topic-filter",
    display_name="Topic Filter",
    description="The topic filter to subscribe to; + and # are MQTT's wildcards.",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
QOS = PropertySpec(
    key="quality-of-service",
    display_name="Quality of Service",
    description="The highest quality of service to receive the messages with.",
    required=True,
    default="0",
    allowed_values=common.QOS_VALUES,
    aliases=("Quality of Service(QoS)",),
)
ADD_ATTRIBUTES_AS_FIELDS = boolean_property(
    "add-attributes-as-fields", "Add Attributes as Fields",
    "In record mode, whether the MQTT attributes are added to each record (record mode is not supported yet).",
    "true", aliases=("add-attributes-as-fields",), dependencies=(PropertyDependency(common.RECORD_READER.key),),
)
DEMARCATOR = replace(
    common.MESSAGE_DEMARCATOR,
    description=(
        "When set, the messages taken in one run are written into one FlowFile, separated by this text, instead of "
        "one FlowFile per message."
    ),
)
MAX_QUEUE_SIZE = PropertySpec(
    key="max-queue-size",
    display_name="Max Queue Size",
    description=(
        "How many received messages are held in memory until they are written to FlowFiles. When it is full, the "
        "client stops reading from the broker, which keeps the messages."
    ),
    required=True,
    validator=validators.POSITIVE_INTEGER,
)

#: How many messages one run turns into FlowFiles at most.
_BATCH = 1000
#: How long a run waits for a first message before it yields (the broker sends the next ones once the
#: previous run's are acknowledged, a moment after its commit).
_WAIT = 0.2


@dataclass(slots=True)
class _Received:
    message: mqtt.MQTTMessage
    generation: int


class _Inbox:
    """The bounded queue between paho's network thread and the triggers."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: collections.deque[_Received] = collections.deque()
        self.cond = threading.Condition()
        self.closed = False
        self.generation = 0
        self.clean = True

    def put(self, item: _Received) -> None:
        """Blocks paho's thread while the queue is full: nothing more is read from the broker."""
        with self.cond:
            while len(self.items) >= self.capacity and not self.closed:
                self.cond.wait(0.5)
            if not self.closed:
                self.items.append(item)
                self.cond.notify_all()

    def take(self, count: int, wait: float = 0.0) -> list[_Received]:
        """Up to ``count`` messages, waiting up to ``wait`` seconds for the first."""
        with self.cond:
            if not self.items and wait > 0:
                self.cond.wait_for(lambda: bool(self.items) or self.closed, wait)
            taken = [self.items.popleft() for _ in range(min(count, len(self.items)))]
            self.cond.notify_all()
            return taken

    def give_back(self, items: list[_Received]) -> None:
        """A rolled-back batch returns to the front, in order (still unacknowledged)."""
        with self.cond:
            if not self.closed:
                self.items.extendleft(reversed(items))

    def reconnected(self) -> None:
        """A new connection: packet ids of older messages mean nothing any more. With a
        resumed session the broker sends the unacknowledged ones again, so they are dropped."""
        with self.cond:
            self.generation += 1
            if not self.clean:
                self.items = collections.deque(i for i in self.items if i.message.qos == 0)
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.items.clear()
            self.cond.notify_all()


class ConsumeMQTT(Processor):
    """Subscribes to the Topic Filter (as a shared subscription
    ``$share/<Group ID>/<filter>`` when Group ID is set) and writes each
    message received into a FlowFile routed to Message, with the attributes
    ``mqtt.broker`` (the broker URI), ``mqtt.topic``, ``mqtt.qos``,
    ``mqtt.isDuplicate`` and ``mqtt.isRetained``, and a RECEIVE event whose
    transit URI is the broker URI and the topic. With a Message Demarcator,
    the messages taken in one run go into one FlowFile separated by it, with
    ``mqtt.broker`` and ``mqtt.topic`` (the topic filter) only.

    At least once: messages of QoS 1 and 2 are acknowledged to the broker
    (PUBACK / PUBCOMP) only after the session holding their FlowFiles has
    been committed; when the session is rolled back they are put back at the
    front of the queue and delivered again. With Resume Session and a fixed
    Client ID, messages not yet committed when flowyard stops or dies, and
    those published while it is down, are sent again by the broker when it
    reconnects (``mqtt.isDuplicate`` = true for the resent ones).

    The client connects and subscribes at the first trigger (waiting for the
    broker to accept the subscription); when no broker accepts, the reason is
    logged and the processor yields, then tries again. The client reconnects
    by itself after losing the connection and disconnects when the processor
    stops.

    Back pressure: received messages wait in a queue of at most Max Queue
    Size messages. When it is full (because the outgoing connection is full
    and the processor is not triggered), the client stops reading from the
    broker, which keeps the messages; the broker itself sends at most 20
    unacknowledged QoS 1/2 messages at a time.

    Differences from NiFi: record mode (Record Reader, Record Writer, Add
    Attributes as Fields, the parse.failure relationship) is not supported
    yet: setting a reader or writer leaves the processor invalid. NiFi turns
    the messages still queued at stop into FlowFiles; flowyard drops them
    unacknowledged, so with Resume Session the broker sends them again, and
    with Clean Session (the default) they are lost — use Resume Session and a
    fixed Client ID for at-least-once across restarts. A QoS 2 message whose
    PUBREC was sent but which was not committed when the process died is
    lost (the client keeps no on-disk state; MQTT then counts it delivered),
    so at-least-once across a crash holds for QoS 1. With the queue full for
    longer than about 1.5 x Keep Alive the broker may drop the connection;
    the client reconnects and, with Resume Session, nothing is lost. Broker
    URIs are tcp:// or ssl:// (no websockets); v3 AUTO speaks MQTT 3.1.1
    without falling back to 3.1.
    """

    spec = ProcessorSpec(
        description=(
            "Subscribes to a topic filter on an MQTT broker and writes the messages received into FlowFiles, "
            "acknowledging them once the FlowFiles are committed."
        ),
        tags=("subscribe", "mqtt", "consume", "listen", "iot", "message", "broker", "ingest"),
        properties=(*common.CONNECTION_PROPERTIES, GROUP_ID, TOPIC_FILTER, QOS, common.RECORD_READER,
                    common.RECORD_WRITER, ADD_ATTRIBUTES_AS_FIELDS, DEMARCATOR, *common.LAST_WILL_PROPERTIES,
                    MAX_QUEUE_SIZE),
        relationships=(MESSAGE, PARSE_FAILURE),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("record.count", "Record mode only (not supported yet)."),
            ("mqtt.broker", "The URI of the broker the message came from."),
            ("mqtt.topic", "The topic the message was published to."),
            ("mqtt.qos", "The quality of service the message was received with."),
            ("mqtt.isDuplicate", "Whether the broker marked the message as a possible duplicate (true/false)."),
            ("mqtt.isRetained", "Whether the message is a retained message (true/false)."),
        ),
    )

    def __init__(self) -> None:
        #: Connected at the first trigger (again after a failed connection).
        self._connecting = threading.Lock()
        self._client: mqtt.Client | None = None
        self._broker: common.Broker | None = None
        self._inbox: _Inbox | None = None
        self._qos = 0

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Record services unsupported; a password needs a user name."""
        return common.validate_common(context)

    def _connect(self, context: ProcessContext) -> None:
        """Connect and subscribe (waiting for the broker's SUBACK); raises
        ``ConnectionFailed`` when no broker accepts the connection or the subscription."""
        inbox = _Inbox(context.property(MAX_QUEUE_SIZE).as_int())
        inbox.clean = context.property(common.SESSION_STATE).as_str() == "true"
        topic = context.property(TOPIC_FILTER).evaluate(None).as_str()
        if context.property(GROUP_ID).is_set:
            topic = f"$share/{context.property(GROUP_ID).as_str()}/{topic}"
        self._qos = qos = int(context.property(QOS).as_str())

        subscribed = threading.Event()
        refusals: list[str] = []

        def on_subscribe(client: mqtt.Client, userdata: object, mid: int, reasons: list[ReasonCode],
                         properties: Properties) -> None:
            refusals.extend(str(r) for r in reasons if r.is_failure)
            subscribed.set()

        def on_connected(client: mqtt.Client) -> None:
            inbox.reconnected()
            client.on_subscribe = on_subscribe
            client.subscribe(topic, qos=qos)

        def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
            inbox.put(_Received(message, inbox.generation))

        self._inbox = inbox
        self._client, self._broker = common.connect(context, manual_ack=True, on_connected=on_connected,
                                                    on_message=on_message)
        timeout = float(context.property(common.CONNECTION_TIMEOUT).as_int())
        if not subscribed.wait(timeout) or refusals:
            self.on_stopped(context)
            why = ", ".join(refusals) if refusals else f"no answer within {timeout:g} s"
            raise common.ConnectionFailed(f"the broker did not accept the subscription to {topic!r}: {why}")

    def on_stopped(self, context: ProcessContext) -> None:
        """Disconnect; queued, unacknowledged messages stay with the broker (Resume Session)."""
        if self._inbox is not None:
            self._inbox.close()
        client, self._client = self._client, None
        common.close(client)
        self._inbox = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        with self._connecting:
            if self._client is None:
                try:
                    self._connect(context)
                except (common.ConnectionFailed, ValueError, OSError) as exc:
                    context.logger.error(f"Cannot receive from the MQTT broker: {exc}")
                    self.on_stopped(context)
                    context.yield_()
                    return
        inbox, client, broker = self._inbox, self._client, self._broker
        if inbox is None or client is None or broker is None:
            return
        taken = inbox.take(_BATCH, _WAIT)
        if not taken:
            context.yield_()
            return
        uri = broker.uri
        if context.property(DEMARCATOR).is_set:
            separator = context.property(DEMARCATOR).evaluate(None).as_str().encode()
            ff = session.create()
            ff = session.write(ff, separator.join(r.message.payload for r in taken))
            ff = session.put_attributes(ff, {"mqtt.broker": uri,
                                             "mqtt.topic": context.property(TOPIC_FILTER).evaluate(None).as_str()})
            session.provenance.receive(ff, uri, f"{len(taken)} messages")
            session.transfer(ff, MESSAGE)
        else:
            for received in taken:
                message = received.message
                ff = session.create()
                ff = session.write(ff, message.payload)
                ff = session.put_attributes(ff, {
                    "mqtt.broker": uri,
                    "mqtt.topic": message.topic,
                    "mqtt.qos": str(message.qos),
                    "mqtt.isDuplicate": "true" if message.dup else "false",
                    "mqtt.isRetained": "true" if message.retain else "false",
                })
                session.provenance.receive(ff, f"{uri.rstrip('/')}/{message.topic}")
                session.transfer(ff, MESSAGE)

        def acknowledge() -> None:
            for received in taken:
                if received.message.qos > 0 and received.generation == inbox.generation:
                    client.ack(received.message.mid, received.message.qos)

        def give_back(error: BaseException | None) -> None:
            inbox.give_back(taken)

        session.commit_async(on_success=acknowledge, on_failure=give_back)
