"""The record paths family of the standard library. RecordPath processors (issue 13): UpdateRecord,
PartitionRecord, LookupRecord, ForkRecord, CalculateRecordStats and the lookup services they use.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.calculate_record_stats import CalculateRecordStats
from flowyard.processors.csv_lookup_services import CSVRecordLookupService, SimpleCsvFileLookupService
from flowyard.processors.fork_record import ForkRecord
from flowyard.processors.lookup_record import LookupRecord
from flowyard.processors.lookup_services import DatabaseRecordLookupService
from flowyard.processors.partition_record import PartitionRecord
from flowyard.processors.update_record import UpdateRecord
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (
    UpdateRecord, PartitionRecord, LookupRecord, ForkRecord, CalculateRecordStats)
SERVICES: tuple[type[ControllerService], ...] = (
    SimpleCsvFileLookupService, CSVRecordLookupService, DatabaseRecordLookupService)
