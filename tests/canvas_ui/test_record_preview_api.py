"""The record preview routes against a real server: each format as a table, bad
content as a clear 422, a large flowfile read only as far as the preview needs,
provenance content, and the API's usual rules (404s, parameter checks)."""

from __future__ import annotations

import functools
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastavro
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import trio

from flowyard.bootstrap.serve import serve
from flowyard.runtime.repository.content import CHUNK_SIZE, ContentRepository
from flowyard.runtime.service._preview import PREVIEW_BUDGET, _Budget

pytestmark = pytest.mark.integration

#: mime.type from the file's extension (Avro and Parquet without one: the preview sniffs their magic bytes).
MIME = ("${filename:substringAfterLast('.'):replace('csv', 'text/csv'):replace('json', 'application/json')"
        ":replace('avro', 'avro/binary')}")
FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "get", "type": "GetFile", "schedulingPeriod": "100 ms",
     "properties": {"Input Directory": "IN", "Batch Size": "50", "Polling Interval": "0 sec"}},
    {"identifier": "mime", "type": "UpdateAttribute", "properties": {"mime.type": MIME}},
    {"identifier": "held", "type": "LogAttribute", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
], "connections": [
    {"identifier": "c0", "source": {"id": "get"}, "destination": {"id": "mime"}, "selectedRelationships": ["success"]},
    {"identifier": "q", "source": {"id": "mime"}, "destination": {"id": "held"}, "selectedRelationships": ["success"]},
]}}

AVRO_SCHEMA = {"type": "record", "name": "reading", "fields": [
    {"name": "sensor", "type": "string"}, {"name": "value", "type": "double"},
    {"name": "tags", "type": {"type": "array", "items": "string"}}]}


@functools.cache
def _bombs() -> dict[str, bytes]:
    """Small files that decode to far more than the preview decodes."""
    schema = {"type": "record", "name": "r", "fields": [{"name": "a", "type": {"type": "array", "items": "null"}}]}
    head = io.BytesIO()
    fastavro.writer(head, schema, [], codec="null")
    sync = head.getvalue()[-16:]
    body = b"\x80\xe1\xeb\x17\x00"  # an array declaring 25 million nulls (zigzag varint), then its end
    nulls = head.getvalue() + b"\x02" + bytes([len(body) * 2]) + body + sync
    deflated = io.BytesIO()
    fastavro.writer(deflated, {"type": "record", "name": "s", "fields": [{"name": "s", "type": "string"}]},
                    [{"s": "a" * (20 * 1024 * 1024)}] * 2, codec="deflate")
    wide = io.BytesIO()
    pq.write_table(pa.table({"s": pa.array(["w" * (40 * 1024 * 1024) + str(i) for i in range(2)], pa.large_string())}),
                   wide, compression="zstd", use_dictionary=False)
    return {"nulls.avro": nulls, "deflated.avro": deflated.getvalue(), "wide.parq": wide.getvalue()}


def _files(folder: Path) -> dict[str, bytes]:
    avro = io.BytesIO()
    fastavro.writer(avro, AVRO_SCHEMA, [{"sensor": f"s{i}", "value": i / 2, "tags": ["a", "b"]} for i in range(150)])
    parquet = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, 3], "point": [{"x": 1.5, "y": 2.0}, None, {"x": 0.0, "y": -1.0}]}), parquet)
    big = b"n,text\n" + b"".join(b"%d,%s\n" % (i, b"y" * 90) for i in range(400_000))  # about 38 MB
    files = {
        "people.csv": b"id,name,joined\n1,Ann,2024-01-02\n2,\"Bo, Jr.\",2024-03-04\n",
        "orders.json": b'[{"order": 7, "items": [{"sku": "A1", "qty": 2}], "paid": true},\n'
                       b' {"order": 8, "paid": false}]',
        "lines.json": b'{"k": "a"}\n{"k": "b"}\n',
        "readings.avro": avro.getvalue(),
        "points.parq": parquet.getvalue(),
        "broken.json": b'[{"ok": 1}, {"ok": ',
        "quote.csv": b'a,b\n"never closed,1\n',
        "notes.txt": b"just some words",
        "big.csv": big,
        "longfield.csv": b"id,text\n1," + b"L" * (200 * 1024) + b"\n2,short\n",
        **_bombs(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, dict[str, str],
                                                                                      dict[str, dict[str, Any]]]]:
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "s3cret-pass")
    inbox = tmp_path / "in"
    inbox.mkdir()
    files = _files(inbox)
    initial = tmp_path / "initial.json"
    initial.write_text(json.dumps(FLOW).replace('"IN"', json.dumps(str(inbox))))
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(lambda task_status: serve(tmp_path / "data", port=0, initial_flow=initial,
                                                              out=io.StringIO(), task_status=task_status))
        async with httpx.AsyncClient(base_url=str(binds[0]), timeout=30) as client:
            login = (await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})).json()
            client.cookies.clear()
            auth = {"Authorization": f"Bearer {login['token']}"}
            with trio.fail_after(30):
                while len(listing := (await client.get("/api/connections/q/flowfiles", headers=auth)).json()) < len(
                        files):
                    await trio.sleep(0.05)
            yield client, auth, {ff["filename"]: ff for ff in listing}
        nursery.cancel_scope.cancel()


def _url(ff: dict[str, Any]) -> str:
    return f"/api/connections/q/flowfiles/{ff['uuid']}/records"


async def test_csv_is_a_table_with_header_and_inferred_types(api: Any) -> None:
    client, auth, queued = api
    response = await client.get(_url(queued["people.csv"]), headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    table = response.json()
    assert table["format"] == "csv" and table["mimeType"] == "text/csv" and table["truncated"] is False
    assert table["columns"] == [{"name": "id", "type": "INT"}, {"name": "name", "type": "STRING"},
                                {"name": "joined", "type": "STRING"}]
    assert table["rows"] == [["1", "Ann", "2024-01-02"], ["2", "Bo, Jr.", "2024-03-04"]]


async def test_json_array_and_lines_keep_nested_values(api: Any) -> None:
    client, auth, queued = api
    table = (await client.get(_url(queued["orders.json"]), headers=auth)).json()
    assert table["format"] == "json"
    assert [c["name"] for c in table["columns"]] == ["order", "items", "paid"]
    assert table["columns"][1]["type"] == "ARRAY[RECORD{sku: STRING, qty: INT}]"
    assert table["rows"] == [[7, [{"sku": "A1", "qty": 2}], True], [8, None, False]]
    lines = (await client.get(_url(queued["lines.json"]), headers=auth)).json()
    assert lines["rows"] == [["a"], ["b"]] and lines["columns"] == [{"name": "k", "type": "STRING"}]


async def test_avro_rows_are_capped_and_say_so(api: Any) -> None:
    client, auth, queued = api
    table = (await client.get(_url(queued["readings.avro"]), headers=auth)).json()
    assert table["format"] == "avro" and table["mimeType"] == "avro/binary"
    assert table["columns"] == [{"name": "sensor", "type": "STRING"}, {"name": "value", "type": "DOUBLE"},
                                {"name": "tags", "type": "ARRAY[STRING]"}]
    assert len(table["rows"]) == 100 and table["truncated"] is True
    assert table["rows"][3] == ["s3", 1.5, ["a", "b"]]
    few = (await client.get(_url(queued["readings.avro"]) + "?rows=5", headers=auth)).json()
    assert [r[0] for r in few["rows"]] == ["s0", "s1", "s2", "s3", "s4"]


async def test_a_csv_field_longer_than_pythons_csv_limit_is_shown_trimmed(api: Any) -> None:
    client, auth, queued = api
    response = await client.get(_url(queued["longfield.csv"]), headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["1", "L" * 1000 + "…"], ["2", "short"]]


async def test_parquet_is_found_by_its_magic_bytes(api: Any) -> None:
    client, auth, queued = api
    ff = queued["points.parq"]
    assert ff["attributes"]["mime.type"] == "parq", "no known type: the preview must sniff"
    table = (await client.get(_url(ff), headers=auth)).json()
    assert table["format"] == "parquet" and table["truncated"] is False
    assert table["columns"] == [{"name": "id", "type": "LONG"},
                                {"name": "point", "type": "RECORD{x: DOUBLE, y: DOUBLE}"}]
    assert table["rows"] == [[1, {"x": 1.5, "y": 2.0}], [2, None], [3, {"x": 0.0, "y": -1.0}]]


@pytest.mark.parametrize(("name", "fragment", "unsupported"), [
    ("broken.json", "the content is not valid JSON after record 1", False),
    ("quote.csv", "the CSV is malformed on line 2", False),
    ("notes.txt", "no table view for content of type 'txt'", True),
    ("nulls.avro", "the first Avro record is larger than the preview decodes: it holds more than 1000000 values",
     False),
    ("deflated.avro", "the first Avro record is larger than the preview decodes: it runs past the first 16 MiB "
     "decoded", False),
    ("wide.parq", "bytes, more than the 64 MiB the preview decodes", False),
])
async def test_content_without_records_is_a_clear_422(api: Any, name: str, fragment: str, unsupported: bool) -> None:
    client, auth, queued = api
    response = await client.get(_url(queued[name]), headers=auth)
    assert response.status_code == 422, response.text
    body = response.json()
    assert fragment in body["error"] and body["unsupported"] is unsupported


async def test_a_large_flowfile_is_read_only_as_far_as_the_budget(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, auth, queued = api
    ff = queued["big.csv"]
    assert ff["size"] > 4 * PREVIEW_BUDGET
    chunks: list[int] = []
    original = ContentRepository._chunk

    def counting(self: ContentRepository, resource: int, index: int, overlay: Any) -> bytes:
        chunks.append(index)
        return original(self, resource, index, overlay)

    monkeypatch.setattr(ContentRepository, "_chunk", counting)
    table = (await client.get(_url(ff) + "?rows=1000", headers=auth)).json()
    assert table["truncated"] is True and len(table["rows"]) == 1000
    assert table["rows"][999] == ["999", "y" * 90]
    assert table["bytesRead"] <= PREVIEW_BUDGET
    assert len(chunks) * CHUNK_SIZE <= PREVIEW_BUDGET + 2 * CHUNK_SIZE, "read far more than the preview needs"


async def test_budget_cuts_a_long_table_without_a_half_row(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, auth, queued = api
    monkeypatch.setattr("flowyard.runtime.service._preview.PREVIEW_BUDGET", 10_000)
    table = (await client.get(_url(queued["big.csv"]) + "?rows=1000", headers=auth)).json()
    assert table["truncated"] is True and 50 < len(table["rows"]) < 120
    assert all(row[1] == "y" * 90 for row in table["rows"]), "the row cut by the budget is left out"
    assert table["bytesRead"] == 10_000


async def test_provenance_content_as_a_table(api: Any) -> None:
    client, auth, queued = api
    uuid = queued["people.csv"]["uuid"]
    events = (await client.get(f"/api/provenance?uuid={uuid}&component=mime", headers=auth)).json()
    event_id = events[0]["eventId"]
    output = await client.get(f"/api/provenance/events/{event_id}/records/output", headers=auth)
    assert output.status_code == 200, output.text
    assert output.json()["rows"][0] == ["1", "Ann", "2024-01-02"]
    # as the flowfile entered UpdateAttribute it had no mime.type, and CSV has no magic bytes to sniff
    untyped = await client.get(f"/api/provenance/events/{event_id}/records/input", headers=auth)
    assert untyped.status_code == 422 and untyped.json()["unsupported"] is True
    received = (await client.get(f"/api/provenance?uuid={uuid}&component=get", headers=auth)).json()[0]["eventId"]
    no_input = await client.get(f"/api/provenance/events/{received}/records/input", headers=auth)
    assert no_input.status_code == 404 and "has no input content" in no_input.json()["error"]


async def test_the_routes_answer_like_the_rest_of_the_api(api: Any) -> None:
    client, auth, queued = api
    url = _url(queued["people.csv"])
    assert (await client.get(url)).status_code == 401
    assert (await client.get("/api/connections/nope/flowfiles/x/records", headers=auth)).status_code == 404
    assert (await client.get("/api/connections/q/flowfiles/nope/records", headers=auth)).status_code == 404
    for bad in ("0", "1001", "ten"):
        response = await client.get(f"{url}?rows={bad}", headers=auth)
        assert response.status_code == 400 and "rows" in response.json()["error"], bad
    assert (await client.get("/api/provenance/events/999999/records/input", headers=auth)).status_code == 404
    sideways = await client.get("/api/provenance/events/1/records/sideways", headers=auth)
    assert sideways.status_code == 400 and "input' or 'output'" in sideways.json()["error"]
    assert (await client.get("/api/provenance/events/x/records/input", headers=auth)).status_code == 400


async def test_a_failing_viewer_plug_in_is_a_422_naming_it(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, auth, queued = api

    def broken(stream: Any, mime: str, max_rows: int) -> dict[str, Any] | None:
        raise RuntimeError("out of ideas")

    def declines(stream: Any, mime: str, max_rows: int) -> dict[str, Any] | None:
        return None

    monkeypatch.setattr("flowyard.runtime.service._preview.discover_content_viewers",
                        lambda: {"declines": declines, "broken": broken})
    response = await client.get(_url(queued["people.csv"]), headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "the broken viewer failed: RuntimeError: out of ideas"


def test_the_budget_stream_never_sizes_a_buffer_past_the_budget() -> None:
    stream = _Budget(io.BytesIO(b"abcdef"), 6, 4)
    assert stream.read(1 << 42) == b"abcd"  # a length declared in content: no terabyte buffer
    assert stream.read(1 << 42) == b"" and stream.read() == b""
    whole = _Budget(io.BytesIO(b"abcdef"), 6, 100)
    assert whole.read() == b"abcdef" and whole.left == 94
