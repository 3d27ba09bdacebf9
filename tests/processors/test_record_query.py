"""QueryRecord with the CSV, JSON and Avro services, through ProcessorRunner."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from flowyard.processors._records import DataType, RecordField, RecordFieldType, RecordSchema
from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.query_record import (
    QueryRecord,
    arrow_schema,
    batches_of,
    check_query,
    record_schema_of,
    records_of,
)
from flowyard.runtime.sdk import ControllerService, InvalidComponentError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

T = RecordFieldType
CSV = "id,name,amount\n1,Ann,5\n2,Bob,15\n3,Cy,25\n"


def runner(queries: Mapping[str, str], reader: type[ControllerService] = CSVReader,
           writer: type[ControllerService] = JsonRecordSetWriter, reader_props: Mapping[str, str] | None = None,
           writer_props: Mapping[str, str] | None = None, **props: str) -> ProcessorRunner:
    r = ProcessorRunner(QueryRecord)
    r.add_controller_service("reader", reader, dict(reader_props or {}))
    r.add_controller_service("writer", writer, dict(writer_props or {}))
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    for name, value in props.items():
        r.set_property(name.replace("_", " "), value)
    for name, sql in queries.items():
        r.set_property(name, sql)
    return r


def only(r: ProcessorRunner, relationship: str) -> MockFlowFile:
    r.assert_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0]


def content(ff: MockFlowFile) -> object:
    return json.loads(ff.content)


def test_each_query_goes_to_its_relationship_and_the_input_to_original() -> None:
    r = runner({"big": "SELECT * FROM FLOWFILE WHERE amount > 10", "names": "select name from flowfile order by id"})
    r.enqueue(CSV, {"filename": "in.csv"})
    r.run()
    big = only(r, "big")
    assert content(big) == [{"id": 2, "name": "Bob", "amount": 15}, {"id": 3, "name": "Cy", "amount": 25}]
    big.assert_attribute_equals("record.count", "2")
    big.assert_attribute_equals("mime.type", "application/json")
    big.assert_attribute_equals("QueryRecord.Route", "big")
    big.assert_attribute_equals("filename", "in.csv")
    assert content(only(r, "names")) == [{"name": "Ann"}, {"name": "Bob"}, {"name": "Cy"}]
    only(r, "original").assert_content_equals(CSV)
    r.assert_transferred("failure", 0)


def test_aggregates_and_computed_columns_get_the_results_schema() -> None:
    r = runner({"sums": "SELECT count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM FlowFile"},
               writer=CSVRecordSetWriter)
    r.enqueue(CSV)
    r.run()
    out = only(r, "sums")
    assert out.content.decode().splitlines() == ["n,total,mean", "3,45,15.0"]


def test_zero_row_results_follow_include_zero_record_flowfiles() -> None:
    r = runner({"none": "SELECT * FROM FLOWFILE WHERE amount > 100", "all": "SELECT * FROM FLOWFILE"})
    r.enqueue(CSV)
    r.run()
    empty = only(r, "none")
    assert content(empty) == []
    empty.assert_attribute_equals("record.count", "0")

    r = runner({"none": "SELECT * FROM FLOWFILE WHERE amount > 100", "all": "SELECT * FROM FLOWFILE"},
               Include_Zero_Record_FlowFiles="false")
    r.enqueue(CSV)
    r.run()
    r.assert_transferred("none", 0)
    r.assert_transferred("all", 1)
    r.assert_transferred("original", 1)


def test_an_unknown_column_sends_the_input_to_failure_with_the_reason_and_drops_other_results() -> None:
    r = runner({"a_ok": "SELECT * FROM FLOWFILE", "b_bad": "SELECT nope FROM FLOWFILE"})
    r.enqueue(CSV)
    r.run()
    failed = only(r, "failure")
    failed.assert_content_equals(CSV)
    message = failed.attributes["record.error.message"]
    assert "b_bad" in message and "nope" in message
    r.assert_transferred("a_ok", 0)
    r.assert_transferred("original", 0)


def test_unreadable_records_go_to_failure_with_the_readers_reason() -> None:
    r = runner({"all": "SELECT * FROM FLOWFILE"}, reader=JsonTreeReader)
    r.enqueue('[{"a": 1}, {"a": ')
    r.run()
    failed = only(r, "failure")
    assert failed.attributes["record.error.message"]
    r.assert_transferred("all", 0)


def test_a_bad_record_after_many_good_ones_fails_the_whole_flowfile() -> None:
    schema = json.dumps({"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}]})
    r = runner({"all": "SELECT * FROM FLOWFILE"}, reader_props={"Schema Access Strategy": "schema-text-property",
                                                                "Schema Text": schema,
                                                                "Treat First Line as Header": "true"})
    r.enqueue("n\n" + "".join(f"{i}\n" for i in range(10_000)) + "x\n")
    r.run()
    failed = only(r, "failure")
    assert "'x'" in failed.attributes["record.error.message"]
    r.assert_transferred("all", 0)


def test_queries_are_checked_when_configured() -> None:
    r = runner({"bad": "SELEC * FROM FLOWFILE"})
    with pytest.raises(InvalidComponentError, match="syntax error"):
        r.run()
    assert check_query("DELETE FROM FLOWFILE") is not None and "SELECT" in str(check_query("DELETE FROM FLOWFILE"))
    assert "exactly one" in str(check_query("SELECT 1; SELECT 2"))
    assert check_query("  ") == "the query is empty"
    assert check_query("WITH x AS (SELECT * FROM FLOWFILE) SELECT * FROM x") is None
    r = runner({})
    r.assert_not_valid()
    r = runner({"original": "SELECT * FROM FLOWFILE"})
    r.assert_not_valid()


def test_a_query_with_expression_language_is_evaluated_per_flowfile() -> None:
    r = runner({"over": "SELECT id FROM FLOWFILE WHERE amount > ${limit}"})
    r.enqueue(CSV, {"limit": "20"})
    r.enqueue(CSV, {"limit": "oops oops"})
    r.run(2)
    assert content(r.flowfiles_for("over")[0]) == [{"id": 3}]
    r.assert_transferred("failure", 1)


def test_the_sql_cannot_read_files() -> None:
    r = runner({"steal": "SELECT * FROM read_csv('/etc/passwd')"})
    r.enqueue(CSV)
    r.run()
    assert "disabled" in only(r, "failure").attributes["record.error.message"]


def test_a_self_join_reads_the_records_twice() -> None:
    r = runner({"pairs": "SELECT a.id AS x, b.id AS y FROM FLOWFILE a JOIN FLOWFILE b ON a.id + 1 = b.id "
                         "ORDER BY x"})
    r.enqueue(CSV)
    r.run()
    assert content(only(r, "pairs")) == [{"x": 1, "y": 2}, {"x": 2, "y": 3}]


def test_nested_records_arrays_and_maps_round_trip() -> None:
    data = [{"id": 1, "who": {"name": "Ann", "tags": ["a", "b"]}, "m": {"k": 1}},
            {"id": 2, "who": {"name": "Bob", "tags": []}, "m": {"k": 2, "j": 3}}]
    schema = json.dumps({"type": "record", "name": "r", "fields": [
        {"name": "id", "type": "int"},
        {"name": "who", "type": {"type": "record", "name": "w", "fields": [
            {"name": "name", "type": "string"}, {"name": "tags", "type": {"type": "array", "items": "string"}}]}},
        {"name": "m", "type": {"type": "map", "values": "long"}}]})
    r = runner({"q": "SELECT id, who.name AS name, who, len(who.tags) AS n FROM FLOWFILE WHERE id = 1",
                "all": "SELECT * FROM FLOWFILE", "key": "SELECT m['j'] AS j FROM FLOWFILE"}, reader=JsonTreeReader,
               reader_props={"Schema Access Strategy": "schema-text-property", "Schema Text": schema})
    r.enqueue(json.dumps(data))
    r.run()
    assert content(only(r, "q")) == [{"id": 1, "name": "Ann", "who": {"name": "Ann", "tags": ["a", "b"]}, "n": 2}]
    assert content(only(r, "all")) == data
    assert content(only(r, "key")) == [{"j": None}, {"j": 3}]


def test_types_map_to_arrow_and_back() -> None:
    schema = RecordSchema((
        RecordField("d", DataType.decimal(12, 3)), RecordField("plain", T.DECIMAL.data_type()),
        RecordField("big", T.BIGINT.data_type()), RecordField("u", T.UUID.data_type()),
        RecordField("when", T.TIMESTAMP.data_type()), RecordField("day", T.DATE.data_type()),
        RecordField("raw", DataType.array(T.BYTE.data_type())),
        RecordField("c", DataType.choice([T.INT.data_type(), T.STRING.data_type()])),
        RecordField("m", DataType.map(T.LONG.data_type())),
    ))
    target = arrow_schema(schema, 20, 4)
    assert target.field("d").type == pa.decimal128(12, 3)
    assert target.field("plain").type == pa.decimal128(20, 4)
    assert target.field("big").type == pa.decimal128(38, 0)
    assert target.field("u").type == pa.string()
    assert target.field("when").type == pa.timestamp("us")
    assert target.field("day").type == pa.date32()
    assert target.field("raw").type == pa.binary()
    assert target.field("c").type == pa.string()
    import datetime
    import uuid
    record = {"d": Decimal("1.250"), "plain": Decimal("2"), "big": 2**100, "u": uuid.UUID(int=5),
              "when": datetime.datetime(2024, 1, 2, 3, 4, 5), "day": datetime.date(2024, 1, 2), "raw": b"\x00\x01",
              "c": 7, "m": {"a": 1}}
    table = pa.Table.from_batches(list(batches_of(iter([record]), schema, target)))
    back_schema = record_schema_of(table.schema, schema, 20, 4)
    assert back_schema.field("big").data_type == T.BIGINT.data_type()
    assert back_schema.field("u").data_type == T.UUID.data_type()
    assert back_schema.field("c").data_type == T.STRING.data_type()
    rows = list(records_of(table.to_reader(), back_schema))
    assert rows == [{**record, "c": "7"}]


def test_concurrent_flowfiles_in_one_trigger_each_get_their_results() -> None:
    r = runner({"big": "SELECT id FROM FLOWFILE WHERE amount > 10"})
    r.enqueue(CSV)
    r.enqueue("id,name,amount\n9,Zed,99\n")
    r.run(2)
    assert [content(ff) for ff in r.flowfiles_for("big")] == [[{"id": 2}, {"id": 3}], [{"id": 9}]]
    r.assert_transferred("original", 2)


def test_a_large_flowfile_streams_through_in_batches() -> None:
    rows = 20_000
    text = "id,amount\n" + "".join(f"{i},{i % 100}\n" for i in range(rows))
    r = runner({"big": "SELECT id FROM FLOWFILE WHERE amount >= 99"}, writer=CSVRecordSetWriter)
    r.enqueue(text)
    r.run()
    out = only(r, "big")
    out.assert_attribute_equals("record.count", str(rows // 100))
    assert out.content.decode().splitlines()[1:3] == ["99", "199"]


def test_csv_records_take_the_readers_columnar_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import flowyard.processors.query_record as module

    def row_path_used(*args: object, **kwargs: object) -> object:
        raise AssertionError("the row path was used")

    monkeypatch.setattr(module, "batches_of", row_path_used)
    r = runner({"big": "SELECT id FROM FLOWFILE WHERE amount > 10"})
    r.enqueue(CSV)
    r.run()
    assert content(only(r, "big")) == [{"id": 2}, {"id": 3}]


def test_a_ragged_row_deep_in_the_csv_falls_back_to_the_row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import flowyard.processors.query_record as module

    row_path: list[int] = []
    real = module.batches_of

    def spy(*args: Any, **kwargs: Any) -> Any:
        row_path.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "batches_of", spy)
    rows = 150_000  # past the columnar reader's first block (1 MiB)
    text = "id,amount\n" + "".join(f"{i},{i % 100}\n" for i in range(rows)) + "x,1,extra\n"
    r = runner({"big": "SELECT count(*) AS n FROM FLOWFILE", "last": "SELECT * FROM FLOWFILE WHERE id = 'x'"},
               writer=CSVRecordSetWriter,
               reader_props={"Schema Access Strategy": "csv-header-derived"})
    r.enqueue(text)
    r.run()
    # as the row path reads it (ConvertRecord gives the same 60,001 records): the extra value is dropped
    assert only(r, "big").content.decode().splitlines() == ["n", str(rows + 1)]
    assert only(r, "last").content.decode().splitlines() == ["id,amount", "x,1"]
    assert len(row_path) == 2  # each query fell back


def test_result_columns_need_distinct_names() -> None:
    r = runner({"dup": "SELECT id, name AS id FROM FLOWFILE", "expr": "SELECT count(*), max(amount) FROM FLOWFILE"},
               writer=CSVRecordSetWriter)
    r.enqueue(CSV)
    r.run()
    message = only(r, "failure").attributes["record.error.message"]
    assert "query 'dup'" in message and "several columns named 'id'" in message and "AS" in message

    r = runner({"expr": "SELECT count(*), max(amount) FROM FLOWFILE"}, writer=CSVRecordSetWriter)
    r.enqueue(CSV)
    r.run()
    assert only(r, "expr").content.decode().splitlines() == ["count_star(),max(amount)", "3,25"]


def test_rpath_functions_reach_into_nested_records_arrays_and_maps() -> None:
    schema = json.dumps({"type": "record", "name": "r", "fields": [
        {"name": "person", "type": {"type": "record", "name": "p", "fields": [
            {"name": "name", "type": "string"}, {"name": "age", "type": "int"},
            {"name": "born", "type": {"type": "int", "logicalType": "date"}},
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "attrs", "type": {"type": "map", "values": "double"}},
            {"name": "home", "type": {"type": "record", "name": "h", "fields": [{"name": "city", "type": "string"}]}},
        ]}}]})
    data = [{"person": {"name": "Ann", "age": 41, "born": "1983-02-01", "tags": ["a", "b"], "attrs": {"h": 1.5},
                        "home": {"city": "Oslo"}}},
            {"person": {"name": "Bob", "age": 7, "born": "2017-05-06", "tags": [], "attrs": {},
                        "home": {"city": "Rome"}}}]
    r = runner({"q": "SELECT RPATH_STRING(person, '/name') AS name, RPATH_INT(person, '/age') + 1 AS next, "
                     "RPATH_DATE(person, '/born') AS born, RPATH(person, '/tags[1]') AS tag, "
                     "RPATH_DOUBLE(person, '/attrs[''h'']') AS h, rpath(person, '/home/city') AS city, "
                     "RPATH(person.tags, '[0]') AS first, RPATH_DOUBLE(person.attrs, '[''h'']') AS h2 "
                     "FROM FLOWFILE WHERE RPATH_LONG(person, '/age') > 10"},
               reader=JsonTreeReader, reader_props={"Schema Access Strategy": "schema-text-property",
                                                     "Schema Text": schema})
    r.enqueue(json.dumps(data))
    r.run()
    assert content(only(r, "q")) == [{"name": "Ann", "next": 42, "born": "1983-02-01", "tag": "b", "h": 1.5,
                                      "city": "Oslo", "first": "a", "h2": 1.5}]
