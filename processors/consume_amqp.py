"""ConsumeAMQP: receive messages from an AMQP 0.9.1 queue (RabbitMQ), one FlowFile per message."""

from __future__ import annotations

import collections
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from flowyard.processors._amqp_common import AMQP_ATTRIBUTES, COMMON_PROPERTIES, describe, header_text, open_connection
from flowyard.processors._common import BOOLEAN_VALUES
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

if TYPE_CHECKING:
    import pika

__all__ = ["ConsumeAMQP", "effective_prefetch", "format_headers"]

_POLL_SECONDS = 0.5
_POLL_SLICE = 0.05
COMMA_SEPARATED = "Comma-Separated String"
JSON_STRING = "JSON String"
ATTRIBUTES = "FlowFile Attributes"

SUCCESS = Relationship("success", "One FlowFile per message received from the queue.")

QUEUE = PropertySpec(
    key="queue", display_name="Queue",
    description="The queue to consume from; it must exist (it is not declared).",
    required=True, validator=validators.NON_EMPTY,
)
AUTO_ACK = PropertySpec(
    key="auto-acknowledge", display_name="Auto-Acknowledge Messages",
    description="When true the broker forgets each message as soon as it is sent (at most once: messages not yet "
                "committed are lost on a crash). When false each message is acknowledged only after the FlowFile "
                "holding it is committed (at least once).",
    required=True, default="false", allowed_values=BOOLEAN_VALUES, validator=validators.BOOLEAN,
    aliases=("auto.acknowledge",),
)
BATCH_SIZE = PropertySpec(
    key="batch-size", display_name="Batch Size",
    description="The most messages received per session (each still becomes its own FlowFile).",
    required=True, default="10", validator=validators.POSITIVE_INTEGER, aliases=("batch.size",),
)
PREFETCH = PropertySpec(
    key="prefetch-count", display_name="Prefetch Count",
    description="The most messages the broker sends before they are acknowledged (basic.qos), 0 to 65535. "
                "0 lets flowyard choose a bound: twice the Batch Size, at least 100.",
    required=True, default="0", validator=validators.integer_range(0, 65535), aliases=("prefetch.count",),
)
HEADER_FORMAT = PropertySpec(
    key="header-format", display_name="Header Output Format",
    description="How the message headers are written to the FlowFile.",
    required=True, default=COMMA_SEPARATED,
    allowed_values=(
        AllowableValue(COMMA_SEPARATED, description="All headers in amqp$headers as key=value pairs joined by "
                                                    "Header Separator."),
        AllowableValue(JSON_STRING, description="All headers in amqp$headers as one JSON object (null values "
                                                "included)."),
        AllowableValue(ATTRIBUTES, description="Each header in its own attribute, named <Header Key Prefix>.<key>."),
    ),
    aliases=("header.format",),
)
HEADER_PREFIX = PropertySpec(
    key="header-key-prefix", display_name="Header Key Prefix",
    description="Prefix of the header attributes; a '.' is put between it and the header's key.",
    required=True, default="consume.amqp", validator=validators.NON_EMPTY, aliases=("header.key.prefix",),
    dependencies=(PropertyDependency("header-format", (ATTRIBUTES,)),),
)
HEADER_SEPARATOR = PropertySpec(
    key="header-separator", display_name="Header Separator",
    description="The one character between the key=value pairs of amqp$headers.",
    default=",", validator=validators.Validator(
        "single character", "exactly one character",
        lambda v: None if len(v) == 1 else f"'{v}' is not exactly one character"),
    aliases=("header.separator",),
    dependencies=(PropertyDependency("header-format", (COMMA_SEPARATED,)),),
)
REMOVE_BRACES = PropertySpec(
    key="remove-curly-braces", display_name="Remove Curly Braces",
    description="When True amqp$headers is not wrapped in { and }.",
    default="False", allowed_values=(AllowableValue("True"), AllowableValue("False")),
    validator=validators.BOOLEAN, aliases=("remove.curly.braces",),
    dependencies=(PropertyDependency("header-format", (COMMA_SEPARATED,)),),
)
MAX_BODY = PropertySpec(
    key="max-inbound-message-body-size", display_name="Max Inbound Message Body Size",
    description="A message with a larger body is not turned into a FlowFile: it is rejected without requeue (the "
                "broker dead-letters it when the queue has a dead-letter exchange) and logged.",
    required=True, default="64 MB", validator=validators.DATA_SIZE, expression_scope=ExpressionScope.ENVIRONMENT,
)


_WRITES = (
    *((name, "The message property of that name.") for name, _ in AMQP_ATTRIBUTES[:3]),
    ("amqp$headers", "The message headers (Comma-Separated String or JSON String format)."),
    ("<Header Key Prefix>.<attribute>", "One header (FlowFile Attributes format)."),
    *((name, "The message property of that name (timestamp in milliseconds since the epoch).")
      for name, _ in AMQP_ATTRIBUTES[3:]),
    ("amqp$routingKey", "The routing key the message was published with."),
    ("amqp$exchange", "The exchange the message was published to (empty for the default exchange)."),
)


def effective_prefetch(prefetch: int, batch_size: int) -> int:
    """The basic.qos bound used: Prefetch Count, or for 0 twice the batch size and at least 100."""
    return prefetch if prefetch > 0 else min(65535, max(100, 2 * batch_size))


def format_headers(headers: dict[str, Any], fmt: str, *, separator: str = ",", remove_braces: bool = False,
                   prefix: str = "consume.amqp") -> dict[str, str]:
    """The attributes that carry ``headers`` in output format ``fmt`` (NiFi's three formats)."""
    if fmt == ATTRIBUTES:
        return {f"{prefix}.{k}": header_text(v) for k, v in headers.items() if v is not None}
    if fmt == JSON_STRING:
        return {"amqp$headers": json.dumps(headers, separators=(",", ":"), ensure_ascii=False, default=header_text)}
    text = separator.join(k if v is None else f"{k}={header_text(v)}" for k, v in headers.items())
    return {"amqp$headers": text if remove_braces else "{" + text + "}"}


class ConsumeAMQP(Processor):
    """Consumes messages from an existing AMQP 0.9.1 queue (RabbitMQ, through pika); one FlowFile per message,
    up to Batch Size per session, the message properties as ``amqp$...`` attributes plus
    ``amqp$routingKey`` and ``amqp$exchange``.

    Delivery (Auto-Acknowledge false, the default): at least once. A message is acknowledged only after
    the session holding its FlowFile is durably committed, and negatively acknowledged with requeue when
    that session is rolled back (the broker then redelivers it, flagged redelivered). pika's blocking
    connection is not thread-safe and the commit callbacks run outside the worker thread, so the
    callbacks only queue the delivery tags (a thread-safe deque); the worker thread sends the
    ``basic.ack``/``basic.nack`` on the channel's own thread, one per delivery tag: at every trigger, every
    50 ms while a trigger waits (up to half a second) for messages, and at stop. Tags of a channel
    that has since been lost are dropped: the broker has already requeued those messages, which are then
    delivered again (duplicates, never loss). A crash before the ack likewise redelivers.

    Back pressure: ``basic.qos`` (Prefetch Count) bounds how many unacknowledged messages the broker
    sends; while the success connection is full the processor is not triggered, acknowledgements stop,
    and the rest of the queue stays with the broker. The connection is opened at the first trigger, with
    heartbeats off (a long back-pressure pause must not drop it), and closed at stop, which returns
    every unacknowledged message to the queue.

    Differences from NiFi:

    - Prefetch Count 0 does not mean unbounded: flowyard then uses twice the Batch Size, at least 100,
      so that memory stays bounded.
    - The message's ``type`` property is written to ``amqp$type`` (NiFi writes it over
      ``amqp$contentType``).
    - Headers keep the order the message carries them in (NiFi's order is a hash map's).
    - A body above Max Inbound Message Body Size is rejected without requeue and logged (NiFi's client
      closes the connection and the message is redelivered for ever).
    - Acknowledgements are sent by the worker thread after the commit (see above) instead of from the
      commit callback; a trigger that finds no message waits up to half a second for one before it
      yields.
    - A broker that cannot be reached is logged and the processor yields (no exception bulletin storm).
    """

    spec = ProcessorSpec(
        description="Receives messages from an AMQP 0.9.1 queue (RabbitMQ); each becomes a FlowFile with the "
                    "message's properties and headers as attributes, acknowledged only once committed.",
        tags=("amqp", "rabbit", "rabbitmq", "message", "receive", "consume", "get"),
        properties=(QUEUE, AUTO_ACK, BATCH_SIZE, PREFETCH, HEADER_FORMAT, HEADER_PREFIX, HEADER_SEPARATOR,
                    REMOVE_BRACES, MAX_BODY, *COMMON_PROPERTIES),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=_WRITES,
    )

    def __init__(self) -> None:
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._generation = 0
        self._buffer: collections.deque[tuple[Any, Any, bytes]] = collections.deque()
        # (channel generation, delivery tag, True = ack / False = nack+requeue), appended by commit callbacks.
        self._settle: collections.deque[tuple[int, int, bool]] = collections.deque()
        self._outstanding = 0
        self._lock = threading.Lock()
        self._transit = ""
        self._max_body = 0

    # -- connection ------------------------------------------------------------------

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._buffer.clear()
        with self._lock:
            self._generation += 1
            self._outstanding = 0
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # closing a broken connection: the broker requeues what was unacked
                pass

    def _open(self, context: ProcessContext) -> None:
        if self._channel is not None and self._channel.is_open and self._connection is not None \
                and self._connection.is_open:
            return
        self._close()
        connection = open_connection(context)
        try:
            channel = connection.channel()
            batch = context.property(BATCH_SIZE).as_int()
            channel.basic_qos(prefetch_count=effective_prefetch(context.property(PREFETCH).as_int(), batch))
            channel.basic_consume(context.property(QUEUE).as_str(), self._on_message,
                                  auto_ack=context.property(AUTO_ACK).as_bool())
        except BaseException:
            try:
                connection.close()
            except Exception:
                pass
            raise
        self._connection, self._channel = connection, channel

    def _on_message(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self._buffer.append((method, properties, body))

    def _settle_pending(self) -> None:
        """Send the acks/nacks the commit callbacks queued, on this (the channel's) thread."""
        while self._settle:
            generation, tag, ok = self._settle.popleft()
            with self._lock:
                current = generation == self._generation
                if current:
                    self._outstanding -= 1
            if not current or self._channel is None:
                continue  # that channel is gone: the broker has requeued the message
            if ok:
                self._channel.basic_ack(delivery_tag=tag, multiple=False)
            else:
                self._channel.basic_nack(delivery_tag=tag, multiple=False, requeue=True)

    def _callback(self, generation: int, tags: list[int], ok: bool) -> Any:
        def settle(*_args: Any) -> None:
            for tag in tags:
                self._settle.append((generation, tag, ok))
        return settle

    # -- lifecycle -------------------------------------------------------------------

    def on_scheduled(self, context: ProcessContext) -> None:
        self._transit = describe(context)
        self._max_body = context.property(MAX_BODY).evaluate(None).as_data_size()

    def on_stopped(self, context: ProcessContext) -> None:
        try:
            if self._channel is not None and self._channel.is_open:
                self._settle_pending()
        except Exception as exc:  # the broker redelivers what could not be acknowledged
            context.logger.warning(f"Could not acknowledge the last messages at stop: {exc!r}")
        finally:
            self._settle.clear()
            self._close()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        queue = context.property(QUEUE).as_str()
        transit = self._transit
        try:
            self._settle_pending()
            self._open(context)
            # Wait up to _POLL_SECONDS for a message, settling the commits that complete meanwhile (their
            # acks reopen the prefetch window), before yielding.
            deadline = time.monotonic() + _POLL_SECONDS
            while not self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._connection.process_data_events(time_limit=min(_POLL_SLICE, remaining))  # type: ignore[union-attr]
                self._settle_pending()
        except Exception as exc:  # pika raises many types (socket errors, AMQP errors, timeouts)
            context.logger.error(f"Cannot consume from queue '{queue}' at {transit}: {exc!r}")
            self._close()
            context.yield_()
            return
        if not self._buffer:
            context.yield_()
            return
        batch = context.property(BATCH_SIZE).as_int()
        auto_ack = context.property(AUTO_ACK).as_bool()
        max_body = self._max_body
        fmt = context.property(HEADER_FORMAT).value or COMMA_SEPARATED
        separator = context.property(HEADER_SEPARATOR).value or ","
        remove_braces = (context.property(REMOVE_BRACES).value or "False").lower() == "true"
        prefix = context.property(HEADER_PREFIX).value or "consume.amqp"
        tags: list[int] = []
        for _ in range(min(batch, len(self._buffer))):
            method, props, body = self._buffer.popleft()
            if len(body) > max_body:
                context.logger.error(f"Message {method.delivery_tag} of queue '{queue}' has a body of {len(body)} "
                                     f"bytes, above Max Inbound Message Body Size ({max_body}); rejected")
                if not auto_ack:
                    self._channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
                continue
            attributes: dict[str, str] = {}
            for name, field in AMQP_ATTRIBUTES:
                value = getattr(props, field, None)
                if value is None:
                    continue
                attributes[name] = str(value * 1000) if field == "timestamp" else header_text(value)
            attributes["amqp$routingKey"] = method.routing_key or ""
            attributes["amqp$exchange"] = method.exchange or ""
            if props.headers is not None:
                attributes.update(format_headers(props.headers, fmt, separator=separator,
                                                 remove_braces=remove_braces, prefix=prefix))
            ff = session.create()
            ff = session.write(ff, body)
            ff = session.put_attributes(ff, attributes)
            session.provenance.receive(ff, f"{transit}/{queue}")
            session.transfer(ff, SUCCESS)
            tags.append(method.delivery_tag)
        if tags and not auto_ack:
            with self._lock:
                generation = self._generation
                self._outstanding += len(tags)
            session.commit_async(on_success=self._callback(generation, tags, True),
                                 on_failure=self._callback(generation, tags, False))
