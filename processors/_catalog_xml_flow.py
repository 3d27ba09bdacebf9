"""The xml and flow family of the standard library. XML and flow control: EvaluateXPath, SplitXml, TransformXml,
DistributeLoad, Wait, Notify, MonitorActivity, EnforceOrder.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.distribute_load import DistributeLoad
from flowyard.processors.enforce_order import EnforceOrder
from flowyard.processors.evaluate_xpath import EvaluateXPath
from flowyard.processors.monitor_activity import MonitorActivity
from flowyard.processors.notify import Notify
from flowyard.processors.split_xml import SplitXml
from flowyard.processors.transform_xml import TransformXml
from flowyard.processors.wait import Wait
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (EvaluateXPath, SplitXml, TransformXml, DistributeLoad, Wait, Notify,
                                              MonitorActivity, EnforceOrder)
SERVICES: tuple[type[ControllerService], ...] = ()
