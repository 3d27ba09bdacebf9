"""The record formats family of the standard library. Record formats (issue 13): AvroSchemaRegistry,
JsonPathReader, XMLReader, XMLRecordSetWriter, FreeFormTextRecordSetWriter.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.avro_schema_registry import AvroSchemaRegistry
from flowyard.processors.freeform_text_writer import FreeFormTextRecordSetWriter
from flowyard.processors.json_path_reader import JsonPathReader
from flowyard.processors.xml_record_services import XMLReader, XMLRecordSetWriter
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = ()
SERVICES: tuple[type[ControllerService], ...] = (
    AvroSchemaRegistry, XMLReader, XMLRecordSetWriter, JsonPathReader, FreeFormTextRecordSetWriter,
)
