"""What ConsumeAMQP and PublishAMQP share: the connection properties and opening a pika connection.

The connection is a ``pika.BlockingConnection``; it is not thread-safe, so it is
only ever used from the worker thread running ``on_trigger``/``on_stopped`` (the
processors run one task at a time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowyard.processors._common import BOOLEAN_VALUES
from flowyard.processors.ssl_context_service import SSL_CONTEXT_SERVICE, SSLContextService
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationError,
    ExpressionScope,
    ProcessContext,
    PropertySpec,
    validators,
)

if TYPE_CHECKING:
    import pika

# pika logs every failed connection attempt with a full traceback at ERROR; the processors
# report the same failure themselves (a bulletin naming the broker and the reason), once.
logging.getLogger("pika").setLevel(logging.CRITICAL)

__all__ = [
    "AMQP_ATTRIBUTES",
    "BROKERS",
    "CERT_AUTH",
    "COMMON_PROPERTIES",
    "HOST",
    "PASSWORD",
    "PORT",
    "SSL_CONTEXT",
    "USERNAME",
    "VERSION",
    "VHOST",
    "describe",
    "open_connection",
]

# Message properties as flowfile attributes, in NiFi's order: (attribute, pika BasicProperties field).
AMQP_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("amqp$appId", "app_id"),
    ("amqp$contentEncoding", "content_encoding"),
    ("amqp$contentType", "content_type"),
    ("amqp$deliveryMode", "delivery_mode"),
    ("amqp$priority", "priority"),
    ("amqp$correlationId", "correlation_id"),
    ("amqp$replyTo", "reply_to"),
    ("amqp$expiration", "expiration"),
    ("amqp$messageId", "message_id"),
    ("amqp$timestamp", "timestamp"),
    ("amqp$type", "type"),
    ("amqp$userId", "user_id"),
    ("amqp$clusterId", "cluster_id"),
)


def _check_brokers(value: str) -> str | None:
    for part in value.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            return f"{part.strip()!r} is not host:port"
    return None


BROKERS_VALIDATOR = validators.Validator("brokers", "a comma-separated list of host:port", _check_brokers)

BROKERS = PropertySpec(
    key="brokers", display_name="Brokers",
    description="Comma-separated host:port pairs of the brokers, tried in order (e.g. rabbit1:5672,rabbit2:5672). "
                "When set, Host Name and Port are not used.",
    validator=BROKERS_VALIDATOR, expression_scope=ExpressionScope.ENVIRONMENT,
)
HOST = PropertySpec(
    key="host-name", display_name="Host Name", description="The broker's host, used when Brokers is not set.",
    default="localhost", validator=validators.NON_EMPTY, expression_scope=ExpressionScope.ENVIRONMENT,
)
PORT = PropertySpec(
    key="port", display_name="Port", description="The broker's AMQP port, used when Brokers is not set.",
    default="5672", validator=validators.PORT, expression_scope=ExpressionScope.ENVIRONMENT,
)
VHOST = PropertySpec(
    key="virtual-host", display_name="Virtual Host",
    description="The virtual host to open; the broker's default (/) when not set.",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
USERNAME = PropertySpec(
    key="username", display_name="Username",
    description="The user to log in as; guest when not set.",
    expression_scope=ExpressionScope.ENVIRONMENT, aliases=("User Name",),
)
PASSWORD = PropertySpec(
    key="password", display_name="Password", description="The user's password.", sensitive=True,
)
VERSION = PropertySpec(
    key="amqp-version", display_name="AMQP Version", description="The protocol version spoken.",
    required=True, default="0.9.1", allowed_values=(AllowableValue("0.9.1"),),
)
SSL_CONTEXT = PropertySpec(
    key="ssl-context-service", display_name="SSL Context Service",
    description="When set, the connection uses TLS with this service's truststore (and keystore for a client "
                "certificate).",
    identifies_controller_service=SSL_CONTEXT_SERVICE,
)
CERT_AUTH = PropertySpec(
    key="cert-authentication", display_name="Client Certificate Authentication Enabled",
    description="Log in with the client certificate of the SSL Context Service (SASL EXTERNAL) instead of user "
                "and password.",
    default="false", allowed_values=BOOLEAN_VALUES, validator=validators.BOOLEAN,
)

COMMON_PROPERTIES = (BROKERS, HOST, PORT, VHOST, USERNAME, PASSWORD, VERSION, SSL_CONTEXT, CERT_AUTH)


def _text(context: ProcessContext, spec: PropertySpec) -> str | None:
    value = context.property(spec)
    if spec.expression_scope is not ExpressionScope.NONE:
        value = value.evaluate(None)
    text = value.value
    return text if text is None else text.strip() or None


def _addresses(context: ProcessContext) -> list[tuple[str, int]]:
    brokers = _text(context, BROKERS)
    if brokers:
        out = []
        for part in brokers.split(","):
            host, _, port = part.strip().rpartition(":")
            out.append((host, int(port)))
        return out
    return [(_text(context, HOST) or "localhost", int(_text(context, PORT) or "5672"))]


def describe(context: ProcessContext) -> str:
    """``amqp://host:port/vhost`` of the first broker, for provenance transit URIs. Raises
    ``ConfigurationError`` when the broker properties do not evaluate to an address."""
    try:
        host, port = _addresses(context)[0]
        vhost = _text(context, VHOST) or "/"
    except ConfigurationError:
        raise
    except Exception as exc:  # an evaluated value that is not host:port or a port number
        raise ConfigurationError(f"the AMQP broker address is not valid: {exc}") from None
    return f"amqp://{host}:{port}/{vhost.lstrip('/')}"


def open_connection(context: ProcessContext, *, timeout: float = 5.0) -> pika.BlockingConnection:
    """A blocking connection to the first broker that answers. Raises ``pika.exceptions.AMQPError``."""
    import pika
    user = _text(context, USERNAME) or "guest"
    password = context.property(PASSWORD).value
    kwargs: dict[str, Any] = {
        "virtual_host": _text(context, VHOST) or "/",
        "socket_timeout": timeout,
        "blocked_connection_timeout": 30.0,
        "connection_attempts": 1,
        "stack_timeout": timeout * 2,
        # The worker thread only talks to the broker while triggered; with heartbeats a long
        # back-pressure pause would close the connection under held (unacknowledged) messages.
        "heartbeat": 0,
    }
    if context.property(SSL_CONTEXT).value:
        service = context.property(SSL_CONTEXT).as_controller_service(SSLContextService)
        kwargs["ssl_options"] = pika.SSLOptions(service.create_client_context())
        if (context.property(CERT_AUTH).value or "false").strip().lower() == "true":
            kwargs["credentials"] = pika.credentials.ExternalCredentials()
    if "credentials" not in kwargs:
        if password is None:
            password = "guest" if user == "guest" else ""
        kwargs["credentials"] = pika.PlainCredentials(user, password)
    params = [pika.ConnectionParameters(host=h, port=p, **kwargs) for h, p in _addresses(context)]
    return pika.BlockingConnection(params)


def header_text(value: object) -> str:
    """A header value as text, as NiFi's ``toString`` renders it (booleans lower case, bytes as UTF-8)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={header_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(header_text(v) for v in value) + "]"
    return str(value)
