"""ConsumeNATS: a FlowFile for each message of a core NATS subscription."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from flowyard.processors import _nats_common as common
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    ProcessorSpec,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["ConsumeNATS"]

SUCCESS = Relationship("success", "A FlowFile for each message received.")

SUBJECT = PropertySpec(
    key="subject",
    display_name="Subject",
    description="The subject to subscribe to; may hold the wildcards * (one token) and > (the rest).",
    required=True,
    validator=validators.NON_EMPTY,
)
QUEUE_GROUP = PropertySpec(
    key="queue-group",
    display_name="Queue Group",
    description="Subscribers in the same queue group share the messages (each goes to one of them); unset: "
                "every subscriber gets every message.",
)
BATCH_SIZE = PropertySpec(
    key="batch-size",
    display_name="Batch Size",
    description="The most messages turned into FlowFiles in one trigger.",
    required=True,
    default="100",
    validator=validators.POSITIVE_INTEGER,
)
MAX_BUFFERED = PropertySpec(
    key="max-buffered-messages",
    display_name="Max Buffered Messages",
    description="How many received messages wait in memory for a trigger; beyond that the client drops new "
                "messages (a slow consumer), as core NATS cannot hold them back.",
    required=True,
    default="10000",
    validator=validators.POSITIVE_INTEGER,
)
RECEIVE_WAIT = PropertySpec(
    key="receive-wait",
    display_name="Receive Wait",
    description="How long a trigger waits for a first message before it yields.",
    required=True,
    default="100 millis",
    validator=validators.TIME_PERIOD,
)


class ConsumeNATS(common.NatsConsumer):
    """Subscribes to a core NATS subject (with wildcards, optionally in a
    queue group) and makes a FlowFile of each message: the payload as
    content, ``nats.subject``, ``nats.reply`` (when the sender asked for a
    reply) and the message headers as attributes.

    Delivery is at most once, as core NATS itself: the server does not keep
    messages, so messages published while the processor is stopped are never
    seen, and messages received but not yet committed are lost if flowyard
    stops or crashes. Received messages wait in a bounded buffer (Max
    Buffered Messages); when it is full — the flow downstream is slower than
    the publishers — the client drops new messages and the processor logs a
    slow-consumer warning. While ``success`` is back-pressured no message is
    taken from the buffer. Use ConsumeJetStream for at-least-once delivery.

    The nats-py client runs on an asyncio loop in a thread of its own owned
    by the processor (see ``_nats_common``); it subscribes on the first
    trigger, subscribes anew on a later trigger after the connection was
    lost (what was published meanwhile is missed), and closes when the
    processor stops.

    Not a NiFi processor (NiFi has no NATS processors); flowyard's own.
    """

    spec = ProcessorSpec(
        description="Receives messages from a core NATS subject; one FlowFile per message (at most once).",
        tags=("nats", "consume", "subscribe", "get", "receive", "messaging", "pubsub"),
        properties=(*common.CONNECTION_PROPERTIES, SUBJECT, QUEUE_GROUP, BATCH_SIZE, MAX_BUFFERED, RECEIVE_WAIT),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("nats.subject", "The subject the message was published to."),
            ("nats.reply", "The reply subject of the message, when it has one."),
            ("(message headers)", "Each header of the message, as an attribute of the same name."),
        ),
    )

    success = SUCCESS

    def subscribe(self, context: ProcessContext, connection: common.NatsConnection) -> Coroutine[Any, Any, Any]:
        return connection.client.subscribe(
            context.property(SUBJECT).as_str().strip(), queue=context.property(QUEUE_GROUP).value or "",
            pending_msgs_limit=context.property(MAX_BUFFERED).as_int())

    def take(self, context: ProcessContext, connection: common.NatsConnection,
             subscription: Any) -> tuple[Coroutine[Any, Any, list[Any]], float]:
        wait = context.property(RECEIVE_WAIT).as_duration()
        return _take(connection.client, subscription, context.property(BATCH_SIZE).as_int(), wait), wait

    def attributes(self, message: Any) -> dict[str, str]:
        attributes = {"nats.subject": message.subject}
        if message.reply:
            attributes["nats.reply"] = message.reply
        return attributes


async def _take(client: Any, subscription: Any, most: int, wait: float) -> list[Any]:
    """The first message (waiting up to ``wait``) and then those already buffered, up to ``most``.
    Raises ``ConnectionClosedError`` once the connection is lost (so the processor reconnects)."""
    import nats.errors
    if client.is_closed:
        raise nats.errors.ConnectionClosedError
    try:
        messages = [await subscription.next_msg(timeout=wait)]
    except nats.errors.TimeoutError:
        return []
    while len(messages) < most and subscription.pending_msgs > 0:
        messages.append(await subscription.next_msg(timeout=wait))
    return messages
