"""ConsumeJetStream: FlowFiles from a durable JetStream pull consumer, each
message acknowledged only once its FlowFile is committed."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from flowyard.processors import _nats_common as common
from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["ConsumeJetStream"]

SUCCESS = Relationship("success", "A FlowFile for each message received.")

SUBJECT = PropertySpec(
    key="subject",
    display_name="Subject",
    description="The subject filter of the consumer; may hold the wildcards * and >. A stream must capture it.",
    required=True,
    validator=validators.NON_EMPTY,
)
STREAM = PropertySpec(
    key="stream",
    display_name="Stream",
    description="The stream to consume from; unset: the stream that captures the Subject.",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
DURABLE_NAME = PropertySpec(
    key="durable-name",
    display_name="Durable Name",
    description="The name of the durable consumer. It keeps its position in the stream across restarts, and "
                "processors sharing the name share its messages. Created when missing.",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
BATCH_SIZE = PropertySpec(
    key="batch-size",
    display_name="Batch Size",
    description="The most messages fetched, and turned into FlowFiles, in one trigger.",
    required=True,
    default="100",
    validator=validators.POSITIVE_INTEGER,
)
ACK_WAIT = PropertySpec(
    key="ack-wait",
    display_name="Ack Wait",
    description="When the consumer is created: how long the server waits for the acknowledgement of a "
                "delivered message before it delivers the message again.",
    required=True,
    default="30 sec",
    validator=validators.TIME_PERIOD,
)
FETCH_WAIT = PropertySpec(
    key="fetch-wait",
    display_name="Fetch Wait",
    description="How long a trigger waits for a first message before it yields.",
    required=True,
    default="500 millis",
    validator=validators.TIME_PERIOD,
)


class ConsumeJetStream(common.NatsConsumer):
    """Fetches messages from a durable pull consumer of a JetStream stream
    and makes a FlowFile of each: the payload as content, and ``nats.subject``,
    ``nats.stream``, ``nats.consumer``, ``nats.sequence.stream``,
    ``nats.sequence.consumer``, ``nats.num.delivered`` (above 1: a
    redelivery), ``nats.timestamp`` (epoch milliseconds) and the message
    headers as attributes. The consumer is created (with Subject as its
    filter and Ack Wait) when it does not exist yet, and is never deleted: it
    keeps its position while flowyard is stopped.

    At least once: a message is acknowledged only after the session holding
    its FlowFile is committed (``session.commit_async``); if the session is
    rolled back it is negatively acknowledged and the server delivers it
    again at once; if flowyard dies first the server delivers it again after
    Ack Wait. So a message may be received twice (``nats.num.delivered``
    says so), never lost. While ``success`` is back-pressured nothing is
    fetched: the messages stay in the stream. Acknowledgements are sent
    without waiting for the server's confirmation; one that is lost only
    causes a redelivery.

    The nats-py client runs on an asyncio loop in a thread of its own owned
    by the processor (see ``_nats_common``); the commit callbacks hand the
    acknowledgements to that loop without blocking. It connects on the first
    trigger; stopping waits (up to Connection Timeout) for the pending
    acknowledgements, then closes it.

    Not a NiFi processor (NiFi has no NATS processors); flowyard's own.
    """

    spec = ProcessorSpec(
        description="Receives messages from a durable NATS JetStream consumer; each is acknowledged only once "
                    "its FlowFile is committed (at least once).",
        tags=("nats", "jetstream", "consume", "get", "receive", "messaging", "stream"),
        properties=(*common.CONNECTION_PROPERTIES, SUBJECT, STREAM, DURABLE_NAME, BATCH_SIZE, ACK_WAIT,
                    FETCH_WAIT),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("nats.subject", "The subject the message was published to."),
            ("nats.stream", "The stream the message was stored in."),
            ("nats.consumer", "The durable consumer that delivered it."),
            ("nats.sequence.stream", "The message's sequence number in the stream."),
            ("nats.sequence.consumer", "The delivery's sequence number in the consumer."),
            ("nats.num.delivered", "How many times the message has been delivered (above 1: redelivered)."),
            ("nats.timestamp", "When the message was stored, in milliseconds since the epoch."),
            ("(message headers)", "Each header of the message, as an attribute of the same name."),
        ),
    )

    success = SUCCESS
    source_name = "JetStream"

    def subscribe(self, context: ProcessContext, connection: common.NatsConnection) -> Coroutine[Any, Any, Any]:
        from nats.js.api import ConsumerConfig
        durable = context.property(DURABLE_NAME).evaluate().as_str().strip()
        subject = context.property(SUBJECT).as_str().strip()
        config = ConsumerConfig(ack_wait=context.property(ACK_WAIT).as_duration(), filter_subject=subject)
        return connection.client.jetstream().pull_subscribe(
            subject, durable=durable, stream=context.property(STREAM).evaluate().value or None, config=config)

    def take(self, context: ProcessContext, connection: common.NatsConnection,
             subscription: Any) -> tuple[Coroutine[Any, Any, list[Any]], float]:
        wait = context.property(FETCH_WAIT).as_duration()
        return _fetch(subscription, context.property(BATCH_SIZE).as_int(), wait), wait

    def before_emit(self, session: ProcessSession, connection: common.NatsConnection, messages: list[Any]) -> None:
        # registered first, so any failure below (a rollback) gives the messages back at once
        session.commit_async(on_success=lambda: connection.submit(_settle(messages, ack=True)),
                             on_failure=lambda _exc: connection.submit(_settle(messages, ack=False)))

    def attributes(self, message: Any) -> dict[str, str]:
        meta = message.metadata
        return {
            "nats.subject": message.subject,
            "nats.stream": meta.stream,
            "nats.consumer": meta.consumer,
            "nats.sequence.stream": str(meta.sequence.stream),
            "nats.sequence.consumer": str(meta.sequence.consumer),
            "nats.num.delivered": str(meta.num_delivered),
            "nats.timestamp": str(int(meta.timestamp.timestamp() * 1000)),
        }


async def _fetch(subscription: Any, most: int, wait: float) -> list[Any]:
    """Up to ``most`` messages, waiting at most ``wait`` for the first; none on timeout."""
    import nats.errors
    try:
        return list(await subscription.fetch(most, timeout=wait))
    except nats.errors.TimeoutError:
        return []


async def _settle(messages: list[Any], *, ack: bool) -> None:
    """Acknowledge (or negatively acknowledge) each message; one that fails is
    redelivered by the server after Ack Wait."""
    for message in messages:
        try:
            await (message.ack() if ack else message.nak())
        except Exception:  # a closed connection or an already settled message: the server redelivers
            pass
