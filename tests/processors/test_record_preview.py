"""record_preview: the table each record format gives, the bounded reading, and
the errors for content that is not what its type says."""

from __future__ import annotations

import io
import json
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowyard.processors.record_preview import (
    CONTENT_VIEWERS,
    MAX_DECODED,
    MAX_ITEMS,
    MAX_PARQUET_DECODED,
    MAX_TEXT,
    MAX_VALUES,
    preview_records,
    record_format,
)


class Budget(io.RawIOBase):
    """Content that hands out at most ``budget`` bytes (as the service's stream does)."""

    def __init__(self, data: bytes, budget: int) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self.left = budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._data.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._data.seek(offset, whence)

    def readinto(self, buffer: Any) -> int:
        data = self._data.read(min(len(buffer), self.left))
        self.left -= len(data)
        buffer[:len(data)] = data
        return len(data)


def preview(data: bytes, mime: str, max_rows: int = 100, budget: int | None = None) -> dict[str, Any] | None:
    stream: Any = io.BytesIO(data) if budget is None else Budget(data, budget)
    return preview_records(stream, mime, max_rows)


def _avro(records: list[dict[str, Any]], schema: dict[str, Any], **options: Any) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, schema, records, **options)
    return out.getvalue()


def test_the_viewer_is_offered_through_the_mapping() -> None:
    assert CONTENT_VIEWERS["records"] is preview_records


@pytest.mark.parametrize(("mime", "head", "expected"), [
    ("text/csv", b"a,b", "csv"),
    ("text/csv; charset=UTF-8", b"a,b", "csv"),
    ("application/json", b"[", "json"),
    ("application/x-ndjson", b"{", "json"),
    ("application/vnd.example+json", b"{", "json"),
    ("avro/binary", b"Obj\x01", "avro"),
    ("application/avro", b"", "avro"),
    ("application/vnd.apache.parquet", b"PAR1", "parquet"),
    ("application/parquet", b"PAR1", "parquet"),
    ("application/octet-stream", b"Obj\x01", "avro"),
    ("text/plain", b"PAR1", "parquet"),
    ("application/json", b"Obj\x01", "avro"),
    ("text/plain", b"a,b", None),
    ("image/png", b"\x89PNG", None),
])
def test_format_from_type_and_magic_bytes(mime: str, head: bytes, expected: str | None) -> None:
    assert record_format(mime, head) == expected


def test_csv_header_rows_and_types() -> None:
    table = preview(b"id,price,ok,name\n1,2.5,true,\"a, b\"\n2,3,false,\n", "text/csv")
    assert table == {"format": "csv", "truncated": False,
                     "columns": [{"name": "id", "type": "INT"}, {"name": "price", "type": "DOUBLE"},
                                 {"name": "ok", "type": "BOOLEAN"}, {"name": "name", "type": "STRING"}],
                     "rows": [["1", "2.5", "true", "a, b"], ["2", "3", "false", ""]]}


def test_csv_with_a_tab_header_and_extra_cells() -> None:
    table = preview(b"a\tb\n1\t2\t3\n", "text/csv")
    assert table is not None
    assert [c["name"] for c in table["columns"]] == ["a", "b", "(column 3)"]
    assert table["rows"] == [["1", "2", "3"]]


def test_csv_rows_are_capped() -> None:
    data = b"n\n" + b"".join(b"%d\n" % i for i in range(500))
    table = preview(data, "text/csv", max_rows=10)
    assert table is not None and table["truncated"] is True
    assert [r[0] for r in table["rows"]] == [str(i) for i in range(10)]
    exact = preview(b"n\n1\n2\n", "text/csv", max_rows=2)
    assert exact is not None and exact["truncated"] is False and len(exact["rows"]) == 2


def test_csv_cut_by_the_budget_drops_the_partial_row() -> None:
    data = b"n,text\n" + b"".join(b"%d,%s\n" % (i, b"z" * 20) for i in range(1000))
    table = preview(data, "text/csv", max_rows=1000, budget=500)
    assert table is not None and table["truncated"] is True
    assert 10 < len(table["rows"]) < 25 and all(r[1] == "z" * 20 for r in table["rows"])


@pytest.mark.parametrize(("data", "message"), [
    (b'a,b\n"1,2\n', "the CSV is malformed on line 2"),
    (b"a,b\n\xff\xfe,1\n", "the content is not UTF-8 text (CSV line 2)"),
])
def test_bad_csv_says_where(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        preview(data, "text/csv")


def test_csv_header_longer_than_the_budget() -> None:
    with pytest.raises(ValueError, match="header line is longer than the preview reads"):
        preview(b"x" * 1000 + b"\n1\n", "text/csv", budget=100)


def test_json_array_lines_and_nested_values() -> None:
    table = preview(b'[{"a": 1, "b": {"c": [1, 2]}}, {"a": 2.5, "d": null}]', "application/json")
    assert table is not None
    assert table["columns"] == [{"name": "a", "type": "DOUBLE"}, {"name": "b", "type": "RECORD{c: ARRAY[INT]}"},
                                {"name": "d", "type": "STRING"}]
    assert table["rows"] == [[1, {"c": [1, 2]}, None], [2.5, None, None]]
    lines = preview(b'{"k": 1}\n{"k": 2}\n{"k": 3}\n', "application/json", max_rows=2)
    assert lines is not None and lines["rows"] == [[1], [2]] and lines["truncated"] is True


@pytest.mark.parametrize(("data", "message"), [
    (b'[{"a": 1}, {"a": ', "the content is not valid JSON after record 1"),
    (b"{nope}", "the content is not valid JSON: malformed JSON"),
    (b"[1, 2]", "record 1 is a number, not a JSON object"),
    (b'[{"a": 1}, "x"]', "record 2 is a string, not a JSON object"),
])
def test_bad_json_says_what_and_where(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        preview(data, "application/json")


def test_json_cut_by_the_budget() -> None:
    data = b"[" + b",".join(b'{"n": %d, "pad": "%s"}' % (i, b"p" * 30) for i in range(1000)) + b"]"
    table = preview(data, "application/json", max_rows=1000, budget=1000)
    assert table is not None and table["truncated"] is True and 10 < len(table["rows"]) < 30
    with pytest.raises(ValueError, match="first JSON record is larger than the preview reads"):
        preview(b'[{"big": "' + b"b" * 5000 + b'"}]', "application/json", budget=1000)


def test_avro_schema_types_and_logical_values() -> None:
    schema = {"type": "record", "name": "r", "fields": [
        {"name": "id", "type": "long"},
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}},
        {"name": "key", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "raw", "type": "bytes"},
        {"name": "note", "type": ["null", "string"]},
    ]}
    key = uuid.UUID(int=7)
    data = _avro([{"id": 2**60, "when": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), "day": date(2024, 5, 6),
                   "amount": Decimal("12.34"), "key": str(key), "raw": b"\x00\xff", "note": None}], schema)
    table = preview(data, "avro/binary")
    assert table is not None and table["format"] == "avro"
    assert [c["type"] for c in table["columns"]] == ["LONG", "TIMESTAMP", "DATE", "DECIMAL(6,2)", "UUID",
                                                     "ARRAY[BYTE]", "STRING"]
    assert table["rows"] == [[str(2**60), "2024-05-06T07:08:09+00:00", "2024-05-06", "12.34", str(key), "00ff", None]]


def test_avro_truncation_by_rows_and_by_budget() -> None:
    schema = {"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}]}
    data = _avro([{"n": i} for i in range(5000)], schema, sync_interval=200)
    capped = preview(data, "application/avro", max_rows=7)
    assert capped is not None and capped["truncated"] is True and capped["rows"] == [[i] for i in range(7)]
    cut = preview(data, "application/avro", max_rows=1000, budget=1500)
    assert cut is not None and cut["truncated"] is True and 0 < len(cut["rows"]) < 1000
    assert cut["rows"] == [[i] for i in range(len(cut["rows"]))]


def test_avro_of_plain_values_gets_a_value_column() -> None:
    table = preview(_avro(["x", "y"], {"type": "string"}), "avro/binary")
    assert table is not None and table["columns"] == [{"name": "value", "type": "STRING"}]
    assert table["rows"] == [["x"], ["y"]]


def test_bad_avro_is_an_error() -> None:
    with pytest.raises(ValueError, match="the content is not an Avro data file"):
        preview(b"Obj\x01" + b"\x00" * 3, "avro/binary")
    schema = {"type": "record", "name": "r", "fields": [{"name": "s", "type": "string"}]}
    data = bytearray(_avro([{"s": "abc"}] * 3, schema))
    data[-20:] = b"\xff" * 20  # the block's data and sync marker damaged
    with pytest.raises(ValueError, match="the Avro data is malformed"):
        preview(bytes(data), "avro/binary")


def test_parquet_schema_rows_and_nested() -> None:
    table_in = pa.table({"id": pa.array([1, 2], pa.int32()), "tags": [["a"], []], "m": [{"x": 1}, None]})
    out = io.BytesIO()
    pq.write_table(table_in, out)
    table = preview(out.getvalue(), "application/vnd.apache.parquet")
    assert table is not None and table["format"] == "parquet" and table["truncated"] is False
    assert table["columns"] == [{"name": "id", "type": "INT"}, {"name": "tags", "type": "ARRAY[STRING]"},
                                {"name": "m", "type": "RECORD{x: LONG}"}]
    assert table["rows"] == [[1, ["a"], {"x": 1}], [2, [], None]]
    capped = preview(out.getvalue(), "application/parquet", max_rows=1)
    assert capped is not None and capped["truncated"] is True and capped["rows"] == [[1, ["a"], {"x": 1}]]


def test_bad_or_cut_parquet() -> None:
    with pytest.raises(ValueError, match="the content is not a Parquet file"):
        preview(b"PAR1 nothing else", "application/parquet")
    out = io.BytesIO()
    pq.write_table(pa.table({"n": list(range(100))}), out)
    with pytest.raises(ValueError, match="could not be read within what the preview reads"):
        preview(out.getvalue(), "application/parquet", budget=16)


def test_other_content_is_not_a_table() -> None:
    assert preview(b"hello", "text/plain") is None
    assert preview(b"", "text/csv") == {"format": "csv", "columns": [], "rows": [], "truncated": False}


def test_cells_stay_small() -> None:
    wide = {f"k{i}": i for i in range(MAX_ITEMS + 5)}
    deep: dict[str, Any] = {"v": 1}
    for _ in range(10):
        deep = {"d": deep}
    data = json.dumps([{"long": "x" * (MAX_TEXT + 50), "wide": wide, "list": list(range(MAX_ITEMS + 3)),
                        "deep": deep, "nan": math.inf}]).encode()
    table = preview(data, "application/json")
    assert table is not None
    long, wide_cell, list_cell, deep_cell, nan = table["rows"][0]
    assert long == "x" * MAX_TEXT + "…"
    assert len(wide_cell) == MAX_ITEMS + 1 and wide_cell["…"] == "5 more"
    assert list_cell[-1] == "… 3 more" and len(list_cell) == MAX_ITEMS + 1
    assert "{…}" in str(deep_cell)
    assert nan == "inf"


def test_the_entry_point_offers_the_viewer() -> None:
    from flowyard.runtime.registry import discover_content_viewers

    assert discover_content_viewers()["records"] is preview_records


def test_csv_field_over_pythons_default_limit() -> None:
    import csv

    before = csv.field_size_limit()
    long = "z" * (200 * 1024)  # over Python's 128 KiB default field limit
    table = preview(f'id,text\n1,"{long}"\n2,{long}\n3,short\n'.encode(), "text/csv")
    assert table is not None and table["truncated"] is False
    assert table["rows"] == [["1", "z" * MAX_TEXT + "…"], ["2", "z" * MAX_TEXT + "…"], ["3", "short"]]
    assert csv.field_size_limit() == before, "the process-wide csv limit is put back"


def _peak(work: Any) -> tuple[Any, int]:
    """What ``work()`` answers or raises, and the peak of Python memory it allocated."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            result: Any = work()
        except ValueError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


ROWS_SCHEMA = {"type": "record", "name": "r", "fields": [
    {"name": "n", "type": "int"}, {"name": "s", "type": "string"},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "m", "type": {"type": "map", "values": ["null", "double"]}},
    {"name": "f", "type": {"type": "fixed", "name": "four", "size": 4}},
    {"name": "e", "type": {"type": "enum", "name": "color", "symbols": ["RED", "GREEN"]}},
    {"name": "next", "type": ["null", "r"]}]}


def _rows_records(count: int) -> list[dict[str, Any]]:
    return [{"n": i, "s": f"s{i}", "tags": ["a"] * (i % 3), "m": {"x": i / 2, "y": None}, "f": b"abcd",
             "e": "GREEN" if i % 2 else "RED", "next": {"n": -i, "s": "", "tags": [], "m": {}, "f": b"wxyz",
                                                        "e": "RED", "next": None} if i % 5 == 0 else None}
            for i in range(count)]


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "bzip2", "xz"])
def test_avro_codecs_preview_block_by_block_as_fastavro_reads_them(codec: str) -> None:
    records = _rows_records(300)
    data = _avro(records, ROWS_SCHEMA, codec=codec, sync_interval=500)
    expected = preview(_avro(records, ROWS_SCHEMA), "avro/binary", max_rows=1000)
    assert expected is not None and len(expected["rows"]) == 300 and expected["truncated"] is False
    assert expected["rows"][0] == [0, "s0", [], {"x": 0.0, "y": None}, "61626364", "RED",
                                   {"n": 0, "s": "", "tags": [], "m": {}, "f": "7778797a", "e": "RED", "next": None}]
    whole = preview(data, "avro/binary", max_rows=1000)
    assert whole == expected
    capped = preview(data, "avro/binary", max_rows=120)
    assert capped is not None and capped["truncated"] is True and capped["rows"] == expected["rows"][:120]
    assert capped["columns"] == expected["columns"]


def test_an_avro_record_expanding_past_the_limit_is_refused_in_bounded_memory() -> None:
    schema = {"type": "record", "name": "r", "fields": [{"name": "s", "type": "string"}]}
    huge = "a" * (MAX_DECODED + 4 * 1024 * 1024)
    bomb = _avro([{"s": huge}] * 3, schema, codec="deflate")
    assert len(bomb) < 200_000
    refused, peak = _peak(lambda: preview(bomb, "avro/binary", budget=8 * 1024 * 1024))
    assert isinstance(refused, ValueError) and "first Avro record is larger than the preview decodes" in str(refused)
    assert peak < 2 * MAX_DECODED + 8 * 1024 * 1024, f"peak {peak} bytes"
    # small records before the large one still show
    mixed = _avro([{"s": "x"}, {"s": "y"}, {"s": huge}, {"s": "z"}], schema, codec="deflate")
    table, peak = _peak(lambda: preview(mixed, "avro/binary"))
    assert table["rows"] == [["x"], ["y"]] and table["truncated"] is True
    assert peak < 2 * MAX_DECODED + 8 * 1024 * 1024, f"peak {peak} bytes"


def _null_array_bomb(items: int, before: int = 0) -> bytes:
    """An Avro file whose last record declares an array of ``items`` nulls (no bytes per item)."""
    schema = {"type": "record", "name": "r", "fields": [{"name": "a", "type": {"type": "array", "items": "null"}}]}
    sync = b"S" * 16
    header = io.BytesIO()
    fastavro.writer(header, schema, [], codec="null")
    head_end = header.getvalue()[:-16] + sync  # an empty file is its header, which ends with the sync marker

    def zz(n: int) -> bytes:
        n = (n << 1) ^ (n >> 63)
        out = bytearray()
        while n > 0x7F:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out)

    body = b"".join(zz(1) + b"\x00" for _ in range(before)) + zz(items) + b"\x00"
    return head_end + zz(before + 1) + zz(len(body)) + body + sync


def test_an_avro_array_declaring_millions_of_items_is_refused_quickly() -> None:
    bomb = _null_array_bomb(50_000_000)
    assert len(bomb) < 300
    refused, peak = _peak(lambda: preview(bomb, "avro/binary"))
    assert isinstance(refused, ValueError) and f"more than {MAX_VALUES} values" in str(refused)
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"
    table = preview(_null_array_bomb(50_000_000, before=3), "avro/binary")
    assert table is not None and table["rows"] == [[[None]]] * 3 and table["truncated"] is True
    fine = preview(_null_array_bomb(2), "avro/binary")
    assert fine is not None and fine["rows"] == [[[None, None]]] and fine["truncated"] is False


def test_an_avro_block_declaring_more_than_the_content_is_malformed() -> None:
    schema = {"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}]}
    data = bytearray(_avro([{"n": 1}], schema))
    tail = len(data) - 16 - 3  # count (1), size (1 byte), the datum (n=1) and the sync marker end the file
    assert data[tail:tail + 3] == b"\x02\x02\x02"
    data[tail + 1:tail + 2] = b"\xfe\xff\xff\xff\x0f"  # the block's size now ~2 GiB
    with pytest.raises(ValueError, match="the Avro data is malformed"):
        preview(bytes(data), "avro/binary")


def test_a_parquet_row_group_expanding_past_the_limit_is_refused_from_the_footer() -> None:
    out = io.BytesIO()
    column = pa.array(["a" * (MAX_PARQUET_DECODED // 4) + str(i) for i in range(6)], type=pa.large_string())
    pq.write_table(pa.table({"s": column}), out, compression="zstd", use_dictionary=False)
    del column
    bomb = out.getvalue()
    assert len(bomb) < 200_000
    pool = pa.default_memory_pool()
    before = pool.bytes_allocated()
    with pytest.raises(ValueError, match=r"row group 1 decodes to \d+ bytes, more than the 64 MiB the preview"):
        preview(bomb, "application/vnd.apache.parquet")
    assert pool.bytes_allocated() - before < 1024 * 1024
    # later row groups past the limit end the table; the rows before them show
    out = io.BytesIO()
    with pq.ParquetWriter(out, pa.schema([("s", pa.large_string())]), compression="zstd") as writer:
        writer.write_table(pa.table({"s": pa.array(["x", "y"], pa.large_string())}))
        writer.write_table(pa.table({"s": pa.array(["b" * (MAX_PARQUET_DECODED + 10)], pa.large_string())}))
    table = preview(out.getvalue(), "application/parquet")
    assert table is not None and table["rows"] == [["x"], ["y"]] and table["truncated"] is True


def test_parquet_rows_over_several_row_groups() -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"n": list(range(250))}), out, row_group_size=100)
    table = preview(out.getvalue(), "application/parquet", max_rows=230)
    assert table is not None and table["rows"] == [[i] for i in range(230)] and table["truncated"] is True
    whole = preview(out.getvalue(), "application/parquet", max_rows=1000)
    assert whole is not None and len(whole["rows"]) == 250 and whole["truncated"] is False


def test_avro_records_nested_past_what_the_preview_decodes() -> None:
    first = io.BytesIO()
    fastavro.schemaless_writer(first, fastavro.parse_schema(ROWS_SCHEMA), _rows_records(1)[0])
    level = b"\x00\x00\x00\x00abcd\x00\x02"  # n=0, s="", tags=[], m={}, f, e=RED, then next: the "r" branch
    deep = level * 3000 + level[:-1] + b"\x00"  # the innermost next is null
    header = io.BytesIO()
    fastavro.writer(header, ROWS_SCHEMA, [])
    sync = header.getvalue()[-16:]
    body = first.getvalue() + deep
    data = header.getvalue() + b"\x04" + _zigzag(len(body)) + body + sync
    table = preview(data, "avro/binary", max_rows=1)  # the first row shows: the deep one is not decoded
    assert table is not None and table["rows"][0][0] == 0 and table["truncated"] is True
    with pytest.raises(ValueError, match="record 2 nests deeper than the preview decodes"):
        preview(data, "avro/binary")


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def test_a_length_declared_in_the_content_never_sizes_a_read_past_it() -> None:
    from flowyard.processors.record_preview import _Tracked

    stream = _Tracked(io.BytesIO(b"abcdef"), 6)  # type: ignore[arg-type]
    assert stream.read(1 << 42) == b"abcdef" and stream.read(1 << 42) == b"" and stream.read() == b""
