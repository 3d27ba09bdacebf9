"""The CSV and JSON record reader/writer services on their own: dialects,
writer options, the streaming JSON decoder, and bounded memory on 50 MB."""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from flowyard.processors._record_services import RecordError, RecordReaderFactory, RecordSetWriterFactory
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader, iter_json_values
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import ProcessorRunner


def service(cls: type[ControllerService], props: Mapping[str, str] | None = None) -> Any:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("s", cls, dict(props or {}))
    r.enable_controller_service("s")
    return r.controller_service("s")


def read(cls: type[ControllerService], content: bytes | str, props: Mapping[str, str] | None = None,
         attributes: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    factory: RecordReaderFactory = service(cls, props)
    data = content.encode() if isinstance(content, str) else content
    return list(factory.create_reader(attributes or {}, lambda: io.BytesIO(data)))


def convert(reader: type[ControllerService], writer: type[ControllerService], content: str,
            reader_props: Mapping[str, str] | None = None, writer_props: Mapping[str, str] | None = None) -> bytes:
    factory: RecordReaderFactory = service(reader, reader_props)
    records = factory.create_reader({}, lambda: io.BytesIO(content.encode()))
    out: RecordSetWriterFactory = service(writer, writer_props)
    w = out.create_writer(out.get_schema({}, records.schema), {})
    return b"".join(w.write(iter(records)))


@pytest.mark.parametrize(("props", "content", "expected"), [
    ({}, "a,b\n1,x\n", [{"a": 1, "b": "x"}]),
    ({}, 'a,b\n"1,5"," y "\n', [{"a": "1,5", "b": "y"}]),
    ({"Trim Fields": "false"}, "a,b\n1, x \n", [{"a": 1, "b": " x "}]),
    ({"Value Separator": ";"}, "a;b\n1;2\n", [{"a": 1, "b": 2}]),
    ({"Value Separator": "\\t"}, "a\tb\n1\t2\n", [{"a": 1, "b": 2}]),
    ({"CSV Format": "tdf"}, "a\tb\n1\t2\n", [{"a": 1, "b": 2}]),
    ({"CSV Format": "rfc-4180"}, 'a,b\r\n"q""r",2\r\n', [{"a": 'q"r', "b": 2}]),
    ({"CSV Format": "mysql"}, "a\tb\n\\N\tz\n", [{"a": None, "b": "z"}]),
    ({"Null String": "NULL"}, "a,b\nNULL,1\n", [{"a": None, "b": 1}]),
    ({"Comment Marker": "#"}, "a,b\n#skip,me\n1,2\n", [{"a": 1, "b": 2}]),
    ({}, "a,b\n1,2\n\n3,4", [{"a": 1, "b": 2}, {"a": 3, "b": 4}]),  # blank line, no final newline
    ({}, "a,b\r\n1,2\r\n", [{"a": 1, "b": 2}]),
    ({}, 'a,b\n"line1\nline2",2\n', [{"a": "line1\nline2", "b": 2}]),
    ({}, "a,b\n1\n", [{"a": 1}]),  # fewer values: the rest are absent
    ({"Schema Access Strategy": "csv-header-derived"}, "a,b\n1,true\n", [{"a": "1", "b": "true"}]),
    ({"Character Set": "ISO-8859-1"}, "n\ncaf\xe9\n".encode("latin-1"), [{"n": "caf\xe9"}]),
])
def test_csv_reader(props: Mapping[str, str], content: str | bytes, expected: list[dict[str, Any]]) -> None:
    assert read(CSVReader, content, props) == expected


SCHEMA = json.dumps({"type": "record", "name": "r", "fields": [{"name": "x", "type": "int"},
                                                               {"name": "y", "type": ["null", "string"]}]})


def test_csv_reader_with_a_schema_and_no_header_maps_columns_by_position() -> None:
    props = {"Schema Access Strategy": "schema-text-property", "Schema Text": SCHEMA}
    assert read(CSVReader, "1,a\n2,b\n", props) == [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]
    props["Treat First Line as Header"] = "true"
    assert read(CSVReader, "y,x\na,1\n", props) == [{"y": "a", "x": 1}]
    props["Ignore CSV Header Column Names"] = "true"
    assert read(CSVReader, "foo,bar\n1,a\n", props) == [{"x": 1, "y": "a"}]


@pytest.mark.parametrize(("props", "content"), [
    ({"Allow Duplicate Header Names": "false"}, "a,a\n1,2\n"),
    ({}, b"a\n\xff\xfe\n"),
    ({"Schema Access Strategy": "schema-text-property", "Schema Text": "{not json"}, "1,a\n"),
])
def test_csv_reader_refuses_bad_content(props: Mapping[str, str], content: str | bytes) -> None:
    with pytest.raises((RecordError, Exception)) as info:
        read(CSVReader, content, props)
    assert isinstance(info.value, ValueError) or "Schema Text" in str(info.value)


@pytest.mark.parametrize(("props", "expected"), [
    ({}, 'a,b\n1,"x,y"\n2,\n'),
    ({"Include Header Line": "false"}, '1,"x,y"\n2,\n'),
    ({"Quote Mode": "ALL"}, '"a","b"\n"1","x,y"\n"2",""\n'),
    ({"Quote Mode": "NON_NUMERIC"}, '"a","b"\n1,"x,y"\n2,""\n'),
    ({"Quote Mode": "NONE"}, "a,b\n1,x\\,y\n2,\n"),
    ({"Value Separator": ";", "Record Separator": "\\r\\n"}, "a;b\r\n1;x,y\r\n2;\r\n"),
    ({"Null String": "NULL"}, 'a,b\n1,"x,y"\n2,NULL\n'),
    ({"Include Trailing Delimiter": "true"}, 'a,b,\n1,"x,y",\n2,,\n'),
    ({"CSV Format": "rfc-4180"}, 'a,b\r\n1,"x,y"\r\n2,\r\n'),
])
def test_csv_writer(props: Mapping[str, str], expected: str) -> None:
    content = '[{"a": 1, "b": "x,y"}, {"a": 2, "b": null}]'
    assert convert(JsonTreeReader, CSVRecordSetWriter, content, writer_props=props) == expected.encode()


@pytest.mark.parametrize(("props", "expected"), [
    ({}, b'[{"a":1,"b":null},{"a":2,"b":"z"}]'),
    ({"Output Grouping": "output-oneline"}, b'{"a":1,"b":null}\n{"a":2,"b":"z"}'),
    ({"Suppress Null Values": "always-suppress"}, b'[{"a":1},{"a":2,"b":"z"}]'),
    ({"Suppress Null Values": "suppress-missing"}, b'[{"a":1,"b":null},{"a":2,"b":"z"}]'),
    ({"Pretty Print JSON": "true"},
     b'[ {\n  "a" : 1,\n  "b" : null\n}, {\n  "a" : 2,\n  "b" : "z"\n} ]'),
])
def test_json_writer(props: Mapping[str, str], expected: bytes) -> None:
    assert convert(JsonTreeReader, JsonRecordSetWriter, '{"a":1,"b":null}{"a":2,"b":"z"}',
                   writer_props=props) == expected


def test_json_writer_suppress_missing_leaves_out_absent_fields_only() -> None:
    out = convert(JsonTreeReader, JsonRecordSetWriter, '[{"a":1},{"a":null,"b":2}]',
                  writer_props={"Suppress Null Values": "suppress-missing"})
    assert out == b'[{"a":1},{"a":null,"b":2}]'


def test_json_writer_gzip() -> None:
    out = convert(JsonTreeReader, JsonRecordSetWriter, '[{"a":1}]', writer_props={"Compression Format": "gzip"})
    assert gzip.decompress(out) == b'[{"a":1}]'


def test_json_writer_timestamps() -> None:
    reader = {"Timestamp Format": "yyyy-MM-dd HH:mm:ss"}
    content = '[{"t": "1970-01-02 00:00:00"}]'
    assert convert(JsonTreeReader, JsonRecordSetWriter, content, reader) == b'[{"t":86400000}]'
    assert convert(JsonTreeReader, JsonRecordSetWriter, content, reader,
                   {"Timestamp Representation": "EPOCH_SECONDS"}) == b'[{"t":86400}]'
    assert convert(JsonTreeReader, JsonRecordSetWriter, content, reader,
                   {"Timestamp Format": "dd.MM.yyyy HH:mm"}) == b'[{"t":"02.01.1970 00:00"}]'


def test_json_reader_nested_field_and_nested_records() -> None:
    content = '{"meta": {"n": 2}, "items": [{"id": 1, "tags": ["a"], "in": {"k": 1.5}}, {"id": 2}]}'
    props = {"Starting Field Strategy": "NESTED_FIELD", "Starting Field Name": "items"}
    assert read(JsonTreeReader, content, props) == [{"id": 1, "tags": ["a"], "in": {"k": 1.5}}, {"id": 2}]


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 65536])
def test_iter_json_values_across_chunk_boundaries(chunk_size: int) -> None:
    text = '\ufeff [ {"a": 12345, "b": "x\\u00e9"} , {"a": -1.5e3}, 7 ] ["more"]'
    assert list(iter_json_values(io.BytesIO(text.encode()), chunk_size=chunk_size)) == [
        {"a": 12345, "b": "x\xe9"}, {"a": -1500.0}, 7, "more"]
    assert list(iter_json_values(io.BytesIO(b'{"a":1}\n{"a":2}\n'), chunk_size=chunk_size)) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize("text", ['[{"a": 1}', '[{"a": 1} {"a": 2}]', '{"a": }', '{"a": "x'])
def test_iter_json_values_refuses_malformed_json(text: str) -> None:
    with pytest.raises(RecordError):
        list(iter_json_values(io.BytesIO(text.encode()), chunk_size=3))


class _GeneratedCsv(io.RawIOBase):
    """``rows`` CSV lines of ~2 KB made on demand: the content never exists whole."""

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._next = 0
        self._buffer = bytearray(b"id,name,amount,comment\n")
        self._filler = b"x" * 2000

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while len(self._buffer) < len(b) and self._next < self._rows:
            i = self._next
            self._buffer += b"%d,name%d,%d.25,%s\n" % (i, i, i, self._filler)
            self._next += 1
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        del self._buffer[:n]
        return n


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_50_mb_of_csv_converts_with_bounded_memory() -> None:
    rows = 25_000  # ~51 MB
    reader: RecordReaderFactory = service(CSVReader)  # inferred schema: the content is read twice
    writer: RecordSetWriterFactory = service(JsonRecordSetWriter, {"Output Grouping": "output-oneline"})
    records = reader.create_reader({}, lambda: io.BufferedReader(_GeneratedCsv(rows)))
    out = writer.create_writer(records.schema, {})
    baseline = _rss()
    peak = baseline
    written = 0
    chunks: Iterator[bytes] = out.write(iter(records))
    for chunk in chunks:
        written += len(chunk)
        peak = max(peak, _rss())
    assert out.record_count == rows
    assert written > 50_000_000
    assert peak - baseline < 20_000_000, f"memory grew by {(peak - baseline) / 1e6:.1f} MB"


LONGS = json.dumps({"type": "record", "name": "r", "fields": [{"name": "i", "type": ["null", "int"]},
                                                              {"name": "d", "type": ["null", "double"]}]})


@pytest.mark.parametrize(("row", "expected"), [
    ("-5,1", {"i": -5, "d": 1.0}),
    ("+5,-2.5", {"i": 5, "d": -2.5}),
    ("2147483647,1e3", {"i": 2147483647, "d": 1000.0}),
    (",", {"i": None, "d": None}),
])
def test_csv_reader_number_conversion(row: str, expected: dict[str, Any]) -> None:
    props = {"Schema Access Strategy": "schema-text-property", "Schema Text": LONGS}
    assert read(CSVReader, row + "\n", props) == [expected]


@pytest.mark.parametrize("row", ["2147483648,1", "--5,1", "1.5,1", "1,abc"])
def test_csv_reader_refuses_numbers_out_of_their_type(row: str) -> None:
    props = {"Schema Access Strategy": "schema-text-property", "Schema Text": LONGS}
    with pytest.raises(RecordError, match="record 1"):
        read(CSVReader, row + "\n", props)


def test_a_column_only_ever_empty_stays_in_the_inferred_schema() -> None:
    factory: RecordReaderFactory = service(CSVReader)
    reader = factory.create_reader({}, lambda: io.BytesIO(b"a,b\n,1\n,2\n"))
    assert reader.schema.field_names == ["a", "b"]
