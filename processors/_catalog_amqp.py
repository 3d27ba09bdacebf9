"""The amqp family of the standard library. AMQP (issue 13): ConsumeAMQP and PublishAMQP.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.consume_amqp import ConsumeAMQP
from flowyard.processors.publish_amqp import PublishAMQP
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (ConsumeAMQP, PublishAMQP)
SERVICES: tuple[type[ControllerService], ...] = ()
