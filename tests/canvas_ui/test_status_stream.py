"""The live status stream against a real server: a snapshot, then deltas with
only what changed, under a changing flow."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from flowyard.bootstrap.serve import serve
from flowyard.canvas_ui.stream import diff

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"Batch Size": "4"},
     "schedulingPeriod": "1 min", "scheduledState": "STOPPED"},
    {"identifier": "held", "type": "LogAttribute", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
], "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "held"},
                    "selectedRelationships": ["success"]}]}}


def test_diff_sends_state_at_once_and_counters_when_due() -> None:
    old = {"p": {"runState": "STOPPED", "in": 1}, "gone": {"in": 0}}
    new = {"p": {"runState": "RUNNING", "in": 5}, "c": {"queuedCount": 3}}
    assert diff(old, new, counters=False) == ({"p": {"runState": "RUNNING"}, "c": {"queuedCount": 3}}, ["gone"])
    assert diff(old, new, counters=True)[0]["p"] == {"runState": "RUNNING", "in": 5}
    assert diff(new, new, counters=True) == ({}, [])


async def read_events(response: Any, events: list[tuple[str, int, Any]]) -> None:
    kind, seq = "", 0
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("data: "):
            events.append((kind, seq, json.loads(line[6:])))


async def test_snapshot_then_deltas_under_a_changing_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "s3cret-pass")
    initial = tmp_path / "initial.json"
    initial.write_text(json.dumps(FLOW))
    events: list[tuple[str, int, Any]] = []
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(lambda task_status: serve(tmp_path / "data", port=0, initial_flow=initial,
                                                              out=io.StringIO(), task_status=task_status))
        async with httpx.AsyncClient(base_url=str(binds[0]), timeout=30) as client:
            token = (await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})
                     ).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            client.cookies.clear()  # bearer only: with the session cookie the stream below would be allowed
            assert (await client.get("/api/status/stream")).status_code == 401
            async with client.stream("GET", "/api/status/stream", headers=auth) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async with trio.open_nursery() as reader:
                    reader.start_soon(read_events, response, events)
                    with trio.fail_after(20):
                        while not events:
                            await trio.sleep(0.01)
                        kind, seq, snapshot = events[0]
                        assert (kind, seq) == ("snapshot", 1)
                        assert snapshot["components"]["gen"]["runState"] == "STOPPED"
                        c1 = snapshot["components"]["c1"]
                        assert {k: c1[k] for k in ("kind", "queuedCount", "queuedBytes")} == {
                            "kind": "connection", "queuedCount": 0, "queuedBytes": 0}
                        assert c1["flowFilesIn"] == c1["flowFilesInRate10s"] == 0, "5-minute totals and rates"
                        put = await client.put("/api/processors/gen/run-state", json={"state": "RUNNING"},
                                               headers=auth)
                        assert put.status_code == 200
                        while not any(e[2]["components"].get("gen", {}).get("runState") == "RUNNING"
                                      for e in events[1:]):
                            await trio.sleep(0.01)
                        while not any(e[2]["components"].get("c1", {}).get("queuedCount") == 4 for e in events[1:]):
                            await trio.sleep(0.01)
                        # the statistics sampler (1 Hz) puts the batch in the 5-minute totals and the rates
                        while not any(e[2]["components"].get("c1", {}).get("flowFilesIn") == 4 for e in events[1:]):
                            await trio.sleep(0.01)
                        assert any(e[2]["components"].get("gen", {}).get("flowFilesOutRate10s", 0) > 0
                                   for e in events[1:])
                    reader.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
    seqs = [seq for _, seq, _ in events]
    assert seqs == list(range(1, len(seqs) + 1)), "numbered without gaps"
    for _, _, delta in events[1:]:
        assert delta["components"] or delta["removed"], "a delta carries only changes"
        assert "kind" not in delta["components"].get("gen", {}), "unchanged fields are not repeated"
