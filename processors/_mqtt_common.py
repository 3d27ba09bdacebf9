"""What ConsumeMQTT and PublishMQTT share: NiFi's connection properties and a
paho-mqtt 2.x client opened from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flowyard.processors._common import boolean_property
from flowyard.processors.ssl_context_service import SSL_CONTEXT_SERVICE
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    ProcessContext,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
    validators,
)

if TYPE_CHECKING:
    from flowyard.processors._mqtt_client import close, connect

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


class ConnectionFailed(Exception):
    """No broker of the Broker URI accepted the connection."""


def __getattr__(name: str) -> Any:
    # The paho-mqtt client (``_mqtt_client``) loads when a processor first connects,
    # not when the catalogue lists ConsumeMQTT and PublishMQTT.
    if name in ("AckAfterCommitClient", "close", "connect"):
        from flowyard.processors import _mqtt_client

        return getattr(_mqtt_client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
