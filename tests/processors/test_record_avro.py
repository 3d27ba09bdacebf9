"""AvroReader and AvroRecordSetWriter with ConvertRecord: embedded and explicit
schemas, codecs, logical types, bad data."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

import fastavro
import pytest

from flowyard.processors.avro_record_services import AvroReader, AvroRecordSetWriter
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

SCHEMA = {"type": "record", "name": "person", "namespace": "ex", "fields": [
    {"name": "id", "type": "long"},
    {"name": "name", "type": ["null", "string"], "default": None},
    {"name": "born", "type": ["null", {"type": "int", "logicalType": "date"}], "default": None},
    {"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}],
     "default": None},
    {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": None},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
]}
ROWS = [
    {"id": 1, "name": "Ann", "born": date(2000, 1, 2), "amount": Decimal("12.50"),
     "at": datetime(2024, 3, 5, 10, 0, tzinfo=UTC), "tags": ["a", "b"]},
    {"id": 2, "name": None, "born": None, "amount": None, "at": None, "tags": []},
]


def avro_file(codec: str = "null") -> bytes:
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(SCHEMA), ROWS, codec=codec)
    return buffer.getvalue()


def runner(reader: type[ControllerService], writer: type[ControllerService],
           reader_props: Mapping[str, str] | None = None,
           writer_props: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("reader", reader, dict(reader_props or {}))
    r.add_controller_service("writer", writer, dict(writer_props or {}))
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    return r


def only(r: ProcessorRunner, relationship: str) -> MockFlowFile:
    r.assert_all_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0]


@pytest.mark.parametrize("codec", ["null", "deflate", "bzip2", "snappy"])
def test_avro_with_embedded_schema_to_json(codec: str) -> None:
    r = runner(AvroReader, JsonRecordSetWriter, writer_props={"Timestamp Format": "yyyy-MM-dd'T'HH:mm:ss'Z'"})
    r.enqueue(avro_file(codec))
    r.run()
    ff = only(r, "success")
    assert json.loads(ff.content) == [
        {"id": 1, "name": "Ann", "born": "2000-01-02", "amount": 12.5, "at": "2024-03-05T10:00:00Z",
         "tags": ["a", "b"]},
        {"id": 2, "name": None, "born": None, "amount": None, "at": None, "tags": []},
    ]
    ff.assert_attribute_equals("record.count", "2")


@pytest.mark.parametrize(("compression", "codec"), [("NONE", "null"), ("DEFLATE", "deflate"), ("SNAPPY", "snappy")])
def test_avro_round_trip_keeps_the_schema_and_values(compression: str, codec: str) -> None:
    r = runner(AvroReader, AvroRecordSetWriter, writer_props={"Compression Format": compression})
    r.enqueue(avro_file())
    r.run()
    ff = only(r, "success")
    ff.assert_attribute_equals("mime.type", "application/avro-binary")
    reader = fastavro.reader(io.BytesIO(ff.content))
    assert reader.codec == codec
    assert reader.writer_schema["name"] == "ex.person"  # type: ignore[index,call-overload]
    assert list(reader) == ROWS


def test_csv_to_avro_with_an_inferred_schema() -> None:
    r = runner(CSVReader, AvroRecordSetWriter)
    r.enqueue("id,name,score\n1,a,1.5\n3000000000,b,\n")
    r.run()
    records = list(fastavro.reader(io.BytesIO(only(r, "success").content)))
    assert records == [{"id": 1, "name": "a", "score": 1.5}, {"id": 3000000000, "name": "b", "score": None}]


def test_bare_records_with_the_schema_in_an_attribute_both_ways() -> None:
    r = runner(JsonTreeReader, AvroRecordSetWriter,
               writer_props={"Schema Write Strategy": "full-schema-attribute"})
    r.enqueue('[{"id": 5, "tags": ["x"]}]')
    r.run()
    ff = only(r, "success")
    schema = ff.attributes["avro.schema"]
    assert not ff.content.startswith(b"Obj\x01")
    back = runner(AvroReader, JsonRecordSetWriter, {"Schema Access Strategy": "schema-text-property"})
    back.enqueue(ff.content, {"avro.schema": schema})
    back.run()
    assert json.loads(only(back, "success").content) == [{"id": 5, "tags": ["x"]}]


@pytest.mark.parametrize("content", [b"", b"not avro at all", avro_file()[:40]])
def test_bad_avro_goes_to_failure(content: bytes) -> None:
    r = runner(AvroReader, JsonRecordSetWriter)
    r.enqueue(content)
    r.run()
    assert only(r, "failure").attributes["record.error.message"]


def test_a_record_the_writer_schema_refuses_goes_to_failure() -> None:
    schema = json.dumps({"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}]})
    r = runner(JsonTreeReader, AvroRecordSetWriter, writer_props={
        "Schema Access Strategy": "schema-text-property", "Schema Text": schema})
    r.enqueue('[{"n": 1}, {"m": 2}]')
    r.run()
    assert "cannot be null" in only(r, "failure").attributes["record.error.message"]


def test_lzo_is_refused() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("w", AvroRecordSetWriter, {"Compression Format": "LZO"})
    assert any("LZO" in str(v) for v in r.controller_service_validation_results("w"))
