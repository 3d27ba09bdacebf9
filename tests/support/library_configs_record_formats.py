"""Library configurations (see ``library_configs``) of the record formats family."""

from __future__ import annotations

from library_configs import LibraryConfig, ServiceSetup

__all__ = ["CONFIGS", "LibraryConfig", "ServiceSetup"]

_PERSON = ('{"type": "record", "name": "person", "fields": [{"name": "id", "type": ["null", "long"]}, '
           '{"name": "name", "type": ["null", "string"]}]}')
_REGISTRY = ServiceSetup("registry", "AvroSchemaRegistry", {"person": _PERSON})
_CONVERT = {"record-reader": "reader", "record-writer": "writer"}

CONFIGS: tuple[LibraryConfig, ...] = (
    LibraryConfig("ConvertRecord", _CONVERT, variant="json-by-schema-name", services=(
        _REGISTRY,
        ServiceSetup("reader", "JsonTreeReader", {"schema-access-strategy": "schema-name",
                                                  "schema-registry": "registry", "schema-name": "person"}),
        ServiceSetup("writer", "CSVRecordSetWriter", {"schema-write-strategy": "schema-name"}))),
    LibraryConfig("ConvertRecord", _CONVERT, variant="xml-to-json", services=(
        ServiceSetup("reader", "XMLReader", {"record_format": "true", "attribute_prefix": "@",
                                             "content_field_name": "text"}),
        ServiceSetup("writer", "JsonRecordSetWriter"))),
    LibraryConfig("ConvertRecord", _CONVERT, variant="json-to-xml", services=(
        ServiceSetup("reader", "JsonTreeReader"),
        ServiceSetup("writer", "XMLRecordSetWriter", {"root_tag_name": "root", "record_tag_name": "record",
                                                      "array_wrapping": "use-property-for-elements",
                                                      "array_tag_name": "item"}))),
    LibraryConfig("ConvertRecord", _CONVERT, variant="xml-by-attribute-to-xml", services=(
        ServiceSetup("reader", "XMLReader", {"record_format": "${xml.stream.is.array}"}),
        ServiceSetup("writer", "XMLRecordSetWriter", {"root_tag_name": "root", "record_tag_name": "record",
                                                      "pretty_print_xml": "true"}))),
    LibraryConfig("ConvertRecord", _CONVERT, variant="json-path-to-csv", services=(
        ServiceSetup("reader", "JsonPathReader", {"id": "$.id", "names": "$..name", "first": "$[0]",
                                                  "cheap": "$.items[?(@.price < 10)].sku"}),
        ServiceSetup("writer", "CSVRecordSetWriter"))),
    LibraryConfig("ConvertRecord", _CONVERT, variant="json-path-by-schema-name", services=(
        _REGISTRY,
        ServiceSetup("reader", "JsonPathReader", {"schema-access-strategy": "schema-name",
                                                  "schema-registry": "registry", "schema-name": "person",
                                                  "id": "$.id", "name": "$.name"}),
        ServiceSetup("writer", "JsonRecordSetWriter"))),
    LibraryConfig("ConvertRecord", _CONVERT, variant="csv-to-freeform", services=(
        ServiceSetup("reader", "CSVReader"),
        ServiceSetup("writer", "FreeFormTextRecordSetWriter", {"Text": "${filename}: ${id} ${name:toUpper()}"}))),
)
