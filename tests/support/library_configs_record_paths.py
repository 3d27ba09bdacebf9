"""Library configurations (see ``library_configs``) of the record paths family."""

from __future__ import annotations

from library_configs import LibraryConfig, ServiceSetup

__all__ = ["CONFIGS", "LibraryConfig", "ServiceSetup"]

_JSON = (ServiceSetup("reader", "JsonTreeReader"), ServiceSetup("writer", "JsonRecordSetWriter"))
_CSV_TO_JSON = (ServiceSetup("reader", "CSVReader"), ServiceSetup("writer", "JsonRecordSetWriter"))
_RW = {"record-reader": "reader", "record-writer": "writer"}

CONFIGS: tuple[LibraryConfig, ...] = (
    LibraryConfig("UpdateRecord", {**_RW, "/name": "${field.value:toUpper()}", "/added": "x"}, services=_JSON,
                  expression="/added"),
    LibraryConfig("UpdateRecord", {**_RW, "replacement-value-strategy": "record-path-value", "/copy": "/*[0]"},
                  variant="record-path-value", services=_CSV_TO_JSON),
    LibraryConfig("PartitionRecord", {**_RW, "first": "/*[0]"}, services=_CSV_TO_JSON),
    LibraryConfig("PartitionRecord", {**_RW, "a": "/a", "deep": "//b"}, variant="json", services=_JSON),
)
