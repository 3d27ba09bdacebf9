"""ParquetReader and ParquetRecordSetWriter with ConvertRecord."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.parquet_record_services import ParquetReader, ParquetRecordSetWriter
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner


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


@pytest.mark.parametrize(("compression", "codec"), [("UNCOMPRESSED", "UNCOMPRESSED"), ("SNAPPY", "SNAPPY"),
                                                    ("ZSTD", "ZSTD"), ("GZIP", "GZIP")])
def test_csv_to_parquet(compression: str, codec: str) -> None:
    r = runner(CSVReader, ParquetRecordSetWriter, {"Date Format": "yyyy-MM-dd"},
               {"Compression Type": compression})
    r.enqueue("id,name,score,day,big\n1,a,1.5,2024-01-02,1\n2,,2,2024-01-03,99999999999999999999\n")
    r.run()
    ff = only(r, "success")
    ff.assert_attribute_equals("record.count", "2")
    ff.assert_attribute_equals("mime.type", "application/parquet")
    parquet = pq.ParquetFile(io.BytesIO(ff.content))
    assert parquet.metadata.row_group(0).column(0).compression == codec
    assert parquet.read().to_pylist() == [
        {"id": 1, "name": "a", "score": 1.5, "day": date(2024, 1, 2), "big": "1"},
        {"id": 2, "name": "", "score": 2.0, "day": date(2024, 1, 3), "big": "99999999999999999999"},
    ]


def test_parquet_to_json_with_nested_types() -> None:
    table = pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "amount": pa.array([Decimal("1.25"), None], pa.decimal128(5, 2)),
        "at": pa.array([datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("ms")),
        "tags": pa.array([["a"], []], pa.list_(pa.string())),
        "attrs": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int32())),
        "inner": pa.array([{"x": 1.5}, None], pa.struct([("x", pa.float64())])),
    })
    sink = io.BytesIO()
    pq.write_table(table, sink)
    r = runner(ParquetReader, JsonRecordSetWriter, writer_props={"Timestamp Format": "yyyy-MM-dd HH:mm:ss"})
    r.enqueue(sink.getvalue())
    r.run()
    assert json.loads(only(r, "success").content) == [
        {"id": 1, "amount": 1.25, "at": "2024-01-02 03:04:05", "tags": ["a"], "attrs": {"k": 1},
         "inner": {"x": 1.5}},
        {"id": 2, "amount": None, "at": None, "tags": [], "attrs": None, "inner": None},
    ]


def test_round_trip_in_several_row_groups() -> None:
    rows = [{"n": i, "s": f"v{i}"} for i in range(2500)]
    r = runner(JsonTreeReader, ParquetRecordSetWriter, writer_props={"Row Group Size": "64 KB"})
    r.enqueue(json.dumps(rows))
    r.run()
    content = only(r, "success").content
    assert pq.ParquetFile(io.BytesIO(content)).metadata.num_row_groups > 1
    back = runner(ParquetReader, JsonRecordSetWriter)
    back.enqueue(content)
    back.run()
    assert json.loads(only(back, "success").content) == rows


@pytest.mark.parametrize("content", [b"", b"PAR1 not really", b"x" * 100])
def test_bad_parquet_goes_to_failure(content: bytes) -> None:
    r = runner(ParquetReader, JsonRecordSetWriter)
    r.enqueue(content)
    r.run()
    assert only(r, "failure").attributes["record.error.message"]


def test_values_that_do_not_fit_go_to_failure() -> None:
    schema = json.dumps({"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}]})
    r = runner(JsonTreeReader, ParquetRecordSetWriter, {"Schema Access Strategy": "schema-text-property",
                                                        "Schema Text": schema})
    r.enqueue('[{"n": "abc"}]')
    r.run()
    assert "'n'" in only(r, "failure").attributes["record.error.message"]


def test_lzo_is_refused() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("w", ParquetRecordSetWriter, {"Compression Type": "LZO"})
    assert any("LZO" in str(v) for v in r.controller_service_validation_results("w"))
