"""The record model shared by the record readers, writers and processors (private).

Pure Python, no I/O. A record is a plain ``dict`` (field name → value, in the
schema's order); its shape is a ``RecordSchema`` of ``RecordField`` s, each
with a ``DataType`` of one of NiFi's ``RecordFieldType`` s. Values are Python
objects: ``str``, ``bool``, ``int``, ``float``, ``decimal.Decimal``,
``datetime.date`` / ``time`` / ``datetime``, ``uuid.UUID``, ``dict`` (a
nested record or a map), ``list`` (an array), ``bytes`` (an array of byte).

- ``infer_type`` / ``SchemaInference`` infer a schema from values, as NiFi's
  schema inference does.
- ``coerce`` converts a value to a data type with NiFi's ``DataTypeUtils``
  rules (``IllegalTypeConversion`` when it cannot).
- ``to_avro_schema`` / ``from_avro_schema`` translate to and from Avro.
- ``JavaDateFormat`` parses and formats dates with Java patterns.
"""

from flowyard.processors._records._avro import from_avro_schema, parse_avro_schema_text, to_avro_schema
from flowyard.processors._records._coerce import (
    IllegalTypeConversion,
    TimeFormats,
    coerce,
    coerce_or_keep,
    coerce_record,
    to_text,
)
from flowyard.processors._records._infer import SchemaInference, infer_text_type, infer_type, merge_types
from flowyard.processors._records._types import DataType, Record, RecordField, RecordFieldType, RecordSchema
from flowyard.runtime.sdk.javatime import JavaDateFormat

__all__ = [
    "DataType",
    "IllegalTypeConversion",
    "JavaDateFormat",
    "Record",
    "RecordField",
    "RecordFieldType",
    "RecordSchema",
    "SchemaInference",
    "TimeFormats",
    "coerce",
    "coerce_or_keep",
    "coerce_record",
    "from_avro_schema",
    "infer_text_type",
    "infer_type",
    "merge_types",
    "parse_avro_schema_text",
    "to_avro_schema",
    "to_text",
]
