"""The columnar fast path (processors/_records/_columnar.py): CSVReader → ParquetRecordSetWriter through
ConvertRecord gives exactly what the row path gives, and falls back to the row path where it cannot."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow.parquet as pq
import pytest

import flowyard.processors.convert_record as convert_record
import flowyard.processors.csv_record_services as csv_services
from flowyard.processors._records import _columnar
from flowyard.processors._records._columnar import ColumnarFallback, python_whitespace
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader
from flowyard.processors.json_record_services import JsonRecordSetWriter
from flowyard.processors.parquet_record_services import ParquetRecordSetWriter
from flowyard.runtime.sdk.testing import ProcessorRunner

Outcome = tuple[str, bytes, dict[str, str]]


class _Spy:
    """Wraps ConvertRecord's ``convert`` and notes what the fast path did: fast, fallback or none."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._real = convert_record.convert

    def __call__(self, reader: Any, writer: Any) -> Iterator[bytes] | None:
        chunks = self._real(reader, writer)
        if chunks is None:
            self.paths.append("none")
            return None
        return self._watch(chunks)

    def _watch(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from chunks
        except ColumnarFallback:
            self.paths.append("fallback")
            raise
        self.paths.append("fast")


def _run(monkeypatch: pytest.MonkeyPatch, content: bytes, reader_props: Mapping[str, str],
         writer_props: Mapping[str, str], *, columnar: bool, writer: type = ParquetRecordSetWriter,
         attributes: Mapping[str, str] | None = None) -> tuple[Outcome, list[str]]:
    with monkeypatch.context() as m:
        spy = _Spy()
        m.setattr(convert_record, "convert", spy)
        if not columnar:
            m.setattr(csv_services, "_columnar_options", lambda *args: None)
        r = ProcessorRunner(ConvertRecord)
        r.add_controller_service("reader", CSVReader, dict(reader_props))
        r.add_controller_service("writer", writer, dict(writer_props))
        r.enable_controller_service("reader")
        r.enable_controller_service("writer")
        r.set_property("Record Reader", "reader")
        r.set_property("Record Writer", "writer")
        r.enqueue(content, attributes)
        r.run()
    for relationship in ("success", "failure"):
        out = r.flowfiles_for(relationship)
        if out:
            assert len(out) == 1
            return (relationship, out[0].content, dict(out[0].attributes)), spy.paths
    raise AssertionError("nothing transferred")


def _same(monkeypatch: pytest.MonkeyPatch, content: bytes, reader_props: Mapping[str, str] | None = None,
          writer_props: Mapping[str, str] | None = None, *, expect: str,
          attributes: Mapping[str, str] | None = None) -> Outcome:
    """Convert both ways; assert identical results and that the fast path did ``expect``."""
    fast, paths = _run(monkeypatch, content, reader_props or {}, writer_props or {}, columnar=True,
                       attributes=attributes)
    rows, row_paths = _run(monkeypatch, content, reader_props or {}, writer_props or {}, columnar=False,
                           attributes=attributes)
    assert row_paths in ([], ["none"])
    assert paths == ([expect] if expect != "-" else []), paths
    assert fast[0] == rows[0], (fast, rows)
    skip = {"uuid", "filename", "path"}
    assert {k: v for k, v in fast[2].items() if k not in skip} == {k: v for k, v in rows[2].items() if k not in skip}
    if fast[0] == "success":
        left, right = pq.ParquetFile(io.BytesIO(fast[1])), pq.ParquetFile(io.BytesIO(rows[1]))
        assert left.schema_arrow.equals(right.schema_arrow, check_metadata=True)
        assert left.read().equals(right.read())
        assert [left.metadata.row_group(i).num_rows for i in range(left.num_row_groups)] == [
            right.metadata.row_group(i).num_rows for i in range(right.num_row_groups)]
        assert fast[1] == rows[1]  # byte for byte, even
    return fast


VARIED = (
    'id,name,amount,price,active,city,note,day,big\r\n'
    '1,"Smith, John",12,3.50,true,Zürich,"said ""hi""",02/01/2024,1234567890\r\n'
    '2,"multi\nline",-7,.5,FALSE,日本,,03/01/2024,9999999999\r\n'
    '3, spaced ,+4,1.,True,"  Köln  ",\u3000wide\u3000,,-2147483648\r\n'
    '4,,0,-0.25,false,"a\\"b",x,31/12/1999,42\r\n'
    '5,"",,,,"",\\N,29/02/2000,\r\n'
)


@pytest.mark.parametrize(("props", "expect"), [
    ({}, "fast"),
    ({"Date Format": "dd/MM/yyyy"}, "fast"),
    ({"Trim Fields": "false"}, "fast"),
    ({"Null String": "\\N"}, "fast"),
    ({"Escape Character": ""}, "fast"),
    ({"CSV Format": "rfc-4180"}, "fast"),
    ({"CSV Format": "excel", "Date Format": "dd/MM/yyyy"}, "fast"),
])
def test_varied_csv_converts_the_same_both_ways(monkeypatch: pytest.MonkeyPatch, props: dict[str, str],
                                                expect: str) -> None:
    out = _same(monkeypatch, VARIED.encode(), props, {"Compression Type": "SNAPPY"}, expect=expect)
    assert out[0] == "success" and out[2]["record.count"] == "5"


def test_the_varied_csv_reads_as_the_row_path_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _same(monkeypatch, VARIED.encode(), {"Date Format": "dd/MM/yyyy"}, expect="fast")
    table = pq.read_table(io.BytesIO(out[1]))
    assert [str(t) for t in table.schema.types] == [
        "int32", "string", "int32", "double", "bool", "string", "string", "date32[day]", "int64"]
    rows = table.to_pylist()
    assert rows[0]["name"] == "Smith, John" and rows[0]["note"] == 'said "hi"'
    assert rows[1]["name"] == "multi\nline" and rows[1]["active"] is False and rows[1]["price"] == 0.5
    assert rows[2]["name"] == "spaced" and rows[2]["city"] == "Köln" and rows[2]["amount"] == 4
    assert rows[2]["note"] == "wide" and rows[2]["day"] is None and rows[2]["big"] == -2147483648
    assert rows[3]["city"] == 'a"b'
    # the escape character escapes the N
    assert rows[4]["name"] == "" and rows[4]["amount"] is None and rows[4]["note"] == "N"


SCHEMA = json.dumps({"type": "record", "name": "r", "fields": [
    {"name": "id", "type": "long"},
    {"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}]},
    {"name": "when", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
    {"name": "ratio", "type": ["null", "float"]},
    {"name": "small", "type": ["null", "int"]},
    {"name": "flag", "type": ["null", "boolean"]},
    {"name": "missing", "type": ["null", "string"]},
]})


@pytest.mark.parametrize(("content", "props", "expect"), [
    ("id,amount,when,ratio,small,flag\n1,1.5,2024-01-02 03:04:05,0.1,7,TRUE\n2,,,,,\n"
     "3,-12.25,1999-12-31 23:59:59,3.4028235e38,-3,false\n", {"Treat First Line as Header": "true"}, "fast"),
    ("small,id,flag\n7,1,true\n", {"Treat First Line as Header": "true"}, "fast"),
    ("x,y,z\n1,2.5,2024-01-02 03:04:05\n", {"Treat First Line as Header": "true",
                                          "Ignore CSV Header Column Names": "true"}, "fast"),
    ("1,2.5,2024-01-02 03:04:05,1.5,3,true\n4,,,,,\n", {}, "fast"),
    # a null in the non-nullable id, a number out of range, a value the fast rule does not cover
    ("id,amount\n,1\n", {"Treat First Line as Header": "true"}, "fallback"),
    ("id,small\n1,99999999999\n", {"Treat First Line as Header": "true"}, "fallback"),
    ("id,ratio\n1,1_000\n", {"Treat First Line as Header": "true"}, "fallback"),
    ("id,small\n1,0x10\n", {"Treat First Line as Header": "true"}, "fallback"),  # Arrow's cast would take it
    ("id,small\n1,+-5\n", {"Treat First Line as Header": "true"}, "fallback"),
    ("id,small\n+1,+5\n", {"Treat First Line as Header": "true"}, "fast"),
    ("id,small\n1,\u0663\n", {"Treat First Line as Header": "true"}, "fallback"),  # int() takes Arabic digits
    ("id,ratio\n1,inf\n", {"Treat First Line as Header": "true"}, "fallback"),
    ("id,ratio\n1,-.5e1\n", {"Treat First Line as Header": "true"}, "fast"),
    ("id,amount\n1,1.555\n", {"Treat First Line as Header": "true"}, "fast"),
    ("id,amount\n1,abc\n", {"Treat First Line as Header": "true"}, "fallback"),
])
def test_an_explicit_schema_converts_the_same_both_ways(monkeypatch: pytest.MonkeyPatch, content: str,
                                                        props: dict[str, str], expect: str) -> None:
    props = {"Schema Access Strategy": "schema-text-property", "Schema Text": SCHEMA,
             "Timestamp Format": "yyyy-MM-dd HH:mm:ss", **props}
    _same(monkeypatch, content.encode(), props, expect=expect)


@pytest.mark.parametrize(("content", "props", "expect"), [
    # falling back while inferring the schema: the row path infers and reads (convert() gives None)
    ("a,b\n1,2\n3\n", {}, "none"),  # a ragged row: Arrow cannot, the row path reads it
    ("a,b\n1,2,3\n", {}, "none"),
    ("\ufeffa,b\n1,2\n", {}, "none"),  # a byte order mark stays in the row path's header name
    ("a\n1\n\"\"\n2\n", {}, "none"),  # one column: a lone "" line is no record on the row path
    ("a,b\n1,x\n2,3\n", {}, "none"),  # a choice of int and string has no columnar type
    ("a,b\n1,99999999999999999999\n", {}, "none"),  # bigint
    ("a,a\n1,2\n", {}, "none"),  # duplicate header names
    ("a,b\n1,\\\n2,3\n", {}, "none"),  # an escape at the end of a line
    ("a,b\n#c,d\n1,2\n", {"Comment Marker": "#"}, "none"),
    ("a,b\n1,\xe9\n", {"Character Set": "ISO-8859-1"}, "none"),
    ("a,b\n1,2\n", {"CSV Format": "mysql"}, "none"),  # tab separated: one column
    ("a\tb\n1\t\\N\n\\N\tx\\y\n", {"CSV Format": "mysql"}, "fast"),
    ("a\tb\n 1 \t  x  \n", {"CSV Format": "tdf"}, "fast"),
    ("a,b\n1, \n", {"Trim Fields": "false", "Schema Access Strategy": "schema-text-property",
                    "Schema Text": json.dumps({"type": "record", "name": "r", "fields": [
                        {"name": "a", "type": ["null", "int"]}, {"name": "b", "type": ["null", "int"]}]})},
     "fallback"),  # a blank value in an int field: the row path fails the flowfile
    ("a,b\n" + "x" * 140_000 + ",1\n", {}, "-"),  # longer than the csv field limit: the row path fails inferring
    ("a,b\n1,\n", {"Null String": ""}, "fast"),
    ("", {}, "none"),  # no content: the row path finds no records
    ("a,b\n1,2\n3\n", {"Schema Access Strategy": "csv-header-derived"}, "fallback"),  # ragged, found late
    ("a,b\n", {}, "fast"),
])
def test_what_the_fast_path_cannot_do_exactly_falls_back(monkeypatch: pytest.MonkeyPatch, content: str,
                                                         props: dict[str, str], expect: str) -> None:
    encoding = "latin-1" if props.get("Character Set") == "ISO-8859-1" else "utf-8"
    _same(monkeypatch, content.encode(encoding), props, expect=expect)


def test_many_blocks_and_row_groups_convert_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    lines = ["id,name,amount,when,flag,code"]
    for i in range(40_000):
        lines.append(f'{i},"n{i}, {rng.choice(["x", "ü", "y"])}",{rng.uniform(-1e6, 1e6):.{rng.randint(0, 9)}f},'
                     f'{rng.randint(1, 28):02d}.0{rng.randint(1, 9)}.2020,{rng.choice(["true", "False", ""])},'
                     f'{rng.randint(-(2**40), 2**40)}')
    content = ("\n".join(lines) + "\n").encode()
    assert len(content) > 2 * (1 << 20)  # several Arrow blocks
    out = _same(monkeypatch, content, {"Date Format": "dd.MM.yyyy"}, {"Row Group Size": "1 MB"}, expect="fast")
    assert pq.ParquetFile(io.BytesIO(out[1])).num_row_groups > 2


_TOKENS = ("1", "-12", "+3", "007", "1234567890", "-2147483649", "99999999999999999999", "1.5", ".5", "2.",
           "-0.0", "1e5", "true", "FALSE", "tRuE", "yes", "", " ", " 4 ", "2024-01-02", "02/01/2024", "x", "ü",
           "NULL", "\u3000", "12:30:00", "2024-01-02 03:04:05", "nan", "١٢", "+", "-", ".")


def test_inference_matches_the_row_path_on_random_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    formats = ({}, {"Date Format": "yyyy-MM-dd"}, {"Date Format": "dd/MM/yyyy", "Time Format": "HH:mm:ss",
                                                    "Timestamp Format": "yyyy-MM-dd HH:mm:ss"})
    for trial in range(60):
        tokens = _TOKENS[:rng.randint(3, len(_TOKENS))]
        rows = [[rng.choice(tokens) for _ in range(3)] for _ in range(rng.randint(1, 8))]
        content = "a,b,c\n" + "".join(",".join(f'"{v}"' if " " in v else v for v in row) + "\n" for row in rows)
        props = {**formats[trial % 3], **({"Null String": "NULL"} if trial % 2 else {}),
                 **({"Trim Fields": "false"} if trial % 5 == 0 else {})}
        fast, _ = _run(monkeypatch, content.encode(), props, {"Schema Write Strategy": "full-schema-attribute"},
                       columnar=True, writer=JsonRecordSetWriter)
        rows_out, _ = _run(monkeypatch, content.encode(), props, {"Schema Write Strategy": "full-schema-attribute"},
                           columnar=False, writer=JsonRecordSetWriter)
        assert fast[0] == rows_out[0] and fast[2].get("avro.schema") == rows_out[2].get("avro.schema"), content
        assert fast[1] == rows_out[1], content


def test_random_csv_text_converts_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    alphabet = ['a', 'b', '1', '2', '.', ',', ',', '"', '"', '\\', '\n', '\r', ' ', 'é', '\t', '\x00']
    fast_runs = 0
    for _ in range(150):
        if rng.random() < 0.3:  # anything
            body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        else:  # rows of three values, some quoted (with anything inside), some not
            body = ""
            for _ in range(rng.randint(1, 5)):
                values = []
                for _ in range(3):
                    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
                    if rng.random() < 0.5:
                        values.append('"' + text.replace('"', '""') + '"')
                    else:
                        values.append("".join(c for c in text if c not in ',"\r\n'))
                body += ",".join(values) + rng.choice(("\n", "\r\n", "\r"))
        content = ("h1,h2,h3\n" + body).encode()
        props = rng.choice(({}, {"Escape Character": ""}, {"Trim Fields": "false"}, {"Null String": "a"}))
        fast, paths = _run(monkeypatch, content, props, {}, columnar=True)
        rows, _ = _run(monkeypatch, content, props, {}, columnar=False)
        assert fast[0] == rows[0], (content, props, fast, rows)
        if fast[0] == "success":
            assert pq.read_table(io.BytesIO(fast[1])).equals(pq.read_table(io.BytesIO(rows[1]))), (content, props)
        else:
            assert fast[2]["record.error.message"] == rows[2]["record.error.message"]
        fast_runs += paths == ["fast"]
    assert fast_runs > 40  # the comparison did exercise the fast path


def test_the_content_is_read_twice_as_on_the_row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    real = _columnar.ArrowCSV.__init__

    def counting(self: Any, options: Any, open_stream: Any) -> None:
        def open_counted() -> Any:
            opened.append(1)
            return open_stream()
        real(self, options, open_counted)

    monkeypatch.setattr(_columnar.ArrowCSV, "__init__", counting)
    content = ("a,b\n" + "".join(f"{i},x{i}\n" for i in range(300_000))).encode()
    assert len(content) > 2 * _columnar.BLOCK_SIZE  # more than the head read to count the columns
    out, paths = _run(monkeypatch, content, {}, {}, columnar=True)
    assert paths == ["fast"] and out[2]["record.count"] == "300000"
    assert len(opened) == 2  # once to infer the schema, once for the records


def test_python_whitespace_is_what_str_strip_removes() -> None:
    ws = python_whitespace()
    assert all(c.isspace() for c in ws) and (" \t\u3000\x1c\x85" in ws or set(" \t\u3000\x1c\x85") <= set(ws))
    assert ("\u200b" + ws + "x" + ws).strip() == "\u200b" + ws + "x"


def _bench_records() -> Any:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "bench_records.py"
    spec = importlib.util.spec_from_file_location("bench_records", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_200_mb_csv_converts_with_bounded_memory(tmp_path: Any) -> None:
    """ConvertRecord (CSVReader, inferred schema → Parquet) in a fresh process with its repositories on disk:
    the peak RSS while it converts 200 MB grows by far less than the content (whole, it would be 200 MB as
    bytes alone)."""
    bench = _bench_records()
    source = str(tmp_path / "in.csv")
    records = bench.write_csv(source, 200)
    result = bench.measure_peak_rss(source, str(tmp_path), timeout=300)
    assert result["failure"] is None and result["records"] == str(records), result
    assert int(result["content"]) > 200e6
    growth = int(result["peak"]) - int(result["before"])
    assert growth < 150e6, f"RSS grew by {growth / 1e6:.0f} MB converting {int(result['content']) / 1e6:.0f} MB"
    assert int(result["output"]) > 10e6


def test_a_reader_that_does_not_coerce_keeps_the_text_and_has_no_batches() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("reader", CSVReader, {
        "Schema Access Strategy": "schema-text-property", "Treat First Line as Header": "true",
        "Schema Text": json.dumps({"type": "record", "name": "r", "fields": [
            {"name": "a", "type": ["null", "int"]}, {"name": "b", "type": ["null", "string"]}]})})
    r.enable_controller_service("reader")
    factory = r.services.get("reader")
    assert isinstance(factory, CSVReader)
    content = b"a,b\n1,x\nnope,y\n"
    reader = factory.create_reader({}, lambda: io.BytesIO(content), coerce_types=False)
    assert reader.batches() is None
    assert list(reader) == [{"a": 1, "b": "x"}, {"a": "nope", "b": "y"}]
    strict = factory.create_reader({}, lambda: io.BytesIO(content))
    with pytest.raises(ValueError, match="record 2: field 'a'"):
        list(strict)


_TYPED_TOKENS = ("0", "7", "-7", "+7", "007", "0x10", "1_0", "+-5", "--5", "+", "-", "\u0663", "\u00b2", "2147483647",
                 "2147483648", "-32769", "128", "9223372036854775808", "00000000000000000000001", "1.5", "-.5",
                 "5.", "1e5", "1E-3", "inf", "nan", "Infinity", "1.555", "12345678.9", "true", "FALSE", "yes", "",
                 " ", " 3 ", "2024-01-02", "2024-02-30", "1999-12-31 23:59:59", "12:30:00", "x", "\u3000")


def test_typed_fields_convert_the_same_both_ways_on_random_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind of field with an explicit schema, on values each path may take or refuse: same outcome."""
    # (name, Avro type, values the field takes), and now and then a token from _TYPED_TOKENS instead
    fields: list[tuple[str, Any, tuple[str, ...]]] = [
        ("i", "int", ("0", "7", "-7", "+7", "007", "127", "", " 3 ")),
        ("l", "long", ("9223372036854775807", "-1", "+0", "")),
        ("f", "float", ("1.5", "-.5", "5.", "1e5", "3.4028235e38", "7", "")),
        ("d", "double", ("0.1", "1E-3", "-0.0", "12", "")),
        ("t", "boolean", ("true", "FALSE", "tRuE", "")),
        ("m", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
         ("1.5", "-12.25", "0.001", "1234567.89", "")),
        ("day", {"type": "int", "logicalType": "date"}, ("2024-01-02", "1999-12-31", "")),
        ("at", {"type": "long", "logicalType": "timestamp-millis"}, ("1999-12-31 23:59:59", "2024-02-29 00:00:00")),
        ("tm", {"type": "int", "logicalType": "time-millis"}, ("12:30:00", "00:00:01", "")),
    ]
    schema = json.dumps({"type": "record", "name": "r", "fields": [
        {"name": name, "type": ["null", avro]} for name, avro, _ in fields]})
    rng = random.Random(3)
    fast_runs = 0
    for trial in range(80):
        rows = ["\t".join(rng.choice(_TYPED_TOKENS) if rng.random() < 0.04 else rng.choice(values)
                          for _, _, values in fields) for _ in range(rng.randint(1, 4))]
        content = ("\t".join(name for name, _, _ in fields) + "\n" + "\n".join(rows) + "\n").encode()
        props = {"Schema Access Strategy": "schema-text-property", "Schema Text": schema, "Value Separator": "\\t",
                 "Treat First Line as Header": "true", "Trim Fields": "false" if trial % 3 == 0 else "true",
                 "Date Format": "yyyy-MM-dd", "Timestamp Format": "yyyy-MM-dd HH:mm:ss"}
        fast, paths = _run(monkeypatch, content, props, {}, columnar=True)
        rows_out, _ = _run(monkeypatch, content, props, {}, columnar=False)
        assert fast[0] == rows_out[0], (content, fast, rows_out)
        if fast[0] == "success":
            assert fast[1] == rows_out[1], content
        else:
            assert fast[2]["record.error.message"] == rows_out[2]["record.error.message"]
        fast_runs += paths == ["fast"]
    assert fast_runs >= 5
