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
)
