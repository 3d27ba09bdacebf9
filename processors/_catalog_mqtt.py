"""The mqtt family of the standard library. MQTT (issue 13): ConsumeMQTT and PublishMQTT.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.consume_mqtt import ConsumeMQTT
from flowyard.processors.publish_mqtt import PublishMQTT
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (ConsumeMQTT, PublishMQTT)
SERVICES: tuple[type[ControllerService], ...] = ()
