"""What ConsumeMQTT and PublishMQTT share: NiFi's connection properties and a
paho-mqtt 2.x client opened from them."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from flowyard.processors._common import boolean_property
from flowyard.processors.ssl_context_service import SSL_CONTEXT_SERVICE, SSLContextService
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    ProcessContext,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
    validators,
)

__all__ = [
    "BROKER_URI", "CLIENT_ID", "CONNECTION_PROPERTIES", "CONNECTION_TIMEOUT", "KEEP_ALIVE", "LAST_WILL_PROPERTIES",
    "MESSAGE_DEMARCATOR", "MQTT_VERSION", "PASSWORD", "QOS_VALUES", "RECORD_READER", "RECORD_WRITER",
    "SESSION_EXPIRY", "SESSION_STATE", "SSL_CONTEXT", "USERNAME", "Broker", "ConnectionFailed", "close", "connect",
    "parse_brokers",
    "validate_common",
]

_SCHEMES = {"tcp": False, "mqtt": False, "ssl": True, "mqtts": True}
_DEFAULT_PORTS = {False: 1883, True: 8883}


@dataclass(frozen=True, slots=True)
class Broker:
    """One broker address out of the Broker URI."""

    uri: str
    host: str
    port: int
    tls: bool


def parse_brokers(text: str) -> list[Broker]:
    """The comma-separated broker URIs; raises ``ValueError`` naming the bad one."""
    brokers = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        parts = urlsplit(part)
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(f"{part!r}: the scheme must be tcp:// or ssl:// (websockets are not supported)")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"{part!r}: {exc}") from None
        if not parts.hostname:
            raise ValueError(f"{part!r}: no host")
        tls = _SCHEMES[scheme]
        brokers.append(Broker(part, parts.hostname, port or _DEFAULT_PORTS[tls], tls))
    if not brokers:
        raise ValueError("no broker URI")
    return brokers


def _check_brokers(value: str) -> str | None:
    if "${" in value:
        return None
    try:
        parse_brokers(value)
    except ValueError as exc:
        return str(exc)
    return None


QOS_VALUES = (
    AllowableValue("0", "0 - At most once", "The broker may lose the message; it is sent once, never acknowledged."),
    AllowableValue("1", "1 - At least once", "Acknowledged delivery; a message may arrive more than once."),
    AllowableValue("2", "2 - Exactly once", "Four-step handshake so the message arrives once."),
)
_QOS_CHECK = validators.one_of_values(("0", "1", "2"))

BROKER_URI = PropertySpec(
    key="broker-uri",
    display_name="Broker URI",
    description=(
        "Where the MQTT broker listens, as tcp://host:port (or ssl://host:port for TLS). Several URIs separated by "
        "commas are tried in order until one accepts the connection."
    ),
    required=True,
    validator=validators.Validator("broker URIs", "tcp:// or ssl:// URIs separated by commas", _check_brokers),
    expression_scope=ExpressionScope.ENVIRONMENT,
)
MQTT_VERSION = PropertySpec(
    key="mqtt-version",
    display_name="MQTT Specification Version",
    description="The MQTT protocol version to speak.",
    required=True,
    default="0",
    allowed_values=(
        AllowableValue("0", "v3 AUTO", "MQTT 3.1.1 (flowyard does not fall back to 3.1)."),
        AllowableValue("5", "v5.0", "MQTT 5."),
        AllowableValue("4", "v3.1.1", "MQTT 3.1.1 only."),
        AllowableValue("3", "v3.1.0", "MQTT 3.1 only."),
    ),
)
USERNAME = PropertySpec(
    key="username",
    display_name="Username",
    description="The user name to authenticate with, if the broker asks for one.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
PASSWORD = PropertySpec(
    key="password",
    display_name="Password",
    description="The password that goes with the user name.",
    sensitive=True,
)
SSL_CONTEXT = PropertySpec(
    key="ssl-context-service",
    display_name="SSL Context Service",
    description="TLS settings for the connection; the broker URIs then use TLS (as with ssl://).",
    identifies_controller_service=SSL_CONTEXT_SERVICE,
)
SESSION_STATE = PropertySpec(
    key="session-state",
    display_name="Session State",
    description=(
        "Whether the broker forgets this client's subscriptions and pending messages when it connects (Clean "
        "Session) or keeps them across connections (Resume Session; give a fixed Client ID)."
    ),
    required=True,
    default="true",
    allowed_values=(
        AllowableValue("true", "Clean Session", "Start with a fresh session at every connection."),
        AllowableValue("false", "Resume Session", "Keep the session (subscriptions, unacknowledged messages)."),
    ),
    aliases=("Session state",),
)
SESSION_EXPIRY = PropertySpec(
    key="session-expiry-interval",
    display_name="Session Expiry Interval",
    description="With MQTT 5 and Resume Session: how long the broker keeps the session after a disconnection.",
    default="24 hrs",
    validator=validators.TIME_PERIOD,
    dependencies=(PropertyDependency(MQTT_VERSION.key, ("5",)), PropertyDependency(SESSION_STATE.key, ("false",))),
)
CLIENT_ID = PropertySpec(
    key="client-id",
    display_name="Client ID",
    description="The client identifier given to the broker; unset, a random one is made at each start.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
RECORD_READER = PropertySpec(
    key="record-reader",
    display_name="Record Reader",
    description="Reads records out of messages (not supported by flowyard yet; must be left unset).",
    identifies_controller_service="RecordReaderFactory",
    aliases=("record-reader",),
)
RECORD_WRITER = PropertySpec(
    key="record-writer",
    display_name="Record Writer",
    description="Writes the records (not supported by flowyard yet; must be left unset).",
    identifies_controller_service="RecordSetWriterFactory",
    aliases=("record-writer",),
)
MESSAGE_DEMARCATOR = PropertySpec(
    key="message-demarcator",
    display_name="Message Demarcator",
    description="",  # set per processor
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("message-demarcator",),
)
CONNECTION_TIMEOUT = PropertySpec(
    key="connection-timeout",
    display_name="Connection Timeout",
    description="How many seconds connecting to the broker may take.",
    default="30",
    validator=validators.integer_range(1, 86400),
    aliases=("Connection Timeout (seconds)",),
)
KEEP_ALIVE = PropertySpec(
    key="keep-alive",
    display_name="Keep Alive",
    description=(
        "The longest time in seconds between two packets the client sends; when idle, it sends a ping. 0 turns the "
        "keep-alive off."
    ),
    default="60",
    validator=validators.integer_range(0, 65535),
    aliases=("Keep Alive Interval (seconds)",),
)
LAST_WILL_MESSAGE = PropertySpec(
    key="last-will-message",
    display_name="Last Will Message",
    description="A message the broker publishes for this client when it goes away without disconnecting.",
)
_WITH_WILL = (PropertyDependency(LAST_WILL_MESSAGE.key),)
LAST_WILL_TOPIC = PropertySpec(
    key="last-will-topic",
    display_name="Last Will Topic",
    description="The topic the Last Will Message is published to.",
    required=True,
    validator=validators.NON_EMPTY,
    dependencies=_WITH_WILL,
)
LAST_WILL_RETAIN = boolean_property(
    "last-will-retain", "Last Will Retain", "Whether the broker retains the Last Will Message.", "false",
    dependencies=_WITH_WILL,
)
LAST_WILL_QOS = PropertySpec(
    key="last-will-qos",
    display_name="Last Will QoS Level",
    description="The quality of service of the Last Will Message.",
    required=True,
    default="0",
    allowed_values=QOS_VALUES,
    dependencies=_WITH_WILL,
)

CONNECTION_PROPERTIES = (BROKER_URI, MQTT_VERSION, USERNAME, PASSWORD, SSL_CONTEXT, SESSION_STATE, SESSION_EXPIRY,
                         CLIENT_ID)
LAST_WILL_PROPERTIES = (CONNECTION_TIMEOUT, KEEP_ALIVE, LAST_WILL_MESSAGE, LAST_WILL_TOPIC, LAST_WILL_RETAIN,
                        LAST_WILL_QOS)


def validate_common(context: ProcessContext) -> list[ValidationResult]:
    """Record services are not supported; a password needs a user name."""
    results = []
    for spec in (RECORD_READER, RECORD_WRITER):
        if context.property(spec).is_set:
            results.append(ValidationResult(spec.display_name, "record processing over MQTT is not supported by "
                                            "flowyard yet; leave it unset", spec.key))
    if context.property(PASSWORD).is_set and not context.property(USERNAME).is_set:
        results.append(ValidationResult(PASSWORD.display_name, "a password needs a Username", PASSWORD.key))
    return results


_VERSIONS = {"0": mqtt.MQTTv311, "4": mqtt.MQTTv311, "3": mqtt.MQTTv31, "5": mqtt.MQTTv5}


class AckAfterCommitClient(mqtt.Client):
    """A client whose QoS 2 messages are handed over at PUBLISH and acknowledged
    (PUBREC) only by ``ack``, like QoS 1 ones: paho's own manual acknowledgement
    sends PUBREC at once and the message is then lost if the process stops
    before the FlowFile is committed (MQTT counts it delivered). PUBREL is
    answered with PUBCOMP at once: the message is already committed then.
    This relies on paho 2.x internals (``_handle_publish``, ``_packet``)."""

    def _handle_publish(self) -> MQTTErrorCode:
        header = self._in_packet["command"]
        if (header & 0x06) >> 1 != 2:
            return super()._handle_publish()
        result = _packet.decode_publish(header, self._in_packet["packet"], self._protocol)
        message = mqtt.MQTTMessage(mid=result.mid, topic=result.topic)
        message.dup = result.dup
        message.qos = result.qos
        message.retain = result.retain
        message.properties = result.properties
        message.payload = result.payload
        message.timestamp = time.monotonic()
        self._handle_on_message(message)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_pubrel(self) -> MQTTErrorCode:
        result = _packet.decode_pubrel(self._in_packet["command"], self._in_packet["packet"], self._protocol)
        return self._send_pubcomp(result.mid)

    def ack(self, mid: int, qos: int) -> MQTTErrorCode:
        if qos == 2:
            return self._send_pubrec(mid)
        return super().ack(mid, qos)


class ConnectionFailed(Exception):
    """No broker of the Broker URI accepted the connection."""


def _connect_callback(connected: threading.Event, outcome: list[str],
                      on_connected: Callable[[mqtt.Client], None] | None) -> Callable[..., None]:
    def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, properties: object) -> None:
        if getattr(reason, "is_failure", False):
            outcome.append(str(reason))
        else:
            outcome.append("")
            if on_connected is not None:
                on_connected(client)
        connected.set()
    return on_connect


def _connect_fail_callback(connected: threading.Event, outcome: list[str]) -> Callable[..., None]:
    def on_connect_fail(client: mqtt.Client, userdata: object) -> None:
        outcome.append("connection failed")
        connected.set()
    return on_connect_fail


def connect(
    context: ProcessContext,
    *,
    manual_ack: bool = False,
    on_connected: Callable[[mqtt.Client], None] | None = None,
    on_message: Callable[[mqtt.Client, object, mqtt.MQTTMessage], None] | None = None,
    max_inflight: int = 20,
) -> tuple[mqtt.Client, Broker]:
    """A connected client with its network loop running in a paho thread.

    ``on_connected`` runs in paho's thread at every (re)connection (to
    subscribe). Raises ``ConnectionFailed`` with the broker's reason.
    """
    brokers = parse_brokers(context.property(BROKER_URI).evaluate(None).as_str())
    version = context.property(MQTT_VERSION).as_str()
    clean = context.property(SESSION_STATE).as_str() == "true"
    client_id = (context.property(CLIENT_ID).evaluate(None).as_str() if context.property(CLIENT_ID).is_set
                 else f"flowyard-{uuid.uuid4().hex}")
    timeout = float(context.property(CONNECTION_TIMEOUT).as_int())
    keepalive = context.property(KEEP_ALIVE).as_int()
    protocol = _VERSIONS[version]
    errors = []
    for broker in brokers:
        kind = AckAfterCommitClient if manual_ack else mqtt.Client
        if protocol == mqtt.MQTTv5:
            client = kind(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, manual_ack=manual_ack)
        else:
            client = kind(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
                          clean_session=clean, manual_ack=manual_ack)
        client.max_inflight_messages_set(max_inflight)
        client.connect_timeout = timeout
        if context.property(USERNAME).is_set:
            client.username_pw_set(context.property(USERNAME).evaluate(None).as_str(),
                                   context.property(PASSWORD).value)
        if context.property(SSL_CONTEXT).is_set:
            client.tls_set_context(context.property(SSL_CONTEXT).as_controller_service(SSLContextService)
                                  .create_client_context())
        elif broker.tls:
            client.tls_set()
        if context.property(LAST_WILL_MESSAGE).is_set:
            client.will_set(context.property(LAST_WILL_TOPIC).as_str(),
                            context.property(LAST_WILL_MESSAGE).as_str(),
                            qos=int(context.property(LAST_WILL_QOS).as_str()),
                            retain=context.property(LAST_WILL_RETAIN).as_bool())
        connected = threading.Event()
        outcome: list[str] = []
        client.on_connect = _connect_callback(connected, outcome, on_connected)
        client.on_connect_fail = _connect_fail_callback(connected, outcome)
        if on_message is not None:
            client.on_message = on_message
        try:
            if protocol == mqtt.MQTTv5:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                if not clean:
                    expiry = (context.property(SESSION_EXPIRY).as_duration() if context.property(SESSION_EXPIRY).is_set
                              else 86400.0)
                    props.SessionExpiryInterval = min(int(expiry), 0xFFFFFFFF)
                client.connect(broker.host, broker.port, keepalive=keepalive, clean_start=clean, properties=props)
            else:
                client.connect(broker.host, broker.port, keepalive=keepalive)
        except (OSError, ValueError) as exc:
            errors.append(f"{broker.uri}: {exc}")
            continue
        client.loop_start()
        if not connected.wait(timeout) or outcome[0]:
            reason = outcome[0] if outcome else "no CONNACK in time"
            client.disconnect()
            client.loop_stop()
            errors.append(f"{broker.uri}: {reason}")
            continue
        return client, broker
    raise ConnectionFailed("; ".join(errors))


def close(client: mqtt.Client | None) -> None:
    """Disconnect and stop the network thread."""
    if client is None:
        return
    try:
        client.disconnect()
    finally:
        client.loop_stop()
