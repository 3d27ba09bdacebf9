"""PublishNATS: publish each FlowFile's content to a core NATS subject."""

from __future__ import annotations

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

__all__ = ["PublishNATS"]

SUCCESS = Relationship("success", "FlowFiles whose messages the NATS server has received.")
FAILURE = Relationship("failure", "FlowFiles that could not be published (bad subject, too large, no server).")

SUBJECT = PropertySpec(
    key="subject",
    display_name="Subject",
    description="The subject each message is published to (no wildcards).",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
BATCH_SIZE = PropertySpec(
    key="batch-size",
    display_name="Batch Size",
    description="The most FlowFiles published in one trigger (and confirmed by one round trip).",
    required=True,
    default="100",
    validator=validators.POSITIVE_INTEGER,
)


class PublishNATS(common.NatsClientProcessor):
    """Publishes the content of each FlowFile as one core NATS message to the
    evaluated Subject, with the attributes matching Attributes to Send as
    Headers as message headers. A batch is confirmed by one round trip to the
    server (a FLUSH): a FlowFile goes to ``success`` only once the server has
    received its message.

    Core NATS keeps no message: a message reaches only the subscribers
    connected at that moment, and none at all when nobody listens — success
    says the server took it, not that anyone received it. Use PublishJetStream
    for messages a stream must keep. A message larger than the server's
    maximum payload, or a subject with wildcards or whitespace, goes to
    ``failure`` (penalized) with the reason in ``nats.error``; so does the
    whole batch when the server does not confirm it in Connection Timeout.

    The nats-py client runs on an asyncio loop in a thread of its own owned
    by the processor (see ``_nats_common``); it connects on the first
    trigger (again after a lost connection: that batch goes to failure) and
    is closed when the processor stops.

    Not a NiFi processor (NiFi has no NATS processors); flowyard's own.
    """

    spec = ProcessorSpec(
        description="Publishes the content of FlowFiles as messages to a core NATS subject.",
        tags=("nats", "publish", "put", "send", "messaging", "pubsub"),
        properties=(*common.CONNECTION_PROPERTIES, SUBJECT, common.ATTRIBUTES_AS_HEADERS, BATCH_SIZE),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("nats.error", "Why the message was not published (failure only)."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        flowfiles = session.get_batch(context.property(BATCH_SIZE).as_int())
        if not flowfiles:
            return
        pattern = context.property(common.ATTRIBUTES_AS_HEADERS).as_regex() \
            if context.property(common.ATTRIBUTES_AS_HEADERS).is_set else None
        items = []
        for ff in flowfiles:
            failed: str | None = None
            try:
                subject = context.property(SUBJECT).evaluate(ff.attributes).value or ""
            except ValueError as exc:  # the Subject expression failed for this flowfile
                subject, failed = "", f"Subject cannot be evaluated: {exc}"
            if failed is None and not common.valid_subject(subject):
                failed = f"'{subject}' is not a subject that can be published to"
            if failed is not None:
                reason = failed
                context.logger.error(f"Cannot publish {ff}: {reason}; routing to failure")
                session.transfer(session.penalize(session.put_attribute(ff, "nats.error", reason)), FAILURE)
                continue
            items.append((ff, subject, session.read_bytes(ff), common.headers_for(ff.attributes, pattern)))
        if not items:
            return
        try:
            connection = self._open(context)
            outcomes = connection.call(_publish(connection, [(s, p, h) for _, s, p, h in items]),
                                       connection.timeout * 2)
        except Exception as exc:  # nats-py raises its own errors, OSError and timeouts
            self._close()
            context.logger.error(f"Cannot publish to NATS: {exc!r}; routing {len(items)} FlowFiles to failure")
            for ff, _, _, _ in items:
                session.transfer(session.penalize(session.put_attribute(ff, "nats.error", str(exc) or repr(exc))),
                                 FAILURE)
            context.yield_()
            return
        server = (context.property(common.SERVERS).evaluate().value or "").split(",")[0].strip().rstrip("/")
        for (ff, subject, _, _), outcome in zip(items, outcomes, strict=True):
            if outcome is None:
                session.provenance.send(ff, f"{server}/{subject}")
                session.transfer(ff, SUCCESS)
            else:
                context.logger.error(f"Cannot publish {ff} to '{subject}': {outcome!r}; routing to failure")
                session.transfer(session.penalize(session.put_attribute(ff, "nats.error", str(outcome) or
                                                                        repr(outcome))), FAILURE)


async def _publish(connection: common.NatsConnection,
                   items: list[tuple[str, bytes, dict[str, str] | None]]) -> list[Exception | None]:
    """Publish each message (an error per message, None when sent), then one
    FLUSH so the server has received them all (raises when it does not answer)."""
    client: Any = connection.client
    outcomes: list[Exception | None] = []
    for subject, payload, headers in items:
        try:
            await client.publish(subject, payload, headers=headers)
            outcomes.append(None)
        except Exception as exc:  # a message too large, a closed connection: this message fails
            outcomes.append(exc)
    if any(o is None for o in outcomes):
        await client.flush(timeout=connection.timeout)
    return outcomes
