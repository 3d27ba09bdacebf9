"""PublishAMQP: publish each FlowFile's content as one message to an AMQP 0.9.1 exchange (RabbitMQ)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowyard.processors._amqp_common import AMQP_ATTRIBUTES, COMMON_PROPERTIES, describe, open_connection
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationError,
    ExpressionScope,
    FlowFile,
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
from flowyard.runtime.sdk.javaregex import JavaRegexError, compile_java, java_regex_problem

if TYPE_CHECKING:
    import pika

__all__ = ["PublishAMQP", "parse_headers"]

_BATCH = 50
AT_MOST_ONCE = "AT_MOST_ONCE"
AT_LEAST_ONCE = "AT_LEAST_ONCE"
FROM_ATTRIBUTES = "FLOWFILE_ATTRIBUTES"
FROM_HEADERS_ATTRIBUTE = "AMQP_HEADERS_ATTRIBUTE"

SUCCESS = Relationship("success", "FlowFiles whose message the broker took (and confirmed, with At least once).")
FAILURE = Relationship("failure", "FlowFiles whose message could not be published, or was unroutable or refused; "
                                  "penalized, except when too large.")

SINGLE_CHAR = validators.Validator(
    "single character", "exactly one character",
    lambda v: None if len(v) == 1 else f"'{v}' is not exactly one character",
)
JAVA_REGEX = validators.Validator("Java regex", "a Java regular expression", java_regex_problem)

EXCHANGE = PropertySpec(
    key="exchange-name", display_name="Exchange Name",
    description="The exchange the message is published to; empty means the default exchange, which delivers to "
                "the queue named by the routing key.",
    required=True, default="", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
ROUTING_KEY = PropertySpec(
    key="routing-key", display_name="Routing Key",
    description="The routing key of the message (with the default exchange: the name of the target queue).",
    required=True, validator=validators.NON_EMPTY, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
DELIVERY_GUARANTEE = PropertySpec(
    key="delivery-guarantee", display_name="Delivery Guarantee",
    description="Whether success waits for the broker's publisher confirm.",
    required=True, default=AT_MOST_ONCE,
    allowed_values=(
        AllowableValue(AT_MOST_ONCE, "At most once",
                       "Send without waiting for the broker; an unroutable message is only logged and the FlowFile "
                       "still goes to success."),
        AllowableValue(AT_LEAST_ONCE, "At least once",
                       "Publisher confirms: a FlowFile goes to success only once the broker confirmed the message; "
                       "unroutable (no bound queue) or refused messages go to failure."),
    ),
)
MAX_SIZE = PropertySpec(
    key="maximum-input-flowfile-size", display_name="Maximum Input FlowFile Size",
    description="Larger FlowFiles are not read (the whole content becomes one message in memory) and go to failure.",
    required=True, default="128 MB", validator=validators.DATA_SIZE, expression_scope=ExpressionScope.ENVIRONMENT,
)
HEADERS_SOURCE = PropertySpec(
    key="headers-source", display_name="Headers Source",
    description="Where the message headers come from.",
    required=True, default=FROM_HEADERS_ATTRIBUTE,
    allowed_values=(
        AllowableValue(FROM_ATTRIBUTES, "FlowFile Attributes",
                       "Every attribute whose name matches Headers Pattern becomes a header."),
        AllowableValue(FROM_HEADERS_ATTRIBUTE, "AMQP Headers Attribute",
                       "The amqp$headers attribute, key=value pairs split by Header Separator."),
    ),
)
HEADERS_PATTERN = PropertySpec(
    key="headers-pattern", display_name="Headers Pattern",
    description="A Java regular expression; attributes whose whole name matches become headers of that name.",
    required=True, validator=JAVA_REGEX, expression_scope=ExpressionScope.ENVIRONMENT,
    dependencies=(PropertyDependency("headers-source", (FROM_ATTRIBUTES,)),),
)
HEADER_SEPARATOR = PropertySpec(
    key="header-separator", display_name="Header Separator",
    description="The one character between the key=value pairs of amqp$headers.",
    default=",", validator=SINGLE_CHAR, aliases=("header.separator",),
    dependencies=(PropertyDependency("headers-source", (FROM_HEADERS_ATTRIBUTE,)),),
)


_READS = (
    *((name, "Sets the message property of that name.") for name, _ in AMQP_ATTRIBUTES[:3]),
    ("amqp$headers", "The message headers, key=value pairs split by Header Separator."),
    *((name, "Sets the message property of that name (amqp$timestamp in milliseconds since the epoch).")
      for name, _ in AMQP_ATTRIBUTES[3:]),
)


def parse_headers(text: str, separator: str, warn: Any = None) -> dict[str, str | None]:
    """NiFi's reading of ``amqp$headers``: pairs split on ``separator``; ``key=value`` (both trimmed), a bare
    ``key`` has no value; an entry with more than one ``=`` or an empty key is skipped (``warn`` is told)."""
    headers: dict[str, str | None] = {}
    for entry in text.split(separator):
        parts = entry.split("=")
        if len(parts) > 2:
            if warn:
                warn(f"Malformed key value pair in AMQP header property ({text}): {entry}")
            continue
        key = parts[0].strip()
        if not key:
            if warn:
                warn(f"Skipping AMQP header with empty key in property ({text}): {entry}")
            continue
        headers[key] = parts[1].strip() if len(parts) == 2 else None
    return headers


class PublishAMQP(Processor):
    """Publishes each FlowFile's content as one AMQP 0.9.1 message (RabbitMQ, through pika).

    The message properties come from the ``amqp$...`` attributes (those ConsumeAMQP writes), so a
    consumed message can be republished unchanged: ``amqp$deliveryMode`` and ``amqp$priority`` are
    integers, ``amqp$timestamp`` is milliseconds since the epoch (AMQP carries whole seconds); a value
    that cannot be converted is logged and left out. The headers come from ``amqp$headers``
    (``k1=v1,k2=v2``) or, with Headers Source *FlowFile Attributes*, from the attributes whose name
    matches Headers Pattern.

    With Delivery Guarantee *At least once* the channel is in confirm mode and messages are published
    as mandatory: a FlowFile goes to ``success`` only after the broker confirmed its message; an
    unroutable message (returned by the broker), a negative confirm or a lost connection sends it to
    ``failure``, penalized. With *At most once* (NiFi's default) a FlowFile goes to ``success`` once
    the message is written to the socket; an unroutable message is only logged.

    When the broker cannot be reached the FlowFile goes to ``failure`` penalized and the processor
    yields; the next trigger connects again. The connection is opened at the first trigger and
    closed when the processor stops.

    Differences from NiFi:

    - A broker that cannot be reached sends the FlowFile at hand to ``failure`` (penalized; the others
      taken go back to the queue) and yields, instead of rolling the session back: its retry then
      follows the flow's failure path, as for every other publish failure. A failing Exchange Name or
      Routing Key expression also sends the FlowFile to ``failure``.
    - Headers Pattern is a Java regular expression translated to Python's ``re`` (see
      ``flowyard.runtime.sdk.javaregex``); class intersection ``&&`` is not supported.
    - Up to 50 FlowFiles are published per trigger.
    - Client Certificate Authentication logs in with SASL EXTERNAL using the SSL Context Service's
      key; the broker must have the rabbitmq_auth_mechanism_ssl plugin enabled.
    """

    spec = ProcessorSpec(
        description="Publishes the content of each FlowFile as a message to an AMQP 0.9.1 exchange (RabbitMQ), "
                    "with message properties and headers from the FlowFile's attributes and, optionally, "
                    "publisher confirms.",
        tags=("amqp", "rabbit", "rabbitmq", "message", "send", "publish", "put"),
        properties=(EXCHANGE, ROUTING_KEY, DELIVERY_GUARANTEE, MAX_SIZE, HEADERS_SOURCE, HEADERS_PATTERN,
                    HEADER_SEPARATOR, *COMMON_PROPERTIES),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=_READS,
    )

    def __init__(self) -> None:
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._confirm = False
        self._returned: list[str] = []
        self._transit = ""
        self._max_size = 0
        self._pattern: re.Pattern[str] | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        self._confirm = context.property(DELIVERY_GUARANTEE).value == AT_LEAST_ONCE
        self._transit = describe(context)
        self._max_size = context.property(MAX_SIZE).evaluate(None).as_data_size()
        self._pattern = None
        if context.property(HEADERS_SOURCE).value == FROM_ATTRIBUTES:
            text = context.property(HEADERS_PATTERN).evaluate(None).as_str()
            try:
                self._pattern = compile_java(text).regex
            except JavaRegexError as exc:
                raise ConfigurationError(f"Headers Pattern {text!r} is not a valid regular expression: {exc}") \
                    from None

    def on_stopped(self, context: ProcessContext) -> None:
        self._close()

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # closing a broken connection: nothing left to save
                pass

    def _open(self, context: ProcessContext) -> Any:
        if self._channel is not None and self._channel.is_open and self._connection is not None \
                and self._connection.is_open:
            return self._channel
        self._close()
        self._connection = open_connection(context)
        channel = self._connection.channel()
        if self._confirm:
            channel.confirm_delivery()
        else:
            channel.add_on_return_callback(self._on_return)
        self._channel = channel
        return channel

    def _on_return(self, _channel: Any, method: Any, _props: Any, _body: bytes) -> None:
        self._returned.append(f"exchange '{method.exchange}', routing key '{method.routing_key}': "
                              f"{method.reply_code} {method.reply_text}")

    def _properties(self, context: ProcessContext, ff: FlowFile, headers_source: str,
                    separator: str, pattern: Any) -> pika.BasicProperties:
        import pika
        attributes = ff.attributes
        fields: dict[str, Any] = {}
        for name, field in AMQP_ATTRIBUTES:
            text = attributes.get(name)
            if text is None:
                continue
            try:
                if field in ("delivery_mode", "priority"):
                    number = int(text.strip())
                    if not 0 <= number <= 255:
                        raise ValueError(f"{number} is outside 0..255")
                    fields[field] = number
                elif field == "timestamp":
                    number = int(text.strip()) // 1000
                    if not 0 <= number < 1 << 63:
                        raise ValueError(f"{text} is outside the range of a timestamp")
                    fields[field] = number
                else:
                    fields[field] = text
            except ValueError:
                context.logger.warning(f"Failed to update AMQP Message Property [{name}] of {ff}: {text[:100]!r} "
                                       "is not a valid value")
        headers: dict[str, Any] = {}
        if headers_source == FROM_ATTRIBUTES:
            headers = {k: v for k, v in attributes.items() if pattern.fullmatch(k)}
        elif "amqp$headers" in attributes:
            headers = parse_headers(attributes["amqp$headers"], separator, context.logger.warning)
        fields["headers"] = headers
        return pika.BasicProperties(**fields)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        import pika
        import pika.exceptions
        flowfiles = session.get_batch(_BATCH)
        if not flowfiles:
            return
        max_size = self._max_size
        headers_source = context.property(HEADERS_SOURCE).value or FROM_HEADERS_ATTRIBUTE
        separator = context.property(HEADER_SEPARATOR).value or ","
        pattern = self._pattern
        transit = self._transit
        for index, ff in enumerate(flowfiles):
            if ff.size > max_size:
                context.logger.warning(f"{ff} of {ff.size} bytes exceeds Maximum Input FlowFile Size "
                                       f"({max_size} bytes); routing to failure")
                session.transfer(ff, FAILURE)
                continue
            attributes: Mapping[str, str] = ff.attributes
            try:
                routing_key = context.property(ROUTING_KEY).evaluate(attributes).value or ""
                exchange = context.property(EXCHANGE).evaluate(attributes).value or ""
            except Exception as exc:  # an Expression Language failure names the property and the cause
                context.logger.error(f"Cannot evaluate Exchange Name / Routing Key for {ff}: {exc}; "
                                     "routing to failure")
                session.transfer(session.penalize(ff), FAILURE)
                continue
            properties = self._properties(context, ff, headers_source, separator, pattern)
            body = session.read_bytes(ff)
            try:
                channel = self._open(context)
            except Exception as exc:  # pika raises many types (socket errors, AMQP errors, timeouts)
                context.logger.error(f"Cannot connect to the AMQP broker at {transit}: {exc!r}; "
                                     f"routing {ff} to failure")
                self._close()
                session.transfer(session.penalize(ff), FAILURE)
                for rest in flowfiles[index + 1:]:
                    session.transfer(rest)  # back to the queue: tried again after the yield
                context.yield_()
                return
            try:
                channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
                if not self._confirm:
                    self._connection.process_data_events(time_limit=0)  # type: ignore[union-attr]
            except pika.exceptions.UnroutableError:
                context.logger.error(f"Message of {ff} is unroutable: no queue bound to exchange '{exchange}' "
                                     f"with routing key '{routing_key}'; routing to failure")
                session.transfer(session.penalize(ff), FAILURE)
                continue
            except pika.exceptions.NackError:
                context.logger.error(f"The broker refused (nack) the message of {ff}; routing to failure")
                session.transfer(session.penalize(ff), FAILURE)
                continue
            except Exception as exc:  # the channel or connection is gone: its state is unknown
                context.logger.error(f"Publishing {ff} to {transit} failed: {exc!r}; routing to failure")
                self._close()
                session.transfer(session.penalize(ff), FAILURE)
                continue
            for returned in self._returned:
                context.logger.warning(f"Message returned by the broker as unroutable ({returned})")
            self._returned.clear()
            session.provenance.send(ff, f"{transit}/E:{exchange}/RK:{routing_key}")
            session.transfer(ff, SUCCESS)
