"""The records family of the standard library. Records (issue 13): the record type system, reader and writer services,
ConvertRecord and the other record processors.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.avro_record_services import AvroReader, AvroRecordSetWriter
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.parquet_record_services import ParquetReader, ParquetRecordSetWriter
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (ConvertRecord,)
SERVICES: tuple[type[ControllerService], ...] = (
    CSVReader, CSVRecordSetWriter, JsonTreeReader, JsonRecordSetWriter, AvroReader, AvroRecordSetWriter,
    ParquetReader, ParquetRecordSetWriter,
)
