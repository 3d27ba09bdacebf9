"""PublishJetStream: publish each FlowFile's content to a NATS JetStream stream,
routing to success only on the stream's acknowledgement."""

from __future__ import annotations

import asyncio
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

__all__ = ["PublishJetStream"]

SUCCESS = Relationship("success", "FlowFiles whose messages a stream has stored and acknowledged.")
FAILURE = Relationship(
    "failure", "FlowFiles whose messages no stream acknowledged (no stream for the subject, another stream than "
               "the expected one, a bad subject, a timeout).")

SUBJECT = PropertySpec(
    key="subject",
    display_name="Subject",
    description="The subject each message is published to; a stream must capture it.",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
EXPECTED_STREAM = PropertySpec(
    key="expected-stream",
    display_name="Expected Stream",
    description="When set, the message is stored only if this stream captures the subject (else failure).",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
MESSAGE_ID = PropertySpec(
    key="message-id",
    display_name="Message ID",
    description="When set, sent as the Nats-Msg-Id header: the stream stores a message with an id it has seen "
                "within its duplicate window only once (so a retried FlowFile is not stored twice).",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
BATCH_SIZE = PropertySpec(
    key="batch-size",
    display_name="Batch Size",
    description="The most FlowFiles published (concurrently) in one trigger.",
    required=True,
    default="100",
    validator=validators.POSITIVE_INTEGER,
)


class PublishJetStream(common.NatsClientProcessor):
    """Publishes the content of each FlowFile as one message to the evaluated
    Subject and waits for the acknowledgement of the JetStream stream that
    captures it: a FlowFile goes to ``success`` only once the stream has
    stored its message, with ``nats.stream`` and ``nats.sequence`` (and
    ``nats.duplicate`` = true when the stream had already stored a message
    with the same Message ID). Without an acknowledgement within Connection
    Timeout — no stream captures the subject, the Expected Stream differs, the
    server is away — the FlowFile goes to ``failure``, penalized, with the
    reason in ``nats.error``; a retry may store the message twice unless a
    Message ID lets the stream drop the duplicate.

    The messages of a batch are published concurrently and acknowledged each
    on its own. Attributes matching Attributes to Send as Headers become
    message headers. The nats-py client runs on an asyncio loop in a thread of
    its own owned by the processor (see ``_nats_common``); it connects on the
    first trigger (again after a lost connection) and is closed when the
    processor stops.

    Not a NiFi processor (NiFi has no NATS processors); flowyard's own.
    """

    spec = ProcessorSpec(
        description="Publishes the content of FlowFiles as messages to a NATS JetStream stream; success only "
                    "once the stream acknowledges.",
        tags=("nats", "jetstream", "publish", "put", "send", "messaging", "stream"),
        properties=(*common.CONNECTION_PROPERTIES, SUBJECT, EXPECTED_STREAM, MESSAGE_ID,
                    common.ATTRIBUTES_AS_HEADERS, BATCH_SIZE),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("nats.stream", "The stream that stored the message."),
            ("nats.sequence", "The message's sequence number in the stream."),
            ("nats.duplicate", "true when the stream had already stored a message with this Message ID."),
            ("nats.error", "Why the message was not stored (failure only)."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        flowfiles = session.get_batch(context.property(BATCH_SIZE).as_int())
        if not flowfiles:
            return
        headers_property = context.property(common.ATTRIBUTES_AS_HEADERS)
        pattern = headers_property.as_regex() if headers_property.is_set else None
        items = []
        for ff in flowfiles:
            try:
                subject = context.property(SUBJECT).evaluate(ff.attributes).value or ""
                message_id = context.property(MESSAGE_ID).evaluate(ff.attributes).value
                stream = context.property(EXPECTED_STREAM).evaluate(ff.attributes).value or None
            except ValueError as exc:  # an expression failed for this flowfile
                self._fail(context, session, ff, f"a property cannot be evaluated: {exc}")
                continue
            if not common.valid_subject(subject):
                self._fail(context, session, ff, f"'{subject}' is not a subject that can be published to")
                continue
            headers = common.headers_for(ff.attributes, pattern) or {}
            if message_id:
                headers["Nats-Msg-Id"] = message_id
            items.append((ff, subject, session.read_bytes(ff), headers or None, stream))
        if not items:
            return
        try:
            connection = self._open(context)
            outcomes = connection.call(
                _publish(connection, [(s, p, h, st) for _, s, p, h, st in items]), connection.timeout * 2)
        except Exception as exc:  # nats-py raises its own errors, OSError and timeouts
            self._close()
            for ff, *_ in items:
                self._fail(context, session, ff, str(exc) or repr(exc))
            context.yield_()
            return
        server = (context.property(common.SERVERS).evaluate().value or "").split(",")[0].strip().rstrip("/")
        for (ff, subject, _, _, _), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._fail(context, session, ff, f"{type(outcome).__name__}: {outcome}")
                continue
            ff = session.put_attributes(ff, {
                "nats.stream": outcome.stream,
                "nats.sequence": str(outcome.seq),
                "nats.duplicate": "true" if outcome.duplicate else "false",
            })
            session.provenance.send(ff, f"{server}/{subject}", f"stored in stream {outcome.stream} "
                                                               f"as message {outcome.seq}")
            session.transfer(ff, SUCCESS)

    @staticmethod
    def _fail(context: ProcessContext, session: ProcessSession, ff: Any, reason: str) -> None:
        context.logger.error(f"Cannot publish {ff} to JetStream: {reason}; routing to failure")
        session.transfer(session.penalize(session.put_attribute(ff, "nats.error", reason)), FAILURE)


async def _publish(connection: common.NatsConnection,
                   items: list[tuple[str, bytes, dict[str, str] | None, str | None]]) -> list[Any]:
    """Publish every message concurrently; each its PubAck or the exception."""
    js = connection.client.jetstream()
    return await asyncio.gather(
        *(js.publish(subject, payload, timeout=connection.timeout, stream=stream, headers=headers)
          for subject, payload, headers, stream in items),
        return_exceptions=True)
