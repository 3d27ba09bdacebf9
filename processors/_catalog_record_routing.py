"""The record routing family of the standard library. Record routing processors (issue 13):
QueryRecord, SplitRecord, MergeRecord, ValidateRecord, SampleRecord.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.merge_record import MergeRecord
from flowyard.processors.query_record import QueryRecord
from flowyard.processors.sample_record import SampleRecord
from flowyard.processors.split_record import SplitRecord
from flowyard.processors.validate_record import ValidateRecord
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (QueryRecord, SplitRecord, ValidateRecord, MergeRecord, SampleRecord)
SERVICES: tuple[type[ControllerService], ...] = ()
