"""Editing a running flow through the API against a real server on port 0:
live reconfiguration with untouched queues, revisions (409 on a stale one),
connecting while data flows, and deletes that would lose data refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from served_api import served_api

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"Batch Size": "3"},
     "schedulingPeriod": "100 ms"},
    {"identifier": "tag", "type": "UpdateAttribute", "properties": {"color": "red"}},
    {"identifier": "held", "type": "LogAttribute", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
], "connections": [
    {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "tag"}, "selectedRelationships": ["success"]},
    {"identifier": "c2", "source": {"id": "tag"}, "destination": {"id": "held"}, "selectedRelationships": ["success"]},
]}}


async def colors(client: httpx.AsyncClient, auth: dict[str, str]) -> list[str]:
    listing = (await client.get("/api/connections/c2/flowfiles", headers=auth)).json()
    return [item["attributes"]["color"] for item in listing]


async def test_live_editing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with served_api(tmp_path, monkeypatch, FLOW, timeout=30) as (client, auth):
        with trio.fail_after(30):
            while "red" not in await colors(client, auth):
                await trio.sleep(0.05)

        tag: dict[str, Any] = (await client.get("/api/processors/tag", headers=auth)).json()
        assert tag["revision"] == 0 and tag["runState"] == "RUNNING"
        changed = await client.put("/api/processors/tag", headers=auth,
                                   json={"revision": 0, "properties": {"color": "${literal('blue')}"}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["revision"] == 1 and changed.json()["runState"] == "RUNNING"
        before = await colors(client, auth)
        with trio.fail_after(30):
            while "blue" not in await colors(client, auth):
                await trio.sleep(0.05)
        after = await colors(client, auth)
        assert after[: len(before)] == before, "the queue was untouched by the reconfiguration"

        stale = await client.put("/api/processors/tag", headers=auth,
                                 json={"revision": 0, "properties": {"color": "green"}})
        assert stale.status_code == 409 and stale.json()["current"]["revision"] == 1
        bad = await client.put("/api/processors/tag", headers=auth,
                               json={"revision": 1, "schedulingPeriod": "soon"})
        assert bad.status_code == 400 and "schedulingPeriod" in bad.json()["error"]
        invalid = await client.put("/api/processors/tag", headers=auth,
                                   json={"revision": 1, "properties": {"color": "${x:nope()}"}})
        assert invalid.status_code == 200 and invalid.json()["validationErrors"], "saved but invalid"
        assert invalid.json()["runState"] == "STOPPED"
        assert (await client.get("/api/processors/nope", headers=auth)).status_code == 404

        refused = await client.delete("/api/connections/c2?revision=0", headers=auth)
        assert refused.status_code == 400 and "queued flowfile" in refused.json()["error"]
        assert (await client.delete("/api/processors/held?revision=0", headers=auth)).status_code == 400

        sink = await client.post("/api/processors", headers=auth, json={
            "type": "LogAttribute", "name": "Sink", "autoTerminatedRelationships": ["success"]})
        assert sink.status_code == 201
        sink_id = sink.json()["identifier"]
        link = await client.post("/api/connections", headers=auth, json={
            "source": {"id": "gen"}, "destination": {"id": sink_id}, "selectedRelationships": ["success"]})
        assert link.status_code == 201, link.text
        assert (await client.post("/api/connections", headers=auth, json={
            "source": {"id": "gen"}, "destination": {"id": sink_id},
            "selectedRelationships": ["nope"]})).status_code == 400
        with trio.fail_after(30):
            while (await client.get(f"/api/connections/{link.json()['identifier']}", headers=auth)
                   ).json()["queuedCount"] == 0:
                await trio.sleep(0.05)

        dropped = await client.delete("/api/connections/c2?revision=0&drop=true", headers=auth)
        assert dropped.status_code == 200 and dropped.json()["dropped"] > 0
        gone = await client.delete("/api/processors/held?revision=0", headers=auth)
        assert gone.status_code == 200
        saved = json.loads((tmp_path / "data" / "flow.json").read_text())
        ids = {p["identifier"] for p in saved["rootGroup"]["processors"]}
        assert "held" not in ids and sink_id in ids
        assert "c2" not in {c["identifier"] for c in saved["rootGroup"]["connections"]}
