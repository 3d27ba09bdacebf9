"""PublishMQTT: publish each FlowFile's content to an MQTT broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from flowyard.processors import _mqtt_common as common
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

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

__all__ = ["PublishMQTT"]

SUCCESS = Relationship("success", "FlowFiles whose messages the broker has acknowledged.")
FAILURE = Relationship("failure", "FlowFiles that could not be published, or whose publishing was not acknowledged.")

TOPIC = PropertySpec(
    key="topic",
    display_name="Topic",
    description="The topic the message is published to.",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
RETAIN = PropertySpec(
    key="retain-message",
    display_name="Retain Message",
    description="Whether the broker keeps the message as the topic's retained message (true or false).",
    required=True,
    validator=validators.BOOLEAN,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
QOS = PropertySpec(
    key="quality-of-service",
    display_name="Quality of Service",
    description=(
        "The quality of service of the message: 0 (at most once), 1 (at least once) or 2 (exactly once)."
    ),
    required=True,
    validator=validators.one_of_values(("0", "1", "2")),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("Quality of Service(QoS)",),
)
DEMARCATOR = replace(
    common.MESSAGE_DEMARCATOR,
    description=(
        "Text (UTF-8) that separates several messages in one FlowFile's content: each piece is published as a message "
        "of its own. Unset, the whole content is one message."
    ),
)

_BATCH = 100


class PublishMQTT(Processor):
    """Publishes the content of each FlowFile as one MQTT message (or, with a
    Message Demarcator, each piece of the content as a message) to the Topic,
    with the Quality of Service and Retain Message evaluated against the
    FlowFile's attributes.

    A FlowFile goes to success only once the broker has acknowledged every
    one of its messages: PUBACK for QoS 1, PUBCOMP for QoS 2, and for QoS 0
    once the message is written to the connection. It goes to failure,
    penalized, when a value is invalid (a QoS other than 0/1/2, a Retain
    Message other than true/false, an empty topic) or when the broker does
    not acknowledge within the Connection Timeout; a FlowFile whose messages
    are partly acknowledged may be published again from failure (at least
    once). When no broker accepts the connection (refused, unreachable,
    bad credentials) the FlowFiles go to failure, penalized, with the reason
    in the log, and the processor yields. The connection is opened at the
    first FlowFile, kept, reopened after a failure, and closed when the
    processor stops. Each published FlowFile gets a SEND event whose transit
    URI is the broker URI and the topic.

    Differences from NiFi: record-based publishing (Record Reader and Record
    Writer) is not supported yet: setting either leaves the processor
    invalid. Broker URIs are tcp:// or ssl:// (no ws:// or wss://); v3 AUTO
    speaks MQTT 3.1.1 without falling back to 3.1.
    """

    spec = ProcessorSpec(
        description=(
            "Publishes FlowFile content as messages to an MQTT broker and waits for the broker's acknowledgement."
        ),
        tags=("publish", "mqtt", "iot", "message", "broker", "egress"),
        properties=(*common.CONNECTION_PROPERTIES, TOPIC, RETAIN, QOS, common.RECORD_READER, common.RECORD_WRITER,
                    DEMARCATOR, *common.LAST_WILL_PROPERTIES),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None
        self._broker: common.Broker | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Record services unsupported; a password needs a user name."""
        return common.validate_common(context)

    def on_stopped(self, context: ProcessContext) -> None:
        """Close the connection."""
        with self._lock:
            self._disconnect()

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        common.close(client)

    def _connection(self, context: ProcessContext) -> tuple[mqtt.Client, common.Broker]:
        if self._client is not None and not self._client.is_connected():
            self._disconnect()
        if self._client is None:
            self._client, self._broker = common.connect(context)
        assert self._broker is not None
        return self._client, self._broker

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        flowfiles = session.get_batch(_BATCH)
        if not flowfiles:
            return
        with self._lock:
            try:
                client, broker = self._connection(context)
            except (common.ConnectionFailed, PropertyValueError, ValueError) as exc:
                for ff in flowfiles:
                    context.logger.error(f"Cannot connect to the MQTT broker, routing {ff} to failure: {exc}")
                    session.transfer(session.penalize(ff), FAILURE)
                context.yield_()
                return
            self._publish_all(context, session, client, broker, flowfiles)

    def _publish_all(self, context: ProcessContext, session: ProcessSession, client: mqtt.Client,
                     broker: common.Broker, flowfiles: list[FlowFile]) -> None:
        import paho.mqtt.client as mqtt
        timeout = float(context.property(common.CONNECTION_TIMEOUT).as_int())
        demarcator = (context.property(DEMARCATOR).evaluate(None).as_str().encode()
                      if context.property(DEMARCATOR).is_set else b"")
        pending: list[tuple[FlowFile, str, list[mqtt.MQTTMessageInfo]]] = []
        broken = False
        for ff in flowfiles:
            try:
                topic = context.property(TOPIC).evaluate(ff.attributes).as_str()
                qos_text = context.property(QOS).evaluate(ff.attributes).as_str().strip()
                retain = context.property(RETAIN).evaluate(ff.attributes).as_bool()
                if qos_text not in ("0", "1", "2"):
                    raise ValueError(f"Quality of Service {qos_text!r} is not 0, 1 or 2")
                if not topic or "+" in topic or "#" in topic:
                    raise ValueError(f"topic {topic!r} is empty or has a wildcard")
            except Exception as exc:  # a bad value fails this FlowFile only
                context.logger.error(f"Cannot publish {ff}: {exc}; routing to failure")
                session.transfer(session.penalize(ff), FAILURE)
                continue
            content = session.read_bytes(ff)
            payloads = [p for p in content.split(demarcator) if p] if demarcator else [content]
            infos = []
            try:
                for payload in payloads:
                    info = client.publish(topic, payload, qos=int(qos_text), retain=retain)
                    infos.append(info)
                    if info.rc != mqtt.MQTT_ERR_SUCCESS:
                        raise ConnectionError(mqtt.error_string(info.rc))
            except (ConnectionError, ValueError, RuntimeError) as exc:
                context.logger.error(f"Cannot publish {ff} to {topic!r}: {exc}; routing to failure")
                session.transfer(session.penalize(ff), FAILURE)
                broken = True
                continue
            pending.append((ff, topic, infos))
        deadline = time.monotonic() + timeout
        for ff, topic, infos in pending:
            unacknowledged = 0
            for info in infos:
                try:
                    if not info.is_published():
                        info.wait_for_publish(max(0.0, deadline - time.monotonic()))
                except (RuntimeError, ValueError):
                    pass
                if not info.is_published():
                    unacknowledged += 1
            if unacknowledged:
                context.logger.error(f"The broker did not acknowledge {unacknowledged} of {len(infos)} message(s) "
                                     f"of {ff} on {topic!r} within {timeout:g} s; routing to failure")
                session.transfer(session.penalize(ff), FAILURE)
                broken = True
                continue
            session.provenance.send(ff, f"{broker.uri.rstrip('/')}/{topic}")
            session.transfer(ff, SUCCESS)
        if broken:
            # The connection may be dead or wedged: open a fresh one for the next FlowFiles.
            self._disconnect()
            context.yield_()
