"""The paho-mqtt 2.x client that ConsumeMQTT and PublishMQTT open from the
connection properties of ``_mqtt_common`` (which hands out ``connect`` and
``close`` from here, loading paho only when a processor first connects)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from flowyard.processors._mqtt_common import (
    BROKER_URI,
    CLIENT_ID,
    CONNECTION_TIMEOUT,
    KEEP_ALIVE,
    LAST_WILL_MESSAGE,
    LAST_WILL_QOS,
    LAST_WILL_RETAIN,
    LAST_WILL_TOPIC,
    MQTT_VERSION,
    PASSWORD,
    SESSION_EXPIRY,
    SESSION_STATE,
    SSL_CONTEXT,
    USERNAME,
    Broker,
    ConnectionFailed,
    parse_brokers,
)
from flowyard.processors.ssl_context_service import SSLContextService
from flowyard.runtime.sdk import ProcessContext

__all__ = ["AckAfterCommitClient", "close", "connect"]

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
