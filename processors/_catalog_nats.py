"""The nats family of the standard library. NATS (issue 13): core NATS and JetStream consume and publish.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.consume_nats import ConsumeNATS
from flowyard.processors.consume_nats_jetstream import ConsumeJetStream
from flowyard.processors.publish_nats import PublishNATS
from flowyard.processors.publish_nats_jetstream import PublishJetStream
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (PublishNATS, ConsumeNATS, PublishJetStream, ConsumeJetStream)
SERVICES: tuple[type[ControllerService], ...] = ()
