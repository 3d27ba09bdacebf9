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
    LibraryConfig("PartitionRecord", {**_RW, "first": "/*[0]"}, services=_CSV_TO_JSON, expression="first"),
    LibraryConfig("PartitionRecord", {**_RW, "a": "/a", "deep": "//b"}, variant="json", services=_JSON),
    LibraryConfig("LookupRecord", {**_RW, "lookup-service": "lookup", "key": "/*[0]", "result-record-path": "/found",
                                   "routing-strategy": "route-to-matched-unmatched"},
                  services=(*_CSV_TO_JSON, ServiceSetup("lookup", "SimpleKeyValueLookupService", {"a": "A"})),
                  expression="result-record-path"),
    LibraryConfig("LookupRecord", {**_RW, "lookup-service": "lookup", "key": "/*[0]", "result-record-path": "/found"},
                  variant="csv-record-lookup", files={"lookup.csv": b"id,name\na,Ann\n1,One\n"},
                  services=(*_CSV_TO_JSON, ServiceSetup("lookup", "CSVRecordLookupService", {
                      "csv-file": "{tmp}/lookup.csv", "lookup-key-column": "id"}))),
    LibraryConfig("LookupRecord", {**_RW, "lookup-service": "lookup", "key": "/*[0]", "result-record-path": "/found"},
                  variant="simple-csv-lookup", files={"lookup.csv": b"id,name\na,Ann\n"},
                  services=(*_CSV_TO_JSON, ServiceSetup("lookup", "SimpleCsvFileLookupService", {
                      "csv-file": "{tmp}/lookup.csv", "lookup-key-column": "id", "lookup-value-column": "name"}))),
    LibraryConfig("LookupRecord", {**_RW, "lookup-service": "lookup", "key": "//a", "result-record-path": "/found",
                                   "root-record-path": "/*"}, variant="root-record-path",
                  services=(*_JSON, ServiceSetup("lookup", "SimpleKeyValueLookupService", {"a": "A"}))),
    LibraryConfig("LookupRecord", {**_RW, "lookup-service": "lookup", "key": "/a",
                                   "record-update-strategy": "replace-existing-values"}, variant="replace-existing",
                  services=(*_JSON, ServiceSetup("lookup", "SimpleKeyValueLookupService", {"x": "y"}))),
    LibraryConfig("ForkRecord", {**_RW, "arrays": "//*"}, services=_JSON, expression="arrays"),
    LibraryConfig("ForkRecord", {**_RW, "arrays": "//*", "fork-mode": "extract", "include-parent-fields": "true"},
                  variant="extract", services=_JSON),
    LibraryConfig("CalculateRecordStats", {"record-stats-reader": "reader", "first": "/*[0]", "all": "//*"},
                  services=(ServiceSetup("reader", "CSVReader"),), expression="record-stats-limit"),
    LibraryConfig("CalculateRecordStats", {"record-stats-reader": "reader", "a": "/a", "record-stats-limit": "1"},
                  variant="json", services=(ServiceSetup("reader", "JsonTreeReader"),)),
)
