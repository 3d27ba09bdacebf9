"""Library configurations (see ``library_configs``) of the record routing family."""

from __future__ import annotations

from library_configs import LibraryConfig, ServiceSetup

__all__ = ["CONFIGS", "LibraryConfig", "ServiceSetup"]

_CSV_TO_JSON = (ServiceSetup("reader", "CSVReader"), ServiceSetup("writer", "JsonRecordSetWriter"))
_JSON_TO_CSV = (ServiceSetup("reader", "JsonTreeReader"), ServiceSetup("writer", "CSVRecordSetWriter"))
_RW = {"record-reader": "reader", "record-writer": "writer"}

CONFIGS: tuple[LibraryConfig, ...] = (
    LibraryConfig("QueryRecord", {**_RW, "all": "SELECT * FROM FLOWFILE", "some": "SELECT 1 AS one FROM flowfile"},
                  services=_CSV_TO_JSON, expression="some"),
    LibraryConfig("QueryRecord", {**_RW, "all": "SELECT * FROM FLOWFILE"}, variant="json-to-csv",
                  services=_JSON_TO_CSV),
    LibraryConfig("SplitRecord", {**_RW, "records-per-split": "${n}"}, services=_CSV_TO_JSON,
                  expression="records-per-split"),
    LibraryConfig("SplitRecord", {**_RW, "records-per-split": "1"}, variant="json-to-csv", services=_JSON_TO_CSV),
    LibraryConfig("ValidateRecord", {**_RW, "validation-details-attribute-name": "why"}, services=_JSON_TO_CSV,
                  expression="validation-details-attribute-name"),
    LibraryConfig("ValidateRecord", {**_RW, "schema-access-strategy": "schema-text-property",
                                     "schema-text": '{"type": "record", "name": "r", "fields": [{"name": "id", '
                                                    '"type": "int"}]}',
                                     "strict-type-checking": "false", "allow-extra-fields": "false"},
                  variant="schema-text", services=_CSV_TO_JSON, expression="maximum-validation-details-length"),
    LibraryConfig("MergeRecord", {**_RW}, services=_JSON_TO_CSV),
    LibraryConfig("MergeRecord", {**_RW, "merge-strategy": "Defragment", "max-bin-age": "1 sec"},
                  variant="defragment", services=_CSV_TO_JSON),
    LibraryConfig("SampleRecord", {**_RW, "sample-record-reservoir": "${n}", "sample-record-random-seed": "1"},
                  services=_CSV_TO_JSON, expression="sample-record-reservoir"),
    LibraryConfig("SampleRecord", {**_RW, "sample-record-sampling-strategy": "range", "sample-record-range": "1,3-"},
                  variant="range", services=_JSON_TO_CSV, expression="sample-record-range"),
    LibraryConfig("SampleRecord", {**_RW, "sample-record-sampling-strategy": "probabilistic",
                                   "sample-record-probability": "50"},
                  variant="probabilistic", services=_CSV_TO_JSON, expression="sample-record-random-seed"),
)
